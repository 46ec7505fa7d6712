#include "src/jmap/blob.h"

#include <cctype>

#include "src/jmap/parts.h"
#include "src/jmap/uploads.h"
#include "src/jmap/views.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {

namespace {

// Every download is a document of its own origin-less sandbox: whatever a part holds (HTML,
// SVG with script), opened on its own it runs nothing in ours.
constexpr const char* kDownloadCsp =
    "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'";
// A PDF shown inline: browsers refuse to run their PDF viewer in a sandbox (CSP or iframe), so
// it gets none; its scripts run in the viewer (PDFium, pdf.js), never in our origin.
constexpr const char* kPdfCsp = "frame-ancestors 'none'; form-action 'none'; base-uri 'none'";

// The media type without parameters, lower case ("Image/PNG; x=y" -> "image/png").
std::string bare_type(std::string_view type) {
  std::string t(type.substr(0, type.find(';')));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

// The types the web client previews (?disposition=inline), each only when the bytes begin as
// that format does: a part labelled image/png that holds HTML stays a download. Not SVG (it is
// a document with script), not HTML, not text (the client shows text escaped, fetched).
bool may_show_inline(const std::string& type, std::string_view body) {
  if (type == "image/png") return body.starts_with("\x89PNG\r\n\x1a\n");
  if (type == "image/jpeg") return body.starts_with("\xff\xd8\xff");
  if (type == "image/gif") return body.starts_with("GIF87a") || body.starts_with("GIF89a");
  if (type == "image/webp")
    return body.size() >= 12 && body.starts_with("RIFF") && body.substr(8, 4) == "WEBP";
  if (type == "application/pdf") return body.starts_with("%PDF-");
  return false;
}

// RFC 6266 4.3: a plain filename for old clients (ASCII, no quotes, backslashes or path
// separators) and filename* (RFC 8187) with the UTF-8 name.
std::string disposition(bool inline_, const std::string& name) {
  std::string safe, ascii;
  for (char ch : name) {
    auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f || ch == '"' || ch == '\\' || ch == '/') continue;
    safe += ch;
    ascii += u < 0x80 ? ch : '_';
  }
  if (safe.size() > 255) safe.resize(255);  // may cut a UTF-8 sequence: filename* is still valid
  if (ascii.size() > 255) ascii.resize(255);
  if (ascii.empty()) ascii = "download";
  return std::string(inline_ ? "inline" : "attachment") + "; filename=\"" + ascii +
         "\"; filename*=UTF-8''" + http::percent_encode(safe);
}

http::Response blob_response(std::string body, bool whole_message, const http::Request& request) {
  // RFC 8620 6.2: the type the client asks for (a media type), else a safe default.
  std::string type = request.query_param("type").value_or("");
  bool ok_type = !type.empty() && type.size() < 128 && type.find('/') != std::string::npos;
  for (char c2 : type) ok_type = ok_type && c2 > 0x20 && c2 < 0x7f && c2 != '"' && c2 != '\\';
  if (!ok_type) type = whole_message ? "message/rfc822" : "application/octet-stream";
  // Mailroom's addition for the web client: ?disposition=inline shows an allow-listed type.
  bool show = request.query_param("disposition").value_or("") == "inline" &&
              may_show_inline(bare_type(type), body);
  if (show) type = bare_type(type);
  return file_response(std::move(body), type, show, request.params[2]);
}

}  // namespace

http::Response file_response(std::string body, const std::string& type, bool show,
                             const std::string& name) {
  http::Response r;
  r.status = 200;
  r.body = std::move(body);
  r.set_header("Content-Type", type);
  r.set_header("Content-Disposition", disposition(show, name));
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Content-Security-Policy",
               show && type == "application/pdf" ? kPdfCsp : kDownloadCsp);
  // Only our own pages may embed it (an <img> of another site gets nothing).
  r.set_header("Cross-Origin-Resource-Policy", "same-origin");
  r.set_header("Referrer-Policy", "no-referrer");
  // A copy of the user's mail: kept by no cache, so that it does not outlive the session in
  // the browser's disk cache (a shared computer after sign-out). A part seen again is fetched
  // again; the web client's own hashed assets keep "immutable" (src/webmail/static_files.cpp).
  r.set_header("Cache-Control", "private, no-store");
  return r;
}

std::optional<std::string> read_blob(store::MailStore& store, const std::string& data_dir,
                                     const std::string& account_id, const std::string& blob,
                                     bool* whole_message) {
  std::string body;
  std::string part_id;
  auto not_found = [] { return std::optional<std::string>(); };
  if (!blob.empty() && blob[0] == 'U') {
    auto up = read_upload(data_dir, account_id, blob);
    if (!up) return not_found();
    body = std::move(*up);
    part_id = "upload";
  } else {
    std::string_view whole = blob;
    if (auto dot = blob.find('.'); dot != std::string::npos) {
      whole = std::string_view(blob).substr(0, dot);
      part_id = blob.substr(dot + 1);
    }
    auto copies = copies_of(store, account_id, whole, 'B');
    if (!copies || copies->empty()) return not_found();
    const auto& c = copies->front();
    auto data = store.read_message(account_id, c.mailbox, c.meta.uid);
    if (!data) return not_found();
    if (part_id.empty()) {
      body = std::move(*data);
    } else {
      auto facts = mime::parse_facts(*data);
      BodyPart root = body_structure(*data, facts.root);
      const BodyPart* part = find_part(root, part_id);
      if (!part) return not_found();
      body = decoded_content(*data, *part);
    }
  }
  if (whole_message) *whole_message = part_id.empty();
  return body;
}

http::Response download_blob(store::MailStore& store, const std::string& data_dir,
                             const std::string& account_id, const http::Request& request) {
  auto not_found = [] { return http::Response::problem(404, "Not Found", "no such blob"); };
  if (request.params.size() != 3 || request.params[0] != account_id) return not_found();
  bool whole = false;
  auto body = read_blob(store, data_dir, account_id, request.params[1], &whole);
  if (!body) return not_found();
  return blob_response(std::move(*body), whole, request);
}

}  // namespace mailroom::jmap
