// RFC 5322 header parsing written by hand: IMAP needs raw field values (ENVELOPE strings are
// the undecoded header text) and exact offsets, which GMime's object model does not expose.
#include "src/mime/header_fields.h"

#include <cctype>
#include <cstring>
#include <ctime>

namespace mailroom::mime {

bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<Field> parse_fields(std::string_view header) {
  std::vector<Field> fields;
  size_t pos = 0;
  Field* current = nullptr;
  while (pos < header.size()) {
    size_t eol = header.find('\n', pos);
    size_t next = eol == std::string_view::npos ? header.size() : eol + 1;
    std::string_view line = header.substr(pos, next - pos);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    pos = next;
    if (line.empty()) break;  // end of header
    if (line[0] == ' ' || line[0] == '\t') {
      if (current) current->value.append(line);  // RFC 5322 2.2.3 unfolding
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      current = nullptr;
      continue;
    }
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    bool ok = !name.empty();
    for (char c : name) {
      if (static_cast<unsigned char>(c) <= 32 || static_cast<unsigned char>(c) >= 127) ok = false;
    }
    if (!ok) {
      current = nullptr;
      continue;
    }
    fields.push_back({name, std::string(line.substr(colon + 1))});
    current = &fields.back();
  }
  for (auto& f : fields) {
    size_t b = f.value.find_first_not_of(" \t");
    f.value.erase(0, b == std::string::npos ? f.value.size() : b);
    while (!f.value.empty() && (f.value.back() == ' ' || f.value.back() == '\t'))
      f.value.pop_back();
  }
  return fields;
}

const Field* find_field(const std::vector<Field>& fields, std::string_view name) {
  for (const auto& f : fields) {
    if (ascii_iequals(f.name, name)) return &f;
  }
  return nullptr;
}

namespace {

// A tokenizer for structured fields (RFC 5322 3.2): atoms, quoted strings, domain literals,
// specials; comments and whitespace are skipped.
struct Token {
  enum Kind { atom, quoted, literal, special, end } kind = end;
  std::string text;
  bool spaced = false;  // whitespace or a comment came before it
};

class Tokenizer {
 public:
  Tokenizer(std::string_view s, std::string_view specials) : s_(s), specials_(specials) {}
  Token next() {
    size_t start = pos_;
    skip_cfws();
    Token t;
    t.spaced = pos_ != start;
    if (pos_ >= s_.size()) return t;
    char c = s_[pos_];
    if (c == '"') {
      t.kind = Token::quoted;
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] != '"') {
        if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
        if (s_[pos_] != '\r' && s_[pos_] != '\n') t.text.push_back(s_[pos_]);
        ++pos_;
      }
      if (pos_ < s_.size()) ++pos_;
      return t;
    }
    if (c == '[') {
      t.kind = Token::literal;
      while (pos_ < s_.size() && s_[pos_] != ']') t.text.push_back(s_[pos_++]);
      if (pos_ < s_.size()) t.text.push_back(s_[pos_++]);
      return t;
    }
    if (specials_.find(c) != std::string_view::npos) {
      t.kind = Token::special;
      t.text.assign(1, c);
      ++pos_;
      return t;
    }
    t.kind = Token::atom;
    while (pos_ < s_.size()) {
      char d = s_[pos_];
      if (d == ' ' || d == '\t' || d == '\r' || d == '\n' || d == '(' || d == '"' || d == '[' ||
          specials_.find(d) != std::string_view::npos)
        break;
      t.text.push_back(d);
      ++pos_;
    }
    return t;
  }
  Token peek() {
    size_t save = pos_;
    Token t = next();
    pos_ = save;
    return t;
  }
  // The text of a comment that comes next (after whitespace), quoted-pairs resolved; nothing
  // is consumed when no comment comes next.
  std::optional<std::string> comment() {
    size_t p = pos_;
    while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\t' || s_[p] == '\r' || s_[p] == '\n')) ++p;
    if (p >= s_.size() || s_[p] != '(') return std::nullopt;
    std::string text;
    int depth = 0;
    for (; p < s_.size(); ++p) {
      char c = s_[p];
      if (c == '\\' && p + 1 < s_.size()) {
        text.push_back(s_[++p]);
        continue;
      }
      if (c == '(' && depth++ == 0) continue;
      if (c == ')' && --depth == 0) break;
      if (c != '\r' && c != '\n') text.push_back(c);
    }
    pos_ = p < s_.size() ? p + 1 : p;
    return text;
  }

