// POP3 command lines (RFC 1939 section 3, RFC 2449 section 4): pure parsing, no I/O.
//
// A command is a case-insensitive keyword, then arguments separated by single spaces.
// RFC 2449 section 4 raises the command line limit to 255 octets including CRLF; the session
// reads at most kMaxCommandLine octets before the line ending and answers longer lines with
// -ERR. PASS keeps everything after the first space as one argument (RFC 1939 section 7:
// "a POP3 server may treat spaces in the argument as part of the password").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"

namespace mailroom::pop3::proto {

// Octets of a command line before CRLF (RFC 2449 section 4: 255 including CRLF).
inline constexpr std::size_t kMaxCommandLine = 253;
// RFC 2449 section 4: arguments may be up to 40 octets; we accept up to this many so long
// user names (full addresses) and SASL initial responses still fit in a command line.
inline constexpr std::size_t kMaxArgument = 253;

struct Command {
  std::string verb;               // upper-cased keyword, e.g. "RETR"
  std::string rest;               // everything after the first space, verbatim (PASS, AUTH)
  std::vector<std::string> args;  // `rest` split on single spaces
};

// Parses one line (without CRLF). invalid_argument with a client-safe reason for an empty
// line, a keyword that is not 1-8 ASCII letters, control characters, or empty arguments
// (two spaces in a row, a trailing space).
core::Result<Command> parse_command(std::string_view line);

// A message number or line count: 1*DIGIT with no sign, at most 10 digits, <= UINT32_MAX.
std::optional<uint32_t> parse_number(std::string_view text);

}  // namespace mailroom::pop3::proto
