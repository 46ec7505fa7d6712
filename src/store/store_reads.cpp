// FileStore: reads of messages (snapshot, scan, changes since a MODSEQ, metadata, contents,
// facts).
#include <algorithm>
#include <functional>

#include "src/core/log.h"
#include "src/store/file_store.h"
#include "src/store/message_rows.h"

namespace mailroom::store {

Result<Snapshot> FileStore::snapshot(const std::string& account_id, const std::string& mailbox) {
  std::vector<MessageMeta> messages;
  auto snap = scan(account_id, mailbox, [&](const MessageMeta& m) { messages.push_back(m); });
  if (snap) snap->messages = std::move(messages);
  return snap;
}

Result<Snapshot> FileStore::scan(const std::string& account_id, const std::string& mailbox,
                                 const std::function<void(const MessageMeta&)>& visit) {
  // One read transaction so the counters and the rows agree.
  auto h = hold_mailbox(account_id, mailbox, IndexHold::Txn::read);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  const MailboxRow& box = h->row;
  Snapshot snap;
  snap.uid_validity = box.uid_validity;
  snap.object_id = box.object_id;
  snap.uid_next = box.uid_next;
  snap.highest_modseq = box.highest_modseq;
  Status s;
  {
    auto q = db.prepare_or_abort("SELECT" MAILROOM_META_COLUMNS
                                 "FROM messages WHERE mailbox_id=? ORDER BY uid");
    q.bind(1, box.id);
    while (q.step(&s)) visit(read_meta(q));
  }
  h->end();
  // The pages a whole-mailbox read pulled into this connection's cache are not wanted again
  // soon (IMAP keeps its own compact view, later reads go by index): freed now they do not sit
  // in every open user's heap (200 idle sessions on 200 mailboxes of 1,000: 228 KiB each
  // with them, 136 KiB without). Failing to shrink changes nothing.
  (void)db.exec("PRAGMA shrink_memory");
  if (!s.is_ok()) return s;
  return snap;
}

Result<Changes> FileStore::changes_since(const std::string& account_id, const std::string& mailbox,
                                         uint64_t modseq) {
  auto h = hold_mailbox(account_id, mailbox, IndexHold::Txn::read);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  const MailboxRow& box = h->row;
  Changes c;
  c.highest_modseq = box.highest_modseq;
  c.uid_validity = box.uid_validity;
  c.uid_next = box.uid_next;
  Status s;
  // Without ORDER BY, so that SQLite walks the (mailbox_id, modseq) indexes and reads only
  // what changed; "ORDER BY uid" made it scan the whole mailbox in UID order (17 ms at 100,000
  // messages for every IMAP sync). Sorted here instead.
  {
    auto q = db.prepare_or_abort("SELECT" MAILROOM_META_COLUMNS
                                 "FROM messages WHERE mailbox_id=? AND modseq>?");
    q.bind(1, box.id).bind(2, static_cast<int64_t>(modseq));
    while (q.step(&s)) c.changed.push_back(read_meta(q));
  }
  if (s.is_ok()) {
    auto q = db.prepare_or_abort("SELECT uid, guid FROM expunged WHERE mailbox_id=? AND modseq>?");
    q.bind(1, box.id).bind(2, static_cast<int64_t>(modseq));
    std::vector<std::pair<uint32_t, std::string>> gone;
    while (q.step(&s)) gone.emplace_back(static_cast<uint32_t>(q.i64(0)), q.text(1));
    std::sort(gone.begin(), gone.end());
    for (auto& [uid, guid] : gone) {
      c.expunged.push_back(uid);
      c.expunged_guids.push_back(std::move(guid));
    }
  }
  h->end();
  if (!s.is_ok()) return s;
  std::sort(c.changed.begin(), c.changed.end(),
            [](const MessageMeta& a, const MessageMeta& b) { return a.uid < b.uid; });
  return c;
}

std::vector<Result<MessageMeta>> FileStore::message_metas(const std::string& account_id,
                                                          const std::string& mailbox,
                                                          const std::vector<uint32_t>& uids) {
  std::vector<Result<MessageMeta>> out;
  out.reserve(uids.size());
  auto fail_all = [&](const Status& s) {
    out.assign(uids.size(), s);
    return out;
  };
  auto h = hold_mailbox(account_id, mailbox);
  if (!h.is_ok()) return fail_all(h.status());
  for (uint32_t uid : uids) out.push_back(find_message(h->db(), h->row.id, uid));
  return out;
}

Result<std::string> FileStore::read_message(const std::string& account_id,
                                            const std::string& mailbox, uint32_t uid) {
  std::vector<Result<std::string>> one = read_messages(account_id, mailbox, {uid});
  return std::move(one[0]);
}

std::vector<Result<std::string>> FileStore::read_messages(const std::string& account_id,
                                                          const std::string& mailbox,
                                                          const std::vector<uint32_t>& uids) {
  return read_message_prefixes(account_id, mailbox, uids, {});
}

namespace {

// The file guid of each of `uids` in `mailbox` (not_found for one no longer there), in one read
// transaction: SQLite takes and drops its file locks once, not once per message (POP3
// read-ahead and FETCH read batches).
std::vector<Result<std::string>> guids_of(UserIndex& user, const std::string& mailbox,
                                          const std::vector<uint32_t>& uids) {
  std::vector<Result<std::string>> guids;
  guids.reserve(uids.size());
  std::lock_guard<std::mutex> lk(user.mu);
  db::Sqlite& db = *user.db;
  bool txn = uids.size() > 1 && db.exec("BEGIN").is_ok();
  auto box = find_mailbox(db, mailbox);
  for (uint32_t uid : uids) {
    if (!box.is_ok()) {
      guids.emplace_back(box.status());
      continue;
    }
    auto m = find_message(db, box->id, uid);
    guids.emplace_back(m.is_ok() ? Result<std::string>(m->guid) : Result<std::string>(m.status()));
  }
  if (txn)
    if (auto st = db.exec("COMMIT"); !st.is_ok())  // a read transaction: nothing to lose
      MR_LOG_WARN("event=store_read_commit_failed error={}", core::quote(st.to_string()));
  return guids;
}

// Files are immutable and removed only after no row references them; a concurrent expunge may
// still win the race, which reads as not_found.
Status as_not_found(Status s) {
  if (s.code() != Code::not_found) return s;
  return core::not_found("no such message", s.log_detail());
}

}  // namespace

std::vector<Result<std::string>> FileStore::read_message_prefixes(
    const std::string& account_id, const std::string& mailbox, const std::vector<uint32_t>& uids,
    const std::vector<uint64_t>& limits) {
  std::vector<Result<std::string>> out;
  out.reserve(uids.size());
  auto fail_all = [&](const Status& s) {
    out.assign(uids.size(), Result<std::string>(s));
    return std::move(out);
  };
  auto name = canonical(mailbox);
  if (!name.is_ok()) return fail_all(name.status());
  auto u = user(account_id);
  if (!u.is_ok()) return fail_all(u.status());
  std::vector<Result<std::string>> guids = guids_of(**u, *name, uids);
  for (size_t i = 0; i < guids.size(); ++i) {
    auto& g = guids[i];
    if (!g.is_ok()) {
      out.emplace_back(g.status());
      continue;
    }
    auto data = (*u)->files.read(*g, i < limits.size() ? limits[i] : UINT64_MAX);
    if (!data.is_ok()) {
      out.emplace_back(as_not_found(data.status()));
    } else {
      out.push_back(std::move(data));
    }
  }
  return out;
}

std::vector<Status> FileStore::read_messages_into(const std::string& account_id,
                                                  const std::string& mailbox,
                                                  const std::vector<uint32_t>& uids,
                                                  const std::vector<std::span<char>>& dest) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return std::vector<Status>(uids.size(), name.status());
  auto u = user(account_id);
  if (!u.is_ok()) return std::vector<Status>(uids.size(), u.status());
  std::vector<Result<std::string>> guids = guids_of(**u, *name, uids);
  std::vector<Status> out;
  out.reserve(uids.size());
  for (size_t i = 0; i < guids.size(); ++i) {
    if (!guids[i].is_ok())
      out.push_back(guids[i].status());
    else
      out.push_back(as_not_found((*u)->files.read_into(*guids[i], dest[i])));
  }
  return out;
}