 private:
  void skip_cfws() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos_;
      } else if (c == '(') {
        int depth = 0;
        while (pos_ < s_.size()) {
          if (s_[pos_] == '\\') {
            pos_ += 2;
            continue;
          }
          if (s_[pos_] == '(') ++depth;
          if (s_[pos_] == ')' && --depth == 0) {
            ++pos_;
            break;
          }
          ++pos_;
        }
      } else {
        break;
      }
    }
  }
  std::string_view s_;
  std::string_view specials_;
  size_t pos_ = 0;
};

std::vector<Param> parse_params(Tokenizer& tok) {
  std::vector<Param> params;
  for (;;) {
    Token t = tok.next();
    if (t.kind == Token::end) break;
    if (t.kind != Token::special || t.text != ";") continue;
    Token name = tok.next();
    if (name.kind != Token::atom) continue;
    Token eq = tok.peek();
    if (eq.kind != Token::special || eq.text != "=") continue;
    tok.next();
    Token v = tok.peek();
    if (v.kind == Token::atom || v.kind == Token::quoted) {
      tok.next();
      params.push_back({name.text, v.text});
    } else {
      params.push_back({name.text, ""});
    }
  }
  return params;
}

constexpr std::string_view kMimeSpecials = "()<>@,;:\\\"/[]?=";

}  // namespace

std::optional<std::string> ContentType::param(std::string_view name) const {
  for (const auto& p : params) {
    if (ascii_iequals(p.name, name)) return p.value;
  }
  return std::nullopt;
}

ContentType parse_content_type(std::string_view value) {
  ContentType ct;
  Tokenizer tok(value, kMimeSpecials);
  Token type = tok.next();
  Token slash = tok.next();
  Token sub = tok.next();
  if (type.kind == Token::atom && slash.kind == Token::special && slash.text == "/" &&
      sub.kind == Token::atom) {
    ct.type = type.text;
    ct.subtype = sub.text;
  }
  ct.params = parse_params(tok);
  return ct;
}

Disposition parse_disposition(std::string_view value) {
  Disposition d;
  Tokenizer tok(value, kMimeSpecials);
  Token type = tok.next();
  if (type.kind == Token::atom) d.type = type.text;
  d.params = parse_params(tok);
  return d;
}

std::vector<EnvelopeAddress> parse_address_list(std::string_view value) {
  std::vector<EnvelopeAddress> out;
  Tokenizer tok(value, "()<>@,;:\\\".[]");
  bool in_group = false;
  std::vector<Token> phrase;
  // A local part keeps its dots tight ("john.q.public"); a display name is an RFC 5322
  // obs-phrase, word *(word / "." / CFWS), whose dots belong to the words around them unless
  // the sender put space there: "John Q. Public", "Acme Inc.", "J.R. Smith".
  auto phrase_text = [&](bool local_part) {
    std::string s;
    for (size_t i = 0; i < phrase.size(); ++i) {
      const auto& p = phrase[i];
      bool dot = p.kind == Token::special && p.text == ".";
      bool prev_dot = i > 0 && phrase[i - 1].kind == Token::special && phrase[i - 1].text == ".";
      bool tight = (dot || prev_dot) && (local_part || !p.spaced);
      if (i > 0 && !tight) s.push_back(' ');
      s += p.text;
    }
    return s;
  };
  auto read_domain = [&]() {
    std::string d;
    for (;;) {
      Token p = tok.peek();
      if (p.kind == Token::end) break;
      if (p.kind == Token::special && (p.text == "," || p.text == ";" || p.text == ">")) break;
      tok.next();
      d += p.text;
    }
    return d;
  };
  for (int guard = 0; guard < 100000; ++guard) {
    Token t = tok.next();
    if (t.kind == Token::end || (t.kind == Token::special && (t.text == "," || t.text == ";"))) {
      if (!phrase.empty()) {
        EnvelopeAddress a;
        a.mailbox = phrase_text(true);
        a.host = "MISSING_DOMAIN";  // RFC 3501 has no syntax for a bare local part
        out.push_back(std::move(a));
        phrase.clear();
      }
      if (t.kind == Token::special && t.text == ";" && in_group) {
        EnvelopeAddress end;
        end.kind = EnvelopeAddress::Kind::group_end;
        out.push_back(end);
        in_group = false;
      }
      if (t.kind == Token::end) break;
      continue;
    }
    if (t.kind == Token::special && t.text == ":" && !in_group) {
      EnvelopeAddress g;
      g.kind = EnvelopeAddress::Kind::group_start;
      g.mailbox = phrase_text(false);
      out.push_back(std::move(g));
      phrase.clear();
      in_group = true;
      continue;
    }
    if (t.kind == Token::special && t.text == "<") {
      EnvelopeAddress a;
      if (!phrase.empty()) a.name = phrase_text(false);
      phrase.clear();
      // [route ":"] local-part "@" domain ">"
      std::string route, local;
      std::vector<Token> parts;
      if (Token p = tok.peek(); p.kind == Token::special && p.text == "@") {
        // obs-route "@a,@b:" (RFC 5322 4.4) is IMAP's adl
        for (;;) {
          Token r = tok.next();
          if (r.kind == Token::end ||
              (r.kind == Token::special && (r.text == ":" || r.text == ">")))
            break;
          route += r.text;
        }
      }
      for (;;) {
        Token p = tok.next();
        if (p.kind == Token::end || (p.kind == Token::special && p.text == ">")) break;
        if (p.kind == Token::special && p.text == ":") {
          for (const auto& x : parts) route += x.text;
          parts.clear();
          continue;
        }
        if (p.kind == Token::special && p.text == "@" && !parts.empty()) {
          for (const auto& x : parts) local += x.text;
          parts.clear();
          a.host = read_domain();
          continue;
        }
        parts.push_back(p);
      }
      if (!a.host) {
        for (const auto& x : parts) local += x.text;
      }
      if (!route.empty()) a.route = route;
      if (local.empty() && !a.host) {
        // "<>": the null address; RFC 3501 gives it as (NIL NIL "" "") in practice
        a.mailbox = "";
        a.host = "";
      } else {
        a.mailbox = local;
        if (!a.host) a.host = "MISSING_DOMAIN";
      }
      out.push_back(std::move(a));
      continue;
    }
    if (t.kind == Token::special && t.text == "@") {
      EnvelopeAddress a;
      a.mailbox = phrase_text(true);
      phrase.clear();
      a.host = read_domain();
      // "a@b.c (Name)": the comment after a bare addr-spec is the name that older mailers
      // wrote, and what Dovecot and UW imapd give as the ENVELOPE's addr-name.
      if (auto c = tok.comment()) {
        size_t b = c->find_first_not_of(" \t");
        size_t e = c->find_last_not_of(" \t");
        if (b != std::string::npos) a.name = c->substr(b, e - b + 1);
      }
      out.push_back(std::move(a));
      continue;
    }
    if (t.kind == Token::special && t.text != ".") continue;  // stray specials
    phrase.push_back(t);
  }
  if (in_group) {
    EnvelopeAddress end;
    end.kind = EnvelopeAddress::Kind::group_end;
    out.push_back(end);
  }
  return out;
}

