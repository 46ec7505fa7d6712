// A SQLite VFS that simulates a power cut (STYLE.md example 11; LevelDB's
// db/fault_injection_test.cc does the same for its Env), for the store's SQLite indexes, which
// FaultInjectingFs (src/store/fs.h) does not see: SQLite does its own file I/O.
//
// It wraps the default VFS. For every main database and WAL file it opens it remembers the
// content as of the file's last successful xSync (a file that existed before it was first
// opened counts as synced as it was). power_cut() freezes those images: whatever happens
// afterwards (closing the store, which checkpoints and deletes the WAL) does not count.
// drop_unsynced() then writes the frozen images back, removes files never synced and removes
// every -shm file (shared memory, which SQLite rebuilds from the WAL): the disk as a power
// loss may leave it, at its worst for writes that were not synced.
//
// set_ignore_syncs(true) makes xSync succeed without syncing or recording anything: a disk
// that acknowledges flushes it never did (or synchronous=OFF), for control tests that must
// lose data.
//
// Use: register, give StoreOptions::sqlite_vfs its name(), and call drop_unsynced() only
// while no connection through it is open. Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace mailroom::store::testing {

class FaultVfs {
 public:
  // Registers the VFS under `name` (not as the default VFS).
  explicit FaultVfs(std::string name = "mailroom-fault-vfs");
  ~FaultVfs();  // unregisters it: every connection must be closed by then
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  const std::string& name() const { return name_; }

  void set_ignore_syncs(bool ignore);
  // The power goes off now: later writes, syncs and deletions are not part of the disk that
  // drop_unsynced() restores.
  void power_cut();
  // Restores the disk as the power cut left it (cuts the power first if power_cut() was not
  // called). The VFS then starts afresh, watching the restored files.
  void drop_unsynced();

  size_t syncs() const;           // xSync calls that reached the disk
  size_t unsynced_files() const;  // watched files written since their last sync

  struct State;

 private:
  std::string name_;
  std::unique_ptr<State> state_;
};

}  // namespace mailroom::store::testing
