// Encoded words and charsets through GMime (RFC 2047, RFC 2231) and GLib's iconv: Big5,
// GB2312/GBK/GB18030, ISO-8859-*, UTF-8 and the rest of what iconv knows.
#include <gmime/gmime.h>

#include <cctype>
#include <functional>
#include <memory>
#include <mutex>

#include "src/mime/facts.h"
#include "src/mime/header_fields.h"

namespace mailroom::mime {
namespace {

void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// Chinese mail often labels GBK/GB18030 text as GB2312 and CP950 text as Big5: read the
// labels as their supersets, as mail clients do.
std::string effective_charset(std::string_view charset) {
  std::string c = ascii_lower(charset);
  if (c == "gb2312" || c == "gbk" || c == "x-gbk" || c == "euc-cn" || c == "cp936")
    return "GB18030";
  if (c == "big5" || c == "x-big5" || c == "cp950" || c == "big5-hkscs") return "BIG5-HKSCS";
  if (c == "us-ascii" || c == "ascii") return "UTF-8";  // ASCII is a subset; keeps 8-bit lenient
  return std::string(charset);
}

}  // namespace

core::Result<std::string> to_utf8(std::string_view bytes, std::string_view charset) {
  std::string cs = effective_charset(charset);
  if (ascii_iequals(cs, "utf-8") || ascii_iequals(cs, "utf8")) {
    if (!g_utf8_validate(bytes.data(), static_cast<gssize>(bytes.size()), nullptr))
      return core::invalid_argument("text is not valid UTF-8");
    return std::string(bytes);
  }
  GIConv probe = g_iconv_open("UTF-8", cs.c_str());
  if (probe == reinterpret_cast<GIConv>(-1)) return core::not_found("unknown charset");
  g_iconv_close(probe);
  GError* error = nullptr;
  gsize written = 0;
  gchar* out = g_convert(bytes.data(), static_cast<gssize>(bytes.size()), "UTF-8", cs.c_str(),
                         nullptr, &written, &error);
  if (!out) {
    if (error) g_error_free(error);
    return core::invalid_argument("text is not valid in its charset");
  }
  std::string result(out, written);
  g_free(out);
  return result;
}

std::string fold_case(std::string_view utf8) {
  if (!g_utf8_validate(utf8.data(), static_cast<gssize>(utf8.size()), nullptr))
    return ascii_lower(utf8);
  // g_utf8_casefold() folds character by character, ASCII letters to lower case, so runs of
  // ASCII are folded here and only the runs of other characters go through GLib: the same
  // result without a GLib call and a GString append per character (SEARCH BODY folds whole
  // message texts).
  std::string out;
  out.reserve(utf8.size());
  size_t i = 0;
  while (i < utf8.size()) {
    auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
      ++i;
      continue;
    }
    size_t j = i;
    while (j < utf8.size() && static_cast<unsigned char>(utf8[j]) >= 0x80) ++j;
    gchar* f = g_utf8_casefold(utf8.data() + i, static_cast<gssize>(j - i));
    out += f;
    g_free(f);
    i = j;
  }
  return out;
}

std::string casemap_key(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  const char* p = utf8.data();
  const char* end = p + utf8.size();
  while (p < end) {
    gunichar c = g_utf8_get_char_validated(p, end - p);
    if (c == static_cast<gunichar>(-1) || c == static_cast<gunichar>(-2)) {
      // Not UTF-8 (a header in an undeclared 8-bit charset): keep the byte.
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(*p))));
      ++p;
      continue;
    }
    p = g_utf8_next_char(p);
    // RFC 5051 2: the titlecase of the character (UnicodeData.txt simple mapping), then its
    // full decomposition (compatibility mappings included, applied recursively).
    gunichar decomposed[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];
    gsize n = g_unichar_fully_decompose(g_unichar_totitle(c), TRUE, decomposed,
                                        G_UNICHAR_MAX_DECOMPOSITION_LENGTH);
    for (gsize i = 0; i < n; ++i) {
      char buf[6];
      out.append(buf, static_cast<size_t>(g_unichar_to_utf8(decomposed[i], buf)));
    }
  }
  return out;
}

