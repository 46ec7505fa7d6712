#include "src/jmap/parts.h"

#include <cctype>

#include "src/core/base64.h"
#include "src/core/json_text.h"
#include "src/mime/header_fields.h"

namespace mailroom::jmap {
namespace {

std::string_view slice(std::string_view message, const mime::Range& r) {
  if (r.begin > message.size() || r.end > message.size() || r.end < r.begin) return {};
  return message.substr(r.begin, r.end - r.begin);
}

void fill(std::string_view message, const mime::PartNode& node, const std::string& part_id,
          bool digest_parent, BodyPart& out, int depth) {
  out.header = node.header;
  out.body = node.body;
  auto fields = mime::parse_fields(slice(message, node.header));
  mime::ContentType ct;
  if (const auto* f = mime::find_field(fields, "Content-Type"))
    ct = mime::parse_content_type(f->value);
  if (ct.type.empty()) {
    // RFC 2046 5.1.5: in a multipart/digest the default is message/rfc822.
    ct.type = digest_parent ? "message" : "text";
    ct.subtype = digest_parent ? "rfc822" : "plain";
  }
  out.type = mime::ascii_lower(ct.type) + "/" + mime::ascii_lower(ct.subtype);
  if (auto cs = ct.param("charset")) out.charset = *cs;
  // The file name: Content-Disposition's filename (RFC 2183 2.3), else Content-Type's name
  // (RFC 2045's predecessor use, still common); either may be RFC 2231- or RFC 2047-encoded.
  if (const auto* f = mime::find_field(fields, "Content-Disposition")) {
    out.disposition = mime::ascii_lower(mime::parse_disposition(f->value).type);
    if (auto n = mime::decoded_param(f->value, "filename")) out.name = std::move(*n);
  }
  if (out.name.empty()) {
    if (const auto* f = mime::find_field(fields, "Content-Type")) {
      if (auto n = mime::decoded_param(f->value, "name")) out.name = std::move(*n);
    }
  }
  out.name = core::utf8_or_replacement(out.name);
  if (const auto* f = mime::find_field(fields, "Content-ID")) {
    std::string id = f->value;
    while (!id.empty() && (id.back() == ' ' || id.back() == '\t')) id.pop_back();
    if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
    out.cid = core::utf8_or_replacement(id);
  }
  if (const auto* f = mime::find_field(fields, "Content-Location"))
    out.location = core::utf8_or_replacement(f->value);
  if (const auto* f = mime::find_field(fields, "Content-Transfer-Encoding"))
    out.transfer_encoding = mime::ascii_lower(f->value);
  while (!out.transfer_encoding.empty() &&
         std::isspace(static_cast<unsigned char>(out.transfer_encoding.back())))
    out.transfer_encoding.pop_back();
  if (const auto* f = mime::find_field(fields, "Content-Language")) {
    std::string cur;
    for (char c : f->value + ",") {
      if (c == ',' || c == ' ' || c == '\t') {
        if (!cur.empty()) out.language.push_back(core::utf8_or_replacement(cur));
        cur.clear();
      } else {
        cur += c;
      }
    }
  }
  if (node.kind == mime::PartKind::multipart && depth < 32) {
    bool digest = out.type == "multipart/digest";
    for (size_t i = 0; i < node.children.size(); ++i) {
      BodyPart child;
      std::string id =
          part_id.empty() ? std::to_string(i + 1) : part_id + "." + std::to_string(i + 1);
      fill(message, node.children[i], id, digest, child, depth + 1);
      out.sub_parts.push_back(std::move(child));
    }
  } else {
    out.part_id = part_id.empty() ? "1" : part_id;
  }
}

bool inline_media(const std::string& type) {
  return type.starts_with("image/") || type.starts_with("audio/") || type.starts_with("video/");
}

void parse_structure(const std::vector<const BodyPart*>& parts, const std::string& multipart_type,
                     bool in_alternative, std::vector<const BodyPart*>* html,
                     std::vector<const BodyPart*>* text, std::vector<const BodyPart*>& attachments,
                     int depth) {
  if (depth > 32) return;
  long text_length = text ? static_cast<long>(text->size()) : -1;
  long html_length = html ? static_cast<long>(html->size()) : -1;
  for (size_t i = 0; i < parts.size(); ++i) {
    const BodyPart* part = parts[i];
    bool is_multipart = part->type.starts_with("multipart/");
    bool is_inline =
        part->disposition != "attachment" &&
        (part->type == "text/plain" || part->type == "text/html" || inline_media(part->type)) &&
        (i == 0 ||
         (multipart_type != "related" && (inline_media(part->type) || part->name.empty())));
    if (is_multipart) {
      std::string sub = part->type.substr(10);
      std::vector<const BodyPart*> children;
      for (const auto& c : part->sub_parts) children.push_back(&c);
      parse_structure(children, sub, in_alternative || sub == "alternative", html, text,
                      attachments, depth + 1);
    } else if (is_inline) {
      if (multipart_type == "alternative") {
        if (part->type == "text/plain" && text)
          text->push_back(part);
        else if (part->type == "text/html" && html)
          html->push_back(part);
        else
          attachments.push_back(part);
        continue;
      }
      auto* t = text;
      auto* h = html;
      if (in_alternative) {
        if (part->type == "text/plain") h = nullptr;
        if (part->type == "text/html") t = nullptr;
      }
      if (t) t->push_back(part);
      if (h) h->push_back(part);
      if ((!t || !h) && inline_media(part->type)) attachments.push_back(part);
    } else {
      attachments.push_back(part);
    }
  }
  if (multipart_type == "alternative" && text && html) {
    if (text_length == static_cast<long>(text->size()) &&
        html_length != static_cast<long>(html->size())) {
      for (size_t i = static_cast<size_t>(html_length); i < html->size(); ++i)
        text->push_back((*html)[i]);
    }
    if (html_length == static_cast<long>(html->size()) &&
        text_length != static_cast<long>(text->size())) {
      for (size_t i = static_cast<size_t>(text_length); i < text->size(); ++i)
        html->push_back((*text)[i]);
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

BodyPart body_structure(std::string_view message, const mime::PartNode& root) {
  BodyPart out;
  fill(message, root, "", false, out, 0);
  return out;
}

const BodyPart* find_part(const BodyPart& root, std::string_view part_id) {
  if (!root.part_id.empty() && root.part_id == part_id) return &root;
  for (const auto& c : root.sub_parts)
    if (const auto* f = find_part(c, part_id)) return f;
  return nullptr;
}

std::string decoded_content(std::string_view message, const BodyPart& part) {
  std::string_view body = slice(message, part.body);
  std::string out;
  if (part.transfer_encoding == "base64") {
    // RFC 2045 6.8: characters outside the alphabet (line breaks) are ignored.
    std::string clean;
    clean.reserve(body.size());
    for (char c : body) {
      if (c == '=') break;
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/') clean += c;
    }
    if (clean.size() % 4 == 1) clean.pop_back();  // a stray character decodes to nothing
    while (clean.size() % 4 != 0) clean += '=';
    auto decoded = core::base64_decode(clean);
    return decoded ? *decoded : std::string(body);
  }
  if (part.transfer_encoding == "quoted-printable") {
    // RFC 2045 6.7: "=XX" octets, "=" CRLF soft line breaks.
    out.reserve(body.size());
    for (size_t i = 0; i < body.size(); ++i) {
      char c = body[i];
      if (c != '=') {
        out += c;
        continue;
      }
      if (i + 1 < body.size() && body[i + 1] == '\n') {
        i += 1;
        continue;
      }
      if (i + 2 < body.size() && body[i + 1] == '\r' && body[i + 2] == '\n') {
        i += 2;
        continue;
      }
      if (i + 2 < body.size()) {
        int h = hex_value(body[i + 1]), l = hex_value(body[i + 2]);
        if (h >= 0 && l >= 0) {
          out += static_cast<char>(h * 16 + l);
          i += 2;
          continue;
        }
      }
      out += c;
    }
    return out;
  }
  return std::string(body);
}

std::string part_text(std::string_view message, const BodyPart& part, bool& encoding_problem) {
  std::string raw = decoded_content(message, part);
  std::string charset = part.charset.empty() ? "us-ascii" : part.charset;
  std::string lower = mime::ascii_lower(charset);
  if (lower == "us-ascii" || lower == "utf-8" || lower == "utf8") {
    std::string text = core::utf8_or_replacement(raw);
    encoding_problem = text != raw;
    return text;
  }
  auto converted = mime::to_utf8(raw, charset);
  if (!converted) {
    encoding_problem = true;
    return core::utf8_or_replacement(raw);
  }
  encoding_problem = false;
  return core::utf8_or_replacement(*converted);
}

void classify_parts(const BodyPart& root, std::vector<const BodyPart*>& text_body,
                    std::vector<const BodyPart*>& html_body,
                    std::vector<const BodyPart*>& attachments) {
  parse_structure({&root}, "mixed", false, &html_body, &text_body, attachments, 0);
}

}  // namespace mailroom::jmap
