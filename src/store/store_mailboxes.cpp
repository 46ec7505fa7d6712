// FileStore: the mailbox tree (list, status, create, delete, rename, subscriptions).
#include <algorithm>

#include "src/store/file_store.h"
#include "src/store/names.h"

namespace mailroom::store {
namespace {

constexpr const char* kListSql =
    "SELECT b.name, b.special_use, b.uid_validity, b.uid_next, b.highest_modseq, "
    "(SELECT count(*) FROM messages m WHERE m.mailbox_id=b.id), "
    "(SELECT count(*) FROM messages m WHERE m.mailbox_id=b.id AND (m.flags & 1)=0), "
    "(SELECT coalesce(sum(size),0) FROM messages m WHERE m.mailbox_id=b.id), "
    "EXISTS(SELECT 1 FROM subscriptions s WHERE s.name=b.name), b.objectid "
    "FROM mailboxes b ORDER BY b.name";

constexpr const char* kStatusSql =
    "SELECT b.name, b.special_use, b.uid_validity, b.uid_next, b.highest_modseq, "
    "(SELECT count(*) FROM messages m WHERE m.mailbox_id=b.id), "
    "(SELECT count(*) FROM messages m WHERE m.mailbox_id=b.id AND (m.flags & 1)=0), "
    "(SELECT coalesce(sum(size),0) FROM messages m WHERE m.mailbox_id=b.id), "
    "EXISTS(SELECT 1 FROM subscriptions s WHERE s.name=b.name), b.objectid "
    "FROM mailboxes b WHERE b.name=?";

MailboxInfo read_info(const db::Stmt& q) {
  MailboxInfo i;
  i.name = q.text(0);
  i.special_use = static_cast<SpecialUse>(q.i64(1));
  i.uid_validity = static_cast<uint32_t>(q.i64(2));
  i.uid_next = static_cast<uint32_t>(q.i64(3));
  i.highest_modseq = static_cast<uint64_t>(q.i64(4));
  i.messages = static_cast<uint32_t>(q.i64(5));
  i.unseen = static_cast<uint32_t>(q.i64(6));
  i.size = static_cast<uint64_t>(q.i64(7));
  i.subscribed = q.i64(8) != 0;
  i.object_id = q.text(9);
  return i;
}

std::vector<std::string> all_names(db::Sqlite& db) {
  std::vector<std::string> names;
  auto q = db.prepare_or_abort("SELECT name FROM mailboxes");
  while (q.step()) names.push_back(q.text(0));
  return names;
}

// Removes every message of a mailbox (inside the caller's transaction); returns the guids
// whose files are no longer referenced.
core::Result<std::vector<std::string>> drop_messages(db::Sqlite& db, int64_t mailbox_id) {
  std::vector<std::string> guids;
  int64_t bytes = 0, count = 0;
  {
    auto q = db.prepare_or_abort("SELECT guid, size FROM messages WHERE mailbox_id=?");
    q.bind(1, mailbox_id);
    while (q.step()) {
      guids.push_back(q.text(0));
      bytes += q.i64(1);
      ++count;
    }
  }
  auto s = db.prepare_or_abort("DELETE FROM messages WHERE mailbox_id=?").bind(1, mailbox_id).run();
  if (s.is_ok())
    s = db.prepare_or_abort("DELETE FROM expunged WHERE mailbox_id=?").bind(1, mailbox_id).run();
  if (s.is_ok()) s = add_usage(db, -bytes, -count);
  if (!s.is_ok()) return s;
  std::sort(guids.begin(), guids.end());
  guids.erase(std::unique(guids.begin(), guids.end()), guids.end());
  std::vector<std::string> unreferenced;
  for (auto& g : guids)
    if (drop_file_if_unreferenced(db, g)) unreferenced.push_back(g);
  return unreferenced;
}

}  // namespace

Result<std::vector<MailboxInfo>> FileStore::list_mailboxes(const std::string& account_id) {
  auto h = hold_user(account_id);
  if (!h.is_ok()) return h.status();
  std::vector<MailboxInfo> out;
  auto q = h->db().prepare_or_abort(kListSql);
  core::Status err;
  while (q.step(&err)) out.push_back(read_info(q));
  if (!err.is_ok()) return err;
  return out;
}

Result<MailboxInfo> FileStore::mailbox_status(const std::string& account_id,
                                              const std::string& mailbox) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto h = hold_user(account_id);
  if (!h.is_ok()) return h.status();
  auto q = h->db().prepare_or_abort(kStatusSql);
  q.bind(1, *name);
  core::Status err;
  if (!q.step(&err)) return err.is_ok() ? core::not_found("no such mailbox", *name) : err;
  return read_info(q);
}

