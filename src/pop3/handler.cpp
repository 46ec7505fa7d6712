// The listener's entry point for POP3 sessions.
#include <chrono>
#include <memory>

#include "src/net/transport.h"
#include "src/pop3/pop3.h"
#include "src/pop3/session.h"

namespace mailroom::pop3 {

namespace {

boost::asio::awaitable<void> run_session(net::Transport& transport, core::Services& services,
                                         std::shared_ptr<const Options> options) {
  transport.set_idle_timeout(std::chrono::seconds(options->idle_timeout_seconds));
  Session session(transport, services, *options, process_maildrop_locks());
  co_await session.run();
}

}  // namespace

net::SessionHandler make_session_handler(core::Services& services, const Options& options) {
  auto shared = std::make_shared<const Options>(options);
  net::SessionHandler handler;
  handler.run = [&services, shared](net::Transport& c) { return run_session(c, services, shared); };
  handler.login_timeout = std::chrono::seconds(options.login_timeout_seconds);
  handler.reject = [](net::RejectReason reason) -> std::string {
    switch (reason) {
      case net::RejectReason::too_many_connections:
        return "-ERR [SYS/TEMP] Too many connections, try again later\r\n";
      case net::RejectReason::too_many_from_ip:
        return "-ERR [SYS/TEMP] Too many connections from your address\r\n";
      case net::RejectReason::blocked_ip:
        return "-ERR [SYS/PERM] Access denied\r\n";
      case net::RejectReason::shutting_down:
        return "-ERR [SYS/TEMP] Server shutting down, try again later\r\n";
    }
    return "-ERR [SYS/TEMP] Try again later\r\n";
  };
  return handler;
}

}  // namespace mailroom::pop3
