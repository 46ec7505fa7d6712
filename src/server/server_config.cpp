#include "src/server/server_config.h"

#include <filesystem>
#include <set>
#include <thread>

namespace mailroom::server {

namespace {
std::string resolve_path(const std::string& p, const std::string& base) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (std::filesystem::path(base) / p).lexically_normal().string();
}

// RFC 5321 4.5.3.2.7: server timeout at least 5 minutes; RFC 3501 5.4: autologout at least
// 30 minutes; RFC 1939 section 3: at least 10 minutes.
int64_t default_idle_timeout(const std::string& protocol) {
  if (protocol == "imap") return 1800;
  if (protocol == "pop3") return 600;
  if (protocol == "http") return 60;  // keep-alive between requests ([http] has the rest)
  return 300;
}
}  // namespace

ServerConfig parse_server_config(core::ConfigSection& root, const std::string& config_dir) {
  ServerConfig c;
  {
    auto s = root.child("server");
    c.data_dir = resolve_path(s.get_string("data_dir", c.data_dir), config_dir);
    c.hostname = s.get_string("hostname", c.hostname);
    int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    c.io_threads = static_cast<int>(s.get_int("io_threads", hw, 1, 256));
    c.worker_threads = static_cast<int>(s.get_int("worker_threads", 8, 1, 1024));
    c.shutdown_grace_seconds = static_cast<int>(s.get_seconds("shutdown_grace", 10));
    c.session_check_seconds = static_cast<int>(s.get_seconds("session_check_interval", 2));
    c.session_recheck_all_seconds = static_cast<int>(s.get_seconds("session_recheck_all", 60));
    c.malloc_mmap_threshold =
        s.get_int("malloc_mmap_threshold", c.malloc_mmap_threshold, 0, 32 << 20);
    s.finish();
  }
  {
    auto s = root.child("log");
    c.log_level = s.get_choice("level", c.log_level, {"trace", "debug", "info", "warn", "error"});
    c.log_file = resolve_path(s.get_string("file", ""), config_dir);
    for (const auto& n : s.get_strings("trace_ips", {})) {
      if (auto cidr = core::Cidr::parse(n)) {
        c.trace_networks.push_back(*cidr);
      } else {
        s.error("trace_ips", "not an IP address or CIDR block: \"" + n + "\"");
      }
    }
    c.trace_users = s.get_strings("trace_users", {});
    s.finish();
  }
  {
    auto s = root.child("tls");
    net::TlsSettings& t = c.tls;
    t.certificate = resolve_path(s.get_string("certificate", ""), config_dir);
    t.private_key = resolve_path(s.get_string("private_key", ""), config_dir);
    if (t.certificate.empty() != t.private_key.empty()) {
      s.error(t.certificate.empty() ? "certificate" : "private_key",
              "certificate and private_key must be set together");
    }
    t.min_version =
        s.get_choice("min_version", t.min_version, {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"});
    t.ciphers = s.get_string("ciphers", t.ciphers);
    t.ciphersuites = s.get_string("ciphersuites", t.ciphersuites);
    if (auto st = net::validate_tls_settings(t); !st) {
      std::string msg = st.client_message();
      s.error(msg.rfind("ciphersuites", 0) == 0 ? "ciphersuites"
              : msg.rfind("ciphers", 0) == 0    ? "ciphers"
                                                : "min_version",
              msg);
    }
    s.finish();
  }
  {
    auto s = root.child("limits");
    c.limits.max_connections =
        static_cast<size_t>(s.get_int("max_connections", 20000, 1, 10'000'000));
    c.limits.max_per_ip =
        static_cast<size_t>(s.get_int("max_connections_per_ip", 100, 1, 10'000'000));
    c.tls_handshake_timeout = std::chrono::seconds(s.get_seconds("tls_handshake_timeout", 30));
    s.finish();
  }
  std::set<std::string> names;
  for (auto& s : root.children("listener")) {
    net::ListenerConfig l;
    l.name = s.get_string("name", "");
    l.protocol = s.get_choice(
        "protocol", "smtp", {"smtp", "submission", "lmtp", "imap", "pop3", "managesieve", "http"});
    if (l.name.empty()) l.name = l.protocol;
    if (!names.insert(l.name).second) s.error("name", "duplicate listener name \"" + l.name + "\"");
    l.address = s.get_string("address", "127.0.0.1");
    l.port = static_cast<uint16_t>(s.get_int("port", 0, 0, 65535));
    std::string tls = s.get_choice("tls", "none", {"none", "starttls", "implicit"});
    l.tls = tls == "implicit"   ? net::TlsMode::implicit
            : tls == "starttls" ? net::TlsMode::starttls
                                : net::TlsMode::none;
    l.idle_timeout =
        std::chrono::seconds(s.get_seconds("idle_timeout", default_idle_timeout(l.protocol)));
    l.tls_handshake_timeout = c.tls_handshake_timeout;
    for (const auto& n : s.get_strings("allow", {})) {
      if (auto cidr = core::Cidr::parse(n)) {
        l.allow.push_back(*cidr);
      } else {
        s.error("allow", "not an IP address or CIDR block: \"" + n + "\"");
      }
    }
    if (l.protocol == "http" && l.tls == net::TlsMode::starttls) {
      s.error("tls", "an http listener uses tls = \"none\" or \"implicit\" (HTTPS)");
    }
    if (l.tls != net::TlsMode::none && c.tls.certificate.empty()) {
      s.error("tls", "needs [tls] certificate and private_key");
    }
    s.finish();
    c.listeners.push_back(std::move(l));
  }
  return c;
}

}  // namespace mailroom::server
