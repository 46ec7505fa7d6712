// [autoconfig] configuration (autoconfig_options.h lists the keys).
#include "src/api/autoconfig_options.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "src/core/address.h"
#include "src/core/config_section.h"

namespace mailroom::api {

namespace {

// A DNS name clients can connect to: letters, digits, '-' and '.' (RFC 1123 2.1), so it can
// go into every document unescaped and into a URL.
bool autoconfig_valid_hostname(const std::string& name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '.'; });
}

bool autoconfig_valid_url(const std::string& url) {
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) return false;
  return std::none_of(url.begin(), url.end(),
                      [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

struct AutoconfigPortKey {
  const char* key;
  const char* protocol;
  const char* socket;
};
constexpr AutoconfigPortKey kAutoconfigPortKeys[] = {
    {"imaps_port", "imap", "SSL"},
    {"imap_port", "imap", "STARTTLS"},
    {"pop3s_port", "pop3", "SSL"},
    {"pop3_port", "pop3", "STARTTLS"},
    {"submissions_port", "submission", "SSL"},
    {"submission_port", "submission", "STARTTLS"},
};

int autoconfig_rank(const ClientEndpoint& e) {
  int protocol = e.protocol == "imap" ? 0 : e.protocol == "pop3" ? 1 : 2;
  return protocol * 2 + (e.socket == "SSL" ? 0 : 1);
}

}  // namespace

AutoconfigOptions parse_autoconfig_options(core::ConfigSection& s,
                                           const std::string& server_hostname,
                                           const std::string& sso_issuer,
                                           const std::string& sso_required_scope) {
  AutoconfigOptions o;
  o.enabled = s.get_bool("enabled", o.enabled);
  o.hostname = core::ascii_lower(s.get_string("hostname", server_hostname));
  if (!autoconfig_valid_hostname(o.hostname)) {
    s.error("hostname", "not a host name clients can connect to: \"" + o.hostname + "\"");
  }
  o.display_name = s.get_string("display_name", "");
  bool oauth2 = s.get_bool("oauth2", true);
  if (oauth2 && !sso_issuer.empty()) o.oauth2_issuer = sso_issuer;
  std::string scope = "openid email";
  if (!sso_required_scope.empty()) scope += " " + sso_required_scope;
  o.oauth2_scope = s.get_string("oauth2_scope", scope);
  o.oauth2_auth_url = s.get_string("oauth2_auth_url", "");
  o.oauth2_token_url = s.get_string("oauth2_token_url", "");
  for (const auto& [key, url] : {std::pair{"oauth2_auth_url", &o.oauth2_auth_url},
                                 std::pair{"oauth2_token_url", &o.oauth2_token_url}}) {
    if (!url->empty() && !autoconfig_valid_url(*url)) {
      s.error(key, "not an http(s) URL: \"" + *url + "\"");
    }
  }
  for (const auto& k : kAutoconfigPortKeys) {
    auto port = static_cast<uint16_t>(s.get_int(k.key, 0, 0, 65535));
    if (port != 0) o.public_ports.push_back(ClientEndpoint{k.protocol, port, k.socket});
  }
  s.finish();
  return o;
}

std::vector<ClientEndpoint> advertised_endpoints(const AutoconfigOptions& options,
                                                 const std::vector<ClientEndpoint>& listeners) {
  std::vector<ClientEndpoint> out;
  auto add = [&out](const ClientEndpoint& e) {
    bool known = e.protocol == "imap" || e.protocol == "pop3" || e.protocol == "submission";
    bool socket = e.socket == "SSL" || e.socket == "STARTTLS";
    if (!known || !socket || e.port == 0) return;
    for (const auto& have : out) {
      if (have.protocol == e.protocol && have.port == e.port && have.socket == e.socket) return;
    }
    out.push_back(e);
  };
  for (const auto& l : listeners) {
    ClientEndpoint e = l;
    for (const auto& p : options.public_ports) {
      if (p.protocol == l.protocol && p.socket == l.socket) e.port = p.port;
    }
    add(e);
  }
  for (const auto& p : options.public_ports) add(p);
  std::stable_sort(out.begin(), out.end(), [](const ClientEndpoint& a, const ClientEndpoint& b) {
    return autoconfig_rank(a) < autoconfig_rank(b);
  });
  return out;
}

}  // namespace mailroom::api
