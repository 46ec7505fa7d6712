// The per-user index: schema and small row helpers shared by the FileStore operations.
#include <ctime>

#include "src/core/log.h"
#include "src/store/file_store.h"
#include "src/store/names.h"

namespace mailroom::store {
namespace {

// What the store's callers expect: a busy index is Code::busy (IMAP [INUSE], a POP3 and
// delivery retry), any other failure io_error; the client is told only "mail store error".
core::Status index_errors(db::SqliteFailure kind, std::string detail) {
  core::Code code = core::Code::io_error;
  if (kind == db::SqliteFailure::busy) code = core::Code::busy;
  if (kind == db::SqliteFailure::constraint) code = core::Code::already_exists;
  return core::Status::error(code, "mail store error", std::move(detail));
}

}  // namespace

RelaxedSync::RelaxedSync(db::Sqlite& db)
    : db_(db), relaxed_(db.exec("PRAGMA synchronous=NORMAL").is_ok()) {}

RelaxedSync::~RelaxedSync() {
  if (relaxed_ && !db_.exec("PRAGMA synchronous=FULL").is_ok())
    MR_LOG_ERROR("event=store_sync_restore_failed");
}

core::Result<std::unique_ptr<db::Sqlite>> open_index(const std::string& path,
                                                     const StoreOptions& options) {
  db::SqliteOptions o;
  o.path = path;
  o.busy_timeout_ms = 10000;  // mailroomctl may hold the write lock (FORMAT.md)
  o.synchronous = options.fsync ? db::SqliteOptions::Sync::full : db::SqliteOptions::Sync::off;
  o.vfs = options.sqlite_vfs;
  o.errors = index_errors;
  o.persist_wal = true;
  return db::Sqlite::open(o);
}

namespace {

// The tables of the current version (FORMAT.md "Index"). Every statement is idempotent: on a
// version-1 index it adds only what version 1 lacked as a table (`recalled`); the new columns
// of existing tables come from add_missing_columns().
constexpr const char* kTablesSql = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mailboxes(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  special_use INTEGER NOT NULL DEFAULT 0,
  uid_validity INTEGER NOT NULL,
  uid_next INTEGER NOT NULL DEFAULT 1,
  highest_modseq INTEGER NOT NULL DEFAULT 1,
  objectid TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS files(
  guid TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  facts BLOB);
CREATE TABLE IF NOT EXISTS messages(
  mailbox_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  guid TEXT NOT NULL,
  size INTEGER NOT NULL,
  internal_date INTEGER NOT NULL,
  internal_tz INTEGER NOT NULL DEFAULT 0,
  flags INTEGER NOT NULL DEFAULT 0,
  keywords TEXT NOT NULL DEFAULT '',
  retrieved_at INTEGER NOT NULL DEFAULT 0,
  retrieved_by TEXT NOT NULL DEFAULT '',
  seen_at INTEGER NOT NULL DEFAULT 0,
  seen_via TEXT NOT NULL DEFAULT '',
  saved_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_guid ON messages(guid);
CREATE INDEX IF NOT EXISTS messages_modseq ON messages(mailbox_id, modseq);
CREATE TABLE IF NOT EXISTS expunged(
  mailbox_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  guid TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(mailbox_id, uid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(mailbox_id, modseq);
CREATE TABLE IF NOT EXISTS subscriptions(name TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS recalled(
  recall_id TEXT NOT NULL,
  mailbox TEXT NOT NULL,
  uid INTEGER NOT NULL,
  uid_validity INTEGER NOT NULL,
  guid TEXT NOT NULL,
  size INTEGER NOT NULL,
  internal_date INTEGER NOT NULL,
  internal_tz INTEGER NOT NULL DEFAULT 0,
  flags INTEGER NOT NULL DEFAULT 0,
  keywords TEXT NOT NULL DEFAULT '',
  retrieved_at INTEGER NOT NULL DEFAULT 0,
  retrieved_by TEXT NOT NULL DEFAULT '',
  seen_at INTEGER NOT NULL DEFAULT 0,
  seen_via TEXT NOT NULL DEFAULT '',
  recalled_at INTEGER NOT NULL,
  PRIMARY KEY(recall_id, mailbox, uid_validity, uid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS recalled_guid ON recalled(guid);
INSERT OR IGNORE INTO meta(key, value) VALUES ('usage_bytes', 0), ('usage_messages', 0),
  ('next_uid_validity', 0);
)sql";

// Columns added to existing tables since version 1, each checked by name so that a migration
// interrupted anywhere, or run twice, ends the same.
core::Status add_missing_columns(db::Sqlite& db) {
  struct Added {
    const char* table;
    const char* name;
    const char* sql;
  };
  static const Added kAdded[] = {
      {"messages", "seen_at", "ALTER TABLE messages ADD COLUMN seen_at INTEGER NOT NULL DEFAULT 0"},
      {"messages", "seen_via", "ALTER TABLE messages ADD COLUMN seen_via TEXT NOT NULL DEFAULT ''"},
      // Version 4: the save date (RFC 8514); 0 for messages saved before it was kept.
      {"messages", "saved_at",
       "ALTER TABLE messages ADD COLUMN saved_at INTEGER NOT NULL DEFAULT 0"},
      // Version 4: the mailbox's object id (RFC 8474 MAILBOXID), given below to older rows.
      {"mailboxes", "objectid",
       "ALTER TABLE mailboxes ADD COLUMN objectid TEXT NOT NULL DEFAULT ''"},
      // Version 5: which message file an expunged row referenced (JMAP Email/changes names
      // destroyed Emails by it); '' for tombstones written before.
      {"expunged", "guid", "ALTER TABLE expunged ADD COLUMN guid TEXT NOT NULL DEFAULT ''"},
  };
  for (const auto& a : kAdded) {
    auto q = db.prepare_or_abort("SELECT 1 FROM pragma_table_info(?) WHERE name=?");
    q.bind(1, a.table).bind(2, a.name);
    core::Status err;
    bool present = q.step(&err);
    q.reset();
    if (!err.is_ok()) return err;
    if (present) continue;
    auto s = db.exec(a.sql);
    if (!s.is_ok()) return s;
  }
  // Idempotent: only mailboxes that have none yet get one.
  auto s = db.exec("UPDATE mailboxes SET objectid=" MAILROOM_NEW_OBJECTID " WHERE objectid=''");
  if (!s.is_ok()) return s;
  return core::Status::ok();
}

}  // namespace

core::Result<int64_t> schema_version(db::Sqlite& db) {
  {
    auto q = db.prepare_or_abort(
        "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'");
    core::Status err;
    if (!q.step(&err)) return err;
    if (q.i64(0) == 0) return int64_t{0};
  }
  auto q = db.prepare_or_abort("SELECT value FROM meta WHERE key='schema_version'");
  core::Status err;
  if (q.step(&err)) return q.i64(0);
  if (!err.is_ok()) return err;
  return int64_t{0};
}

core::Status create_schema(db::Sqlite& db) {
  auto version = schema_version(db);
  if (!version.is_ok()) return version.status();
  if (*version > kSchemaVersion) return newer_schema_error(*version);
  // Current: the tables and the version were written in one transaction (below), so all are
  // there. (Re-running kTablesSql here cost every open a parse of the whole schema.)
  if (*version == kSchemaVersion) return core::Status::ok();
  // New or older: create or migrate in one write transaction. mailroomd and mailroomctl may
  // open the index at once: the second waits for the write lock, then finds the work done.
  db::Transaction tx(db);
  auto s = tx.begin();
  if (!s.is_ok()) return s;
  version = schema_version(db);
  if (!version.is_ok()) return version.status();
  if (*version > kSchemaVersion) return newer_schema_error(*version);
  if (*version == kSchemaVersion) return tx.commit();
  s = db.exec(kTablesSql);
  if (s.is_ok()) s = add_missing_columns(db);
  if (s.is_ok()) s = add_acl_table(db);          // version 6
  if (s.is_ok()) s = create_metadata_table(db);  // version 7
  if (s.is_ok()) s = create_seen_table(db);      // version 8
  if (s.is_ok())
    s = db.prepare_or_abort("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)")
            .bind(1, kSchemaVersion)
            .run();
  if (!s.is_ok()) return s;
  return tx.commit();
}

core::Status newer_schema_error(int64_t version) {
  return core::Status::error(core::Code::internal, "mail store error",
                             "index schema version " + std::to_string(version) +
                                 " is newer than this build's " + std::to_string(kSchemaVersion));
}

core::Status init_special_folders(db::Sqlite& db) {
  {
    auto q = db.prepare_or_abort("SELECT value FROM meta WHERE key='special_folders'");
    if (q.step()) return core::Status::ok();
  }
  db::Transaction tx(db);
  auto s = tx.begin();
  if (!s.is_ok()) return s;
  {
    auto q = db.prepare_or_abort("SELECT value FROM meta WHERE key='special_folders'");
    if (q.step()) return core::Status::ok();  // another process did it first
  }
  const std::pair<const char*, SpecialUse> folders[] = {
      {"INBOX", SpecialUse::inbox}, {"Sent", SpecialUse::sent}, {"Drafts", SpecialUse::drafts},
      {"Trash", SpecialUse::trash}, {"Junk", SpecialUse::junk}, {"Ads", SpecialUse::ads}};
  for (const auto& [name, use] : folders) {
    auto existing = find_mailbox(db, name);
    if (existing.is_ok()) continue;
    auto r = insert_mailbox(db, name, use);
    if (!r.is_ok()) return r.status();
    s = db.prepare_or_abort("INSERT OR IGNORE INTO subscriptions(name) VALUES (?)")
            .bind(1, name)
            .run();
    if (!s.is_ok()) return s;
  }
  s = db.prepare_or_abort("INSERT INTO meta(key, value) VALUES ('special_folders', 1)").run();
  if (!s.is_ok()) return s;
  return tx.commit();
}

core::Result<MailboxRow> find_mailbox(db::Sqlite& db, const std::string& name) {
  auto q = db.prepare_or_abort(
      "SELECT id, special_use, uid_validity, uid_next, highest_modseq, objectid FROM mailboxes "
      "WHERE name=?");
  q.bind(1, name);
  core::Status err;
  if (!q.step(&err)) {
    if (!err.is_ok()) return err;
    return core::not_found("no such mailbox", name);
  }
  MailboxRow r;
  r.id = q.i64(0);
  r.name = name;
  r.special_use = static_cast<SpecialUse>(q.i64(1));
  r.uid_validity = static_cast<uint32_t>(q.i64(2));
  r.uid_next = static_cast<uint32_t>(q.i64(3));
  r.highest_modseq = static_cast<uint64_t>(q.i64(4));
  r.object_id = q.text(5);
  return r;
}

namespace {

// RFC 3501 2.3.1.1: a new UIDVALIDITY for every (re)created name; time-based and strictly
// increasing per user so a deleted and recreated mailbox never repeats one.
core::Result<uint32_t> next_uid_validity(db::Sqlite& db) {
  int64_t next = 0;
  {
    auto q = db.prepare_or_abort("SELECT value FROM meta WHERE key='next_uid_validity'");
    if (q.step()) next = q.i64(0);
  }
  int64_t now = static_cast<int64_t>(::time(nullptr));
  if (next < now) next = now;
  if (next <= 0 || next >= 0xFFFFFFFFLL) next = 1;
  auto s = db.prepare_or_abort("UPDATE meta SET value=? WHERE key='next_uid_validity'")
               .bind(1, next + 1)
               .run();
  if (!s.is_ok()) return s;
  return static_cast<uint32_t>(next);
}

}  // namespace

core::Result<MailboxRow> insert_mailbox(db::Sqlite& db, const std::string& name, SpecialUse use) {
  // Parents first (RFC 3501 6.3.3: create superior hierarchical names as needed).
  auto slash = name.rfind('/');
  if (slash != std::string::npos) {
    std::string parent = name.substr(0, slash);
    auto p = find_mailbox(db, parent);
    if (!p.is_ok()) {
      if (p.code() != core::Code::not_found) return p.status();
      auto made = insert_mailbox(db, parent, SpecialUse::none);
      if (!made.is_ok()) return made.status();
    }
  }
  auto uidv = next_uid_validity(db);
  if (!uidv.is_ok()) return uidv.status();
  auto s = db.prepare_or_abort(
                 "INSERT INTO mailboxes(name, special_use, uid_validity, uid_next, "
                 "highest_modseq, objectid) VALUES (?, ?, ?, 1, 1, " MAILROOM_NEW_OBJECTID ")")
               .bind(1, name)
               .bind(2, static_cast<int64_t>(use))
               .bind(3, static_cast<int64_t>(*uidv))
               .run();
  if (!s.is_ok()) return s;
  return find_mailbox(db, name);
}

core::Status delete_message_row(db::Sqlite& db, int64_t mailbox_id, uint32_t uid, uint64_t modseq) {
  // The tombstone first, while the row still says which file it referenced.
  auto s = db.prepare_or_abort(
                 "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq, guid) VALUES (?1, ?2, "
                 "?3, coalesce((SELECT guid FROM messages WHERE mailbox_id=?1 AND uid=?2), ''))")
               .bind(1, mailbox_id)
               .bind(2, static_cast<int64_t>(uid))
               .bind(3, static_cast<int64_t>(modseq))
               .run();
  if (!s.is_ok()) return s;
  s = delete_seen_marks(db, mailbox_id, uid);  // the readers' \Seen goes with the message
  if (!s.is_ok()) return s;
  return db.prepare_or_abort("DELETE FROM messages WHERE mailbox_id=? AND uid=?")
      .bind(1, mailbox_id)
      .bind(2, static_cast<int64_t>(uid))
      .run();
}

core::Status set_mailbox_counters(db::Sqlite& db, const MailboxRow& row) {
  return db.prepare_or_abort("UPDATE mailboxes SET uid_next=?, highest_modseq=? WHERE id=?")
      .bind(1, static_cast<int64_t>(row.uid_next))
      .bind(2, static_cast<int64_t>(row.highest_modseq))
      .bind(3, row.id)
      .run();
}

core::Status add_usage(db::Sqlite& db, int64_t bytes, int64_t messages) {
  auto s = db.prepare_or_abort("UPDATE meta SET value=value+? WHERE key='usage_bytes'")
               .bind(1, bytes)
               .run();
  if (!s.is_ok()) return s;
  return db.prepare_or_abort("UPDATE meta SET value=value+? WHERE key='usage_messages'")
      .bind(1, messages)
      .run();
}

core::Result<QuotaUsage> read_usage(db::Sqlite& db) {
  QuotaUsage u;
  auto q = db.prepare_or_abort(
      "SELECT key, value FROM meta WHERE key IN ('usage_bytes','usage_messages')");
  core::Status err;
  while (q.step(&err)) {
    if (q.text(0) == "usage_bytes")
      u.bytes = static_cast<uint64_t>(q.i64(1));
    else
      u.messages = static_cast<uint64_t>(q.i64(1));
  }
  if (!err.is_ok()) return err;
  return u;
}

bool drop_file_if_unreferenced(db::Sqlite& db, const std::string& guid) {
  {
    auto q = db.prepare_or_abort("SELECT 1 FROM messages WHERE guid=? LIMIT 1");
    q.bind(1, guid);
    if (q.step()) return false;
  }
  {
    // A copy in the recall area keeps its file until it is restored or purged.
    auto q = db.prepare_or_abort("SELECT 1 FROM recalled WHERE guid=? LIMIT 1");
    q.bind(1, guid);
    if (q.step()) return false;
  }
  // Not deleted: the caller must keep the file too.
  return db.prepare_or_abort("DELETE FROM files WHERE guid=?").bind(1, guid).run().is_ok();
}

MessageMeta read_meta(const db::Stmt& s) {
  MessageMeta m;
  m.uid = static_cast<uint32_t>(s.i64(0));
  m.modseq = static_cast<uint64_t>(s.i64(1));
  m.size = static_cast<uint64_t>(s.i64(2));
  m.internal_date = s.i64(3);
  m.internal_tz = static_cast<int32_t>(s.i64(4));
  m.flags = static_cast<uint32_t>(s.i64(5));
  std::string kw = s.text(6);
  size_t start = 0;
  while (start < kw.size()) {
    size_t sp = kw.find(' ', start);
    if (sp == std::string::npos) sp = kw.size();
    if (sp > start) m.keywords.push_back(kw.substr(start, sp - start));
    start = sp + 1;
  }
  m.retrieved_at = s.i64(7);
  m.retrieved_by = s.text(8);
  m.guid = s.text(9);
  m.seen_at = s.i64(10);
  m.seen_via = s.text(11);
  m.saved_at = s.i64(12);
  return m;
}

}  // namespace mailroom::store
