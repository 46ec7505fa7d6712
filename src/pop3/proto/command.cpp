#include "src/pop3/proto/command.h"

namespace mailroom::pop3::proto {

core::Result<Command> parse_command(std::string_view line) {
  if (line.empty()) return core::invalid_argument("Empty command");
  for (unsigned char c : line) {
    // RFC 1939 section 3: commands are printable ASCII; PASS may carry UTF-8 octets.
    if (c < 0x20 || c == 0x7f) return core::invalid_argument("Control characters in command");
  }
  Command cmd;
  std::size_t space = line.find(' ');
  std::string_view verb = line.substr(0, space);
  if (verb.empty() || verb.size() > 8) return core::invalid_argument("Malformed command keyword");
  for (char c : verb) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
      return core::invalid_argument("Malformed command keyword");
    }
    cmd.verb.push_back(static_cast<char>(c >= 'a' ? c - 'a' + 'A' : c));
  }
  if (space == std::string_view::npos) return cmd;
  cmd.rest = std::string(line.substr(space + 1));
  std::string_view rest = line.substr(space + 1);
  if (cmd.verb == "PASS") {
    // RFC 1939 section 7: the whole remainder is the password, spaces included.
    if (rest.empty()) return core::invalid_argument("Missing password");
    cmd.args.push_back(cmd.rest);
    return cmd;
  }
  while (true) {
    std::size_t next = rest.find(' ');
    std::string_view arg = rest.substr(0, next);
    if (arg.empty()) return core::invalid_argument("Empty argument (extra space)");
    if (arg.size() > kMaxArgument) return core::invalid_argument("Argument too long");
    cmd.args.emplace_back(arg);
    if (next == std::string_view::npos) break;
    rest = rest.substr(next + 1);
  }
  return cmd;
}

std::optional<uint32_t> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(value);
}

}  // namespace mailroom::pop3::proto
