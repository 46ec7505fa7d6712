// Per-session protocol trace for diagnosing a client from the server side (issue 24): off by
// default, switched on for connections from chosen networks ([log] trace_ips) or, from the
// moment they log in, for chosen accounts ([log] trace_users).
//
// What is logged, one line per protocol line (event=protocol.trace dir=C|S):
// - client lines, with credentials masked: IMAP LOGIN's password, any SASL initial response
//   (AUTHENTICATE / AUTH), POP3 PASS and APOP; lines read while the session marks its input
//   secret (SASL continuation responses) are logged as "<secret>";
// - literals by size only ("{N octets}"), never their bytes;
// - server lines, each cut at 200 bytes, at most 40 lines per write (the rest counted).
//
// Thread-safety: a ProtocolTrace belongs to one connection; TraceSelector is immutable after
// construction and shared by all listeners.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/cidr.h"

namespace mailroom::net {

class ProtocolTrace {
 public:
  ProtocolTrace(std::string session_id, std::string protocol)
      : session_id_(std::move(session_id)), protocol_(std::move(protocol)) {}

  void client(std::string_view line, bool secret);
  void server(std::string_view data);
  void literal(std::size_t octets);
  void set_account(const std::string& account_id) { account_ = account_id; }

 private:
  std::string session_id_;
  std::string protocol_;
  std::string account_;
};

// The client line as the trace shows it: credentials replaced by "<secret>". `protocol` is
// the listener's ("imap", "pop3", "smtp", "submission", "lmtp").
std::string mask_client_line(std::string_view protocol, std::string_view line);

class TraceSelector {
 public:
  TraceSelector(std::vector<core::Cidr> networks, std::vector<std::string> addresses);
  bool empty() const { return networks_.empty() && addresses_.empty(); }
  bool matches_ip(const std::string& ip) const;
  // `address`: the account's primary address or login (any case).
  bool matches_account(std::string_view address) const;

 private:
  std::vector<core::Cidr> networks_;
  std::vector<std::string> addresses_;  // lower case
};

}  // namespace mailroom::net
