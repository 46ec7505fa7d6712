// The SQLite delivery log: one table, WAL mode, one transaction per batch of records.
#include <sqlite3.h>

#include <mutex>

#include "src/core/log.h"
#include "src/core/sqlite_wal.h"
#include "src/queue/delivery_log.h"

namespace mailroom::queue {
namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS delivery (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  envelope_sender TEXT NOT NULL,
  header_from TEXT NOT NULL,
  subject TEXT NOT NULL,
  recipient TEXT NOT NULL,
  final_address TEXT NOT NULL,
  account_id TEXT NOT NULL,
  mailbox TEXT NOT NULL,
  uid_validity INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  size INTEGER NOT NULL,
  time INTEGER NOT NULL,
  result TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS delivery_message_id ON delivery(message_id);
CREATE INDEX IF NOT EXISTS delivery_recipient ON delivery(recipient);
CREATE INDEX IF NOT EXISTS delivery_account ON delivery(account_id, time);
CREATE INDEX IF NOT EXISTS delivery_time ON delivery(time);
)sql";

class SqliteDeliveryLog final : public DeliveryLog {
 public:
  explicit SqliteDeliveryLog(sqlite3* db) : db_(db) {}
  ~SqliteDeliveryLog() override { sqlite3_close(db_); }

  std::string name() const override { return "sqlite"; }

  core::Status record(const std::vector<DeliveryRecord>& records) override {
    std::lock_guard lock(mu_);
    if (records.empty()) return core::Status::ok();
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return error("begin");
    }
    sqlite3_stmt* st = nullptr;
    const char* sql =
        "INSERT INTO delivery (queue_id, message_id, envelope_sender, header_from, subject,"
        " recipient, final_address, account_id, mailbox, uid_validity, uid, size, time,"
        " result, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
      auto s = error("prepare insert");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
    for (const auto& r : records) {
      int i = 1;
      auto text = [&](const std::string& v) {
        sqlite3_bind_text(st, i++, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
      };
      text(r.queue_id);
      text(r.message_id);
      text(r.envelope_sender);
      text(r.header_from);
      text(r.subject);
      text(r.recipient);
      text(r.final_address);
      text(r.account_id);
      text(r.mailbox);
      sqlite3_bind_int64(st, i++, r.uid_validity);
      sqlite3_bind_int64(st, i++, r.uid);
      sqlite3_bind_int64(st, i++, static_cast<int64_t>(r.size));
      sqlite3_bind_int64(st, i++, r.time);
      text(std::string(delivery_result_name(r.result)));
      text(r.detail);
      if (sqlite3_step(st) != SQLITE_DONE) {
        auto s = error("insert");
        sqlite3_finalize(st);
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return s;
      }
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      auto s = error("commit");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
    return core::Status::ok();
  }

  core::Result<std::vector<DeliveryRecord>> query(const DeliveryQuery& q) override {
    std::lock_guard lock(mu_);
    std::string sql =
        "SELECT id, queue_id, message_id, envelope_sender, header_from, subject, recipient,"
        " final_address, account_id, mailbox, uid_validity, uid, size, time, result, detail"
        " FROM delivery WHERE 1=1";
    std::vector<std::string> texts;
    auto cond = [&](const std::string& value, const char* column) {
      if (value.empty()) return;
      sql += std::string(" AND ") + column + " = ?";
      texts.push_back(value);
    };
    cond(q.message_id, "message_id");
    cond(q.queue_id, "queue_id");
    cond(q.envelope_sender, "envelope_sender");
    cond(q.recipient, "recipient");
    cond(q.account_id, "account_id");
    // Domain and subject searches scan (one node's log); MariaDB indexes them for 10M rows.
    // The same answers as MariaDB's: the domain is what follows the last '@' (a quoted local
    // part may hold one), compared without case; the subject prefix is matched with LIKE,
    // without case (SQLite folds ASCII only), its wildcards taken literally.
    auto domain_cond = [&](const std::string& value, const char* column) {
      if (value.empty()) return;
      // rtrim(x, <x without '@'>) keeps x up to its last '@'; what remains after it is the
      // domain.
      sql += std::string(" AND lower(replace(") + column + ", rtrim(" + column + ", replace(" +
             column + ", '@', '')), '')) = lower(?)";
      texts.push_back(value);
    };
    domain_cond(q.recipient_domain, "recipient");
    domain_cond(q.sender_domain, "envelope_sender");
    if (!q.subject_prefix.empty()) {
      std::string like;
      for (char c : q.subject_prefix) {
        if (c == '%' || c == '_' || c == '!') like += '!';
        like += c;
      }
      sql += " AND subject LIKE ? ESCAPE '!'";
      texts.push_back(like + '%');
    }
    if (q.since != 0) sql += " AND time >= " + std::to_string(q.since);
    if (q.until != 0) sql += " AND time <= " + std::to_string(q.until);
    sql += " ORDER BY id DESC LIMIT " + std::to_string(q.limit);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      return error("prepare query");
    }
    for (size_t i = 0; i < texts.size(); ++i) {
      sqlite3_bind_text(st, static_cast<int>(i + 1), texts[i].data(),
                        static_cast<int>(texts[i].size()), SQLITE_TRANSIENT);
    }
    std::vector<DeliveryRecord> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      DeliveryRecord r;
      int c = 0;
      auto text = [&]() {
        auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
        int n = sqlite3_column_bytes(st, c++);
        return p ? std::string(p, n) : std::string();
      };
      r.id = sqlite3_column_int64(st, c++);
      r.queue_id = text();
      r.message_id = text();
      r.envelope_sender = text();
      r.header_from = text();
      r.subject = text();
      r.recipient = text();
      r.final_address = text();
      r.account_id = text();
      r.mailbox = text();
      r.uid_validity = static_cast<uint32_t>(sqlite3_column_int64(st, c++));
      r.uid = static_cast<uint32_t>(sqlite3_column_int64(st, c++));
      r.size = static_cast<uint64_t>(sqlite3_column_int64(st, c++));
      r.time = sqlite3_column_int64(st, c++);
      std::string result = text();
      parse_delivery_result(result, &r.result);
      r.detail = text();
      out.push_back(std::move(r));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return error("query");
    return out;
  }

 private:
  core::Status error(const char* what) {
    return core::Status::error(core::Code::io_error, "delivery log unavailable",
                               std::string("sqlite ") + what + ": " + sqlite3_errmsg(db_));
  }

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace

core::Result<std::shared_ptr<DeliveryLog>> open_sqlite_delivery_log(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return core::io_error("cannot open delivery log", path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  // WAL + synchronous=NORMAL: the log is an audit trail written after the store append;
  // the queue's own journal is what guarantees delivery state.
  int wal = core::sqlite_enable_wal(db);  // retried: mailroomd and mailroomctl may create it
  if (wal != SQLITE_OK) {
    sqlite3_close(db);
    return core::io_error("cannot initialize delivery log",
                          path + ": PRAGMA journal_mode=WAL: " + sqlite3_errstr(wal));
  }
  if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL;", nullptr, nullptr, &err) != SQLITE_OK ||
      sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    sqlite3_close(db);
    return core::io_error("cannot initialize delivery log", path + ": " + msg);
  }
  return std::shared_ptr<DeliveryLog>(std::make_shared<SqliteDeliveryLog>(db));
}

}  // namespace mailroom::queue
