#include "src/mime/transfer_decoding.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "src/core/base64.h"
#include "src/mime/facts.h"

namespace mailroom::mime {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;  // lower case tolerated (RFC 2045 6.7 (1))
  return -1;
}

// Both decoders write through `emit(char)`, which returns false to stop (the limit reached).
template <class Emit>
void decode_base64(std::string_view in, Emit emit) {
  // RFC 2045 6.8: characters outside the alphabet are ignored; "=" ends the data.
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    if (c == '=') return;
    int v = core::base64_value(static_cast<char>(c));
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (!emit(static_cast<char>((acc >> bits) & 0xff))) return;
    }
  }
}

template <class Emit>
void decode_quoted_printable(std::string_view in, Emit emit) {
  // RFC 2045 6.7. Line by line: trailing white space is dropped (rule 3), "=" at the end of a
  // line is a soft break (rule 5), "=XX" an octet (rule 1); a broken "=" stays as it is.
  size_t pos = 0;
  while (pos < in.size()) {
    size_t nl = in.find('\n', pos);
    size_t end = nl == std::string_view::npos ? in.size() : nl;
    size_t text_end = end;
    if (text_end > pos && in[text_end - 1] == '\r') --text_end;
    while (text_end > pos && (in[text_end - 1] == ' ' || in[text_end - 1] == '\t')) --text_end;
    bool soft = text_end > pos && in[text_end - 1] == '=';
    if (soft) --text_end;
    for (size_t i = pos; i < text_end; ++i) {
      char c = in[i];
      if (c == '=' && i + 2 < text_end) {
        int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
        if (hi >= 0 && lo >= 0) {
          if (!emit(static_cast<char>(hi * 16 + lo))) return;
          i += 2;
          continue;
        }
      }
      if (!emit(c)) return;
    }
    if (nl == std::string_view::npos) return;
    if (!soft) {
      // The line break itself, as it was written (CRLF in stored mail).
      if (end > pos && in[end - 1] == '\r' && !emit('\r')) return;
      if (!emit('\n')) return;
    }
    pos = nl + 1;
  }
}

template <class Emit>
void decode(std::string_view body, TransferEncoding enc, Emit emit) {
  switch (enc) {
    case TransferEncoding::base64:
      decode_base64(body, emit);
      return;
    case TransferEncoding::quoted_printable:
      decode_quoted_printable(body, emit);
      return;
    default:
      for (char c : body)
        if (!emit(c)) return;
  }
}

}  // namespace

TransferEncoding transfer_encoding(std::string_view header) {
  std::vector<std::string> values = header_values(header, "Content-Transfer-Encoding");
  if (values.empty()) return TransferEncoding::identity;  // RFC 2045 6.1: 7bit by default
  // One token (RFC 2045 6.1), comments around it ignored; "base 64" is two: unknown.
  std::string token;
  int comment = 0;
  bool ended = false;
  for (char c : values.front()) {
    if (c == '(') {
      ++comment;
    } else if (c == ')' && comment > 0) {
      --comment;
    } else if (comment > 0) {
      continue;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ended = !token.empty();
    } else if (ended) {
      return TransferEncoding::unknown;
    } else {
      token.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  if (token.empty() || token == "7bit" || token == "8bit" || token == "binary")
    return TransferEncoding::identity;
  if (token == "base64") return TransferEncoding::base64;
  if (token == "quoted-printable") return TransferEncoding::quoted_printable;
  return TransferEncoding::unknown;
}

std::string decode_transfer(std::string_view body, TransferEncoding enc, uint64_t limit) {
  std::string out;
  if (limit == 0) return out;
  if (enc == TransferEncoding::identity || enc == TransferEncoding::unknown)
    return std::string(body.substr(0, static_cast<size_t>(std::min<uint64_t>(limit, body.size()))));
  out.reserve(static_cast<size_t>(std::min<uint64_t>(
      limit, enc == TransferEncoding::base64 ? body.size() / 4 * 3 + 3 : body.size())));
  decode(body, enc, [&](char c) {
    out.push_back(c);
    return out.size() < limit;
  });
  return out;
}

uint64_t decoded_size(std::string_view body, TransferEncoding enc) {
  if (enc == TransferEncoding::identity || enc == TransferEncoding::unknown) return body.size();
  uint64_t n = 0;
  decode(body, enc, [&](char) {
    ++n;
    return true;
  });
  return n;
}

}  // namespace mailroom::mime
