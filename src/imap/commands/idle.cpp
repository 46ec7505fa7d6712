// IDLE (RFC 2177). While the client idles, a notifier coroutine on the same strand waits for
// the store's change signal (and NOTIFY's, RFC 5465) and sends the untagged updates (EXPUNGE is
// allowed here: no command is in progress in the RFC 3501 7.4.1 sense). The main coroutine waits
// for "DONE".
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/core/address.h"
#include "src/imap/idle_signal.h"
#include "src/imap/notify.h"
#include "src/imap/session.h"
#include "src/net/transport.h"

namespace mailroom::imap {
namespace {

struct IdleState {
  bool done = false;
  bool finished = false;  // the notifier has returned
  bool write_failed = false;
};

asio::awaitable<void> notifier(Session& s, std::shared_ptr<IdleSignal> sig,
                               std::shared_ptr<IdleState> st,
                               std::shared_ptr<asio::steady_timer> finished_timer) {
  // [imap] idle_hibernate: after this long without a change the view hibernates (once per
  // quiet spell; the sync of the next change wakes it).
  const auto hibernate_after = std::chrono::seconds(s.options.idle_hibernate_seconds);
  bool tried = false;
  while (!st->done) {
    if (!sig->pending) {
      boost::system::error_code ec;
      if (!tried && hibernate_after.count() > 0)
        sig->timer.expires_after(hibernate_after);
      else
        sig->timer.expires_at(asio::steady_timer::time_point::max());
      co_await sig->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && !sig->pending && !st->done) {  // the delay passed without a change
        tried = true;
        s.hibernate();
        continue;
      }
    }
    if (st->done) break;
    sig->pending = false;
    // A hibernated view stays asleep when the wake-up was NOTIFY's (another mailbox) rather
    // than its own mailbox's: waking it would read the mailbox again for nothing. DONE's sync
    // (or the next change of its own) wakes it.
    bool asleep = s.view && s.view->hibernated() && s.watch_ && !s.watch_->signal->changed;
    tried = asleep;
    if (!asleep) co_await s.sync(true);
    if (s.notifier && !s.closing) co_await notify_drain(s, false);  // RFC 5465 5: NOTIFY's too
    bool ok = co_await s.flush();
    if (!ok || s.closing) {
      st->write_failed = true;
      break;
    }
  }
  st->finished = true;
  finished_timer->cancel();
}

}  // namespace

asio::awaitable<Reply> cmd_idle(Session& s, const proto::Command&) {
  s.queue("+ idling\r\n");
  if (!co_await s.flush()) {
    Reply r = Reply::no("Connection lost");
    r.close = true;
    co_return r;
  }
  // Nothing is pending in either direction: an idle session keeps no buffer (issue 20).
  s.conn.release_buffers();
  auto executor = co_await asio::this_coro::executor;
  auto st = std::make_shared<IdleState>();
  auto finished_timer = std::make_shared<asio::steady_timer>(executor);
  finished_timer->expires_at(asio::steady_timer::time_point::max());
  // The session's wake-up: the selected mailbox's changes and NOTIFY's (RFC 5465 5).
  std::shared_ptr<IdleSignal> sig;
  if (s.watch_ || s.notifier) sig = s.wake_;
  if (sig) {
    sig->pending = true;  // one sync right away: changes since the last command
    asio::co_spawn(executor, notifier(s, sig, st, finished_timer), asio::detached);
  } else {
    st->finished = true;
  }
  Reply reply = Reply::ok("IDLE terminated");
  std::string line;
  for (;;) {
    Session::LineStatus rs = co_await s.read_client_line(line);
    if (rs == Session::LineStatus::ok && core::iequals(line, "DONE")) break;
    if (rs == Session::LineStatus::ok || rs == Session::LineStatus::too_long) {
      reply = Reply::bad("Expected DONE");
      break;
    }
    reply = Reply::no("Connection closed while idling");
    reply.close = true;
    // Nobody to tell: a hibernated view would read its whole mailbox again for nothing (1,000
    // clients dropped at once meant 1,000 scans before the sessions could end).
    reply.no_sync = true;
    if (rs == Session::LineStatus::timeout) s.untagged("BYE Autologout; idle for too long");
    break;
  }
  st->done = true;
  if (sig) sig->timer.cancel();
  while (!st->finished) {
    boost::system::error_code ec;
    co_await finished_timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (st->write_failed) reply.close = true;
  co_return reply;
}

}  // namespace mailroom::imap
