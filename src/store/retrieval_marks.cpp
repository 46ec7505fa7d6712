// MailStore::mark_retrieved_batch: several POP3 retrieval marks (RFC 1939 RETR/TOP) of one
// client in one transaction, with or without an fsync.
//
// Why without: a POP3 session writes the mark before the message leaves (mail recall must know
// what left). With synchronous=FULL that is one fsync per RETR, and a download runs at the
// disk's fsync rate. Committed with synchronous=NORMAL, the WAL frames are in the kernel's page
// cache when the call returns: the mark survives a crash of mailroomd, not a power loss. A call
// with sync=true then fsyncs the WAL file itself, which makes every frame written before it
// durable. (Re-committing the same marks under FULL would not do: SQLite does not dirty a page
// whose content an UPDATE leaves unchanged, so such a commit writes and syncs nothing.)
#include <sqlite3.h>

#include <optional>

#include "src/store/file_store.h"

namespace mailroom::store {

namespace {

// PRAGMA synchronous=NORMAL for the lifetime of the object. The connection is shared by every
// writer of the user (appends must stay FULL): restored before the user lock is released.
class RelaxedSync {
 public:
  explicit RelaxedSync(Db& db) : db_(db), relaxed_(db.exec("PRAGMA synchronous=NORMAL").is_ok()) {}
  ~RelaxedSync() {
    if (relaxed_) db_.exec("PRAGMA synchronous=FULL");
  }
  RelaxedSync(const RelaxedSync&) = delete;
  RelaxedSync& operator=(const RelaxedSync&) = delete;

 private:
  Db& db_;
  bool relaxed_;
};

// fsync of the connection's write-ahead log (SQLITE_FCNTL_JOURNAL_POINTER names the WAL file
// in WAL mode, which Db::open sets).
Status sync_wal(Db& db) {
  sqlite3_file* wal = nullptr;
  int rc = sqlite3_file_control(db.raw(), "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
  if (rc != SQLITE_OK || wal == nullptr || wal->pMethods == nullptr) {
    return core::io_error("mail store error", "retrieval marks: the index has no open WAL");
  }
  rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
  if (rc != SQLITE_OK) {
    return core::io_error("mail store error",
                          std::string("retrieval marks: fsync of the WAL: ") + sqlite3_errstr(rc));
  }
  return Status::ok();
}

}  // namespace

Status FileStore::mark_retrieved_batch(const std::string& account_id, const std::string& mailbox,
                                       const std::vector<std::pair<uint32_t, int64_t>>& marks,
                                       const std::string& client_ip, bool sync) {
  if (marks.empty() && !sync) return Status::ok();
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  std::lock_guard<std::mutex> lk((*u)->mu);
  Db& db = *(*u)->db;
  auto box = find_mailbox(db, *name);
  if (!box.is_ok()) return box.status();
  if (!marks.empty()) {
    // Without [store] fsync the connection runs synchronous=OFF: leave it alone.
    std::optional<RelaxedSync> relaxed;
    if (options_.fsync) relaxed.emplace(db);
    Transaction t(db);
    Status s = t.begin();
    if (!s.is_ok()) return s;
    for (const auto& [uid, when] : marks) {
      // Not an IMAP-visible change: MODSEQ stays (FORMAT.md). A message expunged meanwhile
      // (by IMAP) changes no row and is skipped.
      s = db.prepare(
                "UPDATE messages SET retrieved_at=?, retrieved_by=? WHERE mailbox_id=? AND uid=?")
              ->bind(1, when)
              .bind(2, client_ip)
              .bind(3, box->id)
              .bind(4, static_cast<int64_t>(uid))
              .run();
      if (!s.is_ok()) return s;
    }
    s = t.commit();
    if (!s.is_ok()) return s;
  }
  return sync && options_.fsync ? sync_wal(db) : Status::ok();
}

}  // namespace mailroom::store
