// Internal: the token level of the IMAP grammar (RFC 3501 section 9) over a command buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom::imap::proto {

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  size_t pos() const { return pos_; }
  void set_pos(size_t p) { pos_ = p; }
  bool fail(std::string message);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  bool sp();             // exactly one SP
  bool consume(char c);  // the character c, no error when absent
  bool expect(char c);   // c or an error
  // A case-insensitive keyword followed by a non-atom character (or end).
  bool keyword(std::string_view kw);

  std::optional<std::string> tag();
  std::optional<std::string> atom();     // 1*ATOM-CHAR
  std::optional<std::string> astring();  // 1*ASTRING-CHAR / string
  std::optional<std::string> string();   // quoted / literal
  std::optional<std::string> nstring();  // NIL yields "" with *is_nil set
  std::optional<std::string> nstring(bool* is_nil);
  std::optional<std::string> list_mailbox();  // 1*list-char / string
  std::optional<uint64_t> number();           // number64 (RFC 9051)
  std::optional<uint32_t> nz_number32();
  // Characters up to the next SP / ')' / end (for sequence sets and similar).
  std::string_view word();

  static bool is_atom_char(char c);

 private:
  std::optional<std::string> quoted();
  std::optional<std::string> literal();
  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace mailroom::imap::proto
