// [autoconfig]: what mail clients are told when they configure themselves (autoconfig.h).
//
// Config ([autoconfig], defaults in brackets):
//   enabled = true             serve the documents [true]
//   hostname = "mail.example.com"   the public name clients connect to [[server] hostname]
//   display_name = "Example Mail"   the provider's name in the clients ["" = the domain]
//   oauth2 = true              advertise OAuth2 (XOAUTH2/OAUTHBEARER) when [sso] trusts an
//                              issuer; false hides it [true]
//   oauth2_scope = "..."       scope Thunderbird asks for ["openid email" plus the first
//                              issuer's required_scope]
//   oauth2_auth_url = "..."    the provider's authorization_endpoint ["" = not sent]
//   oauth2_token_url = "..."   the provider's token_endpoint ["" = not sent]
//   Public ports, when clients reach the server through NAT or a proxy on other ports than
//   the listeners' (0 = the listeners' own). Each names a protocol and its TLS mode; a port
//   given for a mode no listener has adds that endpoint (a proxy terminating TLS in front of
//   a plain listener):
//   imaps_port = 993           IMAP, implicit TLS           (RFC 8314 "SSL")
//   imap_port = 143            IMAP, STARTTLS
//   pop3s_port = 995           POP3, implicit TLS
//   pop3_port = 110            POP3, STLS
//   submissions_port = 465     submission, implicit TLS (RFC 8314 3.3)
//   submission_port = 587      submission, STARTTLS (RFC 6409)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::api {

// One place a mail client connects to: filled by the wiring from the listeners (the port each
// one got), never from a listener without TLS (clients would send passwords in the clear).
struct ClientEndpoint {
  std::string protocol;  // "imap", "pop3", "submission"
  uint16_t port = 0;
  std::string socket;  // "SSL" (implicit TLS) or "STARTTLS"
};

struct AutoconfigOptions {
  bool enabled = true;
  std::string hostname;
  std::string display_name;
  // OAuth2 is advertised when this is not empty: the issuer of the first [[sso.issuer]],
  // unless oauth2 = false.
  std::string oauth2_issuer;
  std::string oauth2_scope;
  std::string oauth2_auth_url;
  std::string oauth2_token_url;
  // The *_port keys; every entry has a port.
  std::vector<ClientEndpoint> public_ports;
};

// Reads [autoconfig] and calls section.finish(). `server_hostname`: [server] hostname, the
// default public name. `sso_issuer` and `sso_required_scope`: the first [[sso.issuer]]'s
// issuer and required_scope ("" when [sso] trusts none).
AutoconfigOptions parse_autoconfig_options(core::ConfigSection& section,
                                           const std::string& server_hostname,
                                           const std::string& sso_issuer,
                                           const std::string& sso_required_scope);

// The endpoints to advertise: the listeners' with the public ports applied, in the order
// clients should prefer them (IMAP before POP3, implicit TLS before STARTTLS, RFC 8314 3),
// without duplicates.
std::vector<ClientEndpoint> advertised_endpoints(const AutoconfigOptions& options,
                                                 const std::vector<ClientEndpoint>& listeners);

}  // namespace mailroom::api
