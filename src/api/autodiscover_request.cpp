// The Outlook Autodiscover request reader (autoconfig.h, parse_autodiscover_request).
//
// Why not an XML library: the request is two text elements, and a general parser brings
// what an unauthenticated endpoint must not have: DTDs, external entities (XXE), entity
// expansion ("billion laughs"). This reader knows elements, attributes, comments, the XML
// declaration and the predefined and numeric references (XML 1.0 4.1, 4.6), and refuses
// everything else.
#include <cstdint>

#include "src/api/autoconfig.h"
#include "src/core/address.h"

namespace mailroom::api {

namespace {

core::Status autodiscover_refuse(std::string detail) {
  return core::invalid_argument("malformed Autodiscover request", std::move(detail));
}

bool autodiscover_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Appends a code point as UTF-8; false for one XML 1.0 does not allow (2.2 Char).
bool autodiscover_append_cp(std::string& out, uint32_t cp) {
  if (!autoconfig_xml_char(cp)) return false;
  autoconfig_append_utf8(out, cp);
  return true;
}

// Character data with its references decoded; false on an undefined entity or a bad one, and
// on a raw control character XML 1.0 does not allow (2.2 Char; found by fuzz.autodiscover).
bool autodiscover_decode_text(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '&') {
      auto c = static_cast<unsigned char>(in[i]);
      if (c < 0x20 && !autoconfig_xml_char(c)) return false;
      out += in[i];
      continue;
    }
    auto semi = in.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) return false;
    std::string_view ref = in.substr(i + 1, semi - i - 1);
    if (ref == "amp") {
      out += '&';
    } else if (ref == "lt") {
      out += '<';
    } else if (ref == "gt") {
      out += '>';
    } else if (ref == "quot") {
      out += '"';
    } else if (ref == "apos") {
      out += '\'';
    } else if (ref.size() >= 2 && ref[0] == '#') {
      bool hex = ref[1] == 'x';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty()) return false;
      uint32_t cp = 0;
      for (char c : digits) {
        int d = c >= '0' && c <= '9'          ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0) return false;
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
        if (cp > 0x10FFFF) return false;
      }
      if (!autodiscover_append_cp(out, cp)) return false;
    } else {
      return false;  // an entity no DTD may define here
    }
    i = semi;
  }
  return true;
}

std::string_view autodiscover_trim(std::string_view s) {
  while (!s.empty() && autodiscover_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && autodiscover_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

core::Result<AutodiscoverRequest> parse_autodiscover_request(std::string_view body) {
  if (body.size() > kAutodiscoverMaxBody) return autodiscover_refuse("body too large");
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // UTF-8 byte order mark
  AutodiscoverRequest request;
  bool have_email = false, have_schema = false;
  std::size_t depth = 0;
  std::size_t i = 0;
  // The element whose text is being collected: 1 EMailAddress, 2 AcceptableResponseSchema.
  int capture = 0;
  std::size_t text_start = 0;
  bool seen_element = false;
  while (i < body.size()) {
    if (body[i] != '<') {
      ++i;
      continue;
    }
    std::string_view rest = body.substr(i);
    if (rest.substr(0, 4) == "<!--") {
      auto end = body.find("-->", i + 4);
      if (end == std::string_view::npos) return autodiscover_refuse("unterminated comment");
      if (capture != 0) return autodiscover_refuse("comment inside a value");
      i = end + 3;
      continue;
    }
    if (rest.substr(0, 2) == "<!") return autodiscover_refuse("DTD, entity or CDATA");
    if (rest.substr(0, 2) == "<?") {
      // Only the XML declaration, and only first (XML 1.0 2.8).
      if (seen_element || rest.substr(0, 6) != "<?xml " ||
          !autodiscover_trim(body.substr(0, i)).empty()) {
        return autodiscover_refuse("processing instruction");
      }
      auto end = body.find("?>", i);
      if (end == std::string_view::npos) return autodiscover_refuse("unterminated declaration");
      i = end + 2;
      continue;
    }
    bool closing = rest.size() > 1 && rest[1] == '/';
    std::size_t name_start = i + (closing ? 2 : 1);
    std::size_t j = name_start;
    while (j < body.size() && !autodiscover_space(body[j]) && body[j] != '>' && body[j] != '/') {
      ++j;
    }
    std::string_view name = body.substr(name_start, j - name_start);
    if (name.empty()) return autodiscover_refuse("empty tag name");
    // Skip attributes; a quoted value may hold '>', never '<' (XML 1.0 3.1 AttValue).
    char quote = 0;
    while (j < body.size() && (quote != 0 || body[j] != '>')) {
      if (body[j] == '<') return autodiscover_refuse("'<' inside a tag");
      if (quote != 0) {
        if (body[j] == quote) quote = 0;
      } else if (body[j] == '"' || body[j] == '\'') {
        quote = body[j];
      }
      ++j;
    }
    if (j >= body.size()) return autodiscover_refuse("unterminated tag");
    bool empty_element = !closing && body[j - 1] == '/';
    auto colon = name.rfind(':');
    std::string_view local = colon == std::string_view::npos ? name : name.substr(colon + 1);
    if (closing) {
      if (depth == 0) return autodiscover_refuse("unbalanced end tag");
      --depth;
      if (capture != 0) {
        if (!core::iequals(local, capture == 1 ? "EMailAddress" : "AcceptableResponseSchema")) {
          return autodiscover_refuse("mismatched end tag");
        }
        std::string text;
        if (!autodiscover_decode_text(body.substr(text_start, i - text_start), text)) {
          return autodiscover_refuse("undefined or malformed reference");
        }
        std::string value(autodiscover_trim(text));
        if (capture == 1) {
          request.email = std::move(value);
        } else {
          request.schema = std::move(value);
        }
        capture = 0;
      }
    } else {
      if (capture != 0) return autodiscover_refuse("element inside a value");
      seen_element = true;
      if (!empty_element) {
        if (++depth > 16) return autodiscover_refuse("nested too deep");
        if (core::iequals(local, "EMailAddress")) {
          if (have_email) return autodiscover_refuse("two EMailAddress elements");
          have_email = true;
          capture = 1;
        } else if (core::iequals(local, "AcceptableResponseSchema")) {
          if (have_schema) return autodiscover_refuse("two AcceptableResponseSchema elements");
          have_schema = true;
          capture = 2;
        }
        text_start = j + 1;
      }
    }
    i = j + 1;
  }
  if (depth != 0 || capture != 0) return autodiscover_refuse("unterminated element");
  if (request.email.empty()) return autodiscover_refuse("no EMailAddress");
  return request;
}

}  // namespace mailroom::api
