// The MariaDB delivery log (see mariadb_delivery_log.h). Every value is bound to a prepared
// statement; the only text pasted into SQL is the table name (checked at start-up to be
// [A-Za-z0-9_]+) and integer LIMITs formatted here.
#include "src/queue/mariadb_delivery_log.h"

#include <atomic>
#include <cstdlib>

#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/db/mariadb_pool.h"

namespace mailroom::queue {

namespace {

// LIKE 'prefix%' with the pattern characters of the prefix escaped ('!' as the escape).
std::string like_prefix(const std::string& prefix) {
  if (prefix.empty()) return {};
  std::string out;
  for (char c : prefix) {
    if (c == '%' || c == '_' || c == '!') out += '!';
    out += c;
  }
  return out + '%';
}

// Keep identical to schema/sql/mariadb/002_delivery_log.sql (a unit test compares them).
const char* kMariaDbSchema = R"sql(CREATE TABLE IF NOT EXISTS delivery_log (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  time             BIGINT NOT NULL,
  queue_id         VARCHAR(64)   COLLATE utf8mb4_nopad_bin NOT NULL,
  message_id       VARCHAR(998)  COLLATE utf8mb4_nopad_bin NOT NULL,
  envelope_sender  VARCHAR(320)  COLLATE utf8mb4_nopad_bin NOT NULL,
  sender_domain    VARCHAR(253)  COLLATE utf8mb4_nopad_bin
                   AS (LOWER(SUBSTRING_INDEX(envelope_sender, '@', -1))) PERSISTENT,
  header_from      VARCHAR(998)  NOT NULL,
  subject          VARCHAR(998)  NOT NULL,
  recipient        VARCHAR(320)  COLLATE utf8mb4_nopad_bin NOT NULL,
  recipient_domain VARCHAR(253)  COLLATE utf8mb4_nopad_bin
                   AS (LOWER(SUBSTRING_INDEX(recipient, '@', -1))) PERSISTENT,
  final_address    VARCHAR(320)  COLLATE utf8mb4_nopad_bin NOT NULL,
  account_id       VARCHAR(64)   COLLATE utf8mb4_nopad_bin NOT NULL,
  mailbox          VARCHAR(255)  NOT NULL,
  uid_validity     INT UNSIGNED  NOT NULL,
  uid              INT UNSIGNED  NOT NULL,
  size             BIGINT UNSIGNED NOT NULL,
  result           VARCHAR(16)   NOT NULL,
  detail           VARCHAR(1000) NOT NULL,
  guid             VARCHAR(64)   COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  forwarded_by     VARCHAR(320)  COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY delivery_log_time (time),
  KEY delivery_log_message_id (message_id(255), time),
  KEY delivery_log_queue_id (queue_id),
  KEY delivery_log_recipient (recipient, time),
  KEY delivery_log_sender (envelope_sender, time),
  KEY delivery_log_recipient_domain (recipient_domain, time),
  KEY delivery_log_sender_domain (sender_domain, time),
  KEY delivery_log_account (account_id, time),
  KEY delivery_log_subject (subject(191), time),
  KEY delivery_log_forwarded_by (forwarded_by, time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
)sql";

// Keep identical to schema/sql/mariadb/003_delivery_log_recall.sql: tables made before mail
// recall get its two columns (MariaDB's ADD COLUMN IF NOT EXISTS makes it idempotent).
const char* kMariaDbRecallColumns = R"sql(ALTER TABLE delivery_log
  ADD COLUMN IF NOT EXISTS guid VARCHAR(64) COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS forwarded_by VARCHAR(320) COLLATE utf8mb4_nopad_bin NOT NULL DEFAULT '',
  ADD INDEX IF NOT EXISTS delivery_log_forwarded_by (forwarded_by, time)
)sql";

constexpr const char* kColumns =
    "queue_id, message_id, envelope_sender, header_from, subject, recipient, final_address, "
    "account_id, mailbox, uid_validity, uid, size, time, result, detail, guid, forwarded_by";
constexpr size_t kColumnCount = 17;
constexpr size_t kRowsPerInsert = 500;

constexpr size_t kMaxTableName = 40;

bool valid_table_name(const std::string& t) {
  // Index names are the table's name + up to 17 characters ("_recipient_domain"), and MariaDB
  // identifiers end at 64.
  if (t.empty() || t.size() > kMaxTableName) return false;
  for (char c : t) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// The log's columns are bounded; clip long headers at a UTF-8 boundary instead of failing
// the write (strict mode would reject the whole batch).
std::string clip(const std::string& s, size_t max_chars) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (chars == max_chars) return s.substr(0, i);
      ++chars;
    }
  }
  return s;
}

