// libFuzzer target: the outbound SMTP client's reading of a peer's replies (ReplyParser) and
// of its EHLO keywords, on arbitrary bytes. The first byte picks the size of the reads the
// bytes arrive in; the rest is what the peer sends.
// Invariants: no crash, leak or UB; the replies and the error do not depend on how the bytes
// were cut into reads; a reply has a code 200..599 (never the session's 0), 1..200 lines of
// at most 4096 octets without control characters, text that is its non-empty lines joined
// with one space, and an enhanced status of its own class; EHLO keywords and AUTH mechanisms
// are upper case, without spaces.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/outbound/reply_parser.h"

using namespace mailroom::outbound;

namespace {

std::vector<SmtpReply> read_all(std::string_view wire, std::size_t step, std::string* error) {
  ReplyParser parser;
  std::vector<SmtpReply> out;
  std::size_t at = 0;
  do {
    std::size_t n = std::min(step, wire.size() - at);
    parser.feed(wire.substr(at, n));
    at += n;
    while (auto r = parser.next()) out.push_back(std::move(*r));
  } while (at < wire.size() && !parser.failed());
  *error = parser.error();
  return out;
}

bool clean(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

bool upper_word(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c == ' ' || (c >= 'a' && c <= 'z')) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t step = 1 + data[0] % 64;
  std::string error;
  auto whole = read_all(wire, wire.size() + 1, &error);
  std::string error_in_pieces;
  auto pieces = read_all(wire, step, &error_in_pieces);
  if (error != error_in_pieces || whole.size() != pieces.size()) __builtin_trap();
  for (std::size_t i = 0; i < whole.size(); ++i) {
    const SmtpReply& r = whole[i];
    const SmtpReply& p = pieces[i];
    if (r.code != p.code || r.status != p.status || r.text != p.text || r.lines != p.lines) {
      __builtin_trap();
    }
    if (r.code < 200 || r.code > 599) __builtin_trap();
    if (r.lines.empty() || r.lines.size() > kMaxReplyLines) __builtin_trap();
    std::string joined;
    for (std::size_t l = 0; l < r.lines.size(); ++l) {
      if (r.lines[l].size() > kMaxReplyLine || !clean(r.lines[l])) __builtin_trap();
      if (r.lines[l].empty()) continue;
      if (!joined.empty()) joined += ' ';
      joined += r.lines[l];
    }
    if (joined != r.text) __builtin_trap();
    if (!r.status.empty() && r.status[0] != '0' + r.code / 100) __builtin_trap();
    if (r.status.size() > 9) __builtin_trap();

    EhloExtensions ext = parse_ehlo_extensions(r.lines);
    for (const auto& k : ext.keywords) {
      if (!upper_word(k)) __builtin_trap();
    }
    for (const auto& m : ext.auth_mechanisms) {
      if (!upper_word(m)) __builtin_trap();
    }
    if (!ext.auth_mechanisms.empty() && !ext.has("AUTH")) __builtin_trap();
    if (ext.size_limit != 0 && !ext.has("SIZE")) __builtin_trap();
  }
  return 0;
}
