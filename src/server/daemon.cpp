#include "src/server/daemon.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>
#include <vector>

#include "src/api/context.h"
#include "src/api/router.h"
#include "src/core/log.h"
#include "src/jmap/jmap.h"
#include "src/net/listener.h"
#include "src/net/protocol_trace.h"
#include "src/net/tls.h"
#include "src/net/worker_pool.h"
#include "src/preview/office.h"
#include "src/server/account_sweep.h"
#include "src/server/fd_limit.h"
#include "src/server/module_options.h"
#include "src/server/protocols.h"
#include "src/server/startup_checks.h"
#include "src/webmail/sso.h"
#include "src/webmail/webmail.h"

namespace mailroom::server {

namespace asio = boost::asio;

namespace {

const char* tls_name(net::TlsMode m) {
  return m == net::TlsMode::implicit   ? "implicit TLS"
         : m == net::TlsMode::starttls ? "STARTTLS"
                                       : "plain";
}

void warn(const std::string& w) {
  std::cerr << "warning: " << w << "\n";
  MR_LOG_WARN("event=config.warning detail={}", core::quote(w));
}

// Prints each start-up error (stderr and the log); true when there was none.
bool no_startup_errors(const LoadedConfig& config, const core::Services& services) {
  auto errors = startup_errors(config, services);
  for (const auto& e : errors) {
    std::cerr << "startup error: " << e << "\n";
    MR_LOG_ERROR("event=config.startup_error detail={}", core::quote(e));
  }
  return errors.empty();
}

// <data_dir>/run/listeners.json: which port each listener got (tests and scripts read it).
// What client autoconfiguration advertises (src/api/autoconfig.h): the IMAP, POP3 and
// submission listeners with TLS, and the port each got. Never a listener without TLS: clients
// would send passwords in the clear.
std::vector<api::ClientEndpoint> client_endpoints(
    const std::vector<std::unique_ptr<net::Listener>>& listeners) {
  std::vector<api::ClientEndpoint> out;
  for (const auto& l : listeners) {
    const auto& c = l->config();
    if (c.tls == net::TlsMode::none) continue;
    if (c.protocol != "imap" && c.protocol != "pop3" && c.protocol != "submission") continue;
    out.push_back({c.protocol, l->port(), c.tls == net::TlsMode::implicit ? "SSL" : "STARTTLS"});
  }
  return out;
}

void write_listeners_file(const std::string& data_dir,
                          const std::vector<std::unique_ptr<net::Listener>>& listeners) {
  std::filesystem::create_directories(data_dir + "/run");
  std::string tmp = data_dir + "/run/listeners.json.tmp";
  {
    std::ofstream out(tmp);
    out << "{";
    bool first = true;
    for (const auto& l : listeners) {
      out << (first ? "" : ",") << "\n  \"" << l->config().name << "\": {\"protocol\": \""
          << l->config().protocol << "\", \"address\": \"" << l->config().address
          << "\", \"port\": " << l->port() << "}";
      first = false;
    }
    out << "\n}\n";
  }
  std::filesystem::rename(tmp, data_dir + "/run/listeners.json");
}

}  // namespace

struct Daemon::State {
  LoadedConfig& config;
  std::unique_ptr<core::Services> services;
  std::shared_ptr<net::TlsContextProvider> tls;