Result<std::string> FileStore::facts(const std::string& account_id, const std::string& mailbox,
                                     uint32_t uid) {
  return facts_impl(account_id, mailbox, uid, false);
}

Result<std::string> FileStore::refresh_facts(const std::string& account_id,
                                             const std::string& mailbox, uint32_t uid) {
  return facts_impl(account_id, mailbox, uid, true);
}

Result<std::string> FileStore::facts_impl(const std::string& account_id, const std::string& mailbox,
                                          uint32_t uid, bool refresh) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  std::string guid;
  {
    auto h = hold_mailbox(*u, *name);
    if (!h.is_ok()) return h.status();
    auto q = h->db().prepare_or_abort(
        "SELECT f.facts IS NULL, f.facts, m.guid FROM messages m JOIN files f ON f.guid=m.guid "
        "WHERE m.mailbox_id=? AND m.uid=?");
    q.bind(1, h->row.id).bind(2, static_cast<int64_t>(uid));
    Status err;
    if (!q.step(&err)) return err.is_ok() ? core::not_found("no such message") : err;
    if ((q.i64(0) == 0 && !refresh) || !options_.facts) return q.text(1);
    guid = q.text(2);
  }
  // Appended without an extractor, or a blob of an older format: compute now and keep it (a
  // copy of the message shares the file row, and so the new blob).
  auto data = (*u)->files.read(guid);
  if (!data.is_ok()) return data.status();
  std::string blob = options_.facts(*data);
  std::lock_guard<std::mutex> lk((*u)->mu);
  // A cache: when it cannot be written, the facts are computed again next time.
  if (auto st = (*u)->db->prepare_or_abort("UPDATE files SET facts=? WHERE guid=?")
                    .bind_blob(1, blob)
                    .bind(2, guid)
                    .run();
      !st.is_ok())
    MR_LOG_WARN("event=store_facts_cache_failed error={}", core::quote(st.to_string()));
  return blob;
}

}  // namespace mailroom::store
