// libFuzzer target: ManageSieve commands (RFC 5804 section 4) as a client sends them, lines and
// literals. Invariants: no crash, leak or UB; a command name is 1-16 upper-case letters; an
// error has a message; at most 8 arguments; a requested literal is within the limit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/managesieve/proto/command.h"

using namespace mailroom::managesieve::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr size_t kLimit = 4096;
  Assembler a(kLimit);
  size_t pos = 0;
  while (pos < in.size()) {
    a.reset();
    Assembler::Need need;
    do {
      size_t eol = in.find('\n', pos);
      std::string_view line =
          in.substr(pos, eol == std::string_view::npos ? in.size() - pos : eol - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      pos = eol == std::string_view::npos ? in.size() : eol + 1;
      if (line.size() > kMaxLine) return 0;
      need = a.feed_line(line);
      if (need == Assembler::Need::literal) {
        if (a.literal_size() > kLimit) __builtin_trap();
        size_t n = std::min(a.literal_size(), in.size() - pos);
        need = a.feed_literal(std::string(in.substr(pos, n)));
        pos += n;
      }
    } while (need == Assembler::Need::line && pos < in.size());
    if (need == Assembler::Need::error && a.error().empty()) __builtin_trap();
    if (need == Assembler::Need::done) {
      const Command& c = a.command();
      if (c.name.empty() || c.name.size() > 16 || c.args.size() > 8) __builtin_trap();
      for (char ch : c.name) {
        if (ch < 'A' || ch > 'Z') __builtin_trap();
      }
      for (const auto& arg : c.args) (void)quote(arg.text);
    }
  }
  return 0;
}