  // One io_context per I/O thread, each run by one thread: a connection's reads, writes,
  // timers and session coroutine stay on its thread, with no strand and no hand-off between
  // threads per command (with one shared io_context and two threads, that hand-off was a third
  // of the server's CPU time in a POP3 download). `ioc` runs the listeners, signals and its
  // share of connections; connections are spread round robin.
  asio::io_context ioc{1};
  // Signal handlers before anything a supervisor can see (listeners, run/listeners.json): a
  // SIGTERM during start-up is queued and handled as a graceful stop, not the default death.
  asio::signal_set stop_signals{ioc, SIGTERM, SIGINT};
  asio::signal_set hup{ioc, SIGHUP};
  asio::steady_timer stop_timer{ioc};
  std::vector<std::unique_ptr<asio::io_context>> shards;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> shard_work;
  std::size_t next_shard = 0;
  std::shared_ptr<net::ConnectionTracker> tracker;
  std::vector<std::unique_ptr<net::Listener>> listeners;
  // What listeners with protocol = "http" serve (made once, when one exists).
  std::shared_ptr<api::Context> api;
  // Mail recall: the admin API drives it; expired recalls are purged hourly (open_recall).
  std::shared_ptr<service::RecallService> recall;
  std::unique_ptr<service::RecallPurger> recall_purger;  // after recall and api: stops first
  void open_recall() {
    if (recall_purger) return;  // tried once
    auto r = service::RecallService::open(*services, config.modules->recall);
    if (!r) {
      warn("mail recall is unavailable: " + r.status().client_message());
      MR_LOG_ERROR("event=recall_unavailable detail={}", core::quote(r.status().log_detail()));
      return;
    }
    recall = *r;
    recall_purger = std::make_unique<service::RecallPurger>(recall, 3600);
  }
  std::shared_ptr<const http::Router> http_routes;
  std::chrono::steady_clock::time_point stop_deadline;
  bool forced = false;

  State(LoadedConfig& c, std::unique_ptr<core::Services> s,
        std::shared_ptr<net::TlsContextProvider> t)
      : config(c), services(std::move(s)), tls(std::move(t)) {}

