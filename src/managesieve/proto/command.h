// ManageSieve command grammar (RFC 5804 section 4): a command name, then strings (quoted, or
// literals "{n}" / "{n+}" followed by CRLF and n octets) and numbers, ended by CRLF. The
// assembler is fed lines and literal bytes by the session and is pure (its fuzz target is
// tests/fuzz/fuzz_managesieve.cpp).
//
// Literals: both forms are accepted without a continuation request (RFC 5804 4: the server
// MUST accept {n+}; no ManageSieve server sends "+" for {n}).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::managesieve::proto {

inline constexpr std::size_t kMaxLine = 8192;  // octets of one command line

struct Argument {
  enum class Kind { string, number } kind = Kind::string;
  std::string text;  // the string, or the number's digits
  bool literal = false;
};

struct Command {
  std::string name;  // upper case
  std::vector<Argument> args;
};

class Assembler {
 public:
  enum class Need { line, literal, done, error };

  explicit Assembler(std::size_t max_literal) : max_literal_(max_literal) {}

  // Feeds one line (without CRLF). Returns what is needed next: another line (never for the
  // first line alone), `literal_size()` octets for feed_literal, done (command()), or error.
  Need feed_line(std::string_view line);
  Need feed_literal(std::string bytes);
  std::size_t literal_size() const { return literal_size_; }
  // After error: the reason (client-safe), and whether a literal of literal_size() octets
  // announced on the bad line must still be read and thrown away (too large but bounded).
  const std::string& error() const { return error_; }
  bool discard_literal() const { return discard_; }
  Command& command() { return command_; }
  void reset();

 private:
  Need fail(std::string why) {
    error_ = std::move(why);
    return Need::error;
  }
  std::size_t max_literal_;
  Command command_;
  bool have_name_ = false;
  std::size_t literal_size_ = 0;
  std::size_t total_ = 0;
  bool discard_ = false;
  std::string error_;
};

// A quoted string for a response (RFC 5804 4: "\" and DQUOTE escaped; CR/LF not allowed, so
// text with them goes as a literal).
std::string quote(std::string_view s);

}  // namespace mailroom::managesieve::proto