std::string decode_header_text(std::string_view raw) {
  ensure_gmime();
  std::string in(raw);
  char* out = g_mime_utils_header_decode_text(nullptr, in.c_str());
  if (!out) return in;
  std::string result(out);
  g_free(out);
  return result;
}

std::optional<std::string> decoded_param(std::string_view field_value, std::string_view name) {
  ensure_gmime();
  // GMime parses the list after the type ("; a=b; c*=..."), starting at the first ';'.
  size_t semi = field_value.find(';');
  if (semi == std::string_view::npos) return std::nullopt;
  std::string params(field_value.substr(semi));
  std::string key(name);
  // The value is copied out before the list is freed.
  struct Free {
    void operator()(GMimeParamList* l) const { g_object_unref(l); }
  };
  std::unique_ptr<GMimeParamList, Free> list(g_mime_param_list_parse(nullptr, params.c_str()));
  if (!list) return std::nullopt;
  GMimeParam* param = g_mime_param_list_get_parameter(list.get(), key.c_str());
  const char* value = param ? g_mime_param_get_value(param) : nullptr;
  if (!value) return std::nullopt;
  return std::string(value);
}

std::string decoded_body_text(std::string_view message) {
  ensure_gmime();
  std::string text;
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(message.data(), message.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
  if (msg) {
    GMimePartIter* iter = g_mime_part_iter_new(GMIME_OBJECT(msg));
    do {
      GMimeObject* obj = g_mime_part_iter_get_current(iter);
      if (obj && GMIME_IS_TEXT_PART(obj)) {
        char* t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
        if (t) {
          text += t;
          text += "\n";
          g_free(t);
        }
      }
    } while (g_mime_part_iter_next(iter));
    g_mime_part_iter_free(iter);
    if (text.empty()) {
      // A single-part message whose top object is the text part itself.
      GMimeObject* body = g_mime_message_get_mime_part(msg);
      if (body && GMIME_IS_TEXT_PART(body)) {
        char* t = g_mime_text_part_get_text(GMIME_TEXT_PART(body));
        if (t) {
          text += t;
          g_free(t);
        }
      }
    }
    g_object_unref(msg);
  }
  g_object_unref(parser);
  g_object_unref(stream);
  return text;
}

std::string preview_text(std::string_view message) {
  ensure_gmime();
  std::string text;
  bool html = false;
  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(message.data(), message.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
  if (msg) {
    // The first text/plain part that is not an attachment, else the first such text/html;
    // neither is looked for inside attachments or attached messages (a forwarded .eml's text
    // is not this message's).
    GMimeObject* plain = nullptr;
    GMimeObject* markup = nullptr;
    std::function<void(GMimeObject*, int)> walk = [&](GMimeObject* obj, int depth) {
      if (!obj || plain || depth > 32) return;
      GMimeContentDisposition* d = g_mime_object_get_content_disposition(obj);
      if (d && g_mime_content_disposition_is_attachment(d)) return;
      if (GMIME_IS_MULTIPART(obj)) {
        int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
        for (int i = 0; i < n && !plain; ++i)
          walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1);
        return;
      }
      if (!GMIME_IS_TEXT_PART(obj)) return;  // message/rfc822 and other leaves
      GMimeContentType* ct = g_mime_object_get_content_type(obj);
      if (g_mime_content_type_is_type(ct, "text", "plain")) plain = obj;
      if (!markup && g_mime_content_type_is_type(ct, "text", "html")) markup = obj;
    };
    walk(g_mime_message_get_mime_part(msg), 0);
    GMimeObject* chosen = plain ? plain : markup;
    html = !plain && markup;
    if (chosen) {
      char* t = g_mime_text_part_get_text(GMIME_TEXT_PART(chosen));
      if (t) {
        text = t;
        g_free(t);
      }
    }
    g_object_unref(msg);
  }
  g_object_unref(parser);
  g_object_unref(stream);
  return preview_from_text(text, html);
}

}  // namespace mailroom::mime
