// The listener's entry point: adapts net::Connection to the session's Transport.
#include <chrono>
#include <memory>

#include "src/net/connection.h"
#include "src/pop3/pop3.h"
#include "src/pop3/session.h"

namespace mailroom::pop3 {

namespace {

class ConnectionTransport final : public Transport {
 public:
  explicit ConnectionTransport(net::Connection& c) : c_(c) {}
  const net::ConnectionInfo& info() const override { return c_.info(); }
  bool is_tls() const override { return c_.is_tls(); }
  bool can_start_tls() const override { return c_.can_start_tls(); }
  boost::asio::awaitable<net::ReadStatus> read_command(std::string& line,
                                                       std::size_t max_length) override {
    return c_.read_command(line, max_length);
  }
  boost::asio::awaitable<net::ReadStatus> read_line(std::string& line,
                                                    std::size_t max_length) override {
    return c_.read_line(line, max_length);
  }
  std::size_t buffered() const override { return c_.buffered(); }
  void queue(std::string_view data) override { c_.queue(data); }
  void set_account(const std::string& account_id, const std::string& address) override {
    c_.set_account(account_id, address);
  }
  boost::asio::awaitable<bool> flush() override { return c_.flush(); }
  boost::asio::awaitable<bool> start_tls() override { return c_.start_tls(); }

 private:
  net::Connection& c_;
};

boost::asio::awaitable<void> run_session(net::Connection& connection, core::Services& services,
                                         std::shared_ptr<const Options> options) {
  connection.set_idle_timeout(std::chrono::seconds(options->idle_timeout_seconds));
  ConnectionTransport transport(connection);
  Session session(transport, services, *options, process_maildrop_locks());
  co_await session.run();
}

}  // namespace

net::SessionHandler make_session_handler(core::Services& services, const Options& options) {
  auto shared = std::make_shared<const Options>(options);
  net::SessionHandler handler;
  handler.run = [&services, shared](net::Connection& c) {
    return run_session(c, services, shared);
  };
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
