// RFC 2449 CAPA: what this session can do now (capabilities depend on the state and on TLS).
#include "src/pop3/session.h"

namespace mailroom::pop3 {

Awaitable Session::cmd_capa(const proto::Command&) {
  std::string out = proto::ok("Capability list follows");
  out += "TOP\r\n";             // RFC 2449 section 6.1
  out += "UIDL\r\n";            // section 6.5
  out += "RESP-CODES\r\n";      // section 6.4
  out += "AUTH-RESP-CODE\r\n";  // RFC 3206 section 3
  out += "PIPELINING\r\n";      // section 6.6
  // Section 6.7: messages stay until the user deletes them.
  out += "EXPIRE NEVER\r\n";
  if (state_ == State::authorization) {
    auth::ClientInfo ci = client_info();
    if (services_.authenticator->plaintext_allowed(ci)) out += "USER\r\n";  // section 6.8
    std::vector<std::string> mechanisms = services_.authenticator->mechanisms(ci);
    if (!mechanisms.empty()) {  // section 6.3, RFC 5034 section 5
      out += "SASL";
      for (const std::string& m : mechanisms) out += " " + m;
      out += "\r\n";
    }
    if (transport_.can_start_tls()) out += "STLS\r\n";  // RFC 2595 section 4
  }
  if (!options_.implementation.empty()) {
    out += "IMPLEMENTATION " + options_.implementation + "\r\n";  // section 6.9
  }
  out += ".\r\n";
  send(out);
  co_return;
}

}  // namespace mailroom::pop3