class MariaDbDeliveryLog final : public DeliveryLog {
 public:
  MariaDbDeliveryLog(std::unique_ptr<db::MariaDbPool> pool, MariaDbDeliveryLogOptions o,
                     bool table_ready)
      : pool_(std::move(pool)), options_(std::move(o)), table_ready_(table_ready) {}

  std::string name() const override { return "mariadb"; }

  core::Status record(const std::vector<DeliveryRecord>& records) override {
    if (records.empty()) return core::Status::ok();
    if (auto s = ensure_table(); !s) return s;
    std::vector<db::MariaDbPool::Statement> statements;
    for (size_t start = 0; start < records.size(); start += kRowsPerInsert) {
      size_t end = std::min(records.size(), start + kRowsPerInsert);
      std::string sql = "INSERT INTO " + options_.table + " (" + kColumns + ") VALUES ";
      std::vector<std::string> params;
      params.reserve((end - start) * kColumnCount);
      for (size_t i = start; i < end; ++i) {
        const DeliveryRecord& r = records[i];
        sql += i == start ? "(" : ",(";
        for (size_t c = 0; c < kColumnCount; ++c) sql += c ? ",?" : "?";
        sql += ")";
        params.push_back(clip(r.queue_id, 64));
        params.push_back(clip(r.message_id, 998));
        params.push_back(clip(r.envelope_sender, 320));
        params.push_back(clip(r.header_from, 998));
        params.push_back(clip(r.subject, 998));
        params.push_back(clip(r.recipient, 320));
        params.push_back(clip(r.final_address, 320));
        params.push_back(clip(r.account_id, 64));
        params.push_back(clip(r.mailbox, 255));
        params.push_back(std::to_string(r.uid_validity));
        params.push_back(std::to_string(r.uid));
        params.push_back(std::to_string(r.size));
        params.push_back(std::to_string(r.time));
        params.push_back(delivery_result_name(r.result));
        params.push_back(clip(r.detail, 1000));
        params.push_back(clip(r.guid, 64));
        params.push_back(clip(r.forwarded_by, 320));
      }
      statements.emplace_back(std::move(sql), std::move(params));
    }
    auto s = pool_->transaction(statements);
    if (!s) {
      MR_LOG_WARN("event=delivery_log_write_failed backend=mariadb records={} error={}",
                  records.size(), core::quote(s.log_detail()));
      return core::unavailable("delivery log unavailable", s.log_detail());
    }
    return s;
  }

