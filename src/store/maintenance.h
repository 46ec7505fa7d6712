// Store maintenance shared by mailroomctl and (later) the webmail: fsck/repair, ZIP and mbox
// export, mbox import. All calls block on disk I/O (run them on a worker thread).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/store/mail_store.h"
#include "src/store/message_files.h"
#include "src/store/store_options.h"

namespace mailroom::store {

struct FsckOptions {
  bool repair = false;
  // Files in tmp/ and unreferenced message files younger than this may belong to an append
  // in progress in another process; they are neither reported nor removed.
  int64_t min_orphan_age_seconds = 300;
};

struct FsckReport {
  std::string account_id;
  uint64_t messages = 0;      // rows in the index
  uint64_t files = 0;         // message files on disk
  uint64_t orphan_files = 0;  // files no message references (garbage of unacknowledged appends)
  uint64_t tmp_files = 0;     // leftovers in tmp/
  // Sort key files (FORMAT.md "Sort key cache") of no mailbox's UIDVALIDITY, and leftovers of
  // their interrupted writes: disposable, removed with repair, never an inconsistency.
  uint64_t stale_cache_files = 0;
  bool index_rebuilt = false;         // the index was missing or corrupt and was rebuilt from files
  std::vector<std::string> errors;    // inconsistencies found (before repair)
  std::vector<std::string> repaired;  // what --repair changed
  bool consistent() const { return errors.empty(); }
};

// Verifies one user's index against the message files (FORMAT.md "fsck"). With repair:
// removes garbage, drops rows whose file is gone, fixes counters, and rebuilds a missing or
// corrupt index from the message files (recovered messages go to INBOX).
core::Result<FsckReport> fsck_user(const StoreOptions& options, const std::string& account_id,
                                   const FsckOptions& fsck);
// A fresh index at db_path holding every message file, in INBOX, in file-time order: what
// fsck --repair does for a missing or corrupt index, and what opening a user does when its
// index.db is missing but message files are there (so a lost index never shows an empty
// mailbox, whose files a later fsck would take for garbage).
core::Status rebuild_index(const StoreOptions& options, MessageFiles& files,
                           const std::string& db_path, FsckReport& report);
// The options a store from open_file_store() was opened with (nullptr for other stores).
const StoreOptions* file_store_options(const MailStore& store);
// Account ids that have a directory under the root.
std::vector<std::string> list_store_accounts(const StoreOptions& options);

// Batch save: the given UIDs (all when empty) as a ZIP of .eml files written to `out_path`.
core::Status export_zip(MailStore& store, const std::string& account_id, const std::string& mailbox,
                        const std::vector<uint32_t>& uids, const std::string& out_path);
// "2026-11-27 1530 Subject.eml": date and decoded subject, safe on Windows file systems
// (no <>:"/\|?* or control characters, no reserved device names, no trailing dot/space),
// non-ASCII kept as UTF-8, at most ~120 bytes.
std::string eml_file_name(std::string_view message, int64_t internal_date);

// Offline backup: the mailboxes (all when empty) as one mboxrd file at `out_path`.
// Returns the number of messages written.
core::Result<uint64_t> export_mbox(MailStore& store, const std::string& account_id,
                                   const std::vector<std::string>& mailboxes,
                                   const std::string& out_path);
// Appends every message of an mboxrd/mboxo file to `mailbox` (created if missing).
// Returns the number imported; stops at the first store error (e.g. over_quota).
core::Result<uint64_t> import_mbox(MailStore& store, const std::string& account_id,
                                   const std::string& mailbox, const std::string& in_path,
                                   const Quota& quota);

// mboxrd (one message): the "From " line, then the body with LF endings and every line
// matching ^>*From  quoted with one more '>'.
std::string mboxrd_entry(std::string_view message, int64_t internal_date);
// Splits an mbox file into messages (unquoting mboxrd), each with its "From " line date.
std::vector<std::pair<std::string, int64_t>> split_mbox(std::string_view mbox);

}  // namespace mailroom::store
