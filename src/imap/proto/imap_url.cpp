// IMAP URLs (RFC 5092) for CATENATE (RFC 4469 3); see imap_url.h for the forms taken.
#include "src/imap/proto/imap_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "src/imap/proto/utf7.h"

namespace mailroom::imap::proto {

namespace {

bool fail(std::string* why, const char* reason) {
  if (why) *why = reason;
  return false;
}

// RFC 3986 2.1 percent-decoding; nullopt on a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    unsigned value = 0;
    const char* first = s.data() + i + 1;
    auto [end, ec] = std::from_chars(first, first + 2, value, 16);
    if (ec != std::errc() || end != first + 2) return std::nullopt;
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

bool iprefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// Characters a URL may carry unencoded (RFC 5092 11 bchar, plus ';' '?' '#' '[' ']' that
// delimit); everything else (SP, controls, 8-bit, '"') must be percent-encoded.
bool url_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return c != '"' && c != '<' && c != '>' && c != '\\' && c != '^' && c != '`' && c != '{' &&
         c != '|' && c != '}';
}

std::optional<uint64_t> number(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t next = n * 10 + static_cast<uint64_t>(c - '0');
    if (next < n || next > max) return std::nullopt;
    n = next;
  }
  return n;
}

std::optional<uint32_t> nz_number(std::string_view s) {
  if (s.empty() || s[0] == '0') return std::nullopt;
  auto n = number(s, UINT32_MAX);
  if (!n) return std::nullopt;
  return static_cast<uint32_t>(*n);
}

// RFC 3501 9 section-spec, decoded from enc-section: "1.2", "1.2.MIME", "HEADER",
// "HEADER.FIELDS (A B)", "TEXT", "2.HEADER.FIELDS.NOT (X)".
bool parse_section(std::string_view s, ImapUrl& url, std::string* why) {
  size_t pos = 0;
  while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
    size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    auto n = nz_number(s.substr(start, pos - start));
    if (!n) return fail(why, "Invalid section part number");
    if (url.section.parts.size() >= 64) return fail(why, "Section too deep");
    url.section.parts.push_back(*n);
    if (pos == s.size()) return true;
    if (s[pos] != '.') return fail(why, "Invalid section");
    ++pos;
    if (pos == s.size()) return fail(why, "Invalid section");
  }
  bool after_part = !url.section.parts.empty();
  std::string_view rest = s.substr(pos);
  auto is = [&](std::string_view kw) { return rest.size() == kw.size() && iprefix(rest, kw); };
  if (is("HEADER")) {
    url.section.text = mime::SectionText::header;
  } else if (is("TEXT")) {
    url.section.text = mime::SectionText::text;
  } else if (after_part && is("MIME")) {
    url.section.text = mime::SectionText::mime;
  } else if (iprefix(rest, "HEADER.FIELDS")) {
    rest.remove_prefix(13);
    url.section.text = mime::SectionText::header_fields;
    if (iprefix(rest, ".NOT")) {
      rest.remove_prefix(4);
      url.section.text = mime::SectionText::header_fields_not;
    }
    if (rest.size() < 4 || rest.substr(0, 2) != " (" || rest.back() != ')')
      return fail(why, "Invalid header list in section");
    rest = rest.substr(2, rest.size() - 3);
    for (;;) {
      size_t sp = rest.find(' ');
      std::string_view name = rest.substr(0, sp);
      if (name.empty() || url.fields.size() >= 256) return fail(why, "Invalid header list");
      for (char c : name) {
        unsigned char u = static_cast<unsigned char>(c);
        // RFC 5322 3.6.8 field names: printable ASCII except ':'.
        if (u <= 0x20 || u >= 0x7f || c == ':' || c == '(' || c == ')' || c == '"')
          return fail(why, "Invalid header field name in section");
      }
      url.fields.emplace_back(name);
      if (sp == std::string_view::npos) break;
      rest.remove_prefix(sp + 1);
    }
  } else {
    return fail(why, "Invalid section");
  }
  return true;
}

// The text up to the next "/" or ";" (or the end), taken off `s`.
std::string_view take_token(std::string_view& s) {
  size_t end = std::min(s.find_first_of("/;"), s.size());
  std::string_view token = s.substr(0, end);
  s.remove_prefix(end);
  return token;
}

// ";UID=m[/;SECTION=s][/;PARTIAL=o[.l]]" (RFC 5092 iuid-only isection ipartial).
bool parse_message_part(std::string_view s, ImapUrl& url, std::string* why) {
  if (!iprefix(s, ";UID=")) return fail(why, "Expected ;UID=");
  s.remove_prefix(5);
  auto uid = nz_number(take_token(s));
  if (!uid) return fail(why, "Invalid UID");
  url.uid = *uid;
  auto strip_slash = [&] {
    if (!s.empty() && s[0] == '/') s.remove_prefix(1);
  };
  strip_slash();
  if (iprefix(s, ";SECTION=")) {
    s.remove_prefix(9);
    std::string_view enc = take_token(s);
    if (enc.empty()) return fail(why, "Empty section");
    auto dec = percent_decode(enc);
    if (!dec) return fail(why, "Invalid percent-encoding in section");
    if (!parse_section(*dec, url, why)) return false;
    strip_slash();
  }
  if (iprefix(s, ";PARTIAL=")) {
    s.remove_prefix(9);
    size_t dot = s.find('.');
    auto offset = number(s.substr(0, dot), UINT64_MAX / 2);
    if (!offset) return fail(why, "Invalid partial offset");
    std::optional<uint64_t> length;
    if (dot != std::string_view::npos) {
      auto l = number(s.substr(dot + 1), UINT64_MAX / 2);
      if (!l || *l == 0 || s[dot + 1] == '0') return fail(why, "Invalid partial length");
      length = *l;
    }
    url.partial.emplace(*offset, length);
    s = {};
  }
  if (iprefix(s, ";URLAUTH=") || iprefix(s, ";EXPIRE="))
    return fail(why, "URLAUTH is not supported");
  if (!s.empty()) return fail(why, "Unexpected text after the message part");
  return true;
}

