#include "src/service/journal.h"

#include <filesystem>

#include "auth/local/local_directory.h"
#include "src/db/sqlite.h"

namespace mailroom::service {
namespace {

constexpr const char* kJournalSchema =
    "CREATE TABLE IF NOT EXISTS changes ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  change_set TEXT NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  who TEXT NOT NULL,"
    "  front_end TEXT NOT NULL,"
    "  operation TEXT NOT NULL,"
    "  object TEXT NOT NULL,"
    "  object_id TEXT NOT NULL,"
    "  before TEXT NOT NULL,"
    "  after TEXT NOT NULL,"
    "  reverts TEXT NOT NULL DEFAULT '',"
    // The full states (password hash included) for revert; never returned by list/show.
    "  restore_before TEXT NOT NULL DEFAULT '',"
    "  restore_after TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS changes_set ON changes(change_set);"
    "CREATE INDEX IF NOT EXISTS changes_time ON changes(time);"
    "CREATE INDEX IF NOT EXISTS changes_object ON changes(object);";

constexpr const char* kJournalColumns =
    "SELECT id, change_set, time, who, front_end, operation, object, object_id, before, after, "
    "reverts, restore_before, restore_after FROM changes ";

core::Status journal_errors(db::SqliteFailure kind, std::string detail) {
  switch (kind) {
    case db::SqliteFailure::busy:
      return core::unavailable("change journal busy", std::move(detail));
    case db::SqliteFailure::io:
      return core::io_error("change journal error", std::move(detail));
    case db::SqliteFailure::missing:
      return core::not_found("change journal does not exist", std::move(detail));
    default:
      break;
  }
  return db::default_sqlite_errors(kind, std::move(detail));
}

}  // namespace

ChangeJournal::ChangeJournal(std::string path, const core::Clock& clock, int busy_timeout_ms)
    : path_(std::move(path)), clock_(clock), busy_timeout_ms_(busy_timeout_ms) {}

ChangeJournal::~ChangeJournal() = default;

std::string ChangeJournal::path_in(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "journal.db").string();
}

std::string ChangeJournal::new_change_set_id() {
  // The first 12 hex digits of a version 4 UUID are random (48 bits from RAND_bytes).
  std::string uuid = auth::LocalDirectory::new_uuid();
  return uuid.substr(0, 8) + uuid.substr(9, 4);
}

int64_t ChangeJournal::now() const { return clock_.unix_seconds(); }

core::Status ChangeJournal::open_locked(bool create) {
  if (db_) return core::Status::ok();
  if (!create && !std::filesystem::exists(path_)) {
    return core::not_found("change journal does not exist");
  }
  db::SqliteOptions so;
  so.path = path_;
  so.private_file = true;  // before/after states of accounts: 0600 like directory.db
  so.busy_timeout_ms = busy_timeout_ms_;
  so.synchronous = db::SqliteOptions::Sync::full;  // the record of a change must outlive it
  so.errors = journal_errors;
  auto opened = db::Sqlite::open(so);
  if (!opened) return opened.status();
  if (auto st = (*opened)->exec(kJournalSchema); !st) return st;
  db_ = std::move(opened).value();
  return core::Status::ok();
}

