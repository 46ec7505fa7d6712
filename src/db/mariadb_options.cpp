#include "src/db/mariadb_options.h"

#include <fstream>
#include <sstream>

#include "src/core/config_section.h"

namespace mailroom::db {
namespace {

std::string read_secret_file(core::ConfigSection& section, const std::string& key,
                             const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    section.error(key, "cannot read " + path);
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::string ServerAddress::str() const {
  if (!socket.empty()) return socket;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::optional<ServerAddress> parse_server_address(const std::string& text) {
  ServerAddress a;
  if (text.empty()) return std::nullopt;
  if (text[0] == '/') {
    a.socket = text;
    return a;
  }
  std::string host = text;
  std::string port;
  if (text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':' || close + 2 == text.size()) return std::nullopt;
      port = text.substr(close + 2);
    }
  } else if (size_t colon = text.find(':'); colon != std::string::npos) {
    if (text.find(':', colon + 1) != std::string::npos) return std::nullopt;  // bare IPv6
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  a.host = host;
  if (!port.empty()) {
    unsigned p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      p = p * 10 + static_cast<unsigned>(c - '0');
      if (p > 65535) return std::nullopt;
    }
    if (p == 0) return std::nullopt;
    a.port = p;
  }
  return a;
}

MariaDbOptions parse_mariadb_options(core::ConfigSection& section,
                                     const std::string& default_database,
                                     const std::string& default_user) {
  MariaDbOptions p;
  for (const auto& s : section.get_strings("servers", {"127.0.0.1:3306"})) {
    auto a = parse_server_address(s);
    if (!a) {
      section.error("servers", "\"" + s + "\" is not host, host:port, [ipv6]:port or /socket");
      continue;
    }
    p.servers.push_back(*a);
  }
  if (p.servers.empty()) section.error("servers", "at least one server is required");
  p.database = section.get_string("database", default_database);
  p.user = section.get_string("user", default_user);
  p.password = section.get_string("password", "");
  if (auto file = section.get_optional_string("password_file")) {
    if (section.has("password"))
      section.error("password_file", "set password or password_file, not both");
    p.password = read_secret_file(section, "password_file", *file);
  }
  p.pool_size = static_cast<size_t>(section.get_int("pool_size", 4, 1, 256));
  p.connect_timeout = std::chrono::seconds(section.get_seconds("connect_timeout", 5));
  p.read_timeout = std::chrono::seconds(section.get_seconds("read_timeout", 10));
  p.write_timeout = std::chrono::seconds(section.get_seconds("write_timeout", 10));
  p.pool_wait = std::chrono::seconds(section.get_seconds("pool_wait", 10));
  p.retry_after = std::chrono::seconds(section.get_seconds("retry_after", 30));
  p.max_connection_age = std::chrono::seconds(section.get_seconds("max_connection_age", 600));
  for (const char* k : {"connect_timeout", "read_timeout", "write_timeout"}) {
    if (section.has(k) && section.get_seconds(k, 1) < 1) section.error(k, "must be at least 1s");
  }
  p.tls = section.get_bool("tls", false);
  p.tls_ca = section.get_string("tls_ca", "");
  return p;
}

}  // namespace mailroom::db
