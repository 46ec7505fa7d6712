// Listeners: accept loops that enforce connection limits, run the implicit-TLS handshake and
// start one session coroutine per connection on its own strand (or on the executor that
// set_connection_executors() hands out).
//
// Limits (total and per client IP) are shared by all listeners through a ConnectionTracker;
// refused clients get the protocol's own answer from SessionHandler::reject. Shutdown:
// stop_accepting(), then ConnectionTracker::begin_shutdown() wakes sessions waiting between
// commands (they say goodbye), then force_close() after the grace period.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/core/cidr.h"
#include "src/core/status.h"
#include "src/net/connection.h"
#include "src/net/session_handler.h"

namespace mailroom::metrics {
class Counter;
class Gauge;
}  // namespace mailroom::metrics

namespace mailroom::net {

class TlsContextProvider;

struct ListenerConfig {
  std::string name;
  std::string protocol;  // smtp | submission | lmtp | imap | pop3
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks (tests)
  TlsMode tls = TlsMode::none;
  std::chrono::seconds idle_timeout{300};
  std::chrono::seconds tls_handshake_timeout{30};  // implicit TLS: the whole handshake
  // Clients allowed to connect ([[listener]] allow); empty: everyone. Others are refused like
  // a blocked IP, before any protocol byte (LMTP behind a gateway, say).
  std::vector<core::Cidr> allow;
};

struct ConnectionLimits {
  std::size_t max_connections = 20000;
  std::size_t max_per_ip = 100;
};

class ConnectionTracker {
 public:
  explicit ConnectionTracker(ConnectionLimits limits) : limits_(limits) {}

  // Reserves a slot; returns the reason when refused.
  bool try_add(const std::string& ip, RejectReason* why);
  void remove(const std::string& ip);
  void track(const std::shared_ptr<Connection>& c);
  void untrack(Connection* c);

  std::size_t active() const;
  std::shared_ptr<ConnectionControl> control() const { return control_; }
  // Sets the stopping flag and wakes sessions that wait for a command.
  void begin_shutdown();
  // Closes every remaining connection.
  void force_close();
  // Closes the connections authenticated as this account (with app_password_id: only those
  // that logged in with that app password); returns how many.
  std::size_t close_account(const std::string& account_id, const std::string& app_password_id = {});

 private:
  ConnectionLimits limits_;
  mutable std::mutex mu_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_ip_;
  std::map<Connection*, std::weak_ptr<Connection>> live_;
  std::shared_ptr<ConnectionControl> control_ = std::make_shared<ConnectionControl>();
};

class Listener {
 public:
  Listener(boost::asio::io_context& ioc, ListenerConfig config, SessionHandler handler,
           std::shared_ptr<TlsContextProvider> tls, std::shared_ptr<ConnectionTracker> tracker);

  // Binds and listens; the error names the listener and the address.
  core::Status open();
  uint16_t port() const { return bound_port_; }
  const ListenerConfig& config() const { return config_; }
  void start();
  void stop_accepting();
  // Where accepted connections run (their session, timers and socket). Unset: a new strand
  // of the listener's io_context. mailroomd gives each I/O thread its own io_context and
  // spreads connections over them, so one connection's work never hops between threads.
  void set_connection_executors(std::function<boost::asio::any_io_executor()> next) {
    next_executor_ = std::move(next);
  }

 private:
  boost::asio::awaitable<void> accept_loop();
  void handle(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<void> run_session(std::shared_ptr<Connection> connection);
  boost::asio::awaitable<void> refuse(std::shared_ptr<Connection> connection, RejectReason why);

  boost::asio::io_context& ioc_;
  ListenerConfig config_;
  SessionHandler handler_;
  std::shared_ptr<TlsContextProvider> tls_;
  std::shared_ptr<ConnectionTracker> tracker_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::function<boost::asio::any_io_executor()> next_executor_;
  uint16_t bound_port_ = 0;
  // This listener's protocol's series (src/core/metric_catalog.h), looked up once.
  metrics::Counter* accepted_metric_ = nullptr;
  metrics::Gauge* open_metric_ = nullptr;
};

}  // namespace mailroom::net
