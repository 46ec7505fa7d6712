// 8BITMIME downgrade with GMime (RFC 6152 3, RFC 2045 6): re-encodes 8-bit leaf parts.
#include "src/outbound/downgrade.h"

#include <gmime/gmime.h>

#include <mutex>

namespace mailroom::outbound {
namespace {

bool any_8bit(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (static_cast<unsigned char>(p[i]) >= 0x80) return true;
  }
  return false;
}

// Re-encodes every leaf that is (or may be) 8-bit; false when the structure is too deep.
bool downgrade_object(GMimeObject* object, int depth) {
  if (depth > 50) return false;
  if (GMIME_IS_MULTIPART(object)) {
    auto* mp = GMIME_MULTIPART(object);
    for (int i = 0; i < g_mime_multipart_get_count(mp); ++i) {
      if (!downgrade_object(g_mime_multipart_get_part(mp, i), depth + 1)) return false;
    }
    return true;
  }
  if (GMIME_IS_MESSAGE_PART(object)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
    if (!inner) return true;
    GMimeObject* body = g_mime_message_get_mime_part(inner);
    return !body || downgrade_object(body, depth + 1);
  }
  if (GMIME_IS_PART(object)) {
    auto* part = GMIME_PART(object);
    GMimeContentEncoding enc = g_mime_part_get_content_encoding(part);
    if (enc == GMIME_CONTENT_ENCODING_8BIT || enc == GMIME_CONTENT_ENCODING_BINARY ||
        enc == GMIME_CONTENT_ENCODING_DEFAULT || enc == GMIME_CONTENT_ENCODING_7BIT) {
      g_mime_part_set_content_encoding(
          part, g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT));
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> downgrade_to_7bit(const std::string& message, bool binary) {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
  size_t head_end = message.find("\r\n\r\n");
  if (head_end == std::string::npos) head_end = message.size();
  if (any_8bit(message.data(), head_end)) return std::nullopt;  // needs SMTPUTF8, not this

  // GMime works on LF text: a CR left in a part would be encoded as =0D by quoted-printable.
  // The DOS newline format below writes CRLF again.
  std::string lf;
  lf.reserve(message.size());
  for (size_t i = 0; i < message.size(); ++i) {
    // A binary message keeps CRLF in its bodies (only the header block's become LF).
    if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n' &&
        (!binary || i < head_end)) {
      continue;
    }
    lf += message[i];
  }
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(lf.data(), lf.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  g_object_unref(stream);
  GMimeMessage* parsed = g_mime_parser_construct_message(parser, nullptr);
  g_object_unref(parser);
  if (!parsed) return std::nullopt;
  std::optional<std::string> out;
  GMimeObject* body = g_mime_message_get_mime_part(parsed);
  if (body && downgrade_object(body, 0)) {
    if (!g_mime_object_get_header(GMIME_OBJECT(parsed), "MIME-Version")) {
      g_mime_object_set_header(GMIME_OBJECT(parsed), "MIME-Version", "1.0", nullptr);
    }
    GMimeFormatOptions* format = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(format, GMIME_NEWLINE_FORMAT_DOS);
    char* text = g_mime_object_to_string(GMIME_OBJECT(parsed), format);
    g_mime_format_options_free(format);
    if (text) {
      std::string s(text);
      g_free(text);
      if (!any_8bit(s.data(), s.size())) out = std::move(s);
    }
  }
  g_object_unref(parsed);
  return out;
}

}  // namespace mailroom::outbound
