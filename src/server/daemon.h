// mailroomd's run time: the I/O threads (one io_context each), the listeners, signals
// (SIGTERM/SIGINT: graceful stop; SIGHUP: reload the TLS certificate), the account sweep and
// the shutdown sequence. main.cpp only reads the command line and the config and opens the
// services; Daemon runs them.
//
// Threading model (also docs/DESIGN.md):
// - io_threads io_contexts, each run by one thread; a connection lives on one of them (round
//   robin) with its socket, timers and session coroutine; nothing blocking runs there.
// - Blocking work (SQLite, the directory, fsync, the store) goes to the worker pool
//   (net::blocking), the queue's own delivery threads, and the sweep's thread.
// Shutdown: stop accepting, wake idle sessions (they say goodbye), wait `shutdown_grace`,
// then close what remains; then the queue and the worker pool stop.
#pragma once

#include <memory>

#include "src/core/services.h"
#include "src/server/wiring.h"

namespace mailroom::net {
class TlsContextProvider;
}

namespace mailroom::server {

class Daemon {
 public:
  Daemon(LoadedConfig& config, std::unique_ptr<core::Services> services,
         std::shared_ptr<net::TlsContextProvider> tls);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // --check-config: builds every listener's protocol handler (which validates the module
  // sections against each other) without opening sockets. Prints errors; returns 0 or 1.
  int check();
  // Opens the listeners, runs until SIGTERM/SIGINT and shuts down. Returns the exit status
  // (0; 2 when a listener cannot be opened).
  int run();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace mailroom::server
