#include "src/net/listener.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/core/log.h"
#include "src/core/metric_catalog.h"
#include "src/net/protocol_trace.h"
#include "src/net/tls.h"

namespace mailroom::net {

namespace asio = boost::asio;
using asio::ip::tcp;

bool ConnectionTracker::try_add(const std::string& ip, RejectReason* why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (control_->stopping()) {
    *why = RejectReason::shutting_down;
    return false;
  }
  if (total_ >= limits_.max_connections) {
    *why = RejectReason::too_many_connections;
    return false;
  }
  auto& n = per_ip_[ip];
  if (n >= limits_.max_per_ip) {
    *why = RejectReason::too_many_from_ip;
    if (n == 0) per_ip_.erase(ip);
    return false;
  }
  ++n;
  ++total_;
  return true;
}

void ConnectionTracker::remove(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  if (total_ > 0) --total_;
  auto it = per_ip_.find(ip);
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

void ConnectionTracker::track(const std::shared_ptr<Connection>& c) {
  std::lock_guard<std::mutex> lock(mu_);
  live_[c.get()] = c;
}

void ConnectionTracker::untrack(Connection* c) {
  std::lock_guard<std::mutex> lock(mu_);
  live_.erase(c);
  control_->forget(c);
}

std::size_t ConnectionTracker::close_account(const std::string& account_id,
                                             const std::string& app_password_id) {
  std::size_t n = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (Connection* raw : control_->connections_of(account_id, app_password_id)) {
    auto it = live_.find(raw);
    if (it == live_.end()) continue;
    if (auto c = it->second.lock()) {
      asio::post(c->executor(), [c] { c->close(); });
      ++n;
    }
  }
  return n;
}

std::size_t ConnectionTracker::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

void ConnectionTracker::begin_shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  control_->set_stopping();
  for (auto& [raw, weak] : live_) {
    if (auto c = weak.lock()) {
      asio::post(c->executor(), [c] { c->interrupt_if_idle(); });
    }
  }
}

void ConnectionTracker::force_close() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [raw, weak] : live_) {
    if (auto c = weak.lock()) {
      asio::post(c->executor(), [c] { c->close(); });
    }
  }
}

Listener::Listener(asio::io_context& ioc, ListenerConfig config, SessionHandler handler,
                   std::shared_ptr<TlsContextProvider> tls,
                   std::shared_ptr<ConnectionTracker> tracker)
    : ioc_(ioc),
      config_(std::move(config)),
      handler_(std::move(handler)),
      tls_(std::move(tls)),
      tracker_(std::move(tracker)),
      acceptor_(ioc),
      accepted_metric_(&metrics::connections_accepted(config_.protocol)),
      open_metric_(&metrics::connections_open(config_.protocol)) {}

core::Status Listener::open() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(config_.address, ec);
  std::string where = "listener " + config_.name + " (" + config_.address + ":" +
                      std::to_string(config_.port) + ")";
  if (ec) return core::invalid_argument(where + ": invalid address");
  if (config_.tls != TlsMode::none && !tls_) {
    return core::invalid_argument(where + ": tls = \"" +
                                  (config_.tls == TlsMode::implicit ? "implicit" : "starttls") +
                                  "\" needs [tls] certificate and private_key");
  }
  tcp::endpoint ep(addr, config_.port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return core::io_error(where + ": " + ec.message());
  bound_port_ = acceptor_.local_endpoint().port();
  return core::Status::ok();
}

void Listener::start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached); }

void Listener::stop_accepting() {
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
}

asio::awaitable<void> Listener::accept_loop() {
  for (;;) {
    tcp::socket socket(next_executor_ ? next_executor_()
                                      : asio::any_io_executor(asio::make_strand(ioc_)));
    boost::system::error_code ec;
    co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      MR_LOG_WARN("event=listener.accept_error listener={} error={}", config_.name,
                  core::quote(ec.message()));
      // Out of descriptors or similar: back off briefly instead of spinning.
      asio::steady_timer t(acceptor_.get_executor(), std::chrono::milliseconds(100));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    handle(std::move(socket));
  }
}

