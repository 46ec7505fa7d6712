#include "src/imap/proto/lexer.h"

#include <cctype>

namespace mailroom::imap::proto {

bool Lexer::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
  return false;
}

bool Lexer::is_atom_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;  // CTL, SP and 8-bit
  switch (c) {
    case '(':
    case ')':
    case '{':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']':
      return false;
    default:
      return true;
  }
}

bool Lexer::sp() {
  if (peek() == ' ') {
    ++pos_;
    return true;
  }
  return fail(at_end() ? "Missing argument" : "Expected a space");
}

bool Lexer::consume(char c) {
  if (peek() == c && !at_end()) {
    ++pos_;
    return true;
  }
  return false;
}

bool Lexer::expect(char c) {
  if (consume(c)) return true;
  return fail(std::string("Expected '") + c + "'");
}

bool Lexer::keyword(std::string_view kw) {
  if (s_.size() - pos_ < kw.size()) return false;
  for (size_t i = 0; i < kw.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(s_[pos_ + i])) != kw[i]) return false;
  }
  size_t end = pos_ + kw.size();
  if (end < s_.size() && is_atom_char(s_[end]) && s_[end] != '[' && s_[end] != '<' &&
      s_[end] != '.')
    return false;
  pos_ = end;
  return true;
}

std::optional<std::string> Lexer::tag() {
  size_t start = pos_;
  while (!at_end() && (is_atom_char(peek()) || peek() == ']') && peek() != '+') ++pos_;
  if (pos_ == start) {
    fail("Invalid tag");
    return std::nullopt;
  }
  return std::string(s_.substr(start, pos_ - start));
}

std::optional<std::string> Lexer::atom() {
  size_t start = pos_;
  while (!at_end() && is_atom_char(peek())) ++pos_;
  if (pos_ == start) {
    fail("Expected an atom");
    return std::nullopt;
  }
  return std::string(s_.substr(start, pos_ - start));
}

std::string_view Lexer::word() {
  size_t start = pos_;
  while (!at_end() && peek() != ' ' && peek() != ')' && peek() != '(') ++pos_;
  return s_.substr(start, pos_ - start);
}

std::optional<std::string> Lexer::quoted() {
  ++pos_;  // opening quote
  std::string out;
  while (!at_end()) {
    char c = s_[pos_++];
    if (c == '"') return out;
    if (c == '\\') {
      if (at_end() || (peek() != '"' && peek() != '\\')) {
        fail("Invalid escape in quoted string");
        return std::nullopt;
      }
      out.push_back(s_[pos_++]);
      continue;
    }
    if (c == '\r' || c == '\n' || c == '\0') {
      fail("Invalid character in quoted string");
      return std::nullopt;
    }
    out.push_back(c);  // 8-bit bytes are tolerated (SEARCH CHARSET UTF-8 clients send them)
  }
  fail("Unterminated quoted string");
  return std::nullopt;
}

std::optional<std::string> Lexer::literal() {
  ++pos_;  // '{'
  uint64_t n = 0;
  size_t digits = 0;
  while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) {
    if (++digits > 19) break;
    n = n * 10 + static_cast<uint64_t>(peek() - '0');
    ++pos_;
  }
  if (digits == 0 || digits > 19) {
    fail("Invalid literal size");
    return std::nullopt;
  }
  consume('+');
  if (!consume('}') || !consume('\r') || !consume('\n')) {
    fail("Invalid literal");
    return std::nullopt;
  }
  if (n > s_.size() - pos_) {
    fail("Literal is shorter than announced");
    return std::nullopt;
  }
  std::string out(s_.substr(pos_, n));
  pos_ += n;
  return out;
}

std::optional<std::string> Lexer::string() {
  if (peek() == '"') return quoted();
  if (peek() == '{') return literal();
  fail("Expected a string");
  return std::nullopt;
}

std::optional<std::string> Lexer::astring() {
  if (peek() == '"' || peek() == '{') return string();
  size_t start = pos_;
  while (!at_end() && (is_atom_char(peek()) || peek() == ']')) ++pos_;
  if (pos_ == start) {
    fail(at_end() ? "Missing argument" : "Expected a string");
    return std::nullopt;
  }
  return std::string(s_.substr(start, pos_ - start));
}

std::optional<std::string> Lexer::nstring(bool* is_nil) {
  if (keyword("NIL")) {
    if (is_nil) *is_nil = true;
    return std::string();
  }
  if (is_nil) *is_nil = false;
  return string();
}

std::optional<std::string> Lexer::nstring() { return nstring(nullptr); }

std::optional<std::string> Lexer::list_mailbox() {
  if (peek() == '"' || peek() == '{') return string();
  size_t start = pos_;
  while (!at_end() && (is_atom_char(peek()) || peek() == '%' || peek() == '*' || peek() == ']'))
    ++pos_;
  if (pos_ == start) {
    fail("Expected a mailbox pattern");
    return std::nullopt;
  }
  return std::string(s_.substr(start, pos_ - start));
}

std::optional<uint64_t> Lexer::number() {
  uint64_t n = 0;
  size_t digits = 0;
  while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) {
    if (n > (UINT64_MAX - 9) / 10) {
      fail("Number too large");
      return std::nullopt;
    }
    n = n * 10 + static_cast<uint64_t>(peek() - '0');
    ++pos_;
    ++digits;
  }
  if (digits == 0) {
    fail("Expected a number");
    return std::nullopt;
  }
  return n;
}

std::optional<uint32_t> Lexer::nz_number32() {
  auto n = number();
  if (!n) return std::nullopt;
  if (*n == 0 || *n > UINT32_MAX) {
    fail("Number out of range");
    return std::nullopt;
  }
  return static_cast<uint32_t>(*n);
}

}  // namespace mailroom::imap::proto
