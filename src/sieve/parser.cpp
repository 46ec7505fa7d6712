// The Sieve grammar (RFC 5228 section 8.1 lexical tokens, 8.2 grammar): hand-written because
// no Debian package offers a Sieve parser as a library (libsieve is gone; Pigeonhole's is
// part of Dovecot). Recursive descent with a depth bound; every string, list and the number
// of nodes is bounded by Limits.
#include <cctype>
#include <cstdio>

#include "src/sieve/check.h"
#include "src/sieve/script.h"

namespace mailroom::sieve {
namespace {

enum class Tok {
  identifier,
  tag,
  number,
  string,
  lbracket,
  rbracket,
  lparen,
  rparen,
  lbrace,
  rbrace,
  comma,
  semicolon,
  end
};

struct Token {
  Tok kind = Tok::end;
  std::string text;  // identifier / tag (lower case), string contents
  uint64_t number = 0;
  Position at;
};

class Lexer {
 public:
  Lexer(std::string_view in, const Limits& limits) : in_(in), limits_(limits) {}

  // False with error_ set on a lexical error.
  bool next(Token& t) {
    if (!skip_space()) return false;
    t = Token{};
    t.at = pos_;
    if (i_ >= in_.size()) {
      t.kind = Tok::end;
      return true;
    }
    char c = in_[i_];
    switch (c) {
      case '[':
        return single(t, Tok::lbracket);
      case ']':
        return single(t, Tok::rbracket);
      case '(':
        return single(t, Tok::lparen);
      case ')':
        return single(t, Tok::rparen);
      case '{':
        return single(t, Tok::lbrace);
      case '}':
        return single(t, Tok::rbrace);
      case ',':
        return single(t, Tok::comma);
      case ';':
        return single(t, Tok::semicolon);
      case '"':
        return quoted(t);
      case ':': {
        advance();
        if (i_ >= in_.size() || !ident_start(in_[i_]))
          return fail(t.at, "expected a tag name after ':'");
        t.kind = Tok::tag;
        t.text = identifier();
        return true;
      }
      default:
        break;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return number(t);
    if (ident_start(c)) {
      std::string id = identifier();
      // RFC 5228 2.4.2: "text:" starts a multi-line string.
      if (id == "text" && i_ < in_.size() && in_[i_] == ':') {
        advance();
        return multiline(t);
      }
      t.kind = Tok::identifier;
      t.text = std::move(id);
      return true;
    }
    return fail(t.at, std::string("unexpected character '") + printable(c) + "'");
  }

  const std::string& error() const { return error_; }
  Position error_at() const { return error_at_; }

 private:
  static bool ident_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
  }
  static bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
  static std::string printable(char c) {
    if (c >= 0x21 && c < 0x7f) return std::string(1, c);
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
    return buf;
  }

