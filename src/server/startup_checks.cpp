#include "src/server/startup_checks.h"

#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>

#include "auth/authenticator.h"
#include "auth/sasl/kerberos.h"
#include "src/core/services.h"
#include "src/server/module_options.h"
#include "src/server/wiring.h"

namespace mailroom::server {

namespace {

bool readable_by_others(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0;
}

bool loopback_address(const std::string& text) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(text, ec);
  return !ec && a.is_loopback();
}

}  // namespace

std::vector<std::string> startup_warnings(const LoadedConfig& config) {
  std::vector<std::string> out;
  for (const auto& l : config.server.listeners) {
    if (l.protocol == "lmtp" && l.allow.empty() && !loopback_address(l.address)) {
      out.push_back("listener " + l.name + ": LMTP on " + l.address +
                    " accepts mail for any local mailbox from any host that can reach it, "
                    "without authentication; set allow = [\"<gateway address>\", ...]");
    }
  }
  if (config.modules && config.modules->auth.resolver.postmaster.empty()) {
    out.push_back(
        "[auth] postmaster is not set: mail to postmaster@<domain> (RFC 5321 4.5.1) is "
        "refused for domains without their own postmaster account or alias");
  }
  // Client autoconfiguration (src/api/autoconfig.h) on an HTTP listener: it must have
  // something true to say.
  bool http = std::any_of(config.server.listeners.begin(), config.server.listeners.end(),
                          [](const auto& l) { return l.protocol == "http"; });
  if (http && config.modules && config.modules->autoconfig.enabled) {
    const auto& ac = config.modules->autoconfig;
    bool client_tls =
        !ac.public_ports.empty() ||
        std::any_of(
            config.server.listeners.begin(), config.server.listeners.end(), [](const auto& l) {
              return l.tls != net::TlsMode::none &&
                     (l.protocol == "imap" || l.protocol == "pop3" || l.protocol == "submission");
            });
    if (!client_tls) {
      out.push_back(
          "[autoconfig] has nothing to advertise: no imap, pop3 or submission listener with "
          "TLS and no public port; client autoconfiguration answers 404");
    }
    if (ac.hostname == "localhost") {
      out.push_back(
          "[autoconfig] hostname is \"localhost\": mail clients would be told to connect to "
          "themselves; set [server] hostname or [autoconfig] hostname to the public name");
    }
  }
  if (readable_by_others(config.server.tls.private_key)) {
    out.push_back("[tls] private_key " + config.server.tls.private_key +
                  " is readable by other users (chmod 600)");
  }
  return out;
}

std::vector<std::string> startup_errors(const LoadedConfig& config,
                                        const core::Services& services) {
  std::vector<std::string> out;
  if (!config.modules || !config.modules->auth.kerberos.enabled()) return out;
  const auto& auth = config.modules->auth;
  const auto& mechs = auth.mechanisms;
  if (std::find(mechs.begin(), mechs.end(), "GSSAPI") == mechs.end()) return out;
  std::vector<std::string> services_needed;
  for (const auto& l : config.server.listeners) {
    std::string s = auth::gssapi_service(l.protocol);
    if (!s.empty() &&
        std::find(services_needed.begin(), services_needed.end(), s) == services_needed.end()) {
      services_needed.push_back(s);
    }
  }
  if (auto st = auth::check_keytab(auth.kerberos, services_needed); !st) {
    out.push_back(st.client_message());
  }
  if (services.authenticator) {
    auth::ClientInfo probe;
    probe.protocol = "imap";
    probe.tls = true;
    auto offered = services.authenticator->mechanisms(probe);
    if (std::find(offered.begin(), offered.end(), "GSSAPI") == offered.end()) {
      out.push_back(
          "[auth] kerberos_keytab: Cyrus SASL has no GSSAPI plugin (install "
          "libsasl2-modules-gssapi-mit)");
    }
  }
  return out;
}

}  // namespace mailroom::server
