// MIME structure with exact byte offsets (RFC 2045/2046) and the RFC 3501 ENVELOPE,
// BODYSTRUCTURE and BODY strings.
//
// Written by hand rather than with GMime: GMime's parser rebuilds objects and does not report
// the byte offsets of every part's MIME header, body and TEXT that BODY[section]<partial>
// needs, nor the raw (undecoded) header text that ENVELOPE must return.
#include "src/mime/structure.h"

#include <algorithm>

namespace mailroom::mime {
namespace {

constexpr int kMaxDepth = 40;  // deeper nesting is treated as an opaque leaf

bool needs_literal(std::string_view s) {
  if (s.size() > 1000) return true;
  for (unsigned char c : s) {
    if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) return true;
  }
  return false;
}

struct Walker {
  std::string_view msg;

  // Finds the end of the header block starting at `begin`: the offset just after the blank
  // line, or `end` when there is none.
  uint64_t header_end(uint64_t begin, uint64_t end) const {
    uint64_t pos = begin;
    while (pos < end) {
      if (msg[pos] == '\n') return pos + 1;  // empty line "\n"
      if (msg[pos] == '\r' && pos + 1 < end && msg[pos + 1] == '\n') return pos + 2;
      size_t eol = msg.find('\n', pos);
      if (eol == std::string_view::npos || eol >= end) return end;
      pos = eol + 1;
    }
    return end;
  }

  static uint32_t count_lines(std::string_view body) {
    uint32_t n = static_cast<uint32_t>(std::count(body.begin(), body.end(), '\n'));
    if (!body.empty() && body.back() != '\n') ++n;
    return n;
  }

