// A quick "surely not" for SEARCH BODY/TEXT (RFC 3501 6.4.4) before the full decoding of
// decoded_body_text(), which builds a GMime object tree of the whole message and converts
// charsets: most messages do not contain the word searched for, and for the common ones
// (ASCII, 7bit/8bit/binary or quoted-printable, UTF-8 or US-ASCII) that can be told from the
// raw octets.
//
// Why it is exact. decoded_body_text() joins, with "\n", the text parts' contents as GMime
// gives them: a part's content is a range of the raw message that starts a line, passed
// through its transfer decoding and then its charset conversion. When
// - every octet of the message is ASCII and not NUL,
// - every Content-Transfer-Encoding field says 7bit, 8bit, binary or quoted-printable, and
//   every charset parameter of a Content-Type field says utf-8 or us-ascii (both identities
//   on ASCII; no charset means no conversion),
// a text's content is a range of the raw message (7bit, 8bit, binary) or of its whole
// quoted-printable decoding Q (GMime's decoder returns to its start state after every LF, so
// decoding a range that starts a line gives a range of Q; trailing "=" or "=X" are dropped).
// If Q is ASCII too, every text is ASCII, so fold_case() of the joined text is ASCII
// lower-casing, and a needle without LF found in it lies in one text: it is then in the
// lower-cased message or the lower-cased Q. Found in neither means no match. Anything else
// (8-bit octets, base64, other charsets, a needle with LF) answers "maybe".
#include <gmime/gmime.h>

#include <cstring>

#include "src/mime/facts.h"

namespace mailroom::mime {
namespace {

// The first occurrence of `needle` at or after `from` (glibc's memmem: a frequent first
// letter such as "c" makes string_view::find stop at every one).
size_t find(std::string_view hay, std::string_view needle, size_t from = 0) {
  if (from > hay.size()) return std::string_view::npos;
  const void* p = ::memmem(hay.data() + from, hay.size() - from, needle.data(), needle.size());
  return p ? static_cast<size_t>(static_cast<const char*>(p) - hay.data()) : std::string_view::npos;
}

bool has(std::string_view hay, std::string_view needle) {
  return find(hay, needle) != std::string_view::npos;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

// Positions just after each occurrence of `name` followed by optional blanks and ':'.
template <typename F>
bool each_field(std::string_view lower, std::string_view name, F&& f) {
  for (size_t at = find(lower, name); at != std::string_view::npos;
       at = find(lower, name, at + 1)) {
    size_t p = at + name.size();
    while (p < lower.size() && blank(lower[p])) ++p;
    if (p < lower.size() && lower[p] == ':' && !f(p + 1)) return false;
  }
  return true;
}

// Every Content-Transfer-Encoding is an identity or quoted-printable (sets `qp`).
bool plain_encodings(std::string_view lower, bool& qp) {
  return each_field(lower, "content-transfer-encoding", [&](size_t p) {
    while (p < lower.size() && (blank(lower[p]) || lower[p] == '\r' || lower[p] == '\n')) ++p;
    size_t e = p;
    while (e < lower.size() && !blank(lower[e]) && lower[e] != '\r' && lower[e] != '\n') ++e;
    std::string_view token = lower.substr(p, e - p);
    while (e < lower.size() && blank(lower[e])) ++e;
    if (e < lower.size() && lower[e] != '\r' && lower[e] != '\n') return false;
    if (token == "quoted-printable") {
      qp = true;
      return true;
    }
    return token == "7bit" || token == "8bit" || token == "binary";
  });
}

// Every charset parameter of every Content-Type field is utf-8 or us-ascii.
bool plain_charsets(std::string_view lower) {
  return each_field(lower, "content-type", [&](size_t p) {
    // The field's value: up to a line break not followed by a blank (RFC 5322 2.2.3).
    size_t end = p;
    while (end < lower.size()) {
      size_t nl = lower.find('\n', end);
      if (nl == std::string_view::npos) {
        end = lower.size();
        break;
      }
      end = nl + 1;
      if (end >= lower.size() || !blank(lower[end])) break;
    }
    std::string_view value = lower.substr(p, end - p);
    for (size_t at = find(value, "charset"); at != std::string_view::npos;
         at = find(value, "charset", at + 1)) {
      size_t q = at + 7;
      while (q < value.size() && blank(value[q])) ++q;
      if (q >= value.size() || value[q] != '=') return false;
      ++q;
      while (q < value.size() && blank(value[q])) ++q;
      bool quoted = q < value.size() && value[q] == '"';
      if (quoted) ++q;
      size_t len = value.compare(q, 5, "utf-8") == 0      ? 5
                   : value.compare(q, 8, "us-ascii") == 0 ? 8
                                                          : 0;
      if (len == 0) return false;
      q += len;
      if (quoted) {
        if (q >= value.size() || value[q] != '"') return false;
      } else if (q < value.size() && !blank(value[q]) && value[q] != ';' && value[q] != '\r' &&
                 value[q] != '\n') {
        return false;
      }
    }
    return true;
  });
}

// ASCII lower-casing in place; false when an octet is 8-bit or NUL.
bool lower_ascii(std::string& s) {
  unsigned char bad = 0;
  for (char& ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bad |= static_cast<unsigned char>((c & 0x80) | (c == 0 ? 0x80 : 0));
    ch = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  return bad == 0;
}

}  // namespace

bool body_text_may_contain(std::string_view message, std::string_view folded_needle) {
  if (folded_needle.empty() || folded_needle.find('\n') != std::string_view::npos) return true;
  // Two copies of the message per worker thread, kept between messages (a search calls this
  // for every message) unless a big one grew them.
  thread_local std::string lower, decoded;
  struct Trim {
    ~Trim() {
      constexpr size_t kKeep = size_t{1} << 20;
      if (lower.capacity() > kKeep) std::string().swap(lower);
      if (decoded.capacity() > kKeep) std::string().swap(decoded);
    }
  } trim;
  lower.assign(message);
  if (!lower_ascii(lower) || has(lower, folded_needle)) return true;
  bool qp = false;
  if (!plain_encodings(lower, qp) || !plain_charsets(lower)) return true;
  if (!qp) return false;
  // Q, the quoted-printable decoding of the whole message, by GMime's own decoder (the one
  // decoded_body_text() runs); lower-cased hex digits decode to the same octets.
  decoded.resize(lower.size());
  int state = 0;
  guint32 save = 0;
  size_t n = g_mime_encoding_quoted_decode_step(
      reinterpret_cast<const unsigned char*>(lower.data()), lower.size(),
      reinterpret_cast<unsigned char*>(decoded.data()), &state, &save);
  decoded.resize(n);
  return !lower_ascii(decoded) || has(decoded, folded_needle);
}

}  // namespace mailroom::mime
