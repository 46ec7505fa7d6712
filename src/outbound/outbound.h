// Outbound mail: the RemoteTransport (src/queue/remote.h) that delivers to other domains.
//
// For one attempt (one message, the recipients of one domain) it finds the route — a
// per-domain transport, the relay host, or the domain's MX hosts (RFC 5321 5.1, RFC 7505 null
// MX) through c-ares (src/dns) — and runs an SMTP client session (RFC 5321) on its own Asio
// thread: EHLO, STARTTLS (opportunistic unless the domain's policy requires or verifies it),
// AUTH PLAIN towards a relay, SIZE, 8BITMIME, SMTPUTF8, DSN (RFC 3461) parameters passed on,
// PIPELINING (RFC 2920), MTA-STS (RFC 8461, src/outbound/mta_sts.h), DKIM signing (src/mailauth)
// when the From domain has an active key. No call blocks: DNS and sockets are asynchronous; a
// session per attempt, with per-domain and global connection limits.
//
// State: none that outlives an attempt except the DNS and MTA-STS policy caches (per node, in
// memory, disposable).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/core/status.h"
#include "src/dns/resolver.h"
#include "src/queue/remote.h"

namespace mailroom::core {
class ConfigSection;
struct Services;
}  // namespace mailroom::core

namespace mailroom::outbound {

// TLS towards a peer (like Postfix's smtp_tls_security_level): none, may (opportunistic,
// unverified), encrypt (required, unverified), verify (required, certificate and host name
// checked against tls_ca_file or the system store).
enum class TlsLevel : uint8_t { none, may, encrypt, verify };

// Where mail for a domain goes: an explicit host ("[host]:port", no MX lookup) or a name whose
// MX records are used ("host" or "host:port").
struct Route {
  std::string host;
  uint16_t port = 25;
  bool mx_lookup = true;
};
core::Result<Route> parse_route(const std::string& text, uint16_t default_port);

struct Options {
  std::string helo_name;  // default: the server's host name
  uint16_t port = 25;     // port of MX hosts (tests use another)
  std::string relay;      // smart host for every remote domain ("" = MX delivery)
  std::string relay_user;
  std::string relay_password;                     // or relay_password_file
  std::map<std::string, std::string> transports;  // domain -> route, overrides relay and MX
  TlsLevel tls = TlsLevel::may;
  TlsLevel relay_tls = TlsLevel::encrypt;      // towards the relay host
  std::map<std::string, TlsLevel> tls_policy;  // per destination domain; wins over MTA-STS
  // MTA-STS (RFC 8461) for MX delivery (not for the relay or transports): enforce limits the
  // MX hosts to the policy's and requires verified TLS; testing only logs what would fail.
  bool mta_sts = true;
  uint16_t mta_sts_port = 443;  // of https://mta-sts.<domain>; another only for tests
  std::string tls_ca_file;      // for verify ("" = system store)
  std::string tls_min_version = "TLSv1.2";
  int64_t connect_timeout = 30;
  int64_t command_timeout = 300;  // RFC 5321 4.5.3.2: 5 minutes for most replies
  int64_t data_timeout = 600;     // RFC 5321 4.5.3.2.6: 10 minutes for the final reply
  size_t max_connections = 200;
  // Connections kept open after a transaction for the next message to the same peer, and for
  // how long (seconds; 0 = close after each message). Counted outside max_connections.
  int64_t connection_idle = 5;
  size_t max_idle_connections = 100;
  size_t max_per_domain = 20;
  size_t max_received = 50;  // more Received: headers than this is a mail loop
  dns::ResolverOptions dns;  // [dns], parsed once by the caller
};

// [outbound]; `hostname` is the default HELO name.
Options parse_options(core::ConfigSection& outbound, const std::string& hostname);

class Outbound : public queue::RemoteTransport {
 public:
  // Starts the I/O thread. `data_dir` holds the DKIM keys (<data_dir>/dkim).
  static core::Result<std::shared_ptr<Outbound>> start(Options options, std::string data_dir);
};

}  // namespace mailroom::outbound
