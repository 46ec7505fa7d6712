// Preview text of a message (RFC 8970 IMAP PREVIEW): the start of its body text as one line.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/core/utf8.h"
#include "src/mime/facts.h"
#include "src/mime/html_text.h"

namespace mailroom::mime {
namespace {

bool starts_with_nocase(std::string_view s, size_t at, std::string_view word) {
  if (s.size() - at < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = s[at + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return true;
}

// A scalar value as UTF-8; anything else (NUL included) as U+FFFD.
void append_utf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  core::append_utf8(out, cp);
}

// "&amp;" and friends, "&#233;", "&#xE9;" at s[at] (which is '&'): the text, and how many
// octets it took; 0 when it is not a reference (the '&' stays as it is).
size_t html_entity(std::string_view s, size_t at, std::string& out) {
  // Looked for within the longest reference accepted: a part full of '&' without ';' stays
  // linear.
  size_t end = s.substr(0, std::min(s.size(), at + 12)).find(';', at);
  if (end == std::string_view::npos || end - at > 10) return 0;
  std::string_view name = s.substr(at + 1, end - at - 1);
  if (name.size() > 1 && name[0] == '#') {
    uint32_t cp = 0;
    bool hex = name[1] == 'x' || name[1] == 'X';
    std::string_view digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    for (char c : digits) {
      int v = c >= '0' && c <= '9'          ? c - '0'
              : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
              : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                            : -1;
      if (v < 0) return 0;
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
      if (cp > 0x10FFFF) return 0;
    }
    append_utf8(out, cp);
    return end - at + 1;
  }
  static constexpr std::pair<std::string_view, std::string_view> kNamed[] = {
      {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}};
  for (const auto& [n, text] : kNamed) {
    if (name == n) {
      out += text;
      return end - at + 1;
    }
  }
  return 0;
}

}  // namespace

std::string html_text(std::string_view html, size_t max_bytes) {
  std::string out;
  out.reserve(std::min<size_t>(html.size(), 4096));
  size_t i = 0;
  while (i < html.size() && out.size() < max_bytes) {
    char c = html[i];
    if (c == '<') {
      if (html.compare(i, 4, "<!--") == 0) {
        size_t e = html.find("-->", i + 4);
        i = e == std::string_view::npos ? html.size() : e + 3;
        continue;
      }
      bool skipped = false;
      for (std::string_view element : {"script", "style", "head", "title"}) {
        if (starts_with_nocase(html, i + 1, element)) {
          size_t after = i + 1 + element.size();
          if (after < html.size() && html[after] != '>' && html[after] != ' ' &&
              html[after] != '\t' && html[after] != '\r' && html[after] != '\n' &&
              html[after] != '/')
            break;  // e.g. <header>, <styles>
          std::string close = "</" + std::string(element);
          size_t e = after;
          while ((e = html.find("</", e)) != std::string_view::npos &&
                 !starts_with_nocase(html, e, close))
            e += 2;
          if (e == std::string_view::npos) {
            i = html.size();
          } else {
            size_t gt = html.find('>', e);
            i = gt == std::string_view::npos ? html.size() : gt + 1;
          }
          skipped = true;
          break;
        }
      }
      if (skipped) continue;
      size_t gt = html.find('>', i);
      i = gt == std::string_view::npos ? html.size() : gt + 1;
      out += ' ';  // "a<br>b", "</p><p>": words stay apart
      continue;
    }
    if (c == '&') {
      if (size_t n = html_entity(html, i, out)) {
        i += n;
        continue;
      }
    }
    out += c;
    ++i;
  }
  return out;
}

std::string preview_from_text(std::string_view text, bool html) {
  std::string plain;
  if (html) {
    plain = html_text(text, 16384);
    text = plain;
  }
  // Every run of white space and control characters (and U+00A0) becomes one space; the
  // result is cut at kPreviewChars characters, never inside a UTF-8 sequence.
  std::string out;
  size_t chars = 0;
  bool space = false;
  for (size_t i = 0; i < text.size() && chars < kPreviewChars;) {
    auto c = static_cast<unsigned char>(text[i]);
    bool blank = c <= 0x20 || c == 0x7F;
    size_t len = 1;
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xA0) {
      blank = true;
      len = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    }
    if (i + len > text.size()) break;  // a cut sequence at the end
    // RFC 3629 4: the second octet's range depends on the first (no overlong forms, no
    // surrogates, nothing above U+10FFFF); the others are 80-BF.
    bool valid = c < 0x80 || (c >= 0xC2 && c <= 0xF4);
    for (size_t k = 1; valid && k < len; ++k) {
      auto b = static_cast<unsigned char>(text[i + k]);
      unsigned char lo = 0x80, hi = 0xBF;
      if (k == 1 && c == 0xE0) lo = 0xA0;
      if (k == 1 && c == 0xED) hi = 0x9F;
      if (k == 1 && c == 0xF0) lo = 0x90;
      if (k == 1 && c == 0xF4) hi = 0x8F;
      valid = b >= lo && b <= hi;
    }
    if (!valid) {  // not UTF-8 (decoding left it as it was): one U+FFFD per octet
      if (space) {
        out += ' ';
        ++chars;
        space = false;
        if (chars >= kPreviewChars) break;
      }
      out += "\xef\xbf\xbd";
      ++chars;
      i += 1;
      continue;
    }
    if (blank) {
      space = !out.empty();
      i += len;
      continue;
    }
    if (space) {
      out += ' ';
      ++chars;
      space = false;
      if (chars >= kPreviewChars) break;
    }
    out.append(text.substr(i, len));
    ++chars;
    i += len;
  }
  return out;
}

}  // namespace mailroom::mime