core::Status ChangeJournal::append(std::vector<JournalEntry>& entries) {
  if (entries.empty()) return core::Status::ok();
  std::lock_guard lock(mu_);
  if (auto st = open_locked(true); !st) return st;
  db::Transaction tx(*db_);
  if (auto st = tx.begin(); !st) return st;
  for (auto& e : entries) {
    const ChangeRecord& r = e.record;
    auto q = db_->prepare(
        "INSERT INTO changes(change_set, time, who, front_end, operation, object, object_id, "
        "before, after, reverts, restore_before, restore_after) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (!q) return q.status();
    q->bind(1, r.change_set).bind(2, r.time).bind(3, r.who).bind(4, r.front_end);
    q->bind(5, r.operation).bind(6, r.object).bind(7, r.object_id).bind(8, r.before);
    q->bind(9, r.after).bind(10, r.reverts).bind(11, e.restore_before).bind(12, e.restore_after);
    if (auto st = q->run(); !st) return st;
    auto id = db_->prepare("SELECT last_insert_rowid()");
    if (!id) return id.status();
    core::Status st;
    if (id->step(&st)) e.record.id = id->i64(0);
    if (!st) return st;
  }
  return tx.commit();
}

core::Result<std::vector<JournalEntry>> ChangeJournal::select_locked(
    const std::string& sql_tail, const JournalFilter* f, const std::string& change_set) {
  auto q = db_->prepare(std::string(kJournalColumns) + sql_tail);
  if (!q) return q.status();
  if (f) {
    q->bind(1, f->since.value_or(INT64_MIN)).bind(2, f->until.value_or(INT64_MAX));
    q->bind(3, f->who).bind(4, f->object_prefix).bind(5, f->operation);
    q->bind(6, f->front_end).bind(7, f->limit == 0 ? int64_t{-1} : static_cast<int64_t>(f->limit));
    q->bind(8, f->reverts);
  } else {
    q->bind(1, change_set);
  }
  std::vector<JournalEntry> out;
  core::Status st;
  while (q->step(&st)) {
    JournalEntry e;
    ChangeRecord& r = e.record;
    r.id = q->i64(0);
    r.change_set = q->text(1);
    r.time = q->i64(2);
    r.who = q->text(3);
    r.front_end = q->text(4);
    r.operation = q->text(5);
    r.object = q->text(6);
    r.object_id = q->text(7);
    r.before = q->text(8);
    r.after = q->text(9);
    r.reverts = q->text(10);
    e.restore_before = q->text(11);
    e.restore_after = q->text(12);
    out.push_back(std::move(e));
  }
  if (!st) return st;
  return out;
}

core::Result<std::vector<ChangeRecord>> ChangeJournal::list(const JournalFilter& filter) {
  std::lock_guard lock(mu_);
  if (auto st = open_locked(false); !st) {
    if (st.code() == core::Code::not_found) return std::vector<ChangeRecord>{};
    return st;
  }
  // Operation "user" matches "user.add", "user.change", ... ; "user.add" itself exactly.
  auto rows = select_locked(
      "WHERE time >= ?1 AND time < ?2 AND (?3 = '' OR who = ?3) "
      "AND substr(object, 1, length(?4)) = ?4 "
      "AND (?5 = '' OR operation = ?5 OR substr(operation, 1, length(?5) + 1) = ?5 || '.') "
      "AND (?6 = '' OR front_end = ?6) AND (?8 = '' OR reverts = ?8) ORDER BY id DESC LIMIT ?7",
      &filter, {});
  if (!rows) return rows.status();
  std::vector<ChangeRecord> out;
  out.reserve(rows->size());
  for (auto& e : *rows) out.push_back(std::move(e.record));
  return out;
}

core::Result<std::vector<JournalEntry>> ChangeJournal::entries(const std::string& change_set) {
  std::lock_guard lock(mu_);
  if (auto st = open_locked(false); !st) {
    if (st.code() != core::Code::not_found) return st;
    return core::not_found("change set " + change_set + " not found");
  }
  auto rows = select_locked("WHERE change_set = ?1 ORDER BY id", nullptr, change_set);
  if (!rows) return rows.status();
  if (rows->empty()) return core::not_found("change set " + change_set + " not found");
  return rows;
}

core::Result<uint64_t> ChangeJournal::purge(int64_t before) {
  std::lock_guard lock(mu_);
  if (auto st = open_locked(false); !st) {
    if (st.code() == core::Code::not_found) return uint64_t{0};
    return st;
  }
  auto q = db_->prepare("DELETE FROM changes WHERE time < ?1");
  if (!q) return q.status();
  if (auto st = q->bind(1, before).run(); !st) return st;
  return static_cast<uint64_t>(db_->changes());
}

core::Result<std::vector<ChangeRecord>> ChangeJournal::show(const std::string& change_set) {
  auto rows = entries(change_set);
  if (!rows) return rows.status();
  std::vector<ChangeRecord> out;
  out.reserve(rows->size());
  for (auto& e : *rows) out.push_back(std::move(e.record));
  return out;
}

}  // namespace mailroom::service
