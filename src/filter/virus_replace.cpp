#include "src/filter/virus_replace.h"

#include <gmime/gmime.h>

#include <memory>
#include <mutex>

namespace mailroom::filter {

namespace {

void init_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

template <class T>
struct Unref {
  void operator()(T* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, Unref<T>>;

std::string content_type_of(GMimeObject* object) {
  GMimeContentType* ct = g_mime_object_get_content_type(object);
  if (!ct) return "application/octet-stream";
  char* s = g_mime_content_type_get_mime_type(ct);
  std::string out = s ? s : "application/octet-stream";
  g_free(s);
  return out;
}

// The bytes a virus scanner should see for one leaf: a part's decoded content, an attached
// message's text.
bool leaf_bytes(GMimeObject* object, std::string* out) {
  out->clear();
  if (GMIME_IS_MESSAGE_PART(object)) {
    GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
    if (!inner) return true;
    char* s = g_mime_object_to_string(GMIME_OBJECT(inner), nullptr);
    if (s) out->assign(s);
    g_free(s);
    return true;
  }
  if (!GMIME_IS_PART(object)) return false;
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(object));
  if (!content) return true;
  GPtr<GMimeStream> mem(g_mime_stream_mem_new());
  if (g_mime_data_wrapper_write_to_stream(content, mem.get()) < 0) return false;
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  if (bytes) out->assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
  return true;
}

GMimeObject* notice_part(const std::string& text) {
  GMimeTextPart* part = g_mime_text_part_new_with_subtype("plain");
  g_mime_text_part_set_charset(part, "us-ascii");
  g_mime_text_part_set_text(part, text.c_str());
  return GMIME_OBJECT(part);
}

struct Walk {
  VirusEngine& engine;
  const std::string& hostname;
  ReplaceResult& result;
  bool failed = false;

  // Scans every leaf under `multipart`, replacing the infected ones.
  void multipart(GMimeMultipart* mp) {
    int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n && !failed; ++i) {
      GMimeObject* child = g_mime_multipart_get_part(mp, i);
      if (GMIME_IS_MULTIPART(child)) {
        multipart(GMIME_MULTIPART(child));
        continue;
      }
      std::string bytes;
      if (!leaf_bytes(child, &bytes)) continue;
      EngineVerdict v = engine.scan(bytes);
      if (v.kind == EngineVerdict::Kind::error) {
        failed = true;
        result.detail = v.detail;
        return;
      }
      if (v.kind != EngineVerdict::Kind::infected) continue;
      std::string filename;
      if (GMIME_IS_PART(child)) {
        const char* f = g_mime_part_get_filename(GMIME_PART(child));
        if (f) filename = f;
      }
      GMimeObject* notice =
          notice_part(virus_notice_text(v.signature, filename, content_type_of(child), hostname));
      GMimeObject* old = g_mime_multipart_replace(mp, i, notice);
      if (old) g_object_unref(old);
      g_object_unref(notice);
      result.signatures.push_back(v.signature);
    }
  }
};

}  // namespace

std::string virus_notice_text(const std::string& signature, const std::string& filename,
                              const std::string& content_type, const std::string& hostname) {
  std::string what = filename.empty()
                         ? "A part of this message (" + content_type + ")"
                         : "The attachment \"" + filename + "\" (" + content_type + ")";
  return what + " contained a virus (" + signature + ") and was removed by the virus scanner of " +
         hostname + ".\nThe rest of the message was delivered unchanged.\n";
}

ReplaceResult replace_infected_parts(std::string_view message, VirusEngine& engine,
                                     const std::string& signature, const std::string& hostname) {
  init_gmime();
  ReplaceResult result;
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!msg) {
    result.detail = "the message could not be parsed as MIME";
    return result;
  }
  GMimeObject* body = g_mime_message_get_mime_part(msg.get());
  Walk walk{engine, hostname, result};
  if (body && GMIME_IS_MULTIPART(body)) walk.multipart(GMIME_MULTIPART(body));
  if (walk.failed) return result;
  if (result.signatures.empty()) {
    // No single part carries it (or there is no multipart): the whole body goes.
    std::string type = body ? content_type_of(body) : "text/plain";
    GMimeObject* notice = notice_part(virus_notice_text(signature, "", type, hostname));
    g_mime_message_set_mime_part(msg.get(), notice);
    g_object_unref(notice);
    result.signatures.push_back(signature);
  }
  GMimeFormatOptions* fo = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
  char* out = g_mime_object_to_string(GMIME_OBJECT(msg.get()), fo);
  g_mime_format_options_free(fo);
  if (out) result.message = out;
  g_free(out);
  result.ok = !result.message.empty();
  if (!result.ok) result.detail = "the rewritten message is empty";
  return result;
}

}  // namespace mailroom::filter
