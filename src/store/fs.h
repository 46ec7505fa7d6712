// The few file-system operations the durable write path uses, behind an interface so a test
// can inject faults (STYLE.md example 11: "tested by dropping what was not synced").
// Reads go straight to POSIX: they are not part of the durability state machine.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"

namespace mailroom::store {

class Fs {
 public:
  virtual ~Fs() = default;
  // Creates `path` (must not exist), writes `data`, fsyncs it when `sync`.
  virtual core::Status write_new(const std::string& path, std::string_view data, bool sync) = 0;
  virtual core::Status make_dir(const std::string& path) = 0;  // an existing dir is fine
  virtual core::Status rename(const std::string& from, const std::string& to) = 0;
  virtual core::Status sync_dir(const std::string& path) = 0;
  virtual void unlink(const std::string& path) = 0;
};

// The real file system (a process-wide instance).
std::shared_ptr<Fs> real_fs();

// Wraps the real file system and remembers what has not been made durable: file data not
// fsync'd, and directory entries (creations, renames) whose directory was not fsync'd since.
// drop_unsynced() then applies what a power loss could do: unsynced files lose their
// contents, unsynced creations disappear, unsynced renames are undone.
class FaultInjectingFs final : public Fs {
 public:
  core::Status write_new(const std::string& path, std::string_view data, bool sync) override;
  core::Status make_dir(const std::string& path) override;
  core::Status rename(const std::string& from, const std::string& to) override;
  core::Status sync_dir(const std::string& path) override;
  void unlink(const std::string& path) override;

  void drop_unsynced();
  size_t pending_operations() const;

 private:
  struct DirOp {
    enum Kind { create_file, create_dir, rename_in } kind;
    std::string dir;   // the directory whose entry changed
    std::string path;  // the new entry
    std::string from;  // rename_in: the old path
  };
  mutable std::mutex mu_;
  std::set<std::string> unsynced_data_;  // paths whose contents were never fsync'd
  std::vector<DirOp> ops_;               // entry changes not yet synced, oldest first
};

// io_error "mail store disk error" with `what`, `path` and strerror(errno) in the detail.
core::Status errno_status(const char* what, const std::string& path);

}  // namespace mailroom::store
