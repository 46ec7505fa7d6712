// recall.db (recall_internal.h): the recalls, the per-copy report of each, and the audit
// trail, which SQLite triggers keep append-only.
#include <ctime>
#include <random>

#include "src/service/recall_internal.h"

namespace mailroom::service {
namespace {

const char* kRecallSchema = R"sql(
CREATE TABLE IF NOT EXISTS recalls(
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  front_end TEXT NOT NULL,
  reason TEXT NOT NULL,
  criteria TEXT NOT NULL,
  copies INTEGER NOT NULL DEFAULT 0,
  undone_at INTEGER NOT NULL DEFAULT 0,
  undone_by TEXT NOT NULL DEFAULT '',
  purged_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS recalls_created ON recalls(created_at);
CREATE TABLE IF NOT EXISTS recall_accounts(
  recall_id TEXT NOT NULL,
  account_id TEXT NOT NULL,
  PRIMARY KEY(recall_id, account_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recall_copies(
  recall_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  message_id TEXT NOT NULL, message_queue_id TEXT NOT NULL, subject TEXT NOT NULL,
  header_from TEXT NOT NULL, envelope_sender TEXT NOT NULL, message_time INTEGER NOT NULL,
  size INTEGER NOT NULL,
  recipient TEXT NOT NULL, address TEXT NOT NULL, account_id TEXT NOT NULL,
  forwarded_by TEXT NOT NULL, queue_id TEXT NOT NULL, guid TEXT NOT NULL,
  delivered_at INTEGER NOT NULL, log_result TEXT NOT NULL, detail TEXT NOT NULL,
  folders TEXT NOT NULL, seen INTEGER NOT NULL, seen_at INTEGER NOT NULL, seen_via TEXT NOT NULL,
  downloaded_at INTEGER NOT NULL, downloaded_from TEXT NOT NULL, answered INTEGER NOT NULL,
  forwarded INTEGER NOT NULL, deleted_flag INTEGER NOT NULL, state TEXT NOT NULL,
  recallable INTEGER NOT NULL, copies_taken INTEGER NOT NULL, note TEXT NOT NULL,
  PRIMARY KEY(recall_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  front_end TEXT NOT NULL,
  action TEXT NOT NULL,
  reason TEXT NOT NULL,
  criteria TEXT NOT NULL,
  recall_id TEXT NOT NULL,
  results INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the recall audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the recall audit trail is append-only'); END;
)sql";

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
  return out;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace

std::string new_recall_id(int64_t now) {
  std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char date[16];
  std::strftime(date, sizeof date, "%Y%m%d", &tm);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[17];
  std::snprintf(hex, sizeof hex, "%08llx", static_cast<unsigned long long>(rng() & 0xffffffffu));
  return std::string("R") + date + "-" + hex;
}

core::Result<std::unique_ptr<RecallLog>> RecallLog::open(const std::string& path) {
  db::SqliteOptions o;
  o.path = path;
  o.private_file = true;  // who was recalled and why: 0600 like the journal
  o.synchronous = db::SqliteOptions::Sync::full;
  auto db = db::Sqlite::open(o);
  if (!db) return db.status();
  if (auto s = (*db)->exec(kRecallSchema); !s) return s;
  return std::unique_ptr<RecallLog>(new RecallLog(std::move(db).value()));
}

core::Status RecallLog::audit(const Caller& caller, const std::string& action,
                              const std::string& reason, const std::string& criteria,
                              const std::string& recall_id, int64_t results) {
  std::lock_guard lock(mu_);
  return db_
      ->prepare_or_abort(
          "INSERT INTO audit(time, actor, front_end, action, reason, criteria, recall_id, results)"
          " VALUES (?,?,?,?,?,?,?,?)")
      .bind(1, static_cast<int64_t>(::time(nullptr)))
      .bind(2, caller.name)
      .bind(3, caller.front_end)
      .bind(4, action)
      .bind(5, reason)
      .bind(6, criteria)
      .bind(7, recall_id)
      .bind(8, results)
      .run();
}

core::Status RecallLog::begin_recall(const RecallReport& r, const Caller& caller,
                                     const std::string& criteria) {
  std::lock_guard lock(mu_);
  return db_
      ->prepare_or_abort(
          "INSERT INTO recalls(id, created_at, actor, front_end, reason, criteria)"
          " VALUES (?,?,?,?,?,?)")
      .bind(1, r.recall_id)
      .bind(2, r.created_at)
      .bind(3, caller.name)
      .bind(4, caller.front_end)
      .bind(5, r.reason)
      .bind(6, criteria)
      .run();
}

core::Status RecallLog::add_accounts(const std::string& recall_id,
                                     const std::vector<std::string>& ids) {
  std::lock_guard lock(mu_);
  db::Transaction tx(*db_);
  if (auto s = tx.begin(); !s) return s;
  for (const auto& id : ids) {
    auto s = db_->prepare_or_abort(
                    "INSERT OR IGNORE INTO recall_accounts(recall_id, account_id) VALUES (?,?)")
                 .bind(1, recall_id)
                 .bind(2, id)
                 .run();
    if (!s) return s;
  }
  return tx.commit();
}

core::Result<std::vector<std::string>> RecallLog::accounts(const std::string& recall_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare_or_abort("SELECT account_id FROM recall_accounts WHERE recall_id=?");
  q.bind(1, recall_id);
  std::vector<std::string> out;
  core::Status err;
  while (q.step(&err)) out.push_back(q.text(0));
  if (!err) return err;
  return out;
}

core::Status RecallLog::save_copies(const RecallReport& r) {
  std::lock_guard lock(mu_);
  db::Transaction tx(*db_);
  if (auto s = tx.begin(); !s) return s;
  if (auto s = db_->prepare_or_abort("DELETE FROM recall_copies WHERE recall_id=?")
                   .bind(1, r.recall_id)
                   .run();
      !s)
    return s;
  int64_t seq = 0, copies = 0;
  for (const auto& m : r.messages) {
    for (const auto& c : m.copies) {
      auto st = db_->prepare_or_abort(
          "INSERT INTO recall_copies VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
          "?,?,?,?,?)");
      int i = 1;
      st.bind(i++, r.recall_id).bind(i++, seq++);
      for (const std::string* t :
           {&m.message_id, &m.queue_id, &m.subject, &m.header_from, &m.envelope_sender})
        st.bind(i++, *t);
      st.bind(i++, m.time).bind(i++, static_cast<int64_t>(m.size));
      for (const std::string* t :
           {&c.recipient, &c.address, &c.account_id, &c.forwarded_by, &c.queue_id, &c.guid})
        st.bind(i++, *t);
      st.bind(i++, c.delivered_at).bind(i++, c.log_result).bind(i++, c.detail);
      st.bind(i++, join_lines(c.folders)).bind(i++, int64_t{c.seen}).bind(i++, c.seen_at);
      st.bind(i++, c.seen_via).bind(i++, c.downloaded_at).bind(i++, c.downloaded_from);
      st.bind(i++, int64_t{c.answered}).bind(i++, int64_t{c.forwarded});
      st.bind(i++, int64_t{c.deleted_flag}).bind(i++, c.state).bind(i++, int64_t{c.recallable});
      st.bind(i++, static_cast<int64_t>(c.copies_taken)).bind(i++, c.note);
      if (auto s = st.run(); !s) return s;
      copies += static_cast<int64_t>(c.copies_taken);
    }
  }
  if (auto s = db_->prepare_or_abort("UPDATE recalls SET copies=? WHERE id=?")
                   .bind(1, copies)
                   .bind(2, r.recall_id)
                   .run();
      !s)
    return s;
  return tx.commit();
}

core::Result<RecallReport> RecallLog::load(const std::string& recall_id) {
  std::lock_guard lock(mu_);
  RecallReport r;
  {
    auto q = db_->prepare_or_abort(
        "SELECT id, created_at, actor, reason, undone_at, purged_at FROM recalls WHERE id=?");
    q.bind(1, recall_id);
    core::Status err;
    if (!q.step(&err)) {
      if (!err) return err;
      return core::not_found("no such recall", recall_id);
    }
    r.recall_id = q.text(0);
    r.created_at = q.i64(1);
    r.actor = q.text(2);
    r.reason = q.text(3);
    r.undone_at = q.i64(4);
    r.purged_at = q.i64(5);
  }
  auto q = db_->prepare_or_abort("SELECT * FROM recall_copies WHERE recall_id=? ORDER BY seq");
  q.bind(1, recall_id);
  core::Status err;
  while (q.step(&err)) {
    int i = 2;
    MessageReport m;
    for (std::string* t :
         {&m.message_id, &m.queue_id, &m.subject, &m.header_from, &m.envelope_sender})
      *t = q.text(i++);
    m.time = q.i64(i++);
    m.size = static_cast<uint64_t>(q.i64(i++));
    if (r.messages.empty() || r.messages.back().message_id != m.message_id ||
        r.messages.back().queue_id != m.queue_id)
      r.messages.push_back(m);
    CopyReport c;
    for (std::string* t :
         {&c.recipient, &c.address, &c.account_id, &c.forwarded_by, &c.queue_id, &c.guid})
      *t = q.text(i++);
    c.delivered_at = q.i64(i++);
    c.log_result = q.text(i++);
    c.detail = q.text(i++);
    c.folders = split_lines(q.text(i++));
    c.seen = q.i64(i++) != 0;
    c.seen_at = q.i64(i++);
    c.seen_via = q.text(i++);
    c.downloaded_at = q.i64(i++);
    c.downloaded_from = q.text(i++);
    c.answered = q.i64(i++) != 0;
    c.forwarded = q.i64(i++) != 0;
    c.deleted_flag = q.i64(i++) != 0;
    c.state = q.text(i++);
    c.recallable = q.i64(i++) != 0;
    c.copies_taken = static_cast<size_t>(q.i64(i++));
    c.note = q.text(i++);
    r.messages.back().copies.push_back(std::move(c));
  }
  if (!err) return err;
  return r;
}

core::Status RecallLog::mark_undone(const std::string& recall_id, int64_t when,
                                    const std::string& actor) {
  std::lock_guard lock(mu_);
  return db_->prepare_or_abort("UPDATE recalls SET undone_at=?, undone_by=? WHERE id=?")
      .bind(1, when)
      .bind(2, actor)
      .bind(3, recall_id)
      .run();
}

core::Status RecallLog::mark_purged(const std::string& recall_id, int64_t when) {
  std::lock_guard lock(mu_);
  return db_->prepare_or_abort("UPDATE recalls SET purged_at=? WHERE id=?")
      .bind(1, when)
      .bind(2, recall_id)
      .run();
}

core::Result<std::vector<RecallSummary>> RecallLog::list(size_t limit) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare_or_abort(
      "SELECT id, actor, reason, criteria, created_at, undone_at, purged_at, copies FROM recalls"
      " ORDER BY created_at DESC, rowid DESC LIMIT ?");  // rowid: insertion order in a second
  q.bind(1, static_cast<int64_t>(limit));
  std::vector<RecallSummary> out;
  core::Status err;
  while (q.step(&err)) {
    RecallSummary s;
    s.recall_id = q.text(0);
    s.actor = q.text(1);
    s.reason = q.text(2);
    s.criteria = q.text(3);
    s.created_at = q.i64(4);
    s.undone_at = q.i64(5);
    s.purged_at = q.i64(6);
    s.copies = static_cast<size_t>(q.i64(7));
    out.push_back(std::move(s));
  }
  if (!err) return err;
  return out;
}

core::Result<std::vector<std::string>> RecallLog::expired(int64_t before) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare_or_abort(
      "SELECT id FROM recalls WHERE created_at < ? AND undone_at = 0 AND purged_at = 0");
  q.bind(1, before);
  std::vector<std::string> out;
  core::Status err;
  while (q.step(&err)) out.push_back(q.text(0));
  if (!err) return err;
  return out;
}

core::Result<std::vector<AuditEntry>> RecallLog::search_audit(const AuditQuery& a) {
  std::lock_guard lock(mu_);
  // One statement for every combination: an empty filter matches everything.
  auto q = db_->prepare_or_abort(
      "SELECT seq, time, actor, front_end, action, reason, criteria, recall_id, results"
      " FROM audit WHERE (?1 = '' OR actor = ?1) AND (?2 = '' OR action = ?2)"
      " AND (?3 = '' OR instr(lower(reason), lower(?3)) > 0"
      "      OR instr(lower(criteria), lower(?3)) > 0 OR recall_id = ?3)"
      " AND (?4 = 0 OR time >= ?4) AND (?5 = 0 OR time <= ?5)"
      " ORDER BY seq DESC LIMIT ?6");
  q.bind(1, a.actor).bind(2, a.action).bind(3, a.text).bind(4, a.since).bind(5, a.until);
  q.bind(6, static_cast<int64_t>(a.limit));
  std::vector<AuditEntry> out;
  core::Status err;
  while (q.step(&err)) {
    AuditEntry e;
    e.seq = q.i64(0);
    e.time = q.i64(1);
    e.actor = q.text(2);
    e.front_end = q.text(3);
    e.action = q.text(4);
    e.reason = q.text(5);
    e.criteria = q.text(6);
    e.recall_id = q.text(7);
    e.results = q.i64(8);
    out.push_back(std::move(e));
  }
  if (!err) return err;
  return out;
}

}  // namespace mailroom::service
