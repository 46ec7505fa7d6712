// libFuzzer target: POP3 command lines (RFC 1939, RFC 2449) on arbitrary bytes.
// Invariants: no crash, leak or UB; a parsed verb is 1-8 upper-case ASCII letters and its
// arguments are non-empty; an error has a client-safe message; numbers round-trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/pop3/proto/command.h"
#include "tests/fakes/line_splitter.h"

using namespace mailroom::pop3::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const auto& line : mailroom::testing::split_wire_lines(in, kMaxCommandLine)) {
    if (line.too_long) continue;
    auto r = parse_command(line.text);
    if (!r) {
      if (r.status().client_message().empty()) __builtin_trap();
      continue;
    }
    const auto& c = r.value();
    if (c.verb.empty() || c.verb.size() > 8) __builtin_trap();
    for (char ch : c.verb) {
      if (ch < 'A' || ch > 'Z') __builtin_trap();
    }
    for (const auto& a : c.args) {
      if (a.empty()) __builtin_trap();
      if (auto n = parse_number(a)) {
        std::string_view digits = a;  // leading zeros are allowed ("015" is message 15)
        while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
        if (std::to_string(*n) != digits) __builtin_trap();
      }
    }
  }
  return 0;
}