Status FileStore::create_mailbox(const std::string& account_id, const std::string& mailbox,
                                 SpecialUse use) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  {
    auto h = hold_user(account_id, IndexHold::Txn::write);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    auto existing = find_mailbox(db, *name);
    if (existing.is_ok())
      return Status::error(Code::already_exists, "mailbox already exists", *name);
    if (existing.code() != Code::not_found) return existing.status();
    auto r = insert_mailbox(db, *name, use);
    if (!r.is_ok()) return r.status();
    auto s = h->commit();
    if (!s.is_ok()) return s;
  }
  // Account-wide watchers (JMAP push) learn of the new mailbox; nobody watches its name yet.
  notify(account_id, *name, 0);
  notify_list_watchers(account_id);  // NOTIFY MailboxName (RFC 5465 5.4)
  return Status::ok();
}

Status FileStore::delete_mailbox(const std::string& account_id, const std::string& mailbox,
                                 bool delete_children) {
  return delete_mailbox_impl(account_id, mailbox,
                             delete_children ? Inferiors::remove : Inferiors::refuse);
}

Status FileStore::delete_mailbox_keep_inferiors(const std::string& account_id,
                                                const std::string& mailbox) {
  return delete_mailbox_impl(account_id, mailbox, Inferiors::keep);
}

Status FileStore::delete_mailbox_impl(const std::string& account_id, const std::string& mailbox,
                                      Inferiors inferiors) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  if (is_inbox(*name)) return core::invalid_argument("INBOX cannot be deleted");
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  std::vector<std::string> deleted_names;
  std::vector<std::string> unreferenced;
  {
    auto h = hold_mailbox(*u, *name, IndexHold::Txn::write);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    Status s;
    std::vector<std::string> victims;
    for (auto& n : all_names(db)) {
      if (n != *name && is_same_or_child(n, *name)) {
        if (inferiors == Inferiors::refuse)
          return core::invalid_argument("mailbox has children", *name);
        if (inferiors == Inferiors::remove) victims.push_back(n);
      }
    }
    victims.push_back(*name);
    for (auto& v : victims) {
      auto r = find_mailbox(db, v);
      if (!r.is_ok()) return r.status();
      auto gone = drop_messages(db, r->id);
      if (!gone.is_ok()) return gone.status();
      unreferenced.insert(unreferenced.end(), gone->begin(), gone->end());
      s = db.prepare_or_abort("DELETE FROM mailboxes WHERE id=?").bind(1, r->id).run();
      // RFC 4314 (FORMAT.md "Access control lists"): the ACL goes with the mailbox.
      if (s.is_ok())
        s = db.prepare_or_abort("DELETE FROM acl WHERE mailbox_id=?").bind(1, r->id).run();
      if (s.is_ok()) s = delete_mailbox_metadata(db, r->id);  // RFC 5464 4.1
      if (s.is_ok()) s = delete_seen_marks(db, r->id, 0);
      if (!s.is_ok()) return s;
    }
    s = h->commit();
    if (!s.is_ok()) return s;
    deleted_names = std::move(victims);
  }
  for (auto& g : unreferenced) (*u)->files.remove(g);
  std::vector<ChangeEvent> events;
  for (auto& n : deleted_names) events.push_back({account_id, n, 0});
  notify_all(events);
  notify_list_watchers(account_id);
  return Status::ok();
}

