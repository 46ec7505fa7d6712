// [outbound] and [dns] configuration, and route syntax.
#include <fstream>

#include "src/core/address.h"
#include "src/core/config_section.h"
#include "src/outbound/outbound.h"

namespace mailroom::outbound {
namespace {

const std::vector<std::string> kTlsLevels = {"none", "may", "encrypt", "verify"};

TlsLevel tls_level(const std::string& s) {
  if (s == "none") return TlsLevel::none;
  if (s == "encrypt") return TlsLevel::encrypt;
  if (s == "verify") return TlsLevel::verify;
  return TlsLevel::may;
}

bool valid_host(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '_') {
      return false;
    }
  }
  return true;
}

}  // namespace

// "[host]:port" or "[host]" (no MX lookup), "host:port" or "host" (MX of host); IPv6 only in
// brackets.
core::Result<Route> parse_route(const std::string& text, uint16_t default_port) {
  Route r;
  r.port = default_port;
  std::string rest = text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return core::invalid_argument("missing ] in " + text);
    r.host = rest.substr(1, close - 1);
    r.mx_lookup = false;
    rest = rest.substr(close + 1);
  } else {
    auto colon = rest.find(':');
    r.host = rest.substr(0, colon);
    rest = colon == std::string::npos ? "" : rest.substr(colon);
  }
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() < 2)
      return core::invalid_argument("bad port in " + text);
    int port = 0;
    for (char c : rest.substr(1)) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || port > 65535) {
        return core::invalid_argument("bad port in " + text);
      }
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) return core::invalid_argument("bad port in " + text);
    r.port = static_cast<uint16_t>(port);
  }
  r.host = core::ascii_lower(r.host);
  if (!valid_host(r.host)) return core::invalid_argument("bad host name in " + text);
  return r;
}

Options parse_options(core::ConfigSection& s, const std::string& hostname) {
  Options o;
  o.helo_name = core::ascii_lower(s.get_string("helo_name", hostname));
  o.port = static_cast<uint16_t>(s.get_int("port", 25, 1, 65535));
  o.relay = s.get_string("relay", "");
  if (!o.relay.empty() && !parse_route(o.relay, 25)) s.error("relay", "expected [host]:port");
  o.relay_user = s.get_string("relay_user", "");
  o.relay_password = s.get_string("relay_password", "");
  std::string password_file = s.get_string("relay_password_file", "");
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    if (!in || !std::getline(in, o.relay_password)) {
      s.error("relay_password_file", "cannot read " + password_file);
    }
  }
  o.tls = tls_level(s.get_choice("tls", "may", kTlsLevels));
  o.relay_tls = tls_level(s.get_choice("relay_tls", "encrypt", kTlsLevels));
  o.tls_ca_file = s.get_string("tls_ca_file", "");
  o.mta_sts = s.get_bool("mta_sts", true);
  o.mta_sts_port = static_cast<uint16_t>(s.get_int("mta_sts_port", 443, 1, 65535));
  o.tls_min_version =
      s.get_choice("tls_min_version", "TLSv1.2", {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"});
  o.connect_timeout = s.get_seconds("connect_timeout", o.connect_timeout);
  o.command_timeout = s.get_seconds("command_timeout", o.command_timeout);
  o.data_timeout = s.get_seconds("data_timeout", o.data_timeout);
  o.max_connections = static_cast<size_t>(s.get_int("max_connections", 200, 1, 100000));
  o.max_per_domain = static_cast<size_t>(s.get_int("max_per_domain", 20, 1, 10000));
  o.connection_idle = s.get_seconds("connection_idle", o.connection_idle);
  o.max_idle_connections = static_cast<size_t>(s.get_int("max_idle_connections", 100, 0, 100000));
  o.max_received = static_cast<size_t>(s.get_int("max_received", 50, 5, 1000));
  auto transports = s.child("transports");
  for (const auto& domain : transports.keys()) {
    std::string route = transports.get_string(domain, "");
    if (!parse_route(route, 25)) {
      transports.error(domain, "expected [host]:port or host");
      continue;
    }
    o.transports[core::ascii_lower(domain)] = route;
  }
  transports.finish();
  auto policy = s.child("tls_policy");
  for (const auto& domain : policy.keys()) {
    o.tls_policy[core::ascii_lower(domain)] =
        tls_level(policy.get_choice(domain, "may", kTlsLevels));
  }
  policy.finish();
  s.finish();
  return o;
}

}  // namespace mailroom::outbound
