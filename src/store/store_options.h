// How the file-per-message store (FORMAT.md) is opened: its options, the facts extractor it
// runs at delivery, its test hooks, and the [store] section. The contract every store
// implements is src/store/mail_store.h.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "src/store/mail_store.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::store {

class Fs;  // src/store/fs.h

// Computes the cached parse facts of a message at delivery (see src/mime).
using FactsExtractor = std::function<std::string(std::string_view message)>;

struct StoreOptions {
  std::string root;      // <data_dir>/mail
  FactsExtractor facts;  // may be empty
  bool fsync = true;     // false only in tests that measure without durability
  size_t max_mailbox_name = 255;
  size_t open_users_cache = 1024;  // index handles kept open
  // An open index nobody used for this long is closed (mailroomd, with notices = subscribe,
  // whose thread checks every few seconds); 0 keeps them until the cache evicts them. An idle
  // IMAP session does not need its user's index (SQLite connection and WAL index, ~80 KB).
  int idle_close_seconds = 60;
  std::shared_ptr<Fs> fs;  // null: the real file system (tests inject faults)
  // The SQLite VFS the indexes are opened with; empty: SQLite's default. Tests register a
  // VFS that can drop what was not synced (tests/unit/store/fault_vfs.h).
  std::string sqlite_vfs;

  // Change notices between processes on one root (FORMAT.md "Change notices"): watchers are
  // in-process, so a change made by mailroomctl would never reach mailroomd's IMAP sessions.
  //  publish (mailroomctl): after each committed change that notifies watchers, also drop a
  //    notice file in `notices_dir` (only while a subscriber holds the directory's lock).
  //  subscribe (mailroomd): a thread of the store polls `notices_dir` every 250 ms, consumes
  //    the notices and notifies this process's watchers. Stopped by the store's destructor.
  // The directory is created 0700 when missing.
  enum class Notices { off, publish, subscribe };
  std::string notices_dir;
  Notices notices = Notices::off;
  // Called after every committed change that notifies watchers, for every mailbox and user
  // (this process's changes and, with notices = subscribe, other processes'): the full-text
  // indexer's queue (src/fts/indexer.h). Runs on the committing thread: it must only post.
  std::function<void(const ChangeEvent&)> on_change;

  // Test hooks of the group commit of appends (store_messages.cpp); empty in production.
  //  on_append_queued: an append joined its user's queue, where `waiting` appends now wait.
  //    Runs under the queue's lock: it must neither block nor call the store.
  //  on_append_batch: a leader is about to commit `batch_size` appends in one index
  //    transaction. Runs without the queue's lock: it may block to let followers queue.
  std::function<void(size_t waiting)> on_append_queued;
  std::function<void(size_t batch_size)> on_append_batch;
};

// The file-per-message store with a per-user index (FORMAT.md).
std::unique_ptr<MailStore> open_file_store(const StoreOptions& options);

// Reads [store]: root (default <data_dir>/mail), fsync, max_mailbox_name, open_users_cache.
// Errors are collected in the section; defaults are returned. `facts` is left empty: the
// server wires mime::extract_facts.
StoreOptions parse_store_options(core::ConfigSection& store_section, const std::string& data_dir);

}  // namespace mailroom::store