  void advance() {
    if (in_[i_] == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else {
      ++pos_.column;
    }
    ++i_;
  }
  bool fail(Position at, std::string what) {
    if (error_.empty()) {
      error_ = std::move(what);
      error_at_ = at;
    }
    return false;
  }
  bool single(Token& t, Tok k) {
    t.kind = k;
    advance();
    return true;
  }
  std::string identifier() {
    std::string out;
    while (i_ < in_.size() && ident_char(in_[i_])) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(in_[i_])));
      advance();
      if (out.size() > 256) break;
    }
    return out;
  }
  // White space and comments (RFC 5228 2.3: "#" to end of line, "/* */" not nested).
  bool skip_space() {
    while (i_ < in_.size()) {
      char c = in_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        advance();
      } else if (c == '#') {
        while (i_ < in_.size() && in_[i_] != '\n') advance();
      } else if (c == '/' && i_ + 1 < in_.size() && in_[i_ + 1] == '*') {
        Position at = pos_;
        advance();
        advance();
        bool closed = false;
        while (i_ < in_.size()) {
          if (in_[i_] == '*' && i_ + 1 < in_.size() && in_[i_ + 1] == '/') {
            advance();
            advance();
            closed = true;
            break;
          }
          advance();
        }
        if (!closed) return fail(at, "unterminated comment");
      } else {
        break;
      }
    }
    return true;
  }
  bool number(Token& t) {
    uint64_t v = 0;
    while (i_ < in_.size() && std::isdigit(static_cast<unsigned char>(in_[i_]))) {
      uint64_t d = static_cast<uint64_t>(in_[i_] - '0');
      if (v > (UINT64_MAX - d) / 10) return fail(t.at, "number too large");
      v = v * 10 + d;
      advance();
    }
    // RFC 5228 2.4.1: K, M, G quantifiers (powers of 1024).
    if (i_ < in_.size()) {
      char q = static_cast<char>(std::toupper(static_cast<unsigned char>(in_[i_])));
      int shift = q == 'K' ? 10 : q == 'M' ? 20 : q == 'G' ? 30 : 0;
      if (shift) {
        if (v > (UINT64_MAX >> shift)) return fail(t.at, "number too large");
        v <<= shift;
        advance();
      }
    }
    if (i_ < in_.size() && ident_char(in_[i_]))
      return fail(pos_, "unexpected character after a number");
    t.kind = Tok::number;
    t.number = v;
    return true;
  }
  // RFC 5228 2.4.2: "\\" and "\"" are escapes; any other backslash is dropped.
  bool quoted(Token& t) {
    advance();
    std::string out;
    while (true) {
      if (i_ >= in_.size()) return fail(t.at, "unterminated string");
      char c = in_[i_];
      if (c == '"') {
        advance();
        break;
      }
      if (c == '\\') {
        advance();
        if (i_ >= in_.size()) return fail(t.at, "unterminated string");
        c = in_[i_];
      }
      out += c;
      advance();
      if (out.size() > limits_.max_string_bytes) return fail(t.at, "string too long");
    }
    t.kind = Tok::string;
    t.text = std::move(out);
    return true;
  }
  // RFC 5228 2.4.2 multi-line: "text:" [spaces] [hash comment] CRLF, lines, "." CRLF; a line
  // starting with "." has that dot removed (dot-stuffing). Lines are kept with CRLF endings.
  bool multiline(Token& t) {
    while (i_ < in_.size() && (in_[i_] == ' ' || in_[i_] == '\t')) advance();
    if (i_ < in_.size() && in_[i_] == '#') {
      while (i_ < in_.size() && in_[i_] != '\n') advance();
    }
    if (i_ < in_.size() && in_[i_] == '\r') advance();
    if (i_ >= in_.size() || in_[i_] != '\n')
      return fail(pos_, "expected end of line after \"text:\"");
    advance();
    std::string out;
    while (true) {
      if (i_ >= in_.size())
        return fail(t.at, "unterminated multi-line string (missing \".\" line)");
      size_t eol = in_.find('\n', i_);
      size_t end = eol == std::string_view::npos ? in_.size() : eol;
      std::string_view line = in_.substr(i_, end - i_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      size_t consumed = end - i_ + (eol == std::string_view::npos ? 0 : 1);
      for (size_t k = 0; k < consumed; ++k) advance();
      if (line == ".") break;
      if (eol == std::string_view::npos)
        return fail(t.at, "unterminated multi-line string (missing \".\" line)");
      if (!line.empty() && line.front() == '.') line.remove_prefix(1);
      out.append(line);
      out += "\r\n";
      if (out.size() > limits_.max_string_bytes) return fail(t.at, "string too long");
    }
    t.kind = Tok::string;
    t.text = std::move(out);
    return true;
  }

  std::string_view in_;
  const Limits& limits_;
  size_t i_ = 0;
  Position pos_;
  std::string error_;
  Position error_at_;
};

class Parser {
 public:
  Parser(std::string_view in, const Limits& limits) : lex_(in, limits), limits_(limits) {}

  bool run(Script& out) {
    if (!advance()) return false;
    if (!commands(out.commands, 0)) return false;
    if (tok_.kind != Tok::end) return fail(tok_.at, "unexpected '}'");
    return true;
  }
  std::string error_text() const {
    Position at = error_.empty() ? lex_.error_at() : error_at_;
    const std::string& what = error_.empty() ? lex_.error() : error_;
    return "line " + std::to_string(at.line) + ", column " + std::to_string(at.column) + ": " +
           what;
  }

