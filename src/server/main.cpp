// mailroomd: config -> spine objects -> listeners; runs until SIGTERM/SIGINT.
// SIGHUP reloads the TLS certificate and key.
#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "src/core/log.h"
#include "src/net/listener.h"
#include "src/net/protocol_trace.h"
#include "src/net/tls.h"
#include "src/net/worker_pool.h"
#include "src/server/account_sweep.h"
#include "src/server/fd_limit.h"
#include "src/server/module_options.h"
#include "src/server/startup_checks.h"
#include "src/server/protocols.h"
#include "src/server/wiring.h"

namespace asio = boost::asio;
using namespace mailroom;

namespace {

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

// One mailroomd per data directory: the spool's recovery, POP3's [IN-USE] lock and IMAP's
// \Recent claims are kept in the process. An exclusive flock on <data_dir>/run/mailroomd.lock,
// held until the process ends (also by kill -9: the kernel drops it), with the holder's pid.
// Returns the descriptor, or -1 with `error` set.
int lock_data_dir(const std::string& data_dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir + "/run", ec);
  std::string path = data_dir + "/run/mailroomd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    *error = "another mailroomd" + (holder.empty() ? "" : " (pid " + holder + ")") +
             " is running on the data directory " + data_dir;
    ::close(fd);
    return -1;
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) < 0) {
    // The lock holds without the pid; only the message of a second instance is poorer.
  }
  return fd;
}

const char* tls_name(net::TlsMode m) {
  return m == net::TlsMode::implicit ? "implicit TLS"
         : m == net::TlsMode::starttls ? "STARTTLS"
                                       : "plain";
}

}  // namespace