  asio::any_io_executor next_executor() {
    std::size_t i = next_shard++ % (shards.size() + 1);  // called on ioc's thread only
    return i == 0 ? ioc.get_executor() : shards[i - 1]->get_executor();
  }
  void stop_io() {
    ioc.stop();
    for (auto& shard : shards) shard->stop();
  }
  // Descriptors: raise the soft limit, then fit max_connections to it (issue 13, item 9).
  void fit_descriptor_limit() {
    auto& limits = config.server.limits;
    auto fds = fit_connections_to_fd_limit(
        limits.max_connections, reserved_descriptors(config.modules->store.open_users_cache,
                                                     config.server.listeners.size()));
    MR_LOG_INFO(
        "event=server.fd_limit soft_before={} limit={} reserved={} max_connections={} "
        "configured={}",
        fds.soft_before, fds.limit, fds.reserved, fds.max_connections, limits.max_connections);
    if (fds.lowered) {
      warn("max_connections lowered from " + std::to_string(limits.max_connections) + " to " +
           std::to_string(fds.max_connections) + ": the descriptor limit is " +
           std::to_string(fds.limit) + " (raise it with ulimit -n / LimitNOFILE)");
      limits.max_connections = fds.max_connections;
    }
  }
  // The HTTP front ends (src/api) over the services and this process's sessions.
  bool make_http_routes() {
    api = std::make_shared<api::Context>();
    api->services = services.get();
    api->hostname = config.server.hostname;
    api->config_path = config.path;
    api->autoconfig = std::make_shared<const api::AutoconfigOptions>(config.modules->autoconfig);
    api->callers = make_http_callers();
    if (!api->callers) return false;
    api->journal = api::open_journal(*services);
    if (!recall) open_recall();
    api->recall = recall;  // mail recall (issue 18); null when it could not be opened
    std::weak_ptr<net::ConnectionTracker> weak = tracker;
    api->sessions.list = [weak] {
      std::vector<api::SessionInfo> out;
      auto t = weak.lock();
      if (!t) return out;
      for (auto& s : t->control()->sessions()) {
        out.push_back(api::SessionInfo{s.session_id, s.protocol, s.remote_ip, s.account_id,
                                       s.address, s.app_password, s.since});
      }
      return out;
    };
    // The web client (src/webmail): its cookie sessions end with the account's connections.
    // Office documents as PDF (src/preview): null when off or its tools are missing.
    auto office =
        config.modules->webmail.enabled
            ? preview::OfficePreview::make(config.modules->webmail.office, services->data_dir)
            : nullptr;
    auto web_options = config.modules->webmail;
    web_options.office_preview_ready = office != nullptr;
    auto web = webmail::make_webmail(*services, web_options);
    api->sessions.close_account = [weak, web](const std::string& account_id) -> std::size_t {
      auto t = weak.lock();
      return (t ? t->close_account(account_id) : 0) + webmail::close_account(*web, account_id);
    };
    auto routes = api::make_router(api);
    if (!config.modules->webmail.sso.empty() && config.modules->webmail.enabled) {
      // Company sign-in (src/webmail/sso.h); its routes go before /webmail/{path...}.
      auto sso =
          webmail::make_sso_login(*services, web, config.modules->webmail.sso, config.modules->sso);
      if (!sso) {
        std::cerr << "config error: " << sso.status().client_message() << "\n";
        return false;
      }
      webmail::add_sso_routes(*routes, *sso);
    }
    webmail::add_routes(*routes, web);
    jmap::Options jmap_options;  // JMAP for users (src/jmap/jmap.h)
    jmap_options.max_size_request = config.modules->http.max_body_bytes;
    jmap_options.session_auth = [web](const http::Request& r, auth::Principal& p,
                                      http::Response& refusal) {
      return webmail::authenticate_cookie(*web, r, p, refusal);
    };
    jmap_options.push_recheck = config.modules->webmail.account_check;
    jmap_options.send_as_exempt_domains = config.modules->smtp.send_as_exempt_domains;
    jmap_options.max_message_size = config.modules->smtp.max_message_size;
    jmap_options.max_recipients = config.modules->smtp.max_recipients;
    jmap_options.submission_add_headers = config.modules->smtp.submission_add_headers;
    jmap_options.office_preview = office;
    jmap::add_routes(*routes, *services, jmap_options);
    http_routes = routes;
    return true;
  }
  std::shared_ptr<api::CallerAuthenticator> make_http_callers();
  // Builds the listeners (no sockets yet); false after printing the error.
  bool make_listeners() {
    tracker = std::make_shared<net::ConnectionTracker>(config.server.limits);
    if (!config.server.trace_networks.empty() || !config.server.trace_users.empty()) {
      tracker->control()->set_trace_selector(std::make_shared<net::TraceSelector>(
          config.server.trace_networks, config.server.trace_users));
    }
    for (const auto& lc : config.server.listeners) {
      if (lc.protocol == "http" && !http_routes && !make_http_routes()) return false;
      auto handler = make_protocol_handler(lc.protocol, *services, *config.modules, http_routes);
      if (!handler) {
        std::cerr << "config error: listener " << lc.name << ": "
                  << handler.status().client_message() << "\n";
        return false;
      }
      listeners.push_back(
          std::make_unique<net::Listener>(ioc, lc, std::move(*handler), tls, tracker));
      listeners.back()->set_connection_executors([this] { return next_executor(); });
    }
    return true;
  }
  void poll_stop() {
    stop_timer.expires_after(std::chrono::milliseconds(50));
    stop_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      if (tracker->active() == 0) {
        stop_io();
        return;
      }
      if (std::chrono::steady_clock::now() > stop_deadline) {
        if (forced) {
          stop_io();  // sessions did not end even after their sockets were closed
          return;
        }
        MR_LOG_WARN("event=server.force_close remaining={}", tracker->active());
        tracker->force_close();
        forced = true;
        stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      }
      poll_stop();
    });
  }
  void wait_for_stop() {
    stop_signals.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      MR_LOG_INFO("event=server.stopping signal={} sessions={} grace_s={}", sig, tracker->active(),
                  config.server.shutdown_grace_seconds);
      for (auto& l : listeners) l->stop_accepting();
      tracker->begin_shutdown();
      hup.cancel();
      stop_deadline = std::chrono::steady_clock::now() +
                      std::chrono::seconds(config.server.shutdown_grace_seconds);
      poll_stop();
    });
  }
  void wait_for_hup() {
    hup.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (tls) {
        auto st = tls->reload();
        if (st) {
          MR_LOG_INFO("event=tls.reloaded certificate={}", config.server.tls.certificate);
        } else {
          MR_LOG_ERROR("event=tls.reload_failed error={}", core::quote(st.client_message()));
        }
      }
      wait_for_hup();
    });
  }
};

