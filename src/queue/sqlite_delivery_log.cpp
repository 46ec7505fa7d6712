// The SQLite delivery log: one table, WAL mode, one transaction per batch of records.
#include <mutex>

#include "src/core/log.h"
#include "src/db/sqlite.h"
#include "src/queue/delivery_log.h"

namespace mailroom::queue {
namespace {

const char* kSqliteSchema = R"sql(
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
  detail TEXT NOT NULL,
  guid TEXT NOT NULL DEFAULT '',
  forwarded_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS delivery_message_id ON delivery(message_id);
CREATE INDEX IF NOT EXISTS delivery_recipient ON delivery(recipient);
CREATE INDEX IF NOT EXISTS delivery_account ON delivery(account_id, time);
CREATE INDEX IF NOT EXISTS delivery_time ON delivery(time);
)sql";

// Logs written before mail recall lack the guid and forwarded_by columns (added empty).
core::Status add_recall_columns(db::Sqlite& db) {
  bool has_guid = false, has_forwarded_by = false;
  {
    auto q = db.prepare("SELECT name FROM pragma_table_info('delivery')");
    if (!q) return q.status();
    core::Status err;
    while (q->step(&err)) {
      if (q->text(0) == "guid") has_guid = true;
      if (q->text(0) == "forwarded_by") has_forwarded_by = true;
    }
    if (!err) return err;
  }
  if (!has_guid) {
    if (auto s = db.exec("ALTER TABLE delivery ADD COLUMN guid TEXT NOT NULL DEFAULT ''"); !s)
      return s;
  }
  if (!has_forwarded_by) {
    if (auto s = db.exec("ALTER TABLE delivery ADD COLUMN forwarded_by TEXT NOT NULL DEFAULT ''");
        !s)
      return s;
  }
  return db.exec("CREATE INDEX IF NOT EXISTS delivery_forwarded_by ON delivery(forwarded_by)");
}

// Every failure of the log is "unavailable" to its callers: delivery logs it and goes on, a
// search reports it.
core::Status log_errors(db::SqliteFailure, std::string detail) {
  return core::io_error("delivery log unavailable", std::move(detail));
}

class SqliteDeliveryLog final : public DeliveryLog {
 public:
  explicit SqliteDeliveryLog(std::unique_ptr<db::Sqlite> db) : db_(std::move(db)) {}

  std::string name() const override { return "sqlite"; }

