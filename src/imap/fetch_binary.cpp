#include "src/imap/fetch_binary.h"

#include <algorithm>

#include "src/mime/transfer_decoding.h"

namespace mailroom::imap {

namespace {

void append_data(std::string& out, std::string_view data) {
  // RFC 3516 4.3: literal8 when the data is binary (NUL octets cannot go in a literal).
  if (data.find('\0') != std::string_view::npos) out += '~';
  out += '{';
  out += std::to_string(data.size());
  out += "}\r\n";
  out.append(data);
}

// Another item of the command reads the same leaf decoded in full (BINARY without a range or
// BINARY.SIZE): decode it whole once instead of counting or cutting.
bool whole_needed(const proto::FetchAtt& a, const std::vector<proto::FetchAtt>& atts) {
  for (const auto& o : atts) {
    if (&o == &a || o.section.text != mime::SectionText::none || o.section.parts != a.section.parts)
      continue;
    if (o.item == proto::FetchItem::binary_size ||
        (o.item == proto::FetchItem::binary && !o.partial))
      return true;
  }
  return false;
}

const std::string& decoded(DecodedParts& parts, const mime::PartNode* node, std::string_view body,
                           mime::TransferEncoding enc, uint64_t need) {
  DecodedParts::Entry* e = nullptr;
  for (auto& x : parts.entries)
    if (x.part == node) e = &x;
  if (e && (e->complete || e->octets.size() >= need)) return e->octets;
  if (!e) e = &parts.entries.emplace_back();
  e->part = node;
  e->octets = mime::decode_transfer(body, enc, need);
  e->complete = need == UINT64_MAX || e->octets.size() < need;
  return e->octets;
}

}  // namespace

bool format_binary(const proto::FetchAtt& a, const std::vector<proto::FetchAtt>& atts,
                   const mime::Facts& facts, std::string_view msg, DecodedParts& parts,
                   std::string& out) {
  bool size_only = a.item == proto::FetchItem::binary_size;
  std::string_view raw;
  std::string filtered;
  const mime::PartNode* leaf = nullptr;
  if (a.section.parts.empty() || a.section.text != mime::SectionText::none) {
    auto range = mime::locate_section(facts.root, a.section);
    if (!range || range->end > msg.size()) {
      out += a.label;
      out += size_only ? " 0" : " NIL";
      return true;
    }
    raw = msg.substr(range->begin, range->size());
    if (a.section.text == mime::SectionText::header_fields ||
        a.section.text == mime::SectionText::header_fields_not) {
      filtered = mime::filter_header(raw, a.fields,
                                     a.section.text == mime::SectionText::header_fields_not);
      raw = filtered;
    }
  } else {
    const mime::PartNode* node = mime::find_part(facts.root, a.section.parts);
    if (!node || node->body.end > msg.size()) {
      out += a.label;
      out += size_only ? " 0" : " NIL";
      return true;
    }
    raw = msg.substr(node->body.begin, node->body.size());
    if (node->kind == mime::PartKind::leaf) leaf = node;
  }
  mime::TransferEncoding enc = mime::TransferEncoding::identity;
  if (leaf) {
    enc = mime::transfer_encoding(msg.substr(leaf->header.begin, leaf->header.size()));
    if (enc == mime::TransferEncoding::unknown) return false;
  }
  std::string_view data = raw;
  if (enc != mime::TransferEncoding::identity) {
    if (size_only && !whole_needed(a, atts)) {
      // Counted, not built (RFC 3516 4.2 warns that BINARY.SIZE may be costly).
      bool have = false;
      for (const auto& e : parts.entries)
        if (e.part == leaf && e.complete) {
          data = e.octets;
          have = true;
        }
      if (!have) {
        out += a.label;
        out += ' ';
        out += std::to_string(mime::decoded_size(raw, enc));
        return true;
      }
    } else {
      uint64_t need = UINT64_MAX;
      if (!size_only && a.partial && !whole_needed(a, atts) &&
          a.partial->second < UINT64_MAX - a.partial->first)
        need = a.partial->first + a.partial->second;
      data = decoded(parts, leaf, raw, enc, need);
    }
  }
  out += a.label;
  out += ' ';
  if (size_only) {
    out += std::to_string(data.size());
    return true;
  }
  if (a.partial) {
    uint64_t origin = a.partial->first, size = a.partial->second;
    data = origin >= data.size() ? std::string_view() : data.substr(origin, size);
  }
  append_data(out, data);
  return true;
}

}  // namespace mailroom::imap
