// mailroomd: command line and config, then the spine objects (wiring.h), then the Daemon
// (daemon.h) until SIGTERM/SIGINT. SIGHUP reloads the TLS certificate and key.
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "src/core/log.h"
#include "src/net/tls.h"
#include "src/server/daemon.h"
#include "src/server/data_dir_lock.h"
#include "src/server/wiring.h"

using namespace mailroom;

namespace {

// Test-only: a leak LeakSanitizer reports at exit, to prove the test harness turns it into a
// failure (tests/integration/server/test_guards.py).
void inject_leak_for_tests() {
  static char* volatile leaked;
  leaked = static_cast<char*>(std::malloc(4096));
  leaked[0] = 1;
  leaked = nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  ::umask(077);  // everything mailroomd creates is private (src/core/private_files.h)
  // A peer that closes its end must be an EPIPE, never the death of the server. Our own
  // sockets send with MSG_NOSIGNAL, but libldap writes with write(): a domain controller
  // going away killed mailroomd (test_ad_samba AdDcOutageTest). mailroomd starts no programs
  // that would inherit the disposition.
  std::signal(SIGPIPE, SIG_IGN);
  if (std::getenv("MAILROOM_TEST_INJECT_LEAK")) inject_leak_for_tests();
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
  if (config->server.malloc_mmap_threshold > 0)  // [server] malloc_mmap_threshold (issue 20)
    ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(config->server.malloc_mmap_threshold));

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
    data_lock = server::lock_data_dir(config->server.data_dir, &lock_error);
    if (data_lock < 0) {
      std::cerr << "startup error: " << lock_error << "\n";
      MR_LOG_ERROR("event=server.data_dir_locked error={}", core::quote(lock_error));
      return 2;
    }
  }

  auto services = server::open_services(*config, /*with_queue=*/!check_only);
  if (!services) {
    std::cerr << (check_only ? "config error: " : "startup error: ")
              << services.status().client_message();
    if (!services.status().log_detail().empty()) {
      std::cerr << " (" << services.status().log_detail() << ")";
    }
    std::cerr << "\n";
    return check_only ? 1 : 2;
  }
  server::Daemon daemon(*config, std::move(services).value(), tls);
  int rc = check_only ? daemon.check() : daemon.run();
  if (data_lock >= 0) ::close(data_lock);
  return rc;
}
