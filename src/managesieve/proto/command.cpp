#include "src/managesieve/proto/command.h"

#include <cctype>

namespace mailroom::managesieve::proto {

namespace {
constexpr std::size_t kMaxArgs = 8;
constexpr std::size_t kMaxDiscard = 16u << 20;  // a literal larger than this closes the session
}  // namespace

void Assembler::reset() {
  command_ = Command{};
  have_name_ = false;
  literal_size_ = 0;
  total_ = 0;
  discard_ = false;
  error_.clear();
}

Assembler::Need Assembler::feed_line(std::string_view line) {
  total_ += line.size();
  if (total_ > max_literal_ + 16 * kMaxLine) return fail("Command too long");
  size_t i = 0;
  auto skip_space = [&] {
    while (i < line.size() && line[i] == ' ') ++i;
  };
  if (!have_name_) {
    skip_space();
    size_t start = i;
    while (i < line.size() && std::isalpha(static_cast<unsigned char>(line[i]))) ++i;
    if (i == start || i - start > 16) return fail("Expected a command name");
    for (size_t k = start; k < i; ++k) {
      command_.name += static_cast<char>(std::toupper(static_cast<unsigned char>(line[k])));
    }
    have_name_ = true;
    if (i < line.size() && line[i] != ' ') return fail("Bad character after the command name");
  }
  while (true) {
    skip_space();
    if (i >= line.size()) return Need::done;
    if (command_.args.size() >= kMaxArgs) return fail("Too many arguments");
    char c = line[i];
    if (c == '"') {
      // RFC 5804 4: quoted = DQUOTE *QUOTED-CHAR DQUOTE, with "\\" and "\"" escapes only.
      ++i;
      Argument a;
      bool closed = false;
      while (i < line.size()) {
        char q = line[i++];
        if (q == '"') {
          closed = true;
          break;
        }
        if (q == '\\') {
          if (i >= line.size() || (line[i] != '\\' && line[i] != '"'))
            return fail("Bad escape in a quoted string");
          q = line[i++];
        }
        if (q == '\0') return fail("NUL in a quoted string");
        a.text += q;
        if (a.text.size() > 1024) return fail("Quoted string too long");
      }
      if (!closed) return fail("Unterminated quoted string");
      if (i < line.size() && line[i] != ' ') return fail("Expected a space after a string");
      command_.args.push_back(std::move(a));
    } else if (c == '{') {
      // literal-c2s = "{" number [ "+" ] "}" CRLF *OCTET; the line must end here.
      size_t close = line.find('}', i);
      if (close == std::string_view::npos || close + 1 != line.size()) return fail("Bad literal");
      std::string_view n = line.substr(i + 1, close - i - 1);
      if (!n.empty() && n.back() == '+') n.remove_suffix(1);
      if (n.empty() || n.size() > 10) return fail("Bad literal size");
      uint64_t size = 0;
      for (char d : n) {
        if (!std::isdigit(static_cast<unsigned char>(d))) return fail("Bad literal size");
        size = size * 10 + static_cast<uint64_t>(d - '0');
      }
      if (size > max_literal_) {
        literal_size_ = static_cast<std::size_t>(size);
        discard_ = size <= kMaxDiscard;
        return fail("Literal too large");
      }
      literal_size_ = static_cast<std::size_t>(size);
      return Need::literal;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      Argument a;
      a.kind = Argument::Kind::number;
      while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) {
        a.text += line[i++];
        if (a.text.size() > 10) return fail("Number too large");
      }
      if (i < line.size() && line[i] != ' ') return fail("Bad number");
      command_.args.push_back(std::move(a));
    } else {
      return fail("Bad argument");
    }
  }
}

Assembler::Need Assembler::feed_literal(std::string bytes) {
  total_ += bytes.size();
  Argument a;
  a.text = std::move(bytes);
  a.literal = true;
  command_.args.push_back(std::move(a));
  literal_size_ = 0;
  return Need::line;  // the rest of the command line follows the literal
}

std::string quote(std::string_view s) {
  bool plain = s.size() <= 1024;
  for (char c : s) plain = plain && c != '\r' && c != '\n' && c != '\0';
  if (!plain) return "{" + std::to_string(s.size()) + "}\r\n" + std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace mailroom::managesieve::proto