Status FileStore::rename_mailbox(const std::string& account_id, const std::string& from_raw,
                                 const std::string& to_raw) {
  auto from = canonical(from_raw);
  if (!from.is_ok()) return from.status();
  auto to = canonical(to_raw);
  if (!to.is_ok()) return to.status();
  if (is_inbox(*to)) return core::invalid_argument("cannot rename to INBOX");
  if (*from != "INBOX" && is_same_or_child(*to, *from))
    return core::invalid_argument("cannot rename a mailbox into itself");
  uint64_t inbox_modseq = 0;
  {
    auto h = hold_user(account_id, IndexHold::Txn::write);
    if (!h.is_ok()) return h.status();
    db::Sqlite& db = h->db();
    Status s;
    auto src = find_mailbox(db, *from);
    if (!src.is_ok()) return src.status();
    if (find_mailbox(db, *to).is_ok())
      return Status::error(Code::already_exists, "mailbox already exists", *to);
    if (is_inbox(*from)) {
      // RFC 3501 6.3.5: renaming INBOX moves its messages to a new mailbox and leaves INBOX
      // empty; INBOX's children stay where they are. UIDs are kept (new UIDVALIDITY).
      auto dst = insert_mailbox(db, *to, SpecialUse::none);
      if (!dst.is_ok()) return dst.status();
      MailboxRow inbox = *src;
      inbox.highest_modseq += 1;
      s = db.prepare_or_abort(
                "INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq, guid) "
                "SELECT ?, uid, ?, guid FROM messages WHERE mailbox_id=?")
              .bind(1, inbox.id)
              .bind(2, static_cast<int64_t>(inbox.highest_modseq))
              .bind(3, inbox.id)
              .run();
      if (s.is_ok())
        s = db.prepare_or_abort("UPDATE messages SET mailbox_id=? WHERE mailbox_id=?")
                .bind(1, dst->id)
                .bind(2, inbox.id)
                .run();
      MailboxRow moved = *dst;
      moved.uid_next = inbox.uid_next;
      moved.highest_modseq = inbox.highest_modseq;
      if (s.is_ok()) s = set_mailbox_counters(db, moved);
      if (s.is_ok()) s = set_mailbox_counters(db, inbox);
      if (!s.is_ok()) return s;
      inbox_modseq = inbox.highest_modseq;
    } else {
      std::vector<std::pair<std::string, std::string>> renames;
      for (auto& n : all_names(db)) {
        if (!is_same_or_child(n, *from)) continue;
        std::string target = *to + n.substr(from->size());
        if (target.size() > options_.max_mailbox_name)
          return core::invalid_argument("mailbox name too long", target);
        if (find_mailbox(db, target).is_ok())
          return Status::error(Code::already_exists, "mailbox already exists", target);
        renames.emplace_back(n, target);
      }
      // Parents of the new name (the new name itself must not exist yet).
      auto slash = to->rfind('/');
      if (slash != std::string::npos) {
        std::string parent = to->substr(0, slash);
        if (!find_mailbox(db, parent).is_ok()) {
          auto made = insert_mailbox(db, parent, SpecialUse::none);
          if (!made.is_ok()) return made.status();
        }
      }
      for (auto& [old_name, new_name] : renames) {
        s = db.prepare_or_abort("UPDATE mailboxes SET name=? WHERE name=?")
                .bind(1, new_name)
                .bind(2, old_name)
                .run();
        if (!s.is_ok()) return s;
      }
    }
    s = h->commit();
    if (!s.is_ok()) return s;
  }
  notify(account_id, *from, inbox_modseq);
  notify_list_watchers(account_id);
  return Status::ok();
}

Status FileStore::set_subscribed(const std::string& account_id, const std::string& mailbox,
                                 bool subscribed) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto h = hold_user(account_id);
  if (!h.is_ok()) return h.status();
  db::Sqlite& db = h->db();
  Status done =
      subscribed
          ? db.prepare_or_abort("INSERT OR IGNORE INTO subscriptions(name) VALUES (?)")
                .bind(1, *name)
                .run()
          : db.prepare_or_abort("DELETE FROM subscriptions WHERE name=?").bind(1, *name).run();
  if (done.is_ok()) notify_list_watchers(account_id);
  return done;
}

Result<std::vector<std::string>> FileStore::subscriptions(const std::string& account_id) {
  auto h = hold_user(account_id);
  if (!h.is_ok()) return h.status();
  std::vector<std::string> out;
  auto q = h->db().prepare_or_abort("SELECT name FROM subscriptions ORDER BY name");
  core::Status err;
  while (q.step(&err)) out.push_back(q.text(0));
  if (!err.is_ok()) return err;
  return out;
}

}  // namespace mailroom::store
