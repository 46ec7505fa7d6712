#include "src/jmap/blob.h"

#include "src/jmap/parts.h"
#include "src/jmap/uploads.h"
#include "src/jmap/views.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {

http::Response download_blob(store::MailStore& store, const std::string& data_dir,
                             const std::string& account_id, const http::Request& request) {
  auto not_found = [] { return http::Response::problem(404, "Not Found", "no such blob"); };
  if (request.params.size() != 3 || request.params[0] != account_id) return not_found();
  const std::string& blob = request.params[1];
  std::string body;
  std::string part_id;
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
  // RFC 8620 6.2: the type the client asks for (a media type), else a safe default.
  std::string type = request.query_param("type").value_or("");
  bool ok_type = !type.empty() && type.size() < 128 && type.find('/') != std::string::npos;
  for (char c2 : type) ok_type = ok_type && c2 > 0x20 && c2 < 0x7f && c2 != '"' && c2 != '\\';
  if (!ok_type) type = part_id.empty() ? "message/rfc822" : "application/octet-stream";
  http::Response r;
  r.status = 200;
  r.body = std::move(body);
  r.set_header("Content-Type", type);
  // Served as a download, never rendered in our origin.
  std::string name = request.params[2];
  std::string safe;
  for (char ch : name)
    if (static_cast<unsigned char>(ch) >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f) safe += ch;
  r.set_header("Content-Disposition", "attachment; filename*=UTF-8''" + http::percent_encode(safe));
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Cache-Control", "private, immutable, max-age=31536000");
  return r;
}

}  // namespace mailroom::jmap
