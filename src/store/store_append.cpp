// FileStore: append (RFC 3501 APPEND, RFC 3502 MULTIAPPEND, RFC 8508 REPLACE, delivery), with
// group commit of the index.
#include <condition_variable>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "src/store/file_store.h"
#include "src/store/message_rows.h"
#include "src/store/names.h"

namespace mailroom::store {

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
// The queues live here, keyed by the user's open index, rather than in UserIndex: a queue
// exists only while appends are waiting, so the many open indexes of idle users carry none.
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

}  // namespace mailroom::store
