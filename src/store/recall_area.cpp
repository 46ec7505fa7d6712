// FileStore: the hidden recall area of mail recall (FORMAT.md "Recall area").
//
// Why a table of the user's index and not a hidden mailbox: a recalled copy must vanish from
// every client (IMAP, POP3, webmail, export), stay out of the quota, and keep everything an
// administrator needs to put it back exactly (mailbox, flags, keywords, dates, marks). A
// `recalled` row references its message file the way a `messages` row does, so expunge,
// mailbox deletion, purge and fsck keep the file while any row of either table names it.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include "src/core/log.h"
#include "src/store/file_store.h"
#include "src/store/names.h"

namespace mailroom::store {
namespace {

Status check_recall_id(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      ok = false;
  return ok ? Status::ok() : core::invalid_argument("invalid recall id", id);
}

Status check_guid(const std::string& guid) {
  return valid_guid(guid) ? Status::ok() : core::invalid_argument("invalid message guid", guid);
}

// The copies of a file in the user's mailboxes: read_meta()'s columns, then the mailbox.
constexpr const char* kCopiesSql =
    "SELECT" MAILROOM_META_COLUMNS
    ", b.name, b.uid_validity, m.mailbox_id FROM messages m JOIN mailboxes b ON b.id=m.mailbox_id "
    "WHERE m.guid=? ORDER BY b.name, m.uid";

// Recall-area rows: read_meta()'s columns (modseq 0), then the recall's own.
#define MAILROOM_RECALLED_COLUMNS                                                                  \
  " uid, 0, size, internal_date, internal_tz, flags, keywords, retrieved_at, retrieved_by, guid, " \
  "seen_at, seen_via, 0, recall_id, mailbox, uid_validity, recalled_at "
constexpr const char* kRecalledOneSql = "SELECT" MAILROOM_RECALLED_COLUMNS
                                        "FROM recalled WHERE recall_id=? "
                                        "ORDER BY mailbox, uid_validity, uid";
constexpr const char* kRecalledAllSql = "SELECT" MAILROOM_RECALLED_COLUMNS
                                        "FROM recalled ORDER BY recall_id, mailbox, uid_validity, "
                                        "uid";

RecalledCopy read_recalled(const db::Stmt& q) {
  RecalledCopy c;
  c.meta = read_meta(q);
  c.recall_id = q.text(kMetaColumns);
  c.mailbox = q.text(kMetaColumns + 1);
  c.uid_validity = static_cast<uint32_t>(q.i64(kMetaColumns + 2));
  c.recalled_at = q.i64(kMetaColumns + 3);
  return c;
}

struct FoundCopy {
  MessageCopy copy;
  int64_t mailbox_id = 0;
};

Result<std::vector<FoundCopy>> copies_of(db::Sqlite& db, const std::string& guid) {
  std::vector<FoundCopy> out;
  auto q = db.prepare_or_abort(kCopiesSql);
  q.bind(1, guid);
  Status err;
  while (q.step(&err)) {
    FoundCopy f;
    f.copy.meta = read_meta(q);
    f.copy.mailbox = q.text(kMetaColumns);
    f.copy.uid_validity = static_cast<uint32_t>(q.i64(kMetaColumns + 1));
    f.mailbox_id = q.i64(kMetaColumns + 2);
    out.push_back(std::move(f));
  }
  if (!err.is_ok()) return err;
  return out;
}

}  // namespace

Result<std::vector<MessageCopy>> FileStore::find_copies(const std::string& account_id,
                                                        const std::string& guid) {
  auto ok = check_guid(guid);
  if (!ok.is_ok()) return ok;
  auto u = existing_user(account_id, Cache::cold);
  if (!u.is_ok()) return u.status();
  if (!*u) return std::vector<MessageCopy>{};
  auto h = hold(*u);
  if (!h.is_ok()) return h.status();
  auto found = copies_of(h->db(), guid);
  if (!found.is_ok()) return found.status();
  std::vector<MessageCopy> out;
  out.reserve(found->size());
  for (auto& f : *found) out.push_back(std::move(f.copy));
  return out;
}

Result<std::vector<RecalledCopy>> FileStore::recall_copies(const std::string& account_id,
                                                           const std::string& guid,
                                                           const std::string& recall_id,
                                                           int64_t when, Commit commit) {
  auto ok = check_guid(guid);
  if (ok.is_ok()) ok = check_recall_id(recall_id);
  if (!ok.is_ok()) return ok;
  auto u = existing_user(account_id, Cache::cold);
  if (!u.is_ok()) return u.status();
  if (!*u) return std::vector<RecalledCopy>{};
  if (when == 0) when = static_cast<int64_t>(::time(nullptr));
  std::vector<RecalledCopy> out;
  std::vector<ChangeEvent> events;
  {
    auto h =
        hold(*u, commit == Commit::batched ? IndexHold::Txn::write_relaxed : IndexHold::Txn::write);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    Status s;
    auto found = copies_of(db, guid);
    if (!found.is_ok()) return found.status();
    if (found->empty()) return out;
    // A POP3 session still downloading has marks in its journal the index does not hold yet;
    // once the row is recalled they could never land (the session applies them by UID).
    JournalMarks pending = journal_marks(**u);
    std::map<int64_t, MailboxRow> boxes;  // each affected mailbox takes one new MODSEQ
    int64_t bytes = 0;
    for (auto& f : *found) {
      MessageMeta& m = f.copy.meta;
      auto box = boxes.find(f.mailbox_id);
      if (box == boxes.end()) {
        auto row = find_mailbox(db, f.copy.mailbox);
        if (!row.is_ok()) return row.status();
        row->highest_modseq += 1;
        box = boxes.emplace(f.mailbox_id, *row).first;
      }
      auto mark = pending.find({f.copy.mailbox, m.uid});
      if (mark != pending.end() && mark->second.first > m.retrieved_at) {
        m.retrieved_at = mark->second.first;
        m.retrieved_by = mark->second.second;
      }
      s = db.prepare_or_abort(
                "INSERT INTO recalled(recall_id, mailbox, uid, uid_validity, guid, size, "
                "internal_date, internal_tz, flags, keywords, retrieved_at, retrieved_by, seen_at, "
                "seen_via, recalled_at) "
                "SELECT ?, ?, uid, ?, guid, size, internal_date, internal_tz, flags, keywords, ?, "
                "?, seen_at, seen_via, ? FROM messages WHERE mailbox_id=? AND uid=?")
              .bind(1, recall_id)
              .bind(2, f.copy.mailbox)
              .bind(3, static_cast<int64_t>(f.copy.uid_validity))
              .bind(4, m.retrieved_at)
              .bind(5, m.retrieved_by)
              .bind(6, when)
              .bind(7, f.mailbox_id)
              .bind(8, static_cast<int64_t>(m.uid))
              .run();
      if (s.is_ok()) s = delete_message_row(db, f.mailbox_id, m.uid, box->second.highest_modseq);
      if (!s.is_ok()) return s;
      bytes += static_cast<int64_t>(m.size);
      m.modseq = 0;
      out.push_back(
          RecalledCopy{recall_id, f.copy.mailbox, f.copy.uid_validity, std::move(m), when});
    }
    for (auto& [id, row] : boxes) {
      s = set_mailbox_counters(db, row);
      if (!s.is_ok()) return s;
      events.push_back(ChangeEvent{account_id, row.name, row.highest_modseq});
    }
    // Recalled copies do not count in the quota (FORMAT.md "Rules").
    s = add_usage(db, -bytes, -static_cast<int64_t>(out.size()));
    if (s.is_ok()) s = h->commit();
    if (!s.is_ok()) return s;
  }
  if (commit == Commit::batched) {
    std::lock_guard<std::mutex> lk(batched_mu_);
    batched_events_.insert(batched_events_.end(), events.begin(), events.end());
  } else {
    notify_all(events);
  }
  return out;
}

Status FileStore::sync_batched() {
  // The events first: every commit they stand for happened before the sync below, so none is
  // announced before it is on disk (another recall's later commits wait for its own sync).
  std::vector<ChangeEvent> events;
  {
    std::lock_guard<std::mutex> lk(batched_mu_);
    events.swap(batched_events_);
  }
  Status s;
  if (options_.fsync) {
    int fd = ::open(options_.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::syncfs(fd) != 0) s = errno_status("syncfs", options_.root);
    if (fd >= 0) ::close(fd);
  }
  // Committed either way: clients must learn of it even if the disk did not confirm it.
  notify_all(events);
  return s;
}

Result<std::vector<RestoredCopy>> FileStore::restore_recalled(const std::string& account_id,
                                                              const std::string& recall_id) {
  auto ok = check_recall_id(recall_id);
  if (!ok.is_ok()) return ok;
  auto u = existing_user(account_id, Cache::cold);
  if (!u.is_ok()) return u.status();
  if (!*u) return std::vector<RestoredCopy>{};
  std::vector<RestoredCopy> out;
  std::vector<ChangeEvent> events;
  {
    auto h = hold(*u, IndexHold::Txn::write);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    Status s;
    std::vector<RecalledCopy> copies;
    {
      auto q = db.prepare_or_abort(kRecalledOneSql);
      q.bind(1, recall_id);
      while (q.step(&s)) copies.push_back(read_recalled(q));
      if (!s.is_ok()) return s;
    }
    if (copies.empty()) return out;
    // Destinations by name, each with its counters as this transaction moves them on.
    std::map<std::string, MailboxRow> targets;
    auto target_for = [&](const std::string& name) -> Result<MailboxRow*> {
      for (const std::string& n : {name, std::string("INBOX")}) {
        auto it = targets.find(n);
        if (it != targets.end()) return &it->second;
        auto row = find_mailbox(db, n);
        if (row.is_ok()) {
          row->highest_modseq += 1;  // one new MODSEQ per destination
          return &targets.emplace(n, *row).first->second;
        }
        if (row.code() != Code::not_found) return row.status();
      }
      return Status::error(Code::internal, "mail store error", "restore: no INBOX");
    };
    int64_t bytes = 0;
    for (const auto& c : copies) {
      {
        // Its file must still be there (fsck reports and removes a recalled row without one).
        auto f = db.prepare_or_abort("SELECT 1 FROM files WHERE guid=?");
        f.bind(1, c.meta.guid);
        if (!f.step(&s)) {
          if (!s.is_ok()) return s;
          MR_LOG_WARN("event=store_restore_skipped account={} recall={} guid={} reason=no_file",
                      account_id, recall_id, c.meta.guid);
          continue;
        }
      }
      auto t = target_for(c.mailbox);
      if (!t.is_ok()) return t.status();
      MailboxRow& row = **t;
      if (row.uid_next == 0xFFFFFFFFu) return Status::error(Code::internal, "UID space exhausted");
      uint32_t uid = row.uid_next++;
      s = db.prepare_or_abort(
                "INSERT INTO messages(mailbox_id, uid, modseq, guid, size, internal_date, "
                "internal_tz, flags, keywords, retrieved_at, retrieved_by, seen_at, seen_via, "
                "saved_at) "
                "SELECT ?, ?, ?, guid, size, internal_date, internal_tz, flags, keywords, "
                "retrieved_at, retrieved_by, seen_at, seen_via, "
                "CAST(strftime('%s', 'now') AS INTEGER) FROM recalled "
                "WHERE recall_id=? AND mailbox=? AND uid_validity=? AND uid=?")
              .bind(1, row.id)
              .bind(2, static_cast<int64_t>(uid))
              .bind(3, static_cast<int64_t>(row.highest_modseq))
              .bind(4, recall_id)
              .bind(5, c.mailbox)
              .bind(6, static_cast<int64_t>(c.uid_validity))
              .bind(7, static_cast<int64_t>(c.meta.uid))
              .run();
      if (s.is_ok())
        s = db.prepare_or_abort(
                  "DELETE FROM recalled WHERE recall_id=? AND mailbox=? AND uid_validity=? AND "
                  "uid=?")
                .bind(1, recall_id)
                .bind(2, c.mailbox)
                .bind(3, static_cast<int64_t>(c.uid_validity))
                .bind(4, static_cast<int64_t>(c.meta.uid))
                .run();
      if (!s.is_ok()) return s;
      bytes += static_cast<int64_t>(c.meta.size);
      out.push_back(RestoredCopy{row.name, c.meta.uid, row.uid_validity, uid});
    }
    for (auto& [name, row] : targets) {
      s = set_mailbox_counters(db, row);
      if (!s.is_ok()) return s;
      events.push_back(ChangeEvent{account_id, row.name, row.highest_modseq});
    }
    // No quota check: an administrator undoes a recall.
    s = add_usage(db, bytes, static_cast<int64_t>(out.size()));
    if (s.is_ok()) s = h->commit();
    if (!s.is_ok()) return s;
  }
  notify_all(events);
  return out;
}

Result<std::vector<RecalledCopy>> FileStore::recalled(const std::string& account_id,
                                                      const std::string& recall_id) {
  if (!recall_id.empty()) {
    auto ok = check_recall_id(recall_id);
    if (!ok.is_ok()) return ok;
  }
  auto u = existing_user(account_id, Cache::cold);
  if (!u.is_ok()) return u.status();
  std::vector<RecalledCopy> out;
  if (!*u) return out;
  auto h = hold(*u);
  if (!h.is_ok()) return h.status();
  auto q = h->db().prepare_or_abort(recall_id.empty() ? kRecalledAllSql : kRecalledOneSql);
  if (!recall_id.empty()) q.bind(1, recall_id);
  Status err;
  while (q.step(&err)) out.push_back(read_recalled(q));
  if (!err.is_ok()) return err;
  return out;
}

Result<size_t> FileStore::purge_recalled(const std::string& account_id,
                                         const std::string& recall_id) {
  auto ok = check_recall_id(recall_id);
  if (!ok.is_ok()) return ok;
  auto u = existing_user(account_id, Cache::cold);
  if (!u.is_ok()) return u.status();
  if (!*u) return size_t{0};
  size_t purged = 0;
  std::vector<std::string> unreferenced;
  {
    auto h = hold(*u, IndexHold::Txn::write);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    Status s;
    std::set<std::string> guids;
    {
      auto q = db.prepare_or_abort("SELECT guid FROM recalled WHERE recall_id=?");
      q.bind(1, recall_id);
      while (q.step(&s)) {
        guids.insert(q.text(0));
        ++purged;
      }
      if (!s.is_ok()) return s;
    }
    if (purged == 0) return purged;
    s = db.prepare_or_abort("DELETE FROM recalled WHERE recall_id=?").bind(1, recall_id).run();
    if (!s.is_ok()) return s;
    for (const auto& g : guids)
      if (drop_file_if_unreferenced(db, g)) unreferenced.push_back(g);
    s = h->commit();
    if (!s.is_ok()) return s;
  }
  // After the commit, like expunge: a crash here leaves only garbage for fsck.
  for (const auto& g : unreferenced) (*u)->files.remove(g);
  return purged;
}

}  // namespace mailroom::store