  // Builds the node and its BODYSTRUCTURE (ext=true) and BODY (ext=false) strings.
  void parse(uint64_t begin, uint64_t end, bool digest_child, int depth, PartNode& node,
             std::string& bs, std::string& body) {
    node.header = {begin, header_end(begin, end)};
    node.body = {node.header.end, end};
    std::string_view hdr = msg.substr(node.header.begin, node.header.size());
    auto fields = parse_fields(hdr);
    ContentType ct;
    if (const Field* f = find_field(fields, "Content-Type")) ct = parse_content_type(f->value);
    if (ct.type.empty()) {
      if (digest_child) {
        ct.type = "message";
        ct.subtype = "rfc822";
      } else {
        ct.type = "text";
        ct.subtype = "plain";
        ct.params = {{"charset", "us-ascii"}};
      }
    }
    std::optional<std::string> boundary = ct.param("boundary");
    bool multipart =
        ascii_iequals(ct.type, "multipart") && boundary && !boundary->empty() && depth < kMaxDepth;
    if (ascii_iequals(ct.type, "multipart") && !multipart) {
      ct = ContentType{"text", "plain", {{"charset", "us-ascii"}}};  // unusable multipart
    }
    auto disp = [&]() -> std::string {
      const Field* f = find_field(fields, "Content-Disposition");
      if (!f) return "NIL";
      Disposition d = parse_disposition(f->value);
      if (d.type.empty()) return "NIL";
      return "(" + imap_string(d.type) + " " + params_list(d.params) + ")";
    };
    auto lang = [&]() -> std::string {
      const Field* f = find_field(fields, "Content-Language");
      if (!f) return "NIL";
      std::vector<std::string> tags;
      std::string cur;
      for (char c : f->value + ",") {
        if (c == ',' || c == ' ' || c == '\t') {
          if (!cur.empty()) tags.push_back(cur);
          cur.clear();
        } else {
          cur.push_back(c);
        }
      }
      if (tags.empty()) return "NIL";
      if (tags.size() == 1) return imap_string(tags[0]);
      std::string s = "(";
      for (size_t i = 0; i < tags.size(); ++i) s += (i ? " " : "") + imap_string(tags[i]);
      return s + ")";
    };
    auto field_nstring = [&](std::string_view name) -> std::string {
      const Field* f = find_field(fields, name);
      return f ? imap_nstring(f->value) : std::string("NIL");
    };

    if (multipart) {
      node.kind = PartKind::multipart;
      std::string delim = "--" + *boundary;
      std::vector<std::pair<uint64_t, uint64_t>> spans;  // part begin/end
      uint64_t pos = node.body.begin;
      std::optional<uint64_t> part_begin;
      bool closed = false;
      while (pos < end && !closed) {
        size_t eol = msg.find('\n', pos);
        uint64_t next = (eol == std::string_view::npos || eol >= end) ? end : eol + 1;
        std::string_view line = msg.substr(pos, next - pos);
        if (line.substr(0, delim.size()) == delim) {
          std::string_view rest = line.substr(delim.size());
          bool close = rest.substr(0, 2) == "--";
          if (close) rest.remove_prefix(2);
          bool ok = rest.find_first_not_of(" \t\r\n") == std::string_view::npos;
          if (ok) {
            if (part_begin) {
              // The CRLF before the delimiter belongs to the delimiter (RFC 2046 5.1.1).
              uint64_t pend = pos;
              if (pend > *part_begin && msg[pend - 1] == '\n') --pend;
              if (pend > *part_begin && msg[pend - 1] == '\r') --pend;
              spans.emplace_back(*part_begin, pend);
            }
            part_begin = next;
            if (close) {
              closed = true;
              part_begin.reset();
            }
          }
        }
        pos = next;
      }
      if (part_begin && *part_begin <= end) spans.emplace_back(*part_begin, end);
      if (spans.empty()) spans.emplace_back(end, end);  // keep "1*body" in the grammar
      bool digest = ascii_iequals(ct.subtype, "digest");
      bs = "(";
      body = "(";
      for (const auto& [b, e] : spans) {
        node.children.emplace_back();
        std::string cbs, cbody;
        parse(b, e, digest, depth + 1, node.children.back(), cbs, cbody);
        bs += cbs;
        body += cbody;
      }
      bs += " " + imap_string(ct.subtype) + " " + params_list(ct.params) + " " + disp() + " " +
            lang() + " " + field_nstring("Content-Location") + ")";
      body += " " + imap_string(ct.subtype) + ")";
      return;
    }

    // body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP octets
    std::string enc = "\"7BIT\"";
    if (const Field* f = find_field(fields, "Content-Transfer-Encoding")) {
      std::string v = f->value;
      size_t sp = v.find_first_of(" \t(;");
      if (sp != std::string::npos) v.resize(sp);
      if (!v.empty()) enc = imap_string(v);
    }
    std::string fields_str = params_list(ct.params) + " " + field_nstring("Content-ID") + " " +
                             field_nstring("Content-Description") + " " + enc + " " +
                             std::to_string(node.body.size());
    std::string head =
        "(" + imap_string(ct.type) + " " + imap_string(ct.subtype) + " " + fields_str;
    std::string_view body_text = msg.substr(node.body.begin, node.body.size());
    std::string mid_bs, mid_body;
    if (ascii_iequals(ct.type, "message") && ascii_iequals(ct.subtype, "rfc822") &&
        depth < kMaxDepth) {
      node.kind = PartKind::message;
      node.children.emplace_back();
      std::string cbs, cbody;
      parse(node.body.begin, node.body.end, false, depth + 1, node.children.back(), cbs, cbody);
      const PartNode& inner = node.children.back();
      std::string env =
          build_envelope(parse_fields(msg.substr(inner.header.begin, inner.header.size())));
      std::string lines = std::to_string(count_lines(body_text));
      mid_bs = " " + env + " " + cbs + " " + lines;
      mid_body = " " + env + " " + cbody + " " + lines;
    } else if (ascii_iequals(ct.type, "text")) {
      mid_bs = mid_body = " " + std::to_string(count_lines(body_text));
    }
    body = head + mid_body + ")";
    // body-ext-1part = body-fld-md5 SP body-fld-dsp SP body-fld-lang SP body-fld-loc
    bs = head + mid_bs + " " + field_nstring("Content-MD5") + " " + disp() + " " + lang() + " " +
         field_nstring("Content-Location") + ")";
  }

