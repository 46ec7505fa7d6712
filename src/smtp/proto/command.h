// SMTP/LMTP command parser (RFC 5321 section 4.1, with the ESMTP parameters of RFC 1870 SIZE,
// RFC 6152 8BITMIME, RFC 3030 BINARYMIME/BDAT, RFC 6531 SMTPUTF8, RFC 3461 DSN, RFC 4954
// AUTH). Pure: no I/O, no policy. A command line (without CRLF) becomes a Command or a
// Reply explaining the syntax error; the session decides what the command means in its state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "src/core/address.h"
#include "src/smtp/proto/reply.h"

namespace mailroom::smtp::proto {

enum class Verb {
  ehlo,
  helo,
  lhlo,
  mail,
  rcpt,
  data,
  bdat,
  rset,
  noop,
  quit,
  vrfy,
  expn,
  help,
  starttls,
  auth,
};
const char* verb_name(Verb v);

enum class Body { unspecified, seven_bit, eight_bit_mime, binary_mime };

struct Command {
  Verb verb = Verb::noop;
  std::string argument;  // the raw text after the verb (EHLO domain, VRFY string, HELP topic)

  // MAIL FROM / RCPT TO
  bool null_path = false;         // MAIL FROM:<>
  core::Address address;          // the mailbox (source route removed)
  bool had_source_route = false;  // "<@a,@b:user@c>" (RFC 5321 4.1.2: accepted, ignored)
  bool postmaster_only = false;   // RCPT TO:<Postmaster> without a domain
  // MAIL parameters
  std::optional<uint64_t> size;   // RFC 1870
  Body body = Body::unspecified;  // RFC 6152 / RFC 3030
  bool smtputf8 = false;          // RFC 6531
  std::string ret;                // RFC 3461: "FULL" | "HDRS"
  std::string envid;              // RFC 3461 (xtext, kept encoded)
  std::string auth;               // RFC 4954 AUTH= (xtext, kept encoded)
  // RCPT parameters (RFC 3461)
  std::string notify;  // "NEVER" or a comma list of SUCCESS,FAILURE,DELAY
  std::string orcpt;   // "rfc822;addr" (kept encoded)

  // BDAT (RFC 3030)
  uint64_t chunk_size = 0;
  bool last = false;

  // AUTH (RFC 4954)
  std::string mechanism;                        // upper-cased
  std::optional<std::string> initial_response;  // base64 text or "=" (empty response)
};

using ParseResult = std::variant<Command, Reply>;

// Parses one command line. `line` has no CRLF. Errors:
//  500 5.5.2 unknown command / line syntax, 501 5.5.4 bad arguments, 501 5.1.7 bad sender
//  address, 501 5.1.3 bad recipient address, 555 5.5.4 unknown or bad MAIL/RCPT parameter.
ParseResult parse_command(std::string_view line);

// RFC 3461 section 4: decodes xtext ("+2B" hex escapes); nullopt when malformed.
std::optional<std::string> decode_xtext(std::string_view text);

}  // namespace mailroom::smtp::proto
