// APPEND (RFC 3501 6.3.11) with MULTIAPPEND (RFC 3502), CATENATE (RFC 4469, catenate.cpp),
// APPENDUID (RFC 4315) and the account's quota (RFC 9208).
#include <ctime>

#include "auth/directory.h"
#include "src/core/log.h"
#include "src/imap/session.h"

namespace mailroom::imap {

namespace {

// RFC 3502 6.3.11: every message is checked before any is added; the first refusal answers.
std::optional<Reply> check_message(std::string_view message) {
  if (message.empty()) return Reply::no("[CANNOT] Refusing to save an empty message");
  return std::nullopt;
}

}  // namespace

store::AppendRequest append_request(const std::string& mailbox, const proto::AppendMessage& m) {
  store::AppendRequest req;
  req.mailbox = mailbox;
  req.message = m.message;
  req.flags = m.flags;
  req.keywords = m.keywords;
  if (m.date_time) {
    req.internal_date = *m.date_time;
    req.internal_tz = m.date_tz;
  }
  return req;
}

asio::awaitable<core::Result<std::vector<store::AppendResult>>> append_batch(
    Session& s, store::AppendBatch& batch, const std::string& owner) {
  // A shared folder's messages are charged to its owner's quota (the owner's limits).
  std::string account = owner.empty() ? s.principal.account_id : owner;
  auto fn1 = [&s, &account, &batch]() -> core::Result<std::vector<store::AppendResult>> {
    if (s.services.directory) {
      auto acct = s.services.directory->find_account_by_id(account);
      if (acct) {
        for (auto& req : batch.messages) {
          req.quota_bytes = acct->quota_bytes;
          req.quota_messages = acct->quota_messages;
        }
      } else if (acct.code() == core::Code::unavailable) {
        return acct.status();
      }
    }
    return s.services.store->append_batch(account, batch);
  };
  auto result = co_await net::blocking(*s.services.workers, fn1);
  co_return result;
}

std::string append_uid_code(const std::vector<store::AppendResult>& appended) {
  std::vector<uint32_t> uids;
  uids.reserve(appended.size());
  for (const auto& a : appended) uids.push_back(a.uid);
  return "[APPENDUID " + std::to_string(appended.front().uid_validity) + " " + compact_set(uids) +
         "]";
}

asio::awaitable<Reply> cmd_append(Session& s, const proto::Command& cmd) {
  // RFC 6855 4: the UTF8 data item only after ENABLE UTF8=ACCEPT.
  for (const auto& m : cmd.appends)
    if (m.utf8 && !s.utf8_accept) co_return Reply::bad("UTF8 APPEND needs ENABLE UTF8=ACCEPT");
  auto name = s.mailbox_from_wire(cmd.args[0]);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  // RFC 4314 4: APPEND into a shared folder needs "i".
  auto target = co_await resolve_target(s, *name);
  if (!target) co_return Session::store_error(target.status(), /*trycreate=*/true);
  if (auto no = missing_rights(*target, acl::kInsert)) co_return *no;
  // RFC 4469: the CATENATE messages are built (every URL resolved) before any is stored.
  std::vector<std::string> built;
  auto refused = co_await catenate_messages(s, cmd, built);
  if (refused) co_return *refused;
  store::AppendBatch batch;
  // Per-user \Seen (FORMAT.md "Per-reader \Seen"): a reader's \Seen is its mark, set after
  // the append, not the owner's flag.
  std::string reader = s.seen_reader(*target);
  std::vector<size_t> seen_by_reader;
  for (size_t i = 0; i < cmd.appends.size(); ++i) {
    const auto& m = cmd.appends[i];
    auto& req = batch.messages.emplace_back(append_request(target->mailbox, m));
    if (m.catenate) req.message = built[i];
    acl::filter_flags(target->rights, req.flags, req.keywords);
    if (!reader.empty() && (req.flags & store::kSeen)) {
      req.flags &= ~store::kSeen;
      seen_by_reader.push_back(i);
    }
    if (auto empty = check_message(req.message)) co_return *empty;
  }
  // All or none (RFC 3502 6.3.11): the store adds the messages in one transaction.
  auto result = co_await append_batch(s, batch, target->own ? "" : target->owner);
  if (!result) co_return Session::store_error(result.status(), /*trycreate=*/true);
  if (!seen_by_reader.empty()) {
    store::StoreFlagsRequest req;
    for (size_t i : seen_by_reader) req.uids.push_back((*result)[i].uid);
    req.op = store::FlagOp::add;
    req.flags = store::kSeen;
    req.reader = reader;
    auto mark = [&s, &target, &req] {
      return s.services.store->store_flags(target->owner, target->mailbox, req);
    };
    // The messages are in: a failure here leaves them unseen for the reader (logged).
    auto marked = co_await net::blocking(*s.services.workers, mark);
    if (!marked)
      MR_LOG_WARN("event=imap_append_seen_failed owner={} detail={}", target->owner,
                  core::quote(marked.status().to_string()));
  }
  // RFC 4315 3: with several messages APPENDUID carries a UID set, in the order appended.
  co_return Reply::ok(append_uid_code(*result) + " APPEND completed");
}

}  // namespace mailroom::imap
