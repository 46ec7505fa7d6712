// APPEND (RFC 3501 6.3.11) with APPENDUID (RFC 4315) and the account's quota (RFC 9208).
#include <ctime>

#include "auth/directory.h"
#include "src/imap/session.h"

namespace mailroom::imap {

asio::awaitable<Reply> cmd_append(Session& s, const proto::Command& cmd) {
  auto name = s.mailbox_from_wire(cmd.args[0]);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  if (cmd.message.empty()) co_return Reply::no("[CANNOT] Refusing to save an empty message");
  store::AppendRequest req;
  req.mailbox = *name;
  req.message = cmd.message;
  req.flags = cmd.flags;
  req.keywords = cmd.keywords;
  if (cmd.date_time) {
    req.internal_date = *cmd.date_time;
    req.internal_tz = cmd.date_tz;
  }
  std::string account = s.principal.account_id;
  auto fn1 = [&s, &account, &req]() -> core::Result<store::AppendResult> {
    if (s.services.directory) {
      auto acct = s.services.directory->find_account_by_id(account);
      if (acct) {
        req.quota_bytes = acct->quota_bytes;
        req.quota_messages = acct->quota_messages;
      } else if (acct.code() == core::Code::unavailable) {
        return acct.status();
      }
    }
    return s.services.store->append(account, req);
  };
  auto result = co_await net::blocking(*s.services.workers, fn1);
  if (!result) co_return Session::store_error(result.status(), /*trycreate=*/true);
  co_return Reply::ok("[APPENDUID " + std::to_string(result->uid_validity) + " " +
                      std::to_string(result->uid) + "] APPEND completed");
}

}  // namespace mailroom::imap
