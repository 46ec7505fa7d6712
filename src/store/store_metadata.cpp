// FileStore: mailbox and server annotations (RFC 5464 METADATA; FORMAT.md "Index").
// Rows are keyed by the mailbox's id, so RENAME keeps them without a write (RFC 5464 4.1:
// annotations move with the mailbox) and a deleted-then-created name starts empty; the
// server entries of the user use mailbox_id 0, which AUTOINCREMENT never gives a mailbox.
#include "src/store/file_store.h"

namespace mailroom::store {

core::Status create_metadata_table(db::Sqlite& db) {
  return db.exec(
      "CREATE TABLE IF NOT EXISTS metadata("
      "  mailbox_id INTEGER NOT NULL,"
      "  entry TEXT NOT NULL,"
      "  value BLOB NOT NULL,"
      "  PRIMARY KEY(mailbox_id, entry)) WITHOUT ROWID");
}

core::Status delete_mailbox_metadata(db::Sqlite& db, int64_t mailbox_id) {
  return db.prepare_or_abort("DELETE FROM metadata WHERE mailbox_id=?").bind(1, mailbox_id).run();
}

namespace {

// The id of `name` (0 for "", the server), or not_found.
core::Result<int64_t> metadata_owner_id(db::Sqlite& db, const std::string& name) {
  if (name.empty()) return int64_t{0};
  auto row = find_mailbox(db, name);
  if (!row.is_ok()) return row.status();
  return row->id;
}

}  // namespace

Result<std::vector<MetadataEntry>> FileStore::metadata(const std::string& account_id,
                                                       const std::string& mailbox) {
  auto name = canonical_or_empty(mailbox);
  if (!name.is_ok()) return name.status();
  auto h = hold_user(account_id);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  auto id = metadata_owner_id(db, *name);
  if (!id.is_ok()) return id.status();
  std::vector<MetadataEntry> out;
  auto q =
      db.prepare_or_abort("SELECT entry, value FROM metadata WHERE mailbox_id=? ORDER BY entry");
  q.bind(1, *id);
  core::Status err;
  while (q.step(&err)) out.push_back({q.text(0), q.text(1)});
  if (!err.is_ok()) return err;
  return out;
}

Status FileStore::set_metadata(const std::string& account_id, const std::string& mailbox,
                               const std::vector<MetadataChange>& changes,
                               const MetadataLimits& limits) {
  auto name = canonical_or_empty(mailbox);
  if (!name.is_ok()) return name.status();
  for (const auto& [entry, value] : changes) {
    if (entry.empty() || entry.front() != '/')
      return core::invalid_argument("invalid annotation name", entry);
  }
  auto h = hold_user(account_id, IndexHold::Txn::write);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  auto id = metadata_owner_id(db, *name);
  if (!id.is_ok()) return id.status();
  for (const auto& [entry, value] : changes) {
    Status s;
    if (value) {
      s = db.prepare_or_abort(
                "INSERT OR REPLACE INTO metadata(mailbox_id, entry, value) VALUES (?, ?, ?)")
              .bind(1, *id)
              .bind(2, entry)
              .bind_blob(3, *value)
              .run();
    } else {
      s = db.prepare_or_abort("DELETE FROM metadata WHERE mailbox_id=? AND entry=?")
              .bind(1, *id)
              .bind(2, entry)
              .run();
    }
    if (!s.is_ok()) return s;
  }
  if (limits.max_entries || limits.max_bytes) {
    // The limits hold for the result (RFC 5464 4.3: [METADATA TOOMANY]); checked inside the
    // transaction, so a refused change leaves every entry as it was.
    auto q = db.prepare_or_abort("SELECT count(*), coalesce(sum(length(value)), 0) FROM metadata");
    core::Status err;
    if (!q.step(&err)) return err.is_ok() ? core::io_error("metadata count failed") : err;
    uint64_t count = static_cast<uint64_t>(q.i64(0)), bytes = static_cast<uint64_t>(q.i64(1));
    q.reset();
    if ((limits.max_entries && count > limits.max_entries) ||
        (limits.max_bytes && bytes > limits.max_bytes))
      return Status::error(Code::over_quota, "too many annotations",
                           std::to_string(count) + " entries, " + std::to_string(bytes) + " bytes");
  }
  return h->commit();
}

}  // namespace mailroom::store
