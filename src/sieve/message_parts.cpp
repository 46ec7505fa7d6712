#include "src/sieve/message_parts.h"

#include "src/mime/facts.h"
#include "src/mime/header_fields.h"

namespace mailroom::sieve {

void split_header(std::string_view message, std::vector<HeaderField>& fields,
                  std::string_view& body) {
  size_t i = 0;
  body = {};
  while (i < message.size()) {
    size_t eol = message.find('\n', i);
    size_t end = eol == std::string_view::npos ? message.size() : eol;
    std::string_view line = message.substr(i, end - i);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t next = eol == std::string_view::npos ? message.size() : eol + 1;
    if (line.empty()) {
      body = message.substr(next);
      return;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !fields.empty()) {
      fields.back().raw_value += "\r\n";
      fields.back().raw_value.append(line);
    } else if (size_t colon = line.find(':'); colon != std::string_view::npos && colon > 0) {
      std::string_view name = line.substr(0, colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      fields.push_back({std::string(name), std::string(line.substr(colon + 1))});
    }
    i = next;
  }
}

namespace {

void collect(std::string_view message, const mime::PartNode& node,
             const std::vector<std::string>& types, std::vector<std::string>& out) {
  if (node.kind == mime::PartKind::multipart) {
    for (const auto& c : node.children) collect(message, c, types, out);
    return;
  }
  if (node.kind == mime::PartKind::message) {
    for (const auto& c : node.children) collect(message, c, types, out);
    return;
  }
  std::string_view header = message.substr(node.header.begin, node.header.size());
  auto ct_values = mime::header_values(header, "Content-Type");
  mime::ContentType ct;
  if (!ct_values.empty()) ct = mime::parse_content_type(ct_values[0]);
  std::string type = ct.type.empty() ? "text" : mime::ascii_lower(ct.type);
  std::string subtype = ct.subtype.empty() ? "plain" : mime::ascii_lower(ct.subtype);
  bool wanted = false;
  for (const auto& t : types) {
    std::string want = mime::ascii_lower(t);
    wanted = wanted || want.empty() || want == type || want == type + "/" + subtype;
  }
  if (!wanted) return;
  std::string_view body = message.substr(node.body.begin, node.body.size());
  if (type == "text") {
    // The part with its MIME header is itself a one-part message for the decoder.
    std::string part(header);
    part.append(body);
    out.push_back(mime::decoded_body_text(part));
  } else {
    out.emplace_back(body);
  }
}

}  // namespace

std::vector<std::string> parts_of_types(std::string_view message,
                                        const std::vector<std::string>& types) {
  mime::Facts facts = mime::parse_facts(message);
  std::vector<std::string> out;
  collect(message, facts.root, types, out);
  return out;
}

}  // namespace mailroom::sieve