 private:
  bool advance() { return lex_.next(tok_); }
  bool fail(Position at, std::string what) {
    if (error_.empty() && lex_.error().empty()) {
      error_ = std::move(what);
      error_at_ = at;
    }
    return false;
  }
  bool count_node(Position at) {
    if (++nodes_ > limits_.max_commands) return fail(at, "too many commands and tests");
    return true;
  }
  bool commands(std::vector<Command>& out, int depth) {
    while (tok_.kind == Tok::identifier) {
      Command c;
      if (!command(c, depth)) return false;
      out.push_back(std::move(c));
    }
    return true;
  }
  bool command(Command& c, int depth) {
    c.name = tok_.text;
    c.at = tok_.at;
    if (!count_node(c.at)) return false;
    if (!advance()) return false;
    if (!arguments(c.args, depth)) return false;
    if (tok_.kind == Tok::identifier) {
      Test t;
      if (!test(t, depth + 1)) return false;
      c.tests.push_back(std::move(t));
    } else if (tok_.kind == Tok::lparen) {
      if (!test_list(c.tests, depth + 1)) return false;
    }
    if (tok_.kind == Tok::semicolon) return advance();
    if (tok_.kind == Tok::lbrace) {
      if (depth + 1 > limits_.max_nesting) return fail(tok_.at, "blocks nested too deeply");
      c.has_block = true;
      if (!advance()) return false;
      if (!commands(c.block, depth + 1)) return false;
      if (tok_.kind != Tok::rbrace) return fail(tok_.at, "expected '}' or a command");
      return advance();
    }
    return fail(tok_.at, "expected ';' or '{' after the arguments of \"" + c.name + "\"");
  }
  bool arguments(std::vector<Value>& out, int depth) {
    (void)depth;
    while (true) {
      Value v;
      v.at = tok_.at;
      if (tok_.kind == Tok::number) {
        v.kind = Value::Kind::number;
        v.number = tok_.number;
      } else if (tok_.kind == Tok::tag) {
        v.kind = Value::Kind::tag;
        v.tag = tok_.text;
      } else if (tok_.kind == Tok::string) {
        v.kind = Value::Kind::string_list;
        v.strings.push_back(std::move(tok_.text));
      } else if (tok_.kind == Tok::lbracket) {
        v.kind = Value::Kind::string_list;
        v.bracketed = true;
        if (!advance()) return false;
        while (true) {
          if (tok_.kind != Tok::string) return fail(tok_.at, "expected a string in the list");
          if (v.strings.size() >= limits_.max_list_items)
            return fail(tok_.at, "string list too long");
          v.strings.push_back(std::move(tok_.text));
          if (!advance()) return false;
          if (tok_.kind == Tok::comma) {
            if (!advance()) return false;
            continue;
          }
          if (tok_.kind == Tok::rbracket) break;
          return fail(tok_.at, "expected ',' or ']' in a string list");
        }
      } else {
        return true;
      }
      if (out.size() >= 64) return fail(v.at, "too many arguments");
      out.push_back(std::move(v));
      if (!advance()) return false;
    }
  }
  bool test(Test& t, int depth) {
    if (depth > limits_.max_nesting) return fail(tok_.at, "tests nested too deeply");
    if (tok_.kind != Tok::identifier) return fail(tok_.at, "expected a test");
    t.name = tok_.text;
    t.at = tok_.at;
    if (!count_node(t.at)) return false;
    if (!advance()) return false;
    if (!arguments(t.args, depth)) return false;
    if (tok_.kind == Tok::identifier) {
      Test inner;
      if (!test(inner, depth + 1)) return false;
      t.tests.push_back(std::move(inner));
    } else if (tok_.kind == Tok::lparen) {
      if (!test_list(t.tests, depth + 1)) return false;
    }
    return true;
  }
  bool test_list(std::vector<Test>& out, int depth) {
    if (depth > limits_.max_nesting) return fail(tok_.at, "tests nested too deeply");
    if (!advance()) return false;  // "("
    while (true) {
      Test t;
      if (!test(t, depth)) return false;
      out.push_back(std::move(t));
      if (tok_.kind == Tok::comma) {
        if (!advance()) return false;
        continue;
      }
      if (tok_.kind == Tok::rparen) return advance();
      return fail(tok_.at, "expected ',' or ')' in a test list");
    }
  }

  Lexer lex_;
  const Limits& limits_;
  Token tok_;
  size_t nodes_ = 0;
  std::string error_;
  Position error_at_;
};

}  // namespace

core::Result<Script> parse(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_script_bytes) {
    return core::Status::error(
        core::Code::too_large,
        "script too large (limit " + std::to_string(limits.max_script_bytes) + " octets)");
  }
  Script script;
  Parser p(text, limits);
  if (!p.run(script)) return core::invalid_argument(p.error_text());
  std::string error;
  Position at;
  if (!check_script(script, error, at)) {
    return core::invalid_argument("line " + std::to_string(at.line) + ", column " +
                                  std::to_string(at.column) + ": " + error);
  }
  return script;
}

}  // namespace mailroom::sieve
