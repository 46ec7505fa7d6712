// [dns] options, outcome names and the server address check.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "src/core/config_section.h"
#include "src/dns/resolver.h"
#include "src/dns/server_address.h"

namespace mailroom::dns {
namespace {

bool parse_dns_port(std::string_view text, int* port) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 ||
      value > 65535) {
    return false;
  }
  *port = value;
  return true;
}

bool is_ip(int family, std::string_view text) {
  std::string s(text);
  unsigned char buf[sizeof(struct in6_addr)];
  return !s.empty() && inet_pton(family, s.c_str(), buf) == 1;
}

}  // namespace

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "ok";
    case Outcome::nxdomain:
      return "nxdomain";
    case Outcome::nodata:
      return "nodata";
    case Outcome::temporary:
      return "temporary";
  }
  return "unknown";
}

std::optional<std::string> canonical_server(std::string_view server) {
  int port = 53;
  if (!server.empty() && server.front() == '[') {
    size_t close = server.find(']');
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    std::string_view ip = server.substr(1, close - 1);
    std::string_view rest = server.substr(close + 1);
    if (!is_ip(AF_INET6, ip) ||
        (!rest.empty() && (rest.front() != ':' || !parse_dns_port(rest.substr(1), &port)))) {
      return std::nullopt;
    }
    return "[" + std::string(ip) + "]:" + std::to_string(port);
  }
  const auto colons = std::count(server.begin(), server.end(), ':');
  if (colons > 1) {
    if (!is_ip(AF_INET6, server)) {
      return std::nullopt;
    }
    return "[" + std::string(server) + "]:53";
  }
  std::string_view ip = server;
  if (colons == 1) {
    size_t colon = server.find(':');
    ip = server.substr(0, colon);
    if (!parse_dns_port(server.substr(colon + 1), &port)) {
      return std::nullopt;
    }
  }
  if (!is_ip(AF_INET, ip)) {
    return std::nullopt;
  }
  return std::string(ip) + ":" + std::to_string(port);
}

ResolverOptions parse_options(core::ConfigSection& section) {
  ResolverOptions o;
  o.servers = section.get_strings("servers", {});
  for (const std::string& s : o.servers) {
    if (!canonical_server(s)) {
      section.error("servers", "\"" + s +
                                   "\" is not an IP address with an optional port (\"192.0.2.1\", "
                                   "\"192.0.2.1:5353\", \"[2001:db8::1]:5353\")");
    }
  }
  const int64_t timeout = section.get_seconds("timeout", o.timeout_ms / 1000);
  if (timeout < 1 || timeout > 300) {
    section.error("timeout", "must be between 1s and 300s (per try)");
  } else {
    o.timeout_ms = timeout * 1000;
  }
  o.tries = static_cast<int>(section.get_int("tries", o.tries, 1, 10));
  o.cache_entries = static_cast<size_t>(
      section.get_int("cache_entries", static_cast<int64_t>(o.cache_entries), 0, 10'000'000));
  o.ipv6 = section.get_bool("ipv6", o.ipv6);
  section.finish();
  return o;
}

}  // namespace mailroom::dns