  core::Status record(const std::vector<DeliveryRecord>& records) override {
    std::lock_guard lock(mu_);
    if (records.empty()) return core::Status::ok();
    db::Transaction tx(*db_);
    if (auto s = tx.begin(); !s) return s;
    auto insert = db_->prepare(
        "INSERT INTO delivery (queue_id, message_id, envelope_sender, header_from, subject,"
        " recipient, final_address, account_id, mailbox, uid_validity, uid, size, time,"
        " result, detail, guid, forwarded_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!insert) return insert.status();
    for (const auto& r : records) {
      int i = 1;
      for (const std::string* text :
           {&r.queue_id, &r.message_id, &r.envelope_sender, &r.header_from, &r.subject,
            &r.recipient, &r.final_address, &r.account_id, &r.mailbox}) {
        insert->bind(i++, *text);
      }
      insert->bind(10, int64_t{r.uid_validity})
          .bind(11, int64_t{r.uid})
          .bind(12, static_cast<int64_t>(r.size))
          .bind(13, r.time)
          .bind(14, delivery_result_name(r.result))
          .bind(15, r.detail)
          .bind(16, r.guid)
          .bind(17, r.forwarded_by);
      if (auto s = insert->run(); !s) return s;
      insert->reset();
    }
    return tx.commit();
  }

  core::Result<std::vector<DeliveryRecord>> query(const DeliveryQuery& q) override {
    std::lock_guard lock(mu_);
    std::string sql =
        "SELECT id, queue_id, message_id, envelope_sender, header_from, subject, recipient,"
        " final_address, account_id, mailbox, uid_validity, uid, size, time, result, detail,"
        " guid, forwarded_by FROM delivery WHERE 1=1";
    std::vector<std::string> texts;
    auto cond = [&](const std::string& value, const char* column) {
      if (value.empty()) return;
      sql += std::string(" AND ") + column + " = ?";
      texts.push_back(value);
    };
    cond(q.message_id, "message_id");
    cond(q.queue_id, "queue_id");
    // A forwarded copy is found by its forwarder, not by the original sender.
    if (!q.envelope_sender.empty()) {
      sql += " AND ((forwarded_by = '' AND envelope_sender = ?) OR forwarded_by = ?)";
      texts.push_back(q.envelope_sender);
      texts.push_back(q.envelope_sender);
    }
    cond(q.recipient, "recipient");
    cond(q.account_id, "account_id");
    if (!q.account_ids.empty()) {
      if (q.account_ids.size() > kMaxAccountIds)
        return core::invalid_argument("too many accounts in one delivery log search");
      // Statements are cached by their text: padding the list to a power of two (repeating
      // its last id) keeps the number of shapes small.
      size_t slots = 1;
      while (slots < q.account_ids.size()) slots *= 2;
      sql += " AND account_id IN (";
      for (size_t i = 0; i < slots; ++i) {
        sql += i ? ",?" : "?";
        texts.push_back(q.account_ids[std::min(i, q.account_ids.size() - 1)]);
      }
      sql += ")";
    }
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
    // The forwarder's domain on forwarded copies, like envelope_sender above.
    domain_cond(q.sender_domain,
                "(CASE WHEN forwarded_by = '' THEN envelope_sender ELSE forwarded_by END)");
    if (!q.subject_prefix.empty()) {
      std::string like;
      for (char c : q.subject_prefix) {
        if (c == '%' || c == '_' || c == '!') like += '!';
        like += c;
      }
      sql += " AND subject LIKE ? ESCAPE '!'";
      texts.push_back(like + '%');
    }
    if (!q.subject_contains.empty()) {
      sql += " AND instr(lower(subject), lower(?)) > 0";
      texts.push_back(q.subject_contains);
    }
    // Numbers are bound too: the statement is cached by its text, so only the choice of
    // conditions may make a new one (a bounded number), never a value.
    std::vector<int64_t> numbers;
    if (q.since != 0) {
      sql += " AND time >= ?";
      numbers.push_back(q.since);
    }
    if (q.until != 0) {
      sql += " AND time <= ?";
      numbers.push_back(q.until);
    }
    sql += " ORDER BY id DESC LIMIT ?";
    numbers.push_back(static_cast<int64_t>(q.limit));
    auto st = db_->prepare(sql);
    if (!st) return st.status();
    int n = 1;
    for (const auto& text : texts) st->bind(n++, text);
    for (int64_t number : numbers) st->bind(n++, number);
    std::vector<DeliveryRecord> out;
    core::Status err;
    while (st->step(&err)) {
      DeliveryRecord r;
      int c = 0;
      r.id = st->i64(c++);
      for (std::string* text :
           {&r.queue_id, &r.message_id, &r.envelope_sender, &r.header_from, &r.subject,
            &r.recipient, &r.final_address, &r.account_id, &r.mailbox}) {
        *text = st->text(c++);
      }
      r.uid_validity = static_cast<uint32_t>(st->i64(c++));
      r.uid = static_cast<uint32_t>(st->i64(c++));
      r.size = static_cast<uint64_t>(st->i64(c++));
      r.time = st->i64(c++);
      parse_delivery_result(st->text(c++), &r.result);
      r.detail = st->text(c++);
      r.guid = st->text(c++);
      r.forwarded_by = st->text(c++);
      out.push_back(std::move(r));
    }
    if (!err) return err;
    return out;
  }

 private:
  std::mutex mu_;
  std::unique_ptr<db::Sqlite> db_;
};

}  // namespace

core::Result<std::shared_ptr<DeliveryLog>> open_sqlite_delivery_log(const std::string& path) {
  // synchronous=NORMAL: the log is an audit trail written after the store append; the queue's
  // own journal is what guarantees delivery state.
  db::SqliteOptions o;
  o.path = path;
  o.errors = log_errors;
  auto db = db::Sqlite::open(o);
  if (!db) return core::io_error("cannot open delivery log", db.status().log_detail());
  if (auto s = (*db)->exec(kSqliteSchema); !s) {
    return core::io_error("cannot initialize delivery log", s.log_detail());
  }
  if (auto s = add_recall_columns(**db); !s) {
    return core::io_error("cannot add the recall columns to the delivery log", s.log_detail());
  }
  return std::shared_ptr<DeliveryLog>(std::make_shared<SqliteDeliveryLog>(std::move(db).value()));
}

}  // namespace mailroom::queue
