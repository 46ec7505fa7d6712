// COPY / UID COPY (RFC 3501 6.4.7) with COPYUID (RFC 4315) and MOVE / UID MOVE (RFC 6851).
#include "auth/directory.h"
#include "src/filter/move_observer.h"
#include "src/imap/session.h"

namespace mailroom::imap {

asio::awaitable<Reply> cmd_copy(Session& s, const proto::Command& cmd) {
  bool move = cmd.name == "MOVE";
  std::vector<uint32_t> uids;
  if (auto err = s.resolve_set(cmd.set, cmd.uid, uids)) co_return Reply::bad(*err);
  auto dest = s.mailbox_from_wire(cmd.args[0]);
  if (!dest) co_return Reply::no("[CANNOT] " + dest.status().client_message());
  if (move && s.view->read_only) co_return Reply::no("[READ-ONLY] Mailbox is read-only");
  if (uids.empty()) co_return Reply::ok(cmd.name + " completed, no messages");
  std::string account = s.principal.account_id;
  std::string from = s.view->name;
  std::string to = *dest;
  auto fn1 = [&s, &account, &from, &to, &uids, move]() -> core::Result<store::CopyResult> {
    if (move) return s.services.store->move(account, from, uids, to);
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
  };
  auto result = co_await net::blocking(*s.services.workers, fn1);
  if (!result) co_return Session::store_error(result.status(), /*trycreate=*/true);
  if (s.services.move_observer) {  // spam learning (src/filter/spam_learner.h): queues only
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