Daemon::Daemon(LoadedConfig& config, std::unique_ptr<core::Services> services,
               std::shared_ptr<net::TlsContextProvider> tls)
    : s_(std::make_unique<State>(config, std::move(services), std::move(tls))) {}

Daemon::~Daemon() = default;

std::shared_ptr<api::CallerAuthenticator> Daemon::State::make_http_callers() {
  auto callers = api::open_callers(*services);
  if (!callers) {
    std::cerr << "startup error: " << callers.status().client_message() << "\n";
    MR_LOG_ERROR("event=http.callers_failed error={}", core::quote(callers.status().to_string()));
    return nullptr;
  }
  return *callers;
}

int Daemon::check() {
  for (const auto& w : startup_warnings(s_->config)) warn(w);
  if (!no_startup_errors(s_->config, *s_->services)) return 1;
  if (!s_->make_listeners()) return 1;
  std::cout << "configuration ok: " << s_->config.path << "\n";
  return 0;
}

int Daemon::run() {
  State& s = *s_;
  const ServerConfig& sc = s.config.server;
  for (int i = 1; i < sc.io_threads; ++i) {
    s.shards.push_back(std::make_unique<asio::io_context>(1));
  }
  for (auto& shard : s.shards) s.shard_work.push_back(asio::make_work_guard(*shard));
  for (const auto& w : startup_warnings(s.config)) warn(w);
  if (!no_startup_errors(s.config, *s.services)) return 2;
  s.fit_descriptor_limit();
  if (!s.make_listeners()) return 1;
  for (auto& l : s.listeners) {
    auto st = l->open();
    if (!st) {
      std::cerr << "startup error: " << st.client_message() << "\n";
      MR_LOG_ERROR("event=listener.open_failed error={}", core::quote(st.client_message()));
      return 2;
    }
  }
  // Autoconfiguration advertises the ports the listeners got (port 0 is the kernel's choice).
  if (s.api) s.api->client_endpoints = client_endpoints(s.listeners);
  for (auto& l : s.listeners) {
    l->start();
    MR_LOG_INFO("event=listener.ready name={} protocol={} address={} port={} tls={}",
                l->config().name, l->config().protocol, l->config().address, l->port(),
                core::quote(tls_name(l->config().tls)));
  }
  write_listeners_file(sc.data_dir, s.listeners);
  std::cout << "mailroomd " << MAILROOM_VERSION << " ready (data " << sc.data_dir << ")\n";
  for (auto& l : s.listeners) {
    std::cout << "  " << l->config().name << ": " << l->config().protocol << " on "
              << l->config().address << ":" << l->port() << " (" << tls_name(l->config().tls)
              << ")\n";
  }
  std::cout.flush();

  start_queue(*s.services);
  if (!s.recall) s.open_recall();  // the purger runs without an HTTP listener too
  AccountSweepOptions sweep_options;
  sweep_options.check_interval = std::chrono::seconds(std::max(1, sc.session_check_seconds));
  sweep_options.recheck_all = std::chrono::seconds(std::max(1, sc.session_recheck_all_seconds));
  sweep_options.directory_file = sc.data_dir + "/directory.db";
  sweep_options.app_password_file = sc.data_dir + "/app-passwords.db";
  auto sweep = std::make_unique<AccountSweep>(s.services->directory, s.tracker,
                                              std::move(sweep_options), s.services->app_passwords);
  s.wait_for_stop();
  s.wait_for_hup();

  std::vector<std::thread> threads;
  for (auto& shard : s.shards) threads.emplace_back([&shard] { shard->run(); });
  s.ioc.run();
  for (auto& t : threads) t.join();
  sweep.reset();

  stop_queue(*s.services);
  s.services->workers->stop();
  MR_LOG_INFO("event=server.stopped");
  return 0;
}

}  // namespace mailroom::server
