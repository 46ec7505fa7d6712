// COPY / UID COPY (RFC 3501 6.4.7) with COPYUID (RFC 4315) and MOVE / UID MOVE (RFC 6851).
#include <algorithm>
#include <cstdint>
#include <set>

#include "auth/directory.h"
#include "src/filter/move_observer.h"
#include "src/imap/session.h"

namespace mailroom::imap {
namespace {

// [imap] shared_seen = "per-user" (RFC 4314 shared folders): what a reader sees as \Seen in
// another account's folder is its own mark (MailStore::reader_seen), not the owner's flag.
// The UIDs of `uids` the reader has marked seen; an empty reader (own folder, or one \Seen
// for everyone) reads nothing.
core::Result<std::set<uint32_t>> seen_by_reader(store::MailStore& store, const std::string& src,
                                                const std::string& from, const std::string& reader,
                                                const std::vector<uint32_t>& uids) {
  std::set<uint32_t> seen;
  if (reader.empty()) return seen;
  // Marks of `uids` only: none is newer than the largest MODSEQ.
  auto marks = store.reader_seen(src, from, reader, static_cast<uint64_t>(INT64_MAX), uids);
  if (!marks) return marks.status();
  for (const auto& m : *marks)
    if (m.seen) seen.insert(m.uid);
  return seen;
}

// The copies in a folder whose \Seen is per reader (another account's, "per-user") carry the
// reader's \Seen as the reader's marks: `seen_src` of the source UIDs, by their copies.
core::Status mark_copies_seen(store::MailStore& store, const std::string& dst,
                              const std::string& to, const std::string& reader,
                              const store::CopyResult& copied, const std::set<uint32_t>& seen_src) {
  store::StoreFlagsRequest req;
  for (size_t i = 0; i < copied.source_uids.size() && i < copied.dest_uids.size(); ++i)
    if (seen_src.count(copied.source_uids[i])) req.uids.push_back(copied.dest_uids[i]);
  if (req.uids.empty()) return core::Status::ok();
  std::sort(req.uids.begin(), req.uids.end());
  req.op = store::FlagOp::add;
  req.flags = store::kSeen;
  req.origin = "imap";
  req.reader = reader;
  auto r = store.store_flags(dst, to, req);
  return r ? core::Status::ok() : r.status();
}

// COPY / MOVE between two accounts' stores (a shared folder and the user's own, RFC 4314):
// the messages are read and appended to the destination in one batch (all or none, the
// destination owner's quota), then, for MOVE, expunged from the source. Not atomic for
// observers as a MOVE within one store is: a crash between the two leaves both copies.
core::Result<store::CopyResult> copy_between(store::MailStore& store, auth::Directory* directory,
                                             const std::string& src, const std::string& from,
                                             const std::vector<uint32_t>& uids,
                                             const std::string& dst, const std::string& to,
                                             uint32_t dest_rights, bool move,
                                             const std::set<uint32_t>* reader_seen,
                                             const std::string& dst_reader) {
  auto metas = store.message_metas(src, from, uids);
  auto bodies = store.read_messages(src, from, uids);
  store::CopyResult out;
  store::AppendBatch batch;
  store::Quota quota;
  if (directory) {
    auto acct = directory->find_account_by_id(dst);
    if (acct) {
      quota.bytes = acct->quota_bytes;
      quota.messages = acct->quota_messages;
    } else if (acct.code() == core::Code::unavailable) {
      return acct.status();
    }
  }
  for (size_t i = 0; i < uids.size(); ++i) {
    if (!metas[i] || !bodies[i]) continue;  // expunged meanwhile: not copied
    store::AppendRequest req;
    req.mailbox = to;
    req.message = *bodies[i];
    req.flags = metas[i]->flags;
    if (reader_seen)  // the reader's \Seen, not the owner's (seen_by_reader)
      req.flags = (req.flags & ~store::kSeen) | (reader_seen->count(uids[i]) ? store::kSeen : 0);
    req.keywords = metas[i]->keywords;
    req.internal_date = metas[i]->internal_date;
    req.internal_tz = metas[i]->internal_tz;
    acl::filter_flags(dest_rights, req.flags, req.keywords);
    // A destination whose \Seen is per reader: the user's \Seen is the reader's mark there
    // (mark_copies_seen), not the owner's flag (as APPEND does).
    if (!dst_reader.empty()) req.flags &= ~store::kSeen;
    req.quota_bytes = quota.bytes;
    req.quota_messages = quota.messages;
    batch.messages.push_back(std::move(req));
    out.source_uids.push_back(uids[i]);
  }
  if (batch.messages.empty()) return out;
  auto appended = store.append_batch(dst, batch);
  if (!appended) return appended.status();
  out.uid_validity = appended->front().uid_validity;
  for (const auto& a : *appended) out.dest_uids.push_back(a.uid);
  if (move) {
    auto gone = store.expunge(src, from, out.source_uids);
    if (!gone) return gone.status();
  }
  return out;
}

// COPY within one account's store, under that account's quota.
core::Result<store::CopyResult> copy_within(Session& s, const std::string& account,
                                            const std::string& from,
                                            const std::vector<uint32_t>& uids,
                                            const std::string& to) {
  store::Quota quota;
  if (s.services.directory) {
    auto acct = s.services.directory->find_account_by_id(account);
    if (acct) {
      quota.bytes = acct->quota_bytes;
      quota.messages = acct->quota_messages;
    } else if (acct.code() == core::Code::unavailable) {
      return acct.status();
    }
  }
  return s.services.store->copy(account, from, uids, to, quota);
}

}  // namespace

asio::awaitable<Reply> cmd_copy(Session& s, const proto::Command& cmd) {
  bool move = cmd.name == "MOVE";
  std::vector<uint32_t> uids;
  if (auto err = s.resolve_set(cmd.set, cmd.uid, uids)) co_return Reply::bad(*err);
  auto dest = s.mailbox_from_wire(cmd.args[0]);
  if (!dest) co_return Reply::no("[CANNOT] " + dest.status().client_message());
  if (move && s.view->read_only) co_return Reply::no("[READ-ONLY] Mailbox is read-only");
  // RFC 4314 4: MOVE takes the messages out ("t" and "e" on the source); the destination
  // needs "i".
  if (move &&
      (s.selected_rights & (acl::kDeleteMsg | acl::kExpunge)) != (acl::kDeleteMsg | acl::kExpunge))
    co_return Reply::no("[NOPERM] You lack the rights \"te\" on this mailbox");
  auto target = co_await resolve_target(s, *dest);
  if (!target) co_return Session::store_error(target.status(), /*trycreate=*/true);
  if (auto no = missing_rights(*target, acl::kInsert)) co_return *no;
  if (uids.empty()) co_return Reply::ok(cmd.name + " completed, no messages");
  std::string account = s.box_account();
  std::string from = s.view->name;
  std::string to = target->mailbox;
  std::string dest_account = target->owner;
  uint32_t dest_rights = target->rights;
  // Per-user \Seen (Session::seen_reader): the copy carries the \Seen the user sees in the
  // source, whoever's flag that is; in a destination that is another account's folder it is
  // also the user's own mark there (without "s" there, as for STORE, no mark is set).
  acl::Target source{account, from, s.selected_rights, s.selected_owner.empty()};
  std::string src_reader = s.seen_reader(source);
  std::string dst_reader = (dest_rights & acl::kSeen) ? s.seen_reader(*target) : std::string();
  auto fn1 = [&s, &account, &from, &to, &uids, move, &dest_account, dest_rights, &src_reader,
              &dst_reader]() -> core::Result<store::CopyResult> {
    store::MailStore& store = *s.services.store;
    auto seen = seen_by_reader(store, account, from, src_reader, uids);
    if (!seen) return seen.status();
    // What the user sees: the reader's marks in a per-user source, else the stored flags.
    std::set<uint32_t> seen_src = *seen;
    if (src_reader.empty() && !dst_reader.empty()) {
      for (const auto& m : store.message_metas(account, from, uids))
        if (m && (m->flags & store::kSeen)) seen_src.insert(m->uid);
    }
    core::Result<store::CopyResult> r = core::internal_error("not copied");
    if (dest_account != account) {  // between two accounts (a shared folder): copy_between
      r = copy_between(store, s.services.directory.get(), account, from, uids, dest_account, to,
                       dest_rights, move, src_reader.empty() ? nullptr : &*seen, dst_reader);
    } else if (move) {
      r = store.move(account, from, uids, to);
    } else {
      r = copy_within(s, account, from, uids, to);
    }
    if (!r || dst_reader.empty()) return r;
    auto marked = mark_copies_seen(store, dest_account, to, dst_reader, *r, seen_src);
    if (!marked) return marked;
    return r;
  };
  auto result = co_await net::blocking(*s.services.workers, fn1);
  if (!result) co_return Session::store_error(result.status(), /*trycreate=*/true);
  if (s.services.move_observer &&
      dest_account == account) {  // spam learning (src/filter/spam_learner.h): queues only
    s.services.move_observer->copied(account, from, to, result->dest_uids);
  }
  std::string code;
  if (!result->source_uids.empty()) {
    code = "[COPYUID " + std::to_string(result->uid_validity) + " " +
           compact_set(result->source_uids) + " " + compact_set(result->dest_uids) + "] ";
  }
  if (!move) co_return Reply::ok(code + "COPY completed");
  // RFC 6851 3.3: COPYUID goes in an untagged OK before the expunges.
  if (!code.empty()) s.untagged("OK " + code + "Moved");
  std::vector<std::string> out;
  s.view->expunge_now(result->source_uids, s.sync_options(true), out);
  s.untagged_lines(out);
  co_return Reply::ok("MOVE completed");
}

}  // namespace mailroom::imap