// enc-mailbox [";UIDVALIDITY=" nz-number] "/" message part.
bool parse_mailbox_part(std::string_view s, ImapUrl& url, std::string* why) {
  size_t semi = s.find(';');
  if (semi == std::string_view::npos) return fail(why, "Expected ;UID=");
  std::string_view enc = s.substr(0, semi);
  s.remove_prefix(semi);
  if (iprefix(s, ";UIDVALIDITY=")) {
    s.remove_prefix(13);
    auto v = nz_number(take_token(s));
    if (!v) return fail(why, "Invalid UIDVALIDITY");
    url.uid_validity = *v;
    if (s.empty() || s[0] != '/') return fail(why, "Expected /;UID=");
    s.remove_prefix(1);
  } else {
    // The mailbox ends with the "/" before ";UID=".
    if (enc.empty() || enc.back() != '/') return fail(why, "Expected /;UID=");
    enc.remove_suffix(1);
  }
  if (enc.empty()) return fail(why, "Empty mailbox name");
  auto name = percent_decode(enc);
  if (!name) return fail(why, "Invalid percent-encoding in mailbox");
  if (!valid_utf8(*name)) return fail(why, "Mailbox name is not UTF-8");
  for (char c : *name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return fail(why, "Control character in mailbox");
  url.has_mailbox = true;
  url.mailbox = std::move(*name);
  return parse_message_part(s, url, why);
}

// "imap://" [iuserinfo "@"] host [":" port] then the absolute path.
bool parse_server(std::string_view& s, ImapUrl& url, std::string* why) {
  s.remove_prefix(7);
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return fail(why, "URL names no message");
  std::string_view authority = s.substr(0, slash);
  s.remove_prefix(slash);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    size_t semi = userinfo.find(';');
    std::string_view user = userinfo.substr(0, semi);
    if (semi != std::string_view::npos) {
      std::string_view a = userinfo.substr(semi);
      if (!iprefix(a, ";AUTH=") || a.size() == 6) return fail(why, "Invalid ;AUTH=");
      url.auth = true;
    }
    auto dec = percent_decode(user);
    if (!dec) return fail(why, "Invalid percent-encoding in user");
    url.user = std::move(*dec);
  }
  std::string_view host = authority;
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return fail(why, "Invalid IPv6 host");
    url.host = std::string(host.substr(1, close - 1));
    host.remove_prefix(close + 1);
  } else {
    size_t colon = host.find(':');
    url.host = std::string(host.substr(0, colon));
    host.remove_prefix(colon == std::string_view::npos ? host.size() : colon);
  }
  if (!host.empty()) {
    if (host[0] != ':' || !number(host.substr(1), 65535)) return fail(why, "Invalid port");
  }
  if (url.host.empty()) return fail(why, "Empty host");
  for (char& c : url.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  url.network = true;
  return true;
}

}  // namespace

std::optional<ImapUrl> parse_imap_url(std::string_view s, std::string* why) {
  if (s.empty()) return fail(why, "Empty URL"), std::nullopt;
  if (s.size() > kMaxImapUrl) return fail(why, "URL too long"), std::nullopt;
  for (char c : s)
    if (!url_char(c)) return fail(why, "Invalid character in URL"), std::nullopt;
  ImapUrl url;
  if (iprefix(s, "IMAP://")) {
    if (!parse_server(s, url, why)) return std::nullopt;
  } else if (size_t colon = s.find(':'); colon < s.find_first_of("/;")) {
    bool scheme = colon > 0;  // RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    for (char c : s.substr(0, colon))
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
        scheme = false;
    if (scheme) return fail(why, "Not an IMAP URL"), std::nullopt;
  }
  if (s.substr(0, 2) == "//") return fail(why, "Network path without imap:"), std::nullopt;
  if (!s.empty() && s[0] == '/') s.remove_prefix(1);
  if (s.find('?') != std::string_view::npos)
    return fail(why, "URL names a search, not a message"), std::nullopt;
  bool ok = s.empty() || s[0] != ';' ? parse_mailbox_part(s, url, why)
                                     : (!url.network && parse_message_part(s, url, why));
  if (!ok) {
    if (why && why->empty()) *why = "URL names no mailbox";
    return std::nullopt;
  }
  return url;
}

std::string badurl_text(std::string_view url) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : url.substr(0, 1024)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == ']') {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (out.empty()) out = "%20";  // url-resp-text is 1*TEXT-CHAR
  return out;
}

}  // namespace mailroom::imap::proto