std::optional<std::pair<int64_t, int32_t>> parse_date_time(std::string_view value) {
  // [day ","] day month year hour ":" minute [":" second] zone  (RFC 5322 3.3, obs forms)
  static const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                  "jul", "aug", "sep", "oct", "nov", "dec"};
  std::string s(value);
  size_t comma = s.find(',');
  if (comma != std::string::npos) s = s.substr(comma + 1);
  char mon[4] = {0};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  char zone[16] = {0};
  int n = std::sscanf(s.c_str(), " %d %3s %d %d:%d:%d %15s", &day, mon, &year, &hh, &mm, &ss, zone);
  if (n < 6) {
    ss = 0;
    n = std::sscanf(s.c_str(), " %d %3s %d %d:%d %15s", &day, mon, &year, &hh, &mm, zone);
    if (n < 5) return std::nullopt;
  }
  int month = -1;
  for (int i = 0; i < 12; ++i) {
    if (ascii_iequals(mon, kMonths[i])) month = i;
  }
  if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  if (year < 50)
    year += 2000;
  else if (year < 1000)
    year += 1900;
  int32_t tz = 0;
  std::string_view z(zone);
  if (!z.empty() && (z[0] == '+' || z[0] == '-') && z.size() >= 5) {
    int v = std::atoi(std::string(z.substr(1, 4)).c_str());
    tz = (v / 100) * 60 + v % 100;
    if (z[0] == '-') tz = -tz;
  } else if (ascii_iequals(z, "EST"))
    tz = -300;
  else if (ascii_iequals(z, "EDT"))
    tz = -240;
  else if (ascii_iequals(z, "CST"))
    tz = -360;
  else if (ascii_iequals(z, "CDT"))
    tz = -300;
  else if (ascii_iequals(z, "MST"))
    tz = -420;
  else if (ascii_iequals(z, "MDT"))
    tz = -360;
  else if (ascii_iequals(z, "PST"))
    tz = -480;
  else if (ascii_iequals(z, "PDT"))
    tz = -420;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  int64_t t = static_cast<int64_t>(timegm(&tm)) - static_cast<int64_t>(tz) * 60;
  return std::make_pair(t, tz);
}

}  // namespace mailroom::mime
