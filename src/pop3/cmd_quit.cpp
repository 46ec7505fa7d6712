// QUIT (RFC 1939 sections 4 and 6): in TRANSACTION it enters the UPDATE state and expunges
// the messages marked with DELE. Only QUIT does that: a dropped connection, a timeout or a
// server shutdown leave the maildrop untouched.
#include "src/core/log.h"
#include "src/net/worker_pool.h"
#include "src/pop3/session.h"

namespace mailroom::pop3 {

Awaitable Session::cmd_quit(const proto::Command&) {
  close_ = true;
  if (state_ == State::authorization) {
    send(proto::ok("Bye"));
    co_return;
  }
  state_ = State::update;
  // The retrieval marks are durable before the client hears +OK (mark_batch.h).
  co_await sync_marks(true);
  std::vector<uint32_t> uids = maildrop_.deleted_uids();
  if (uids.empty()) {
    send(proto::ok("Bye"));
    co_return;
  }
  store::MailStore& store = *services_.store;
  const std::string& account = principal_.account_id;
  auto expunge = [&] { return store.expunge(account, "INBOX", uids); };
  core::Result<std::vector<uint32_t>> removed = co_await net::blocking(*services_.workers, expunge);
  if (!removed) {
    MR_LOG_WARN("event=pop3_expunge_failed session={} account={} status={}",
                transport_.info().session_id, account, core::quote(removed.status().to_string()));
    // RFC 1939 section 6: "-ERR some deleted messages not removed".
    send(proto::err("Some deleted messages not removed", proto::RespCode::sys_temp));
    co_return;
  }
  MR_LOG_INFO("event=pop3_update session={} account={} deleted={}", transport_.info().session_id,
              account, removed->size());
  send(proto::ok("Bye, " + std::to_string(removed->size()) + " messages deleted"));
}

}  // namespace mailroom::pop3
