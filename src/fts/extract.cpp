// Message text for the full-text index (extract.h).
#include "src/fts/extract.h"

#include <gmime/gmime.h>

#include <mutex>

#include "src/fts/attachment.h"
#include "src/mime/facts.h"
#include "src/mime/html_text.h"

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

struct Walker {
  const ExtractLimits& limits;
  MessageText& out;
  const ToolOptions* tools = nullptr;
  size_t parts = 0;
  // Bounds the indexer thread's time per message: at most kMaxToolRuns tool runs, and none
  // after one timed out (a message of 256 PDFs that hang would otherwise take 256 timeouts).
  static constexpr int kMaxToolRuns = 16;
  int tool_runs = 0;
  bool tool_timed_out = false;

  // A binary part one of the tools reads (PDF, OpenDocument, .docx): its text goes to
  // out.attachments, at most tools->max_bytes per message.
  void add_attachment(GMimeObject* obj) {
    if (!tools || !tools->enabled || !GMIME_IS_PART(obj)) return;
    if (out.attachments.size() >= tools->max_bytes) return;
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    if (!ct) return;
    std::string type;
    if (const char* t = g_mime_content_type_get_media_type(ct)) type = t;
    type += '/';
    if (const char* t = g_mime_content_type_get_media_subtype(ct)) type += t;
    for (auto& c : type) c = static_cast<char>(g_ascii_tolower(c));
    const char* fname = g_mime_part_get_filename(GMIME_PART(obj));
    std::string filename = fname ? fname : "";
    if (tool_for(*tools, type, filename).empty()) return;
    if (tool_timed_out || tool_runs >= kMaxToolRuns) return;
    ++tool_runs;
    GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(obj));
    if (!content) return;
    GMimeStream* mem = g_mime_stream_mem_new();
    // Transfer decoding (base64, quoted-printable) by GMime.
    g_mime_data_wrapper_write_to_stream(content, mem);
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    std::string_view data(reinterpret_cast<const char*>(bytes->data), bytes->len);
    ToolOptions o = *tools;
    o.max_bytes = tools->max_bytes - out.attachments.size();
    ToolText t = extract_attachment(o, type, filename, data);
    g_object_unref(mem);
    if (t.outcome == ToolOutcome::timed_out) tool_timed_out = true;
    if (t.text.empty()) return;
    if (!out.attachments.empty()) {
      if (out.attachments.size() + 1 >= tools->max_bytes) return;
      out.attachments += '\n';
    }
    append_bounded(out.attachments, t.text, tools->max_bytes - out.attachments.size());
  }

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
    if (!GMIME_IS_TEXT_PART(obj)) {  // binary parts: PDF/Office through the tools, if any
      add_attachment(obj);
      return;
    }
    // GMime's transfer decoding and charset conversion, as mime::decoded_body_text().
    char* t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
    if (!t) return;
    std::string text = valid_utf8(t);
    g_free(t);
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    const char* sub = ct ? g_mime_content_type_get_media_subtype(ct) : nullptr;
    if (sub && g_ascii_strcasecmp(sub, "html") == 0)
      text = valid_utf8(mime::html_text(text, limits.max_body_bytes));
    add_text(text);
  }
};

}  // namespace

MessageText extract_text(std::string_view message, const ExtractLimits& limits,
                         const ToolOptions* tools) {
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
    Walker w{limits, out, tools};
    w.walk(g_mime_message_get_mime_part(msg), 0);
    out.truncated = out.truncated || header_cut;
    g_object_unref(msg);
  }
  g_object_unref(parser);
  g_object_unref(stream);
  return out;
}

}  // namespace mailroom::fts