void Listener::handle(tcp::socket socket) {
  boost::system::error_code ec;
  ConnectionInfo info;
  info.session_id = core::new_session_id();
  info.listener = config_.name;
  info.protocol = config_.protocol;
  info.tls_mode = config_.tls;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  auto local = socket.local_endpoint(ec);
  auto raddr = remote.address();
  if (raddr.is_v6() && raddr.to_v6().is_v4_mapped()) {
    raddr = asio::ip::make_address_v4(asio::ip::v4_mapped, raddr.to_v6());
  }
  info.remote_ip = raddr.to_string();
  info.remote_port = remote.port();
  info.local_ip = local.address().to_string();
  info.local_port = local.port();
  info.loopback = raddr.is_loopback();
  socket.set_option(tcp::no_delay(true), ec);

  auto tls = tls_ ? tls_->current() : nullptr;
  auto connection =
      std::make_shared<Connection>(std::move(socket), std::move(tls), info, tracker_->control());
  connection->set_idle_timeout(config_.idle_timeout);
  connection->set_tls_handshake_timeout(config_.tls_handshake_timeout);
  connection->set_login_timeout(handler_.login_timeout);
  if (const TraceSelector* ts = tracker_->control()->trace_selector();
      ts && ts->matches_ip(info.remote_ip)) {
    connection->set_trace(std::make_shared<ProtocolTrace>(info.session_id, info.protocol));
  }
  auto executor = connection->executor();

  RejectReason why{};
  if (!config_.allow.empty() &&
      std::none_of(config_.allow.begin(), config_.allow.end(),
                   [&info](const core::Cidr& n) { return n.contains(info.remote_ip); })) {
    MR_LOG_INFO("event=connection.refused session={} listener={} ip={} reason=not_allowed",
                info.session_id, config_.name, info.remote_ip);
    metrics::connections_refused(config_.protocol, "not_allowed").inc();
    asio::co_spawn(executor, refuse(connection, RejectReason::blocked_ip), asio::detached);
    return;
  }
  if (handler_.accept_ip && !handler_.accept_ip(info.remote_ip)) {
    MR_LOG_INFO("event=connection.refused session={} listener={} ip={} reason=blocked_ip",
                info.session_id, config_.name, info.remote_ip);
    metrics::connections_refused(config_.protocol, "blocked_ip").inc();
    asio::co_spawn(executor, refuse(connection, RejectReason::blocked_ip), asio::detached);
    return;
  }
  if (!tracker_->try_add(info.remote_ip, &why)) {
    const char* reason = why == RejectReason::too_many_from_ip ? "too_many_from_ip"
                         : why == RejectReason::shutting_down  ? "shutting_down"
                                                               : "too_many_connections";
    MR_LOG_WARN("event=connection.refused session={} listener={} ip={} reason={}", info.session_id,
                config_.name, info.remote_ip, reason);
    metrics::connections_refused(config_.protocol, reason).inc();
    asio::co_spawn(executor, refuse(connection, why), asio::detached);
    return;
  }
  accepted_metric_->inc();
  open_metric_->inc();
  tracker_->track(connection);
  asio::co_spawn(executor, run_session(connection), asio::detached);
}

asio::awaitable<void> Listener::refuse(std::shared_ptr<Connection> connection, RejectReason why) {
  // Kept free of temporaries inside co_await expressions: GCC 12 miscompiles some of them.
  // A refused connection is not counted against any limit, so it must not cost a TLS
  // handshake: on implicit-TLS ports it is closed without an answer.
  connection->set_idle_timeout(std::chrono::seconds(10));
  std::string answer;
  if (handler_.reject && config_.tls != TlsMode::implicit) answer = handler_.reject(why);
  if (!answer.empty()) {
    co_await connection->write(answer);
  }
  connection->close();
  co_return;
}

asio::awaitable<void> Listener::run_session(std::shared_ptr<Connection> connection) {
  const ConnectionInfo& info = connection->info();
  MR_LOG_INFO("event=connection.open session={} listener={} protocol={} ip={} port={}",
              info.session_id, info.listener, info.protocol, info.remote_ip, info.remote_port);
  auto started = std::chrono::steady_clock::now();
  try {
    bool ok = true;
    if (config_.tls == TlsMode::implicit) {
      ok = co_await connection->start_tls(config_.tls_handshake_timeout);
      if (!ok) {
        MR_LOG_INFO("event=tls.handshake_failed session={} ip={}", info.session_id, info.remote_ip);
      }
    }
    if (ok) co_await handler_.run(*connection);
  } catch (const std::exception& e) {
    // An unexpected exception ends only this session (STYLE.md, Errors).
    MR_LOG_ERROR("event=session.exception session={} error={}", info.session_id,
                 core::quote(e.what()));
  }
  connection->close();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  MR_LOG_INFO("event=connection.close session={} duration_ms={}", info.session_id, ms);
  tracker_->untrack(connection.get());
  tracker_->remove(info.remote_ip);
  open_metric_->dec();
}

}  // namespace mailroom::net
