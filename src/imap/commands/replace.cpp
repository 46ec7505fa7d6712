// REPLACE / UID REPLACE (RFC 8508): APPEND to a mailbox and expunge a message of the selected
// one, as one transaction of the store (the old message stays when the append fails).
#include "src/imap/session.h"

namespace mailroom::imap {

asio::awaitable<Reply> cmd_replace(Session& s, const proto::Command& cmd) {
  if (cmd.appends[0].utf8 && !s.utf8_accept)  // RFC 6855 4
    co_return Reply::bad("UTF8 APPEND needs ENABLE UTF8=ACCEPT");
  std::vector<uint32_t> uids;
  // RFC 8508 3.3: a sequence number beyond EXISTS is BAD (as for FETCH); a UID that is not
  // in the mailbox is NO.
  if (auto err = s.resolve_set(cmd.set, cmd.uid, uids)) co_return Reply::bad(*err);
  if (uids.empty()) co_return Reply::no("[NONEXISTENT] No such message to replace");
  // RFC 8508 3.4: the old message cannot be expunged from a read-only mailbox.
  if (s.view->read_only) co_return Reply::no("[READ-ONLY] Mailbox is read-only");
  // A shared folder (RFC 4314) would need the append and the expunge in two accounts' stores,
  // which the store cannot do as one transaction.
  if (!s.selected_owner.empty())
    co_return Reply::no("[CANNOT] REPLACE is not available in shared folders");
  auto dest = s.mailbox_from_wire(cmd.args[0]);
  if (!dest) co_return Reply::no("[CANNOT] " + dest.status().client_message());
  const proto::AppendMessage& m = cmd.appends.front();
  std::vector<std::string> built;  // CATENATE (RFC 4469) in REPLACE's append-message
  auto refused = co_await catenate_messages(s, cmd, built);
  if (refused) co_return *refused;
  store::AppendBatch batch;
  batch.messages.push_back(append_request(*dest, m));
  if (m.catenate) batch.messages.back().message = built.front();
  if (batch.messages.back().message.empty())
    co_return Reply::no("[CANNOT] Refusing to save an empty message");
  batch.replace_mailbox = s.view->name;
  batch.replace_uid = uids.front();
  auto result = co_await append_batch(s, batch);
  if (!result) {
    if (result.code() != core::Code::not_found) co_return Session::store_error(result.status());
    // not_found: the destination mailbox (TRYCREATE) or the message, expunged meanwhile by
    // another session (RFC 5530 EXPUNGEISSUED); only the error path asks which.
    std::string account = s.box_account();
    std::string to = *dest;
    auto fn1 = [&s, &account, &to] { return s.services.store->mailbox_status(account, to); };
    auto status = co_await net::blocking(*s.services.workers, fn1);
    if (!status && status.code() == core::Code::not_found)
      co_return Session::store_error(status.status(), /*trycreate=*/true);
    co_return Reply::no("[EXPUNGEISSUED] The message to replace was expunged");
  }
  // RFC 8508 3.3: APPENDUID in an untagged OK (the tagged OK follows the expunge), then the
  // old message's EXPUNGE (VANISHED under QRESYNC); the new one's EXISTS comes with the sync
  // after the command when it went to this mailbox.
  s.untagged("OK " + append_uid_code(*result) + " Replacement message ready");
  std::vector<std::string> out;
  s.view->expunge_now({uids.front()}, s.sync_options(true), out);
  s.untagged_lines(out);
  co_return Reply::ok("REPLACE completed");
}

}  // namespace mailroom::imap
