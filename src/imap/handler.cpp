// The listener's entry point.
#include <map>
#include <mutex>

#include "src/core/log.h"
#include "src/imap/imap_server.h"
#include "src/imap/recent.h"
#include "src/imap/session.h"

namespace mailroom::imap {

namespace {
asio::awaitable<void> run_session(net::Transport& c, core::Services& services,
                                  std::shared_ptr<Options> options,
                                  std::shared_ptr<SharedMailboxes> views) {
  Session session(services, *options, *views, c);
  co_await session.run();
}

// Every IMAP listener of one server (143, 993) shares the views of its store's mailboxes;
// they live as long as a handler does.
std::shared_ptr<SharedMailboxes> views_of(const core::Services& services) {
  static std::mutex mu;
  static std::map<const core::Services*, std::weak_ptr<SharedMailboxes>> all;
  std::lock_guard<std::mutex> lk(mu);
  std::erase_if(all, [](const auto& e) { return e.second.expired(); });
  auto& slot = all[&services];
  auto views = slot.lock();
  if (!views) {
    views = std::make_shared<SharedMailboxes>();
    slot = views;
  }
  return views;
}
}  // namespace

net::SessionHandler make_session_handler(core::Services& services, const Options& options) {
  auto shared = std::make_shared<Options>(options);
  // \Recent claims survive restarts (RFC 3501 2.3.2).
  if (!services.data_dir.empty())
    RecentTracker::instance().set_directory(services.data_dir + "/imap/recent");
  net::SessionHandler h;
  auto views = views_of(services);
  h.run = [&services, shared, views](net::Transport& c) {
    return run_session(c, services, shared, views);
  };
  h.login_timeout = std::chrono::seconds(options.login_timeout_seconds);
  h.reject = [](net::RejectReason why) -> std::string {
    switch (why) {
      case net::RejectReason::too_many_connections:
        return "* BYE [UNAVAILABLE] Too many connections\r\n";
      case net::RejectReason::too_many_from_ip:
        return "* BYE [UNAVAILABLE] Too many connections from your address\r\n";
      case net::RejectReason::blocked_ip:
        return "* BYE Connection refused\r\n";
      case net::RejectReason::shutting_down:
        return "* BYE Server shutting down\r\n";
    }
    return "* BYE\r\n";
  };
  return h;
}

}  // namespace mailroom::imap
