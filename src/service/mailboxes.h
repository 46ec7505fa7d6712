// A user's mailboxes: list, create, delete, rename; fsck (and repair) of the mail index;
// export (ZIP of .eml, mboxrd) and mbox import; storage use against the quota.
// The work is done by src/store (mail_store.h, maintenance.h); this adds the user lookup.
//
// A user is named by address (when the name has an '@'), else by login, then by immutable
// id, in the configured Directory (any backend: mailboxes are keyed by the account id).
//
// Errors: not_found "user <name> not found", or a mailbox that does not exist;
// invalid_argument for a bad mailbox name, UID or file; already_exists; over_quota on
// import; unavailable when the store or directory is missing or down; io_error from disk.
//
// Threading: one Mailboxes is called from one thread; every call blocks on disk I/O.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "auth/directory.h"
#include "src/core/status.h"
#include "src/service/journal.h"
#include "src/store/mail_store.h"
#include "src/store/maintenance.h"

namespace mailroom::service {

// "1,5,7": UIDs (1 .. 2^32-1) separated by commas; invalid_argument "invalid UID list: ...".
core::Result<std::vector<uint32_t>> parse_uid_list(const std::string& text);

struct FsckRequest {
  std::string user;  // one user ...
  bool all = false;  // ... or every account that has a directory under the store root
  store::FsckOptions options;
};

struct QuotaReport {
  auth::Account account;  // its quota_bytes / quota_messages are the limits (0 = unlimited)
  store::QuotaUsage usage;
};

class Mailboxes {
 public:
  // Either may be null (not configured): operations that need it return unavailable.
  Mailboxes(auth::Directory* directory, store::MailStore* store)
      : directory_(directory), store_(store) {}
  // create, remove and rename are journaled ("mailbox.create", "mailbox.remove",
  // "mailbox.rename"; object "mailbox:<address>:<name>", object_id the account id). They are
  // not revertible (a removed mailbox's messages are gone) and have no dry run: a dry-run
  // context makes them fail with invalid_argument, never write.
  Mailboxes(auth::Directory* directory, store::MailStore* store, ChangeContext change)
      : directory_(directory), store_(store), change_(std::move(change)) {}

  // The account that owns the mailboxes.
  core::Result<auth::Account> owner(const std::string& user);

  core::Result<std::vector<store::MailboxInfo>> list(const std::string& user);
  // Creates missing parents too.
  core::Status create(const std::string& user, const std::string& mailbox);
  // invalid_argument when it has children and not `recursive`.
  core::Status remove(const std::string& user, const std::string& mailbox, bool recursive);
  // Renames its children too.
  core::Status rename(const std::string& user, const std::string& from, const std::string& to);

  // One report per account; a report with errors means inconsistent (before repair).
  // invalid_argument when the store has no files (not a file store).
  core::Result<std::vector<store::FsckReport>> fsck(const FsckRequest& request);

  // The given UIDs of `mailbox` (all when empty) as a ZIP of .eml files at `out_path`.
  core::Status export_zip(const std::string& user, const std::string& mailbox,
                          const std::vector<uint32_t>& uids, const std::string& out_path);
  // The mailboxes (all when empty) as one mboxrd file; returns the messages written.
  core::Result<uint64_t> export_mbox(const std::string& user,
                                     const std::vector<std::string>& mailboxes,
                                     const std::string& out_path);
  // Appends every message of an mbox file to `mailbox` (created if missing) within the
  // user's quota; returns the number imported (stops at the first error).
  core::Result<uint64_t> import_mbox(const std::string& user, const std::string& mailbox,
                                     const std::string& in_path);

  core::Result<QuotaReport> quota(const std::string& user);

 private:
  auth::Directory* directory_;
  store::MailStore* store_;
  ChangeContext change_;
};

}  // namespace mailroom::service
