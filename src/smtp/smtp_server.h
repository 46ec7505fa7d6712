// SMTP (RFC 5321) for the MX and submission (RFC 6409) listeners, and LMTP (RFC 2033).
//
// Extensions: PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152),
// ENHANCEDSTATUSCODES (RFC 2034/3463), STARTTLS (RFC 3207), AUTH (RFC 4954), SMTPUTF8
// (RFC 6531), CHUNKING/BINARYMIME (RFC 3030), DSN (RFC 3461: parameters kept in the envelope).
//
// Policy asks the spine only: Resolver for recipients and send-as, Authenticator for AUTH,
// Blocklist (src/filter) for IPs and senders, Queue for durable accept (250 only after fsync).
// Only authenticated sessions may send to non-local domains (no open relay).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "src/core/cidr.h"
#include "src/net/session_handler.h"

namespace mailroom::core {
class ConfigSection;
struct Services;
}  // namespace mailroom::core

namespace mailroom::smtp {

enum class BareLf { reject, accept };

// [smtp] keys (defaults in brackets).
struct Options {
  uint64_t max_message_size = 25u << 20;   // max_message_size [25M]: 552 5.3.4 beyond
  size_t max_recipients = 1000;            // max_recipients [1000]: 452 4.5.3 beyond
  size_t max_line_length = 1000;           // max_line_length [1000] incl. CRLF (RFC 5321 4.5.3.1)
  size_t max_commands_before_mail = 50;    // commands_before_mail [50]: 421 4.7.0
  size_t max_errors = 10;                  // max_errors [10]: 421 4.7.0 and disconnect
  BareLf bare_lf = BareLf::reject;         // bare_lf ["reject"] | "accept"
  std::string banner = "ESMTP Mailroom";   // banner text after the host name
  std::chrono::seconds data_timeout{600};  // data_timeout ["10m"]
  // Per client IP: connections allowed per minute (0 = unlimited); beyond: 421 4.7.0.
  size_t max_connection_rate = 0;  // connection_rate_per_minute [0]
  // Domains whose authenticated accounts may send as any address (service accounts).
  std::vector<std::string> send_as_exempt_domains;  // send_as_exempt_domains [[]]
  // MX: refuse unauthenticated MAIL FROM a local domain (550 5.7.1) [false].
  bool mx_reject_local_senders = false;
  // Gateways (anti-spam/AV in front, a relay) whose unauthenticated mail is trusted to carry
  // a genuine local envelope sender: exempt from mx_reject_local_senders, and their local
  // senders count for group send policies (which otherwise hold for unauthenticated mail).
  std::vector<core::Cidr> trusted_networks;  // trusted_networks [[]]
  // Hosts that may relay to other domains on the MX port without AUTH (application servers,
  // an outbound gateway): like Postfix's mynetworks. Empty: only authenticated users relay.
  std::vector<core::Cidr> relay_networks;  // relay_networks [[]]
  bool submission_add_headers = true;      // submission adds Message-ID/Date when missing [true]
  // Submission: from connect to a successful AUTH, however the client spaces its commands.
  std::chrono::seconds login_timeout{180};  // login_timeout ["3m"]
};

Options parse_options(core::ConfigSection& section);

// protocol: "smtp" (MX), "submission" (AUTH required), "lmtp".
net::SessionHandler make_session_handler(core::Services& services, const Options& options,
                                         const std::string& protocol);

}  // namespace mailroom::smtp
