// FileStore: per-reader \Seen on shared mailboxes (FORMAT.md "Per-reader \Seen").
//
// A reader of another account's mailbox ([imap] shared_seen = "per-user") keeps its own \Seen
// in the owner's index, table `seen_by`: one row per (reader account id, mailbox row id, UID)
// the reader ever marked or unmarked, with the mailbox MODSEQ of that change. The owner's own
// \Seen stays in the message's flags, so delivery and the owner's FETCH read nothing more.
// Rows go with their message (delete_message_row: expunge, move, recall) and their mailbox.
#include "src/store/file_store.h"
#include "src/store/names.h"

namespace mailroom::store {

core::Status create_seen_table(db::Sqlite& db) {
  auto s = db.exec(
      "CREATE TABLE IF NOT EXISTS seen_by("
      "  reader TEXT NOT NULL,"
      "  mailbox_id INTEGER NOT NULL,"
      "  uid INTEGER NOT NULL,"
      "  seen INTEGER NOT NULL,"
      "  modseq INTEGER NOT NULL,"
      "  PRIMARY KEY(reader, mailbox_id, uid)) WITHOUT ROWID");
  if (!s.is_ok()) return s;
  // EXPUNGE removes the marks of a message whoever made them.
  return db.exec("CREATE INDEX IF NOT EXISTS seen_by_message ON seen_by(mailbox_id, uid)");
}

core::Status delete_seen_marks(db::Sqlite& db, int64_t mailbox_id, uint32_t uid) {
  if (uid == 0)
    return db.prepare_or_abort("DELETE FROM seen_by WHERE mailbox_id=?").bind(1, mailbox_id).run();
  return db.prepare_or_abort("DELETE FROM seen_by WHERE mailbox_id=? AND uid=?")
      .bind(1, mailbox_id)
      .bind(2, static_cast<int64_t>(uid))
      .run();
}

core::Result<std::optional<SeenMark>> find_seen_mark(db::Sqlite& db, const std::string& reader,
                                                     int64_t mailbox_id, uint32_t uid) {
  auto q = db.prepare_or_abort(
      "SELECT seen, modseq FROM seen_by WHERE reader=? AND mailbox_id=? AND uid=?");
  q.bind(1, reader).bind(2, mailbox_id).bind(3, static_cast<int64_t>(uid));
  core::Status err;
  std::optional<SeenMark> out;
  if (q.step(&err)) out = SeenMark{q.i64(0) != 0, static_cast<uint64_t>(q.i64(1))};
  q.reset();
  if (!err.is_ok()) return err;
  return out;
}

core::Status put_seen_mark(db::Sqlite& db, const std::string& reader, int64_t mailbox_id,
                           uint32_t uid, bool seen, uint64_t modseq) {
  return db
      .prepare_or_abort(
          "INSERT OR REPLACE INTO seen_by(reader, mailbox_id, uid, seen, modseq) "
          "VALUES (?, ?, ?, ?, ?)")
      .bind(1, reader)
      .bind(2, mailbox_id)
      .bind(3, static_cast<int64_t>(uid))
      .bind(4, int64_t{seen ? 1 : 0})
      .bind(5, static_cast<int64_t>(modseq))
      .run();
}

Result<std::vector<MailStore::ReaderSeen>> FileStore::reader_seen(
    const std::string& account_id, const std::string& mailbox, const std::string& reader,
    uint64_t since_modseq, const std::vector<uint32_t>& uids) {
  auto h = hold_mailbox(account_id, mailbox);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  const MailboxRow& box = h->row;
  std::vector<ReaderSeen> out;
  auto q = db.prepare_or_abort(
      "SELECT uid, seen, modseq FROM seen_by WHERE reader=? AND mailbox_id=? AND modseq>? "
      "ORDER BY uid");
  q.bind(1, reader).bind(2, box.id).bind(3, static_cast<int64_t>(since_modseq));
  core::Status err;
  while (q.step(&err))
    out.push_back(
        {static_cast<uint32_t>(q.i64(0)), q.i64(1) != 0, static_cast<uint64_t>(q.i64(2))});
  if (!err.is_ok()) return err;
  // The marks of `uids` not already in (changed messages whose mark is older).
  std::vector<ReaderSeen> more;
  for (uint32_t uid : uids) {
    auto it = std::lower_bound(out.begin(), out.end(), uid,
                               [](const ReaderSeen& r, uint32_t v) { return r.uid < v; });
    if (it != out.end() && it->uid == uid) continue;
    auto m = find_seen_mark(db, reader, box.id, uid);
    if (!m.is_ok()) return m.status();
    if (*m) more.push_back({uid, (*m)->seen, (*m)->modseq});
  }
  if (!more.empty()) {
    out.insert(out.end(), more.begin(), more.end());
    std::sort(out.begin(), out.end(),
              [](const ReaderSeen& a, const ReaderSeen& b) { return a.uid < b.uid; });
  }
  return out;
}

Status FileStore::forget_reader(const std::string& account_id, const std::string& reader,
                                const std::string& mailbox) {
  auto name = canonical_or_empty(mailbox);
  if (!name.is_ok()) return name.status();
  auto h = hold_user(account_id);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  if (name->empty())
    return db.prepare_or_abort("DELETE FROM seen_by WHERE reader=?").bind(1, reader).run();
  auto box = find_mailbox(db, *name);
  if (!box.is_ok()) return box.code() == Code::not_found ? Status::ok() : box.status();
  return db.prepare_or_abort("DELETE FROM seen_by WHERE reader=? AND mailbox_id=?")
      .bind(1, reader)
      .bind(2, box->id)
      .run();
}

}  // namespace mailroom::store