  core::Result<std::vector<DeliveryRecord>> query(const DeliveryQuery& q) override {
    if (auto s = ensure_table(); !s) return s;
    std::string sql = std::string("SELECT id, ") + kColumns + " FROM " + options_.table;
    std::vector<std::string> params;
    std::string where;
    auto cond = [&](const std::string& value, const char* expr) {
      if (value.empty()) return;
      where += where.empty() ? " WHERE " : " AND ";
      where += expr;
      params.push_back(value);
    };
    cond(q.message_id, "message_id = ?");
    cond(q.queue_id, "queue_id = ?");
    // A forwarded copy is found by its forwarder, not by the original sender.
    if (!q.envelope_sender.empty()) {
      cond(q.envelope_sender, "((forwarded_by = '' AND envelope_sender = ?) OR forwarded_by = ?)");
      params.push_back(q.envelope_sender);
    }
    cond(q.recipient, "recipient = ?");
    cond(q.account_id, "account_id = ?");
    if (!q.account_ids.empty()) {
      if (q.account_ids.size() > kMaxAccountIds)
        return core::invalid_argument("too many accounts in one delivery log search");
      std::string in = "account_id IN (";
      for (size_t i = 0; i < q.account_ids.size(); ++i) in += i ? ",?" : "?";
      where += where.empty() ? " WHERE " : " AND ";
      where += in + ")";
      for (const auto& id : q.account_ids) params.push_back(id);
    }
    // The persistent domain columns and the subject(191) prefix index serve these (002_*.sql).
    cond(q.recipient_domain, "recipient_domain = ?");
    if (!q.sender_domain.empty()) {
      cond(q.sender_domain,
           "((forwarded_by = '' AND sender_domain = ?) OR"
           " (forwarded_by <> '' AND LOWER(SUBSTRING_INDEX(forwarded_by, '@', -1)) = LOWER(?)))");
      params.push_back(q.sender_domain);
    }
    cond(like_prefix(q.subject_prefix), "subject LIKE ? ESCAPE '!'");
    if (!q.subject_contains.empty()) {
      std::string like = like_prefix(q.subject_contains);  // "x%", escaped
      cond("%" + like, "subject LIKE ? ESCAPE '!'");
    }
    if (q.since != 0) cond(std::to_string(q.since), "time >= ?");
    if (q.until != 0) cond(std::to_string(q.until), "time <= ?");
    size_t limit = std::min<size_t>(q.limit, 100000);
    sql += where + " ORDER BY time DESC, id DESC LIMIT " + std::to_string(limit);
    auto rows = pool_->query_sql(sql, params);
    if (!rows) {
      MR_LOG_WARN("event=delivery_log_query_failed backend=mariadb error={}",
                  core::quote(rows.status().log_detail()));
      return core::unavailable("delivery log unavailable", rows.status().log_detail());
    }
    std::vector<DeliveryRecord> out;
    out.reserve(rows->rows.size());
    for (const auto& row : rows->rows) {
      size_t c = 0;
      auto text = [&] { return row[c] ? *row[c++] : (++c, std::string()); };
      auto num = [&] { return std::strtoll(text().c_str(), nullptr, 10); };
      DeliveryRecord r;
      r.id = num();
      r.queue_id = text();
      r.message_id = text();
      r.envelope_sender = text();
      r.header_from = text();
      r.subject = text();
      r.recipient = text();
      r.final_address = text();
      r.account_id = text();
      r.mailbox = text();
      r.uid_validity = static_cast<uint32_t>(num());
      r.uid = static_cast<uint32_t>(num());
      r.size = static_cast<uint64_t>(num());
      r.time = num();
      parse_delivery_result(text(), &r.result);
      r.detail = text();
      r.guid = text();
      r.forwarded_by = text();
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  // When no server answered at start-up the table is created on first use.
  core::Status ensure_table() {
    if (table_ready_.load(std::memory_order_acquire)) return core::Status::ok();
    if (options_.create_table) {
      auto s = pool_->execute_text(mariadb_delivery_log_schema(options_.table));
      if (s) s = pool_->execute_text(mariadb_delivery_log_recall_columns(options_.table));
      if (!s) return core::unavailable("delivery log unavailable", s.log_detail());
    }
    table_ready_.store(true, std::memory_order_release);
    return core::Status::ok();
  }

  std::unique_ptr<db::MariaDbPool> pool_;
  MariaDbDeliveryLogOptions options_;
  std::atomic<bool> table_ready_;
};

}  // namespace

namespace {

std::string with_table_name(std::string s, const std::string& table) {
  if (table == "delivery_log") return s;
  const std::string from = "delivery_log";
  for (size_t pos = s.find(from); pos != std::string::npos;
       pos = s.find(from, pos + table.size())) {
    s.replace(pos, from.size(), table);
  }
  return s;
}

}  // namespace

std::string mariadb_delivery_log_schema(const std::string& table) {
  return with_table_name(kMariaDbSchema, table);
}

std::string mariadb_delivery_log_recall_columns(const std::string& table) {
  return with_table_name(kMariaDbRecallColumns, table);
}

MariaDbDeliveryLogOptions parse_mariadb_delivery_log_options(core::ConfigSection& section) {
  MariaDbDeliveryLogOptions o;
  o.pool = db::parse_mariadb_options(section, "mailroom", "mailroom");
  o.table = section.get_string("table", "delivery_log");
  if (!valid_table_name(o.table)) {
    section.error("table", "use letters, digits and '_' only (at most 40)");
    o.table = "delivery_log";
  }
  o.create_table = section.get_bool("create_table", true);
  section.finish();
  return o;
}

core::Result<std::shared_ptr<DeliveryLog>> open_mariadb_delivery_log(
    const MariaDbDeliveryLogOptions& o) {
  if (!valid_table_name(o.table)) {
    return core::invalid_argument(
        "delivery_log.table: use letters, digits and '_' only (at most 40)");
  }
  auto pool = std::make_unique<db::MariaDbPool>(o.pool, std::vector<std::string>{});
  using Kind = db::PoolProblem::Kind;
  db::PoolProblem p = pool->check(nullptr);
  switch (p.kind) {
    case Kind::none:
    case Kind::statement:  // no fixed statements
      break;
    case Kind::credentials:
      return core::invalid_argument("delivery_log.user: the server refused user \"" + o.pool.user +
                                    "\" with the configured password: " + p.message);
    case Kind::database:
      return core::invalid_argument("delivery_log.database: " + p.message);
    case Kind::unreachable:
      MR_LOG_WARN("event=delivery_log_unreachable_at_start backend=mariadb error={}",
                  core::quote(p.message));
      return std::shared_ptr<DeliveryLog>(
          std::make_shared<MariaDbDeliveryLog>(std::move(pool), o, false));
  }
  if (o.create_table) {
    if (auto s = pool->execute_text(mariadb_delivery_log_schema(o.table)); !s) {
      return core::invalid_argument("delivery_log.table: cannot create " + o.table + ": " +
                                    s.log_detail());
    }
    if (auto s = pool->execute_text(mariadb_delivery_log_recall_columns(o.table)); !s) {
      return core::invalid_argument("delivery_log.table: cannot add the recall columns to " +
                                    o.table + ": " + s.log_detail());
    }
  }
  // The table must have every column we write (a hand-made table may not).
  auto probe =
      pool->query_sql(std::string("SELECT id, ") + kColumns + " FROM " + o.table + " LIMIT 0", {});
  if (!probe) {
    return core::invalid_argument("delivery_log.table: " + o.table +
                                  " is not usable: " + probe.status().log_detail());
  }
  return std::shared_ptr<DeliveryLog>(
      std::make_shared<MariaDbDeliveryLog>(std::move(pool), o, true));
}

// The entry point delivery_log.cpp's registry calls; without the define it has a "not built
// in" stub of the same name (src/queue/CMakeLists.txt sets the define with this file).
#ifdef MAILROOM_HAVE_MARIADB_DELIVERY_LOG
core::Result<std::shared_ptr<DeliveryLog>> open_mariadb_delivery_log(core::ConfigSection& section) {
  core::ConfigErrors* errors = section.errors();
  size_t before = errors ? errors->messages().size() : 0;
  MariaDbDeliveryLogOptions o = parse_mariadb_delivery_log_options(section);
  if (errors && errors->messages().size() > before) {
    return core::invalid_argument(errors->messages()[before]);
  }
  return open_mariadb_delivery_log(o);
}
#endif

}  // namespace mailroom::queue
