// The change journal (issue 17): every administrative write made through the service layer —
// by mailroomctl, the HTTP admin API or SCIM — is recorded with who made it, when, through
// which front end, and the object before and after. Any write can instead be a dry run that
// returns the same records without writing (or journaling) anything, and a change set can be
// reverted where that is possible (src/service/change_sets.h).
//
// Storage: <data_dir>/journal.db (SQLite, WAL, mode 0600), created on first use: a server
// that never changes anything has no journal file. One row per changed object:
//   id, change_set, time (UTC unix seconds, core::Clock), who (Caller::name), front_end
//   ("cli", "api", "scim"), operation ("user.add", "group.member_add", ...), object
//   ("user:alice@example.com"), object_id (the immutable id where there is one), before and
//   after (JSON documents; "null" when the object did not / no longer exists), reverts (the
//   change set this one reverted, else "").
// Documents never hold password hashes, SCRAM secrets or app password secrets: a changed
// password shows as "password_changed": true in the after document. To make a removed
// account revertible with the password it had, the full state (hash included) is kept in a
// private column that list()/show() never return; journal.db is as private as directory.db.
//
// Change sets: the operations of one request share a change set id (ChangeContext); a
// single operation with none gets its own. Ids are 12 lower-case hex digits.
//
// Errors: unavailable when journal.db is locked longer than busy_timeout; io_error for disk
// errors; not_found from show() for an unknown change set.
//
// Threading: thread-safe (one connection behind a mutex; the HTTP API's workers share one
// ChangeJournal); every call blocks on SQLite. mailroomctl and mailroomd may open the file at
// the same time.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "src/core/clock.h"
#include "src/core/status.h"
#include "src/service/admin_access.h"

namespace mailroom::db {
class Sqlite;
}

namespace mailroom::service {

// One changed object, as list() and show() return it and as a dry run describes it.
struct ChangeRecord {
  int64_t id = 0;  // 0 when not stored (dry run, or no journal)
  std::string change_set;
  int64_t time = 0;  // unix seconds, UTC
  std::string who;
  std::string front_end;
  std::string operation;
  std::string object;     // "domain:example.com", "user:alice@example.com", "alias:...",
                          // "group:...", "blocklist:ip:192.0.2.1", "app_password:alice@..:name"
  std::string object_id;  // account id, app password id; "" for the others
  std::string before;     // JSON document; "null" when the object did not exist
  std::string after;      // JSON document; "null" when it no longer exists
  std::string reverts;    // the change set this record's set reverted; "" otherwise
};

// What the service layer hands the journal: the record plus the object's full state before
// and after in a private encoding (change_tracking.h) that revert needs. Not for front ends.
struct JournalEntry {
  ChangeRecord record;
  std::string restore_before;  // "" when the object did not exist
  std::string restore_after;
};

struct JournalFilter {
  std::optional<int64_t> since;  // time >= since (unix seconds)
  std::optional<int64_t> until;  // time < until
  std::string who;               // exact
  std::string object_prefix;     // object starts with this ("user:", "user:alice@")
  std::string operation;         // exact, or a kind: "user" matches "user.*"
  std::string front_end;         // exact
  std::string reverts;           // only the records of reverts of this change set
  size_t limit = 100;            // newest first; 0 = no limit
};

class ChangeJournal {
 public:
  // `path`: <data_dir>/journal.db, created (0600) on the first append. `clock` dates records
  // and must outlive the journal.
  explicit ChangeJournal(std::string path, const core::Clock& clock = core::real_clock(),
                         int busy_timeout_ms = 5000);
  ~ChangeJournal();
  ChangeJournal(const ChangeJournal&) = delete;
  ChangeJournal& operator=(const ChangeJournal&) = delete;

  static std::string path_in(const std::string& data_dir);  // <data_dir>/journal.db

  // A new change set id (random, 12 hex digits).
  static std::string new_change_set_id();
  int64_t now() const;

  // Stores the entries in one transaction and sets their record ids.
  core::Status append(std::vector<JournalEntry>& entries);
  // Newest first. An absent journal.db is an empty journal (not created by reading).
  core::Result<std::vector<ChangeRecord>> list(const JournalFilter& filter);
  // The records of one change set, in the order they were made; not_found when none.
  core::Result<std::vector<ChangeRecord>> show(const std::string& change_set);
  // Deletes the records older than `before` (unix seconds), with their private states: a
  // retention policy, and how old password hashes leave. Returns how many were deleted.
  core::Result<uint64_t> purge(int64_t before);
  // show() with the private states: for revert (change_sets.cpp) only.
  core::Result<std::vector<JournalEntry>> entries(const std::string& change_set);

 private:
  core::Status open_locked(bool create);  // mu_ held
  core::Result<std::vector<JournalEntry>> select_locked(const std::string& sql_tail,
                                                        const JournalFilter* filter,
                                                        const std::string& change_set);

  std::string path_;
  const core::Clock& clock_;
  int busy_timeout_ms_;
  std::mutex mu_;
  std::unique_ptr<db::Sqlite> db_;
};

// How a write of the service layer is journaled; given to the service objects (Domains,
// Users, Aliases, Groups, AppPasswords, Blocklists, ChangeSets) as a constructor argument.
// The default (no journal, no dry run) writes without journaling: the old constructors and
// tests keep working. Cheap to copy; the pointers must outlive the call.
struct ChangeContext {
  const Caller* caller = nullptr;    // who and which front end; null: who = "" (tests)
  ChangeJournal* journal = nullptr;  // null: nothing is journaled
  bool dry_run = false;              // validate and compute, write nothing, journal nothing
  std::string change_set;            // shared by a request's operations; "" = one per call
  std::vector<ChangeRecord>* changes = nullptr;  // out: the records made (or, dry run, that
                                                 // would be made), appended in order
};

}  // namespace mailroom::service