  static std::string params_list(const std::vector<Param>& params) {
    if (params.empty()) return "NIL";
    std::string s = "(";
    for (size_t i = 0; i < params.size(); ++i) {
      if (i) s += " ";
      s += imap_string(params[i].name) + " " + imap_string(params[i].value);
    }
    return s + ")";
  }
};

std::string address_list(const std::vector<Field>& fields, std::string_view name) {
  const Field* f = find_field(fields, name);
  if (!f) return "NIL";
  auto list = parse_address_list(f->value);
  if (list.empty()) return "NIL";
  std::string s = "(";
  for (const auto& a : list) {
    switch (a.kind) {
      case EnvelopeAddress::Kind::group_start:
        s += "(NIL NIL " + imap_nstring(a.mailbox) + " NIL)";
        break;
      case EnvelopeAddress::Kind::group_end:
        s += "(NIL NIL NIL NIL)";
        break;
      case EnvelopeAddress::Kind::mailbox:
        s += "(" + imap_nstring(a.name) + " " + imap_nstring(a.route) + " " +
             imap_nstring(a.mailbox) + " " + imap_nstring(a.host) + ")";
        break;
    }
  }
  return s + ")";
}

}  // namespace

std::string imap_string(std::string_view s) {
  if (needs_literal(s)) return "{" + std::to_string(s.size()) + "}\r\n" + std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string imap_nstring(const std::optional<std::string>& s) {
  return s ? imap_string(*s) : std::string("NIL");
}

std::string build_envelope(const std::vector<Field>& fields) {
  auto raw = [&](std::string_view name) -> std::string {
    const Field* f = find_field(fields, name);
    return f ? imap_string(f->value) : std::string("NIL");
  };
  // RFC 3501 7.4.2: sender and reply-to default to from.
  std::string from = address_list(fields, "From");
  std::string sender = find_field(fields, "Sender") ? address_list(fields, "Sender") : from;
  std::string reply_to = find_field(fields, "Reply-To") ? address_list(fields, "Reply-To") : from;
  if (sender == "NIL") sender = from;
  if (reply_to == "NIL") reply_to = from;
  return "(" + raw("Date") + " " + raw("Subject") + " " + from + " " + sender + " " + reply_to +
         " " + address_list(fields, "To") + " " + address_list(fields, "Cc") + " " +
         address_list(fields, "Bcc") + " " + raw("In-Reply-To") + " " + raw("Message-ID") + ")";
}

void parse_structure(std::string_view message, Facts& facts) {
  Walker w{message};
  facts.root = PartNode{};
  w.parse(0, message.size(), false, 0, facts.root, facts.bodystructure, facts.body);
  facts.envelope = build_envelope(
      parse_fields(message.substr(facts.root.header.begin, facts.root.header.size())));
}

const PartNode* find_part(const PartNode& root, const std::vector<uint32_t>& parts) {
  // RFC 3501 6.4.5: every message has a part 1; a non-multipart one (a top-level
  // message/rfc822 too) only part 1, which is its body. A part of type MESSAGE/RFC822 has
  // nested part numbers, referring to the parts of its encapsulated message.
  const PartNode* part = &root;
  for (size_t i = 0; i < parts.size(); ++i) {
    uint32_t n = parts[i];
    const PartNode* container = part;  // what number n counts in
    if (i > 0) {
      if (part->kind == PartKind::message)
        container = &part->children[0];
      else if (part->kind == PartKind::leaf)
        return nullptr;
    }
    if (container->kind == PartKind::multipart) {
      if (n == 0 || n > container->children.size()) return nullptr;
      part = &container->children[n - 1];
    } else if (n == 1) {
      part = container;
    } else {
      return nullptr;
    }
  }
  return part;
}

core::Result<Range> locate_section(const PartNode& root, const SectionRef& section) {
  const PartNode* part = find_part(root, section.parts);
  if (!part) return core::not_found("no such part");
  switch (section.text) {
    case SectionText::none:
      if (section.parts.empty()) return Range{root.header.begin, root.body.end};
      return part->body;
    case SectionText::mime:
      if (section.parts.empty()) return core::invalid_argument("MIME needs a part number");
      return part->header;
    case SectionText::header:
    case SectionText::header_fields:
    case SectionText::header_fields_not:
    case SectionText::text: {
      const PartNode* m = part;
      if (!section.parts.empty()) {
        if (part->kind != PartKind::message) return core::not_found("not a message part");
        m = &part->children[0];
      }
      return section.text == SectionText::text ? m->body : m->header;
    }
  }
  return core::not_found("no such part");
}

}  // namespace mailroom::mime
