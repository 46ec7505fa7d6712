// Message text for the full-text index (extract.h).
#include "src/fts/extract.h"

#include <gmime/gmime.h>

#include <mutex>

#include "src/core/utf8.h"
#include "src/mime/facts.h"

namespace mailroom::fts {
namespace {

void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// Appends at most `room` octets of `text` (cut on a UTF-8 boundary); false when cut.
bool append_bounded(std::string& out, std::string_view text, size_t room) {
  if (text.size() <= room) {
    out += text;
    return true;
  }
  size_t n = room;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  out += text.substr(0, n);
  return false;
}

// Valid UTF-8 (invalid sequences replaced): Xapian reads invalid octets as Latin-1, which
// would index garbage terms from binary parts mislabelled as text.
std::string valid_utf8(std::string_view s) {
  if (g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr)) return std::string(s);
  char* v = g_utf8_make_valid(s.data(), static_cast<gssize>(s.size()));
  std::string out(v);
  g_free(v);
  return out;
}

std::string field_text(std::string_view header, std::string_view name) {
  std::string out;
  for (const auto& v : mime::header_values(header, name)) {
    if (!out.empty()) out += ", ";
    out += mime::decode_header_text(v);
    if (out.size() > 16384) break;
  }
  return valid_utf8(out);
}

bool ieq_prefix(std::string_view s, size_t at, std::string_view word) {
  if (s.size() - at < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = s[at + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return true;
}

struct Walker {
  const ExtractLimits& limits;
  MessageText& out;
  size_t parts = 0;

  void add_text(std::string_view text) {
    if (out.truncated) return;
    size_t room =
        limits.max_body_bytes > out.body.size() ? limits.max_body_bytes - out.body.size() : 0;
    if (!out.body.empty()) {
      if (room == 0) {
        out.truncated = true;
        return;
      }
      out.body += '\n';
      --room;
    }
    if (!append_bounded(out.body, text, room)) out.truncated = true;
  }

  void walk(GMimeObject* obj, int depth) {
    if (!obj || depth > limits.max_depth || ++parts > limits.max_parts || out.truncated) return;
    if (GMIME_IS_MULTIPART(obj)) {
      int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
      for (int i = 0; i < n; ++i)
        walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {  // an attached message: its text is searchable too
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (inner) walk(g_mime_message_get_mime_part(inner), depth + 1);
      return;
    }
    if (!GMIME_IS_TEXT_PART(obj)) return;  // binary parts: PDF/Office are not extracted
    // GMime's transfer decoding and charset conversion, as mime::decoded_body_text().
    char* t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
    if (!t) return;
    std::string text = valid_utf8(t);
    g_free(t);
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    const char* sub = ct ? g_mime_content_type_get_media_subtype(ct) : nullptr;
    if (sub && g_ascii_strcasecmp(sub, "html") == 0) text = html_to_text(text);
    add_text(text);
  }
};

}  // namespace

std::string html_to_text(std::string_view s) {
  std::string out;
  out.reserve(s.size() / 2);
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '<') {
      if (s.compare(i, 4, "<!--") == 0) {
        size_t e = s.find("-->", i + 4);
        i = e == std::string_view::npos ? s.size() : e + 3;
        continue;
      }
      // <script> and <style> hold no text a reader sees.
      for (std::string_view tag : {std::string_view("script"), std::string_view("style")}) {
        if (ieq_prefix(s, i + 1, tag)) {
          std::string close = "</" + std::string(tag);
          size_t e = i + 1;
          while (e < s.size() && !ieq_prefix(s, e, close)) {
            e = s.find('<', e + 1);
            if (e == std::string_view::npos) e = s.size();
          }
          i = e;
          break;
        }
      }
      size_t e = s.find('>', i);
      if (e == std::string_view::npos) break;
      out += ' ';  // a tag separates words ("a<br>b")
      i = e + 1;
      continue;
    }
    if (c == '&') {
      size_t end = s.substr(0, std::min(s.size(), i + 12)).find(';', i);
      if (end != std::string_view::npos && end - i <= 10) {
        std::string_view name = s.substr(i + 1, end - i - 1);
        static constexpr std::pair<std::string_view, std::string_view> kNamed[] = {
            {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}};
        bool done = false;
        for (const auto& [n, text] : kNamed) {
          if (name == n) {
            out += text;
            done = true;
          }
        }
        if (!done && name.size() > 1 && name[0] == '#') {
          bool hex = name[1] == 'x' || name[1] == 'X';
          uint32_t cp = 0;
          bool ok = name.size() > (hex ? 2u : 1u);
          for (char d : name.substr(hex ? 2 : 1)) {
            int v = d >= '0' && d <= '9'          ? d - '0'
                    : hex && d >= 'a' && d <= 'f' ? d - 'a' + 10
                    : hex && d >= 'A' && d <= 'F' ? d - 'A' + 10
                                                  : -1;
            if (v < 0 || cp > 0x10FFFF) {
              ok = false;
              break;
            }
            cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
          }
          if (ok) {
            if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
            core::append_utf8(out, cp);
            done = true;
          }
        }
        if (done) {
          i = end + 1;
          continue;
        }
      }
    }
    out += c;
    ++i;
  }
  return out;
}

MessageText extract_text(std::string_view message, const ExtractLimits& limits) {
  ensure_gmime();
  MessageText out;
  size_t hend = message.find("\r\n\r\n");
  std::string_view header =
      message.substr(0, hend == std::string_view::npos ? message.size() : hend + 2);
  if (header.size() > limits.max_header_bytes * 4)
    header = header.substr(0, limits.max_header_bytes * 4);
  out.subject = field_text(header, "Subject");
  out.from = field_text(header, "From");
  out.to = field_text(header, "To");
  out.cc = field_text(header, "Cc");
  out.bcc = field_text(header, "Bcc");
  std::string h = valid_utf8(mime::decode_header_text(header));
  if (!append_bounded(out.header, h, limits.max_header_bytes)) out.truncated = true;

  GMimeStream* stream = g_mime_stream_mem_new_with_buffer(message.data(), message.size());
  GMimeParser* parser = g_mime_parser_new_with_stream(stream);
  GMimeMessage* msg = g_mime_parser_construct_message(parser, nullptr);
  if (msg) {
    bool header_cut = out.truncated;
    out.truncated = false;
    Walker w{limits, out};
    w.walk(g_mime_message_get_mime_part(msg), 0);
    out.truncated = out.truncated || header_cut;
    g_object_unref(msg);
  }
  g_object_unref(parser);
  g_object_unref(stream);
  return out;
}

}  // namespace mailroom::fts