int main(int argc, char** argv) {
  ::umask(077);  // everything mailroomd creates is private (src/core/private_files.h)
  if (std::getenv("MAILROOM_TEST_INJECT_LEAK")) {
    // Test-only: a leak LeakSanitizer reports at exit, to prove the test harness turns it
    // into a failure (tests/integration/server/test_guards.py).
    static char* volatile leaked;
    leaked = static_cast<char*>(std::malloc(4096));
    leaked[0] = 1;
    leaked = nullptr;
  }
  CLI::App app{"mailroomd - the Mailroom mail server"};
  std::string config_path = "/etc/mailroom/mailroom.toml";
  bool check_only = false;
  app.add_option("-c,--config", config_path, "configuration file (TOML)");
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  CLI11_PARSE(app, argc, argv);

  core::ConfigErrors errors;
  auto config = server::load_config(config_path, &errors);
  if (!config) {
    for (const auto& e : errors.messages()) std::cerr << "config error: " << e << "\n";
    return 1;
  }
  core::init_logging(config->server.log_level, config->server.log_file);

  std::shared_ptr<net::TlsContextProvider> tls;
  if (!config->server.tls.certificate.empty()) {
    auto t = net::TlsContextProvider::create(config->server.tls);
    if (!t) {
      std::cerr << "config error: " << config_path << ": [tls]: " << t.status().client_message()
                << "\n";
      return 1;
    }
    tls = *t;
  }

  int data_lock = -1;
  if (!check_only) {
    std::string lock_error;
    data_lock = lock_data_dir(config->server.data_dir, &lock_error);
    if (data_lock < 0) {
      std::cerr << "startup error: " << lock_error << "\n";
      MR_LOG_ERROR("event=server.data_dir_locked error={}", core::quote(lock_error));
      return 2;
    }
  }

  auto services_or = server::open_services(*config, /*with_queue=*/!check_only);
  if (!services_or) {
    std::cerr << (check_only ? "config error: " : "startup error: ")
              << services_or.status().client_message();
    if (!services_or.status().log_detail().empty()) {
      std::cerr << " (" << services_or.status().log_detail() << ")";
    }
    std::cerr << "\n";
    return check_only ? 1 : 2;
  }
  auto services = std::move(services_or).value();

  // One io_context per I/O thread, each run by one thread: a connection's reads, writes,
  // timers and session coroutine stay on its thread, with no strand and no hand-off between
  // threads per command (with one shared io_context and two threads, that hand-off was a
  // third of the server's CPU time in a POP3 download). `ioc` runs the listeners, signals
  // and its share of connections; connections are spread round robin.
  asio::io_context ioc(1);
  // Signal handlers before anything a supervisor can see (listeners, run/listeners.json): a
  // SIGTERM during start-up is queued and handled as a graceful stop, not the default death.
  asio::signal_set stop_signals(ioc, SIGTERM, SIGINT);
  asio::signal_set hup(ioc, SIGHUP);
  std::vector<std::unique_ptr<asio::io_context>> shards;
  for (int i = 1; i < config->server.io_threads; ++i) {
    shards.push_back(std::make_unique<asio::io_context>(1));
  }
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> shard_work;
  for (auto& shard : shards) shard_work.push_back(asio::make_work_guard(*shard));
  std::size_t next_shard = 0;
  auto connection_executor = [&ioc, &shards, &next_shard]() -> asio::any_io_executor {
    std::size_t i = next_shard++ % (shards.size() + 1);  // called on ioc's thread only
    return i == 0 ? ioc.get_executor() : shards[i - 1]->get_executor();
  };
  auto stop_io = [&ioc, &shards] {
    ioc.stop();
    for (auto& shard : shards) shard->stop();
  };
  for (const auto& w : server::startup_warnings(*config)) {
    std::cerr << "warning: " << w << "\n";
    MR_LOG_WARN("event=config.warning detail={}", core::quote(w));
  }
  // Descriptors: raise the soft limit, then fit max_connections to it (issue 13, item 9).
  auto fds = server::fit_connections_to_fd_limit(
      config->server.limits.max_connections,
      server::reserved_descriptors(config->modules->store.open_users_cache,
                                   config->server.listeners.size()));
  MR_LOG_INFO(
      "event=server.fd_limit soft_before={} limit={} reserved={} max_connections={} "
      "configured={}",
      fds.soft_before, fds.limit, fds.reserved, fds.max_connections,
      config->server.limits.max_connections);
  if (fds.lowered) {
    std::string w = "max_connections lowered from " +
                    std::to_string(config->server.limits.max_connections) + " to " +
                    std::to_string(fds.max_connections) + ": the descriptor limit is " +
                    std::to_string(fds.limit) + " (raise it with ulimit -n / LimitNOFILE)";
    std::cerr << "warning: " << w << "\n";
    MR_LOG_WARN("event=config.warning detail={}", core::quote(w));
    config->server.limits.max_connections = fds.max_connections;
  }
  auto tracker = std::make_shared<net::ConnectionTracker>(config->server.limits);
  if (!config->server.trace_networks.empty() || !config->server.trace_users.empty()) {
    tracker->control()->set_trace_selector(std::make_shared<net::TraceSelector>(
        config->server.trace_networks, config->server.trace_users));
  }
  std::vector<std::unique_ptr<net::Listener>> listeners;
  for (const auto& lc : config->server.listeners) {
    auto handler = server::make_protocol_handler(lc.protocol, *services, *config->modules);
    if (!handler) {
      std::cerr << "config error: listener " << lc.name << ": "
                << handler.status().client_message() << "\n";
      return 1;
    }
    listeners.push_back(
        std::make_unique<net::Listener>(ioc, lc, std::move(*handler), tls, tracker));
    listeners.back()->set_connection_executors(connection_executor);
  }
  if (check_only) {
    std::cout << "configuration ok: " << config_path << "\n";
    return 0;
  }
  for (auto& l : listeners) {
    auto st = l->open();
    if (!st) {
      std::cerr << "startup error: " << st.client_message() << "\n";
      MR_LOG_ERROR("event=listener.open_failed error={}", core::quote(st.client_message()));
      return 2;
    }
  }
  for (auto& l : listeners) {
    l->start();
    MR_LOG_INFO("event=listener.ready name={} protocol={} address={} port={} tls={}",
                l->config().name, l->config().protocol, l->config().address, l->port(),
                core::quote(tls_name(l->config().tls)));
  }
  write_listeners_file(config->server.data_dir, listeners);
  std::cout << "mailroomd " << MAILROOM_VERSION << " ready (data " << config->server.data_dir
            << ")\n";
  for (auto& l : listeners) {
    std::cout << "  " << l->config().name << ": " << l->config().protocol << " on "
              << l->config().address << ":" << l->port() << " (" << tls_name(l->config().tls)
              << ")\n";
  }
  std::cout.flush();
  server::start_queue(*services);
  server::AccountSweepOptions sweep_options;
  sweep_options.check_interval =
      std::chrono::seconds(std::max(1, config->server.session_check_seconds));
  sweep_options.recheck_all =
      std::chrono::seconds(std::max(1, config->server.session_recheck_all_seconds));
  sweep_options.directory_file = config->server.data_dir + "/directory.db";
  auto sweep = std::make_unique<server::AccountSweep>(services->directory, tracker,
                                                      std::move(sweep_options));

  asio::steady_timer stop_timer(ioc);
  auto stop_deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  bool forced = false;

  std::function<void()> poll_stop = [&] {
    stop_timer.expires_after(std::chrono::milliseconds(50));
    stop_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      if (tracker->active() == 0) {
        stop_io();
        return;
      }
      if (std::chrono::steady_clock::now() > *stop_deadline) {
        if (forced) {
          stop_io();  // sessions did not end even after their sockets were closed
          return;
        }
        MR_LOG_WARN("event=server.force_close remaining={}", tracker->active());
        tracker->force_close();
        forced = true;
        *stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      }
      poll_stop();
    });
  };

  stop_signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    MR_LOG_INFO("event=server.stopping signal={} sessions={} grace_s={}", sig, tracker->active(),
                config->server.shutdown_grace_seconds);
    for (auto& l : listeners) l->stop_accepting();
    tracker->begin_shutdown();
    hup.cancel();
    *stop_deadline = std::chrono::steady_clock::now() +
                     std::chrono::seconds(config->server.shutdown_grace_seconds);
    poll_stop();
  });

  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (tls) {
        auto st = tls->reload();
        if (st) {
          MR_LOG_INFO("event=tls.reloaded certificate={}", config->server.tls.certificate);
        } else {
          MR_LOG_ERROR("event=tls.reload_failed error={}", core::quote(st.client_message()));
        }
      }
      wait_hup();
    });
  };
  wait_hup();

  std::vector<std::thread> threads;
  for (auto& shard : shards) threads.emplace_back([&shard] { shard->run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  sweep.reset();

  server::stop_queue(*services);
  services->workers->stop();
  MR_LOG_INFO("event=server.stopped");
  if (data_lock >= 0) ::close(data_lock);
  return 0;
}
