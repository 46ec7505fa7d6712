// FileStore: messages (append, snapshot, changes, flags, expunge, copy/move, read, facts).
#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include "src/core/log.h"
#include "src/store/file_store.h"
#include "src/store/names.h"

namespace mailroom::store {
namespace {

constexpr uint32_t kAllFlags = kSeen | kAnswered | kFlagged | kDeleted | kDraft;

std::string join_keywords(const std::vector<std::string>& k) {
  std::string out;
  for (const auto& w : k) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

core::Status check_keywords(const std::vector<std::string>& k) {
  for (const auto& w : k)
    if (!valid_keyword(w)) return core::invalid_argument("invalid keyword", w);
  return core::Status::ok();
}

// StoreFlagsRequest::origin: a short lower-case word ("imap", "jmap", "admin").
core::Status check_origin(const std::string& origin) {
  bool ok = origin.size() <= 16;
  for (char c : origin)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      ok = false;
  return ok ? core::Status::ok() : core::invalid_argument("invalid flag change origin", origin);
}

std::vector<uint32_t> sorted_unique(std::vector<uint32_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  v.erase(std::remove(v.begin(), v.end(), 0u), v.end());
  return v;
}

core::Status check_quota(db::Sqlite& db, uint64_t add_bytes, uint64_t add_messages,
                         uint64_t max_bytes, uint64_t max_messages) {
  if (max_bytes == 0 && max_messages == 0) return core::Status::ok();
  auto usage = read_usage(db);
  if (!usage.is_ok()) return usage.status();
  if (max_bytes != 0 && usage->bytes + add_bytes > max_bytes)
    return core::Status::error(core::Code::over_quota, "mailbox is full (storage quota)");
  if (max_messages != 0 && usage->messages + add_messages > max_messages)
    return core::Status::error(core::Code::over_quota, "mailbox is full (message quota)");
  return core::Status::ok();
}

core::Result<MessageMeta> find_message(db::Sqlite& db, int64_t mailbox_id, uint32_t uid) {
  auto q = db.prepare_or_abort("SELECT" MAILROOM_META_COLUMNS
                               "FROM messages WHERE mailbox_id=? AND uid=?");
  q.bind(1, mailbox_id).bind(2, static_cast<int64_t>(uid));
  core::Status err;
  if (!q.step(&err)) return err.is_ok() ? core::not_found("no such message") : err;
  return read_meta(q);
}

}  // namespace

// --- append, with group commit of the index ---
//
// Why group commit: an append costs three fsyncs (message file, bucket directory, index commit;
// FORMAT.md "Durable order"). The file work runs in the caller's thread, in parallel with other
// appends (the file system's journal merges concurrent fsyncs), but the index commits of one
// user are serialized by the user's lock: one commit per append would cap a user receiving
// many messages (a mailing list, a group fan-out, a benchmark) at the disk's fsync rate.
// So appends that arrive for a user while its index is committing wait in a queue, and the
// next of them to run (the leader) commits all of them in one transaction, one SAVEPOINT per
// append: a failing append (quota, missing mailbox) rolls back only its own rows. Every caller
// still returns only after the commit holding its rows returned: durable, as before.
//
// The queues live here, keyed by the user's open index, rather than in UserIndex, because
// file_store.h is being changed by another task this session; a queue exists only while
// appends are waiting.
namespace {

// One message of an append unit, its file already written.
struct AppendItem {
  const AppendRequest* req = nullptr;
  std::string name;  // canonical mailbox
  std::string guid;
  std::string data;
  std::optional<std::string> facts;
};

// One caller's unit: all its messages or none (RFC 3502 MULTIAPPEND), and for REPLACE
// (RFC 8508) one message expunged in the same savepoint.
struct PendingAppend {
  std::vector<AppendItem>* items = nullptr;
  const std::string* replace_mailbox = nullptr;  // canonical; nullptr: no REPLACE
  uint32_t replace_uid = 0;
  std::optional<Result<std::vector<AppendResult>>> result;
  uint64_t replace_modseq = 0;            // the expunge's MODSEQ in replace_mailbox
  std::vector<std::string> unreferenced;  // files the expunge left without a row
  bool done = false;
};

struct AppendQueue {
  std::vector<PendingAppend*> waiting;
  bool committing = false;
  size_t users = 0;  // callers between entering and leaving append()
  std::condition_variable cv;
};

std::mutex g_append_mu;
std::unordered_map<const UserIndex*, std::unique_ptr<AppendQueue>> g_append_queues;

// The rows of one message, inside the leader's transaction (the caller holds the user lock).
Result<AppendResult> insert_append(db::Sqlite& db, const AppendItem& p) {
  const AppendRequest& req = *p.req;
  const std::string& data = p.data;
  auto box = find_mailbox(db, p.name);
  if (!box.is_ok() && box.code() == Code::not_found && req.create_mailbox) {
    // Delivery re-creating a special folder the user deleted ("Junk" for spam, "Ads" for
    // advertising): with its special use and subscribed, as init_special_folders makes them.
    SpecialUse use = p.name == "Junk"  ? SpecialUse::junk
                     : p.name == "Ads" ? SpecialUse::ads
                                       : SpecialUse::none;
    box = insert_mailbox(db, p.name, use);
    if (box.is_ok() && use != SpecialUse::none) {
      auto sub = db.prepare_or_abort("INSERT OR IGNORE INTO subscriptions(name) VALUES (?)")
                     .bind(1, p.name)
                     .run();
      if (!sub.is_ok()) return sub;
    }
  }
  if (!box.is_ok()) return box.status();
  auto s = check_quota(db, data.size(), 1, req.quota_bytes, req.quota_messages);
  if (!s.is_ok()) return s;
  MailboxRow row = *box;
  if (row.uid_next == 0xFFFFFFFFu) return Status::error(Code::internal, "UID space exhausted");
  AppendResult result;
  result.uid_validity = row.uid_validity;
  result.uid = row.uid_next++;
  result.modseq = ++row.highest_modseq;
  result.guid = p.guid;
  auto ins = db.prepare_or_abort("INSERT INTO files(guid, size, facts) VALUES (?, ?, ?)");
  ins.bind(1, p.guid).bind(2, static_cast<int64_t>(data.size()));
  if (p.facts) ins.bind_blob(3, *p.facts);
  s = ins.run();
  auto now = static_cast<int64_t>(::time(nullptr));
  int64_t date = req.internal_date != 0 ? req.internal_date : now;
  // Arriving \Seen (IMAP APPEND of a sent or read message) is "opened" evidence too.
  bool seen = (req.flags & kSeen) != 0;
  if (s.is_ok())
    s = db.prepare_or_abort(
              "INSERT INTO messages(mailbox_id, uid, modseq, guid, size, internal_date, "
              "internal_tz, flags, keywords, seen_at, seen_via, saved_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(1, row.id)
            .bind(2, static_cast<int64_t>(result.uid))
            .bind(3, static_cast<int64_t>(result.modseq))
            .bind(4, p.guid)
            .bind(5, static_cast<int64_t>(data.size()))
            .bind(6, date)
            .bind(7, static_cast<int64_t>(req.internal_tz))
            .bind(8, static_cast<int64_t>(req.flags & kAllFlags))
            .bind(9, join_keywords(normalize_keywords(req.keywords)))
            .bind(10, seen ? now : 0)
            .bind(11, seen ? "append" : "")
            .bind(12, now)  // RFC 8514 save date
            .run();
  if (s.is_ok()) s = set_mailbox_counters(db, row);
  if (s.is_ok()) s = add_usage(db, static_cast<int64_t>(data.size()), 1);
  if (!s.is_ok()) return s;
  return result;
}

// REPLACE (RFC 8508 3.3): removes the replaced message inside the unit's savepoint, before its
// append, so that the quota check of the append sees the space it frees.
Status expunge_replaced(db::Sqlite& db, PendingAppend& p) {
  auto box = find_mailbox(db, *p.replace_mailbox);
  if (!box.is_ok()) return box.status();
  auto m = find_message(db, box->id, p.replace_uid);
  if (!m.is_ok()) return m.status();  // not_found: expunged meanwhile; nothing is appended
  MailboxRow row = *box;
  p.replace_modseq = ++row.highest_modseq;
  auto s = delete_message_row(db, row.id, p.replace_uid, p.replace_modseq);
  if (s.is_ok()) s = set_mailbox_counters(db, row);
  if (s.is_ok()) s = add_usage(db, -static_cast<int64_t>(m->size), -1);
  if (s.is_ok() && drop_file_if_unreferenced(db, m->guid)) p.unreferenced.push_back(m->guid);
  return s;
}

Result<std::vector<AppendResult>> insert_unit(db::Sqlite& db, PendingAppend& p) {
  if (p.replace_mailbox) {
    auto s = expunge_replaced(db, p);
    if (!s.is_ok()) return s;
  }
  std::vector<AppendResult> out;
  for (const auto& item : *p.items) {
    auto r = insert_append(db, item);
    if (!r.is_ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

// One transaction for the whole batch, one savepoint per caller's unit; sets every result.
void commit_appends(UserIndex& u, const std::vector<PendingAppend*>& batch) {
  std::lock_guard<std::mutex> lk(u.mu);
  db::Sqlite& db = *u.db;
  db::Transaction tx(db);
  auto s = tx.begin();
  if (!s.is_ok()) {
    for (auto* p : batch) p->result = s;
    return;
  }
  for (auto* p : batch) {
    s = db.exec("SAVEPOINT append_one");
    if (!s.is_ok()) {
      p->result = s;
      continue;
    }
    auto r = insert_unit(db, *p);
    if (r.is_ok()) {
      s = db.exec("RELEASE append_one");
      if (!s.is_ok()) r = s;
    } else {
      // r already says why this append failed; undoing its savepoint cannot fail it twice.
      (void)db.exec("ROLLBACK TO append_one");
      (void)db.exec("RELEASE append_one");
      p->unreferenced.clear();
    }
    p->result = std::move(r);
  }
  s = tx.commit();
  if (!s.is_ok()) {
    for (auto* p : batch) {
      p->result = s;  // nothing of the batch was committed
      p->unreferenced.clear();
    }
  }
}

}  // namespace

Result<AppendResult> FileStore::append(const std::string& account_id, const AppendRequest& req) {
  AppendBatch one;
  one.messages.push_back(req);
  auto r = append_batch(account_id, one);
  if (!r.is_ok()) return r.status();
  return std::move(r->front());
}

Result<std::vector<AppendResult>> FileStore::append_batch(const std::string& account_id,
                                                          const AppendBatch& batch) {
  if (batch.messages.empty()) return core::invalid_argument("no message to append");
  std::optional<std::string> replace_name;
  if (batch.replace_uid != 0) {
    auto n = canonical(batch.replace_mailbox);
    if (!n.is_ok()) return n.status();
    replace_name = std::move(*n);
  }
  std::vector<AppendItem> items(batch.messages.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const AppendRequest& req = batch.messages[i];
    auto name = canonical(req.mailbox);
    if (!name.is_ok()) return name.status();
    auto kw_ok = check_keywords(req.keywords);
    if (!kw_ok.is_ok()) return kw_ok;
    items[i].req = &req;
    items[i].name = std::move(*name);
  }
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();

  auto remove_files = [&](size_t n) {
    for (size_t i = 0; i < n; ++i) (*u)->files.remove(items[i].guid);
  };
  for (size_t i = 0; i < items.size(); ++i) {
    AppendItem& item = items[i];
    item.data = normalize_crlf(item.req->message);
    if (item.req->quota_bytes != 0 && item.data.size() > item.req->quota_bytes) {
      remove_files(i);
      return Status::error(Code::too_large, "message is larger than the mailbox quota");
    }
    if (options_.facts) {
      // The parser sees untrusted input; a failure there must not refuse the delivery (the
      // facts are then computed again on first use).
      try {
        item.facts = options_.facts(item.data);
      } catch (const std::exception&) {
        item.facts.reset();
      }
    }
    // Durable order (FORMAT.md): file, fsync, rename, fsync dir; only then the index.
    item.guid = new_guid();
    auto s = (*u)->files.write(item.guid, item.data);
    if (!s.is_ok()) {
      remove_files(i);
      return s;
    }
  }

  PendingAppend mine;
  mine.items = &items;
  mine.replace_mailbox = replace_name ? &*replace_name : nullptr;
  mine.replace_uid = batch.replace_uid;
  const UserIndex* key = u->get();
  std::vector<PendingAppend*> pending;
  {
    std::unique_lock<std::mutex> lk(g_append_mu);
    auto& slot = g_append_queues[key];
    if (!slot) slot = std::make_unique<AppendQueue>();
    AppendQueue* q = slot.get();
    ++q->users;
    q->waiting.push_back(&mine);
    if (options_.on_append_queued) options_.on_append_queued(q->waiting.size());
    q->cv.wait(lk, [&] { return mine.done || !q->committing; });
    if (!mine.done) {  // the leader: commit everything that waits, including this append
      q->committing = true;
      pending.swap(q->waiting);
      lk.unlock();
      if (options_.on_append_batch) options_.on_append_batch(pending.size());
      commit_appends(**u, pending);
      lk.lock();
      for (auto* p : pending) p->done = true;  // each follower reads its result, then leaves
      q->committing = false;
      q->cv.notify_all();  // the followers, and one of the newly waiting becomes the leader
    }
    // The last one out removes the queue: nobody waits on its condition variable then.
    if (--q->users == 0) g_append_queues.erase(key);
  }
  Result<std::vector<AppendResult>> result = std::move(*mine.result);
  if (!result.is_ok()) {
    remove_files(items.size());
    return result;
  }
  // After the commit: a crash here leaves unreferenced files, which fsck removes.
  for (auto& g : mine.unreferenced) (*u)->files.remove(g);
  std::vector<ChangeEvent> events;
  if (replace_name) events.push_back({account_id, *replace_name, mine.replace_modseq});
  for (size_t i = 0; i < items.size(); ++i) {
    if (i + 1 == items.size() || items[i + 1].name != items[i].name)
      events.push_back({account_id, items[i].name, (*result)[i].modseq});
  }
  notify_all(events);
  return result;
}

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

Result<StoreFlagsResult> FileStore::store_flags(const std::string& account_id,
                                                const std::string& mailbox,
                                                const StoreFlagsRequest& req) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto kw_ok = check_keywords(req.keywords);
  if (!kw_ok.is_ok()) return kw_ok;
  auto origin_ok = check_origin(req.origin);
  if (!origin_ok.is_ok()) return origin_ok;
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  StoreFlagsResult out;
  auto now = static_cast<int64_t>(::time(nullptr));
  uint64_t new_modseq = 0;
  {
    // A flag change commits without waiting for the disk (WAL, synchronous=NORMAL): it survives
    // a crash of the process, and a power loss once the user's next durable commit (a delivery,
    // an APPEND, an EXPUNGE) or a checkpoint has synced the log after it. Dovecot's default
    // (mail_fsync = optimized) does not sync flag changes either; two of the four writes of a
    // typical IMAP session are STOREs (bench/imap, --shape mailbox). FORMAT.md "Durability".
    auto h = hold_mailbox(*u, *name, IndexHold::Txn::write_relaxed);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    MailboxRow& row = h->row;
    Status s;
    uint64_t modseq = row.highest_modseq + 1;
    bool changed_any = false;
    // FORMAT.md "Per-reader \Seen": a reader's \Seen is its mark; the message keeps the owner's.
    const bool per_reader = !req.reader.empty();
    for (uint32_t uid : sorted_unique(req.uids)) {
      auto m = find_message(db, row.id, uid);
      if (!m.is_ok()) {
        if (m.code() == Code::not_found) continue;
        return m.status();
      }
      std::optional<SeenMark> mark;
      if (per_reader) {
        auto found = find_seen_mark(db, req.reader, row.id, uid);
        if (!found.is_ok()) return found.status();
        mark = *found;
      }
      const uint32_t owner_seen = m->flags & kSeen;
      // The flags and MODSEQ the requester sees.
      uint32_t shown = m->flags;
      uint64_t shown_modseq = m->modseq;
      if (per_reader) {
        shown = (m->flags & ~kSeen) | (mark && mark->seen ? kSeen : 0);
        shown_modseq = std::max(m->modseq, mark ? mark->modseq : 0);
      }
      // RFC 7162 3.1.3: UNCHANGEDSINCE refuses messages modified after the given MODSEQ.
      if (req.unchanged_since && shown_modseq > *req.unchanged_since) {
        out.modified.push_back(uid);
        continue;
      }
      uint32_t flags = shown;
      std::vector<std::string> kw = m->keywords;
      switch (req.op) {
        case FlagOp::add:
          flags |= req.flags & kAllFlags;
          kw.insert(kw.end(), req.keywords.begin(), req.keywords.end());
          break;
        case FlagOp::remove: {
          flags &= ~(req.flags & kAllFlags);
          auto rm = normalize_keywords(req.keywords);
          std::vector<std::string> keep;
          for (auto& k : kw) {
            bool drop = false;
            for (auto& r : rm)
              if (normalize_keywords({k, r}).size() == 1) drop = true;
            if (!drop) keep.push_back(k);
          }
          kw = std::move(keep);
          break;
        }
        case FlagOp::replace:
          flags = req.flags & kAllFlags;
          kw = req.keywords;
          break;
      }
      kw = normalize_keywords(kw);
      const uint32_t stored = per_reader ? (flags & ~kSeen) | owner_seen : flags;
      if (stored != m->flags || kw != m->keywords) {
        // "Opened" evidence: the first time \Seen is set, and by whom; kept when \Seen is
        // cleared again. It rides on this flag change's MODSEQ.
        if ((stored & kSeen) && !(m->flags & kSeen) && m->seen_at == 0) {
          m->seen_at = now;
          m->seen_via = req.origin;
        }
        s = db.prepare_or_abort(
                  "UPDATE messages SET flags=?, keywords=?, modseq=?, seen_at=?, seen_via=? "
                  "WHERE mailbox_id=? AND uid=?")
                .bind(1, static_cast<int64_t>(stored))
                .bind(2, join_keywords(kw))
                .bind(3, static_cast<int64_t>(modseq))
                .bind(4, m->seen_at)
                .bind(5, m->seen_via)
                .bind(6, row.id)
                .bind(7, static_cast<int64_t>(uid))
                .run();
        if (!s.is_ok()) return s;
        m->keywords = kw;
        shown_modseq = modseq;
        changed_any = true;
      }
      bool reader_seen = (flags & kSeen) != 0;
      if (per_reader && reader_seen != (mark && mark->seen)) {
        s = put_seen_mark(db, req.reader, row.id, uid, reader_seen, modseq);
        if (!s.is_ok()) return s;
        shown_modseq = modseq;
        changed_any = true;
      }
      m->flags = flags;
      m->modseq = shown_modseq;
      out.updated.push_back(std::move(*m));
    }
    if (changed_any) {
      row.highest_modseq = modseq;
      s = set_mailbox_counters(db, row);
      if (!s.is_ok()) return s;
      new_modseq = modseq;
    }
    s = h->commit();
    if (!s.is_ok()) return s;
  }
  if (new_modseq) notify(account_id, *name, new_modseq);
  return out;
}

Result<std::vector<uint32_t>> FileStore::expunge(const std::string& account_id,
                                                 const std::string& mailbox,
                                                 const std::vector<uint32_t>& uids) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  std::vector<uint32_t> removed;
  std::vector<std::string> unreferenced;
  uint64_t modseq = 0;
  {
    auto h = hold_mailbox(*u, *name, IndexHold::Txn::write);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    MailboxRow& row = h->row;
    Status s;
    modseq = row.highest_modseq + 1;
    int64_t bytes = 0;
    std::set<std::string> guids;
    for (uint32_t uid : sorted_unique(uids)) {
      auto m = find_message(db, row.id, uid);
      if (!m.is_ok()) {
        if (m.code() == Code::not_found) continue;
        return m.status();
      }
      s = delete_message_row(db, row.id, uid, modseq);
      if (!s.is_ok()) return s;
      bytes += static_cast<int64_t>(m->size);
      guids.insert(m->guid);
      removed.push_back(uid);
    }
    if (removed.empty()) return removed;
    for (auto& g : guids)
      if (drop_file_if_unreferenced(db, g)) unreferenced.push_back(g);
    row.highest_modseq = modseq;
    s = set_mailbox_counters(db, row);
    if (s.is_ok()) s = add_usage(db, -bytes, -static_cast<int64_t>(removed.size()));
    if (s.is_ok()) s = h->commit();
    if (!s.is_ok()) return s;
  }
  // After the commit: a crash here leaves unreferenced files, which fsck removes.
  for (auto& g : unreferenced) (*u)->files.remove(g);
  notify(account_id, *name, modseq);
  return removed;
}

Result<CopyResult> FileStore::copy(const std::string& account_id, const std::string& from,
                                   const std::vector<uint32_t>& uids, const std::string& to,
                                   const Quota& quota) {
  return copy_or_move(account_id, from, uids, to, &quota, false);
}

Result<CopyResult> FileStore::move(const std::string& account_id, const std::string& from,
                                   const std::vector<uint32_t>& uids, const std::string& to) {
  return copy_or_move(account_id, from, uids, to, nullptr, true);
}

Result<CopyResult> FileStore::copy_or_move(const std::string& account_id, const std::string& from,
                                           const std::vector<uint32_t>& uids, const std::string& to,
                                           const Quota* quota, bool move) {
  auto src_name = canonical(from);
  if (!src_name.is_ok()) return src_name.status();
  auto dst_name = canonical(to);
  if (!dst_name.is_ok()) return dst_name.status();
  CopyResult out;
  uint64_t src_modseq = 0, dst_modseq = 0;
  {
    auto h = hold_user(account_id, IndexHold::Txn::write);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    Status s;
    auto src = find_mailbox(db, *src_name);
    if (!src.is_ok()) return src.status();
    auto dst = find_mailbox(db, *dst_name);
    if (!dst.is_ok()) return dst.status();
    std::vector<MessageMeta> msgs;
    uint64_t bytes = 0;
    for (uint32_t uid : sorted_unique(uids)) {
      auto m = find_message(db, src->id, uid);
      if (!m.is_ok()) {
        if (m.code() == Code::not_found) continue;
        return m.status();
      }
      bytes += m->size;
      msgs.push_back(std::move(*m));
    }
    out.uid_validity = dst->uid_validity;
    if (msgs.empty()) return out;
    if (!move && quota) {
      if (quota->bytes != 0 && bytes > quota->bytes)
        return Status::error(Code::too_large, "messages are larger than the mailbox quota");
      s = check_quota(db, bytes, msgs.size(), quota->bytes, quota->messages);
      if (!s.is_ok()) return s;
    }
    MailboxRow drow = *dst;
    if (drow.uid_next > 0xFFFFFFFFu - msgs.size())
      return Status::error(Code::internal, "UID space exhausted");
    MailboxRow srow = *src;
    dst_modseq = ++drow.highest_modseq;
    auto now = static_cast<int64_t>(::time(nullptr));
    for (auto& m : msgs) {
      uint32_t new_uid = drow.uid_next++;
      s = db.prepare_or_abort(
                "INSERT INTO messages(mailbox_id, uid, modseq, guid, size, internal_date, "
                "internal_tz, flags, keywords, retrieved_at, retrieved_by, seen_at, seen_via, "
                "saved_at) "
                "SELECT ?, ?, ?, guid, size, internal_date, internal_tz, flags, keywords, "
                "retrieved_at, retrieved_by, seen_at, seen_via, ? FROM messages "
                "WHERE mailbox_id=? AND uid=?")
              .bind(1, drow.id)
              .bind(2, static_cast<int64_t>(new_uid))
              .bind(3, static_cast<int64_t>(dst_modseq))
              .bind(4, now)  // RFC 8514 2: a copy or a moved message has a new save date
              .bind(5, src->id)
              .bind(6, static_cast<int64_t>(m.uid))
              .run();
      if (!s.is_ok()) return s;
      out.source_uids.push_back(m.uid);
      out.dest_uids.push_back(new_uid);
    }
    if (move) {
      // Onto itself, one row holds both counters and one MODSEQ covers the whole command.
      src_modseq = src->id == dst->id ? dst_modseq : ++srow.highest_modseq;
      for (auto& m : msgs) {
        s = delete_message_row(db, src->id, m.uid, src_modseq);
        if (!s.is_ok()) return s;
      }
      if (src->id != dst->id) {
        s = set_mailbox_counters(db, srow);
        if (!s.is_ok()) return s;
      }
    } else {
      s = add_usage(db, static_cast<int64_t>(bytes), static_cast<int64_t>(msgs.size()));
      if (!s.is_ok()) return s;
    }
    s = set_mailbox_counters(db, drow);
    if (s.is_ok()) s = h->commit();
    if (!s.is_ok()) return s;
  }
  std::vector<ChangeEvent> events{{account_id, *dst_name, dst_modseq}};
  if (move && *src_name != *dst_name) events.push_back({account_id, *src_name, src_modseq});
  notify_all(events);
  return out;
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

Status FileStore::mark_retrieved(const std::string& account_id, const std::string& mailbox,
                                 uint32_t uid, int64_t when, const std::string& client_ip) {
  auto h = hold_mailbox(account_id, mailbox);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  // Not an IMAP-visible change: MODSEQ stays.
  auto s = db.prepare_or_abort(
                 "UPDATE messages SET retrieved_at=?, retrieved_by=? WHERE mailbox_id=? AND uid=?")
               .bind(1, when)
               .bind(2, client_ip)
               .bind(3, h->row.id)
               .bind(4, static_cast<int64_t>(uid))
               .run();
  if (!s.is_ok()) return s;
  if (db.changes() == 0) return core::not_found("no such message");
  return Status::ok();
}

Result<QuotaUsage> FileStore::quota_usage(const std::string& account_id) {
  auto h = hold_user(account_id);
  if (!h.is_ok()) return h.status();
  return read_usage(h->db());
}

}  // namespace mailroom::store
