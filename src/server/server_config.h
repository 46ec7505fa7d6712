// The [server], [log], [tls], [limits] and [[listener]] sections: what mailroomd itself needs.
// Module sections ([directory], [auth], [store], [queue], [smtp], [imap], [pop3]) are parsed by
// their modules in wiring.cpp.
#pragma once

#include <string>
#include <vector>

#include "src/core/cidr.h"
#include "src/core/config_section.h"
#include "src/net/listener.h"
#include "src/net/tls.h"

namespace mailroom::server {

struct ServerConfig {
  std::string data_dir = "data";
  std::string hostname = "localhost";
  int io_threads = 2;
  int worker_threads = 8;
  int shutdown_grace_seconds = 10;
  // How often open sessions are checked against the directory (disabled accounts are closed).
  int session_check_seconds = 2;
  int session_recheck_all_seconds = 60;
  // Blocks of at least this many bytes get a mapping of their own (glibc's M_MMAP_THRESHOLD),
  // given back whole when freed; 0 keeps glibc's own threshold, which rises up to 32 MiB as big
  // blocks are freed. Issue 20: 16384 saves about 2 KiB per idle IMAP session on 1,000 own
  // INBOXes (transient blocks leave no partly used heap pages), but every big buffer of a busy
  // session then costs a mapping and fresh pages: the mixed IMAP load lost a third of its
  // throughput in the measurement, so it is off by default.
  int64_t malloc_mmap_threshold = 0;

  std::string log_level = "info";
  std::string log_file;  // empty: stderr
  // Protocol traces (src/net/protocol_trace.h): connections from these networks, and
  // sessions of these accounts once logged in.
  std::vector<core::Cidr> trace_networks;
  std::vector<std::string> trace_users;

  net::TlsSettings tls;  // certificate empty: no TLS

  net::ConnectionLimits limits;
  // A TLS handshake (implicit TLS or after STARTTLS) must finish within this, however slowly
  // the client sends ([limits] tls_handshake_timeout).
  std::chrono::seconds tls_handshake_timeout{30};
  std::vector<net::ListenerConfig> listeners;
};

// Reads the server's own sections from the root of the config file. Relative paths are taken
// relative to the config file's directory.
ServerConfig parse_server_config(core::ConfigSection& root, const std::string& config_dir);

}  // namespace mailroom::server
