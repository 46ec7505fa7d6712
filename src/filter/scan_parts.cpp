#include "src/filter/scan_parts.h"

#include <algorithm>
#include <array>

#include "src/core/base64.h"
#include "src/mime/facts.h"
#include "src/mime/header_fields.h"
#include "src/mime/transfer_decoding.h"

namespace mailroom::filter {

namespace {

// Encodings inside a part that ClamAV's mail parser decodes on its own (libclamav mbox.c):
// uuencode ("begin" with a mode at the start of a line), yEnc, BinHex 4.0.
bool holds_inner_encoding(std::string_view s) {
  constexpr std::array<std::string_view, 2> kMarkers = {"=ybegin ",
                                                        "(This file must be converted with BinHex"};
  for (std::string_view m : kMarkers) {
    if (s.find(m) != std::string_view::npos) return true;
  }
  for (size_t pos = s.find("begin "); pos != std::string_view::npos;
       pos = s.find("begin ", pos + 1)) {
    if (pos != 0 && s[pos - 1] != '\n') continue;
    size_t d = pos + 6;
    size_t digits = 0;
    while (d < s.size() && s[d] >= '0' && s[d] <= '7') ++d, ++digits;
    if (digits >= 3 && digits <= 4 && d < s.size() && s[d] == ' ') return true;
  }
  return false;
}

// Our base64 decoder stops at the first "=" (RFC 2045 6.8); ClamAV's decodes line by line and
// goes on. Data after the padding would be cut from both the leaf and the skeleton.
bool data_after_padding(std::string_view body) {
  size_t eq = body.find('=');
  if (eq == std::string_view::npos) return false;
  return std::any_of(body.begin() + static_cast<std::ptrdiff_t>(eq), body.end(),
                     [](char c) { return core::base64_value(c) >= 0; });
}

size_t count_fields(const std::vector<mime::Field>& fields, std::string_view name) {
  return static_cast<size_t>(std::count_if(fields.begin(), fields.end(), [&](const auto& f) {
    return mime::ascii_iequals(f.name, name);
  }));
}

struct Splitter {
  std::string_view msg;
  const SplitLimits& limits;
  ScanUnits& out;
  std::vector<mime::Range> cut;  // leaf bodies, in message order

  bool fail(std::string why) {
    out.whole = true;
    out.reason = std::move(why);
    return false;
  }

  bool walk(const mime::PartNode& node, int depth) {
    if (depth > limits.max_depth)
      return fail("nesting deeper than " + std::to_string(limits.max_depth));
    std::string_view header = msg.substr(node.header.begin, node.header.size());
    auto fields = mime::parse_fields(header);
    // We read the first of each; another reader may take the last.
    if (count_fields(fields, "Content-Type") > 1 ||
        count_fields(fields, "Content-Transfer-Encoding") > 1) {
      return fail("a repeated Content-Type or Content-Transfer-Encoding");
    }
    mime::TransferEncoding enc = mime::transfer_encoding(header);
    switch (node.kind) {
      case mime::PartKind::multipart:
        for (const auto& child : node.children) {
          if (!walk(child, depth + 1)) return false;
        }
        return true;
      case mime::PartKind::message:
        if (enc != mime::TransferEncoding::identity) {
          return fail("an encoded message/rfc822 part");
        }
        return node.children.empty() || walk(node.children.front(), depth + 1);
      case mime::PartKind::leaf:
        break;
    }
    if (enc == mime::TransferEncoding::unknown) return fail("a transfer encoding we do not decode");
    // A multipart our parser could not read (no usable boundary, e.g. RFC 2231 "boundary*0")
    // is a leaf to us; the engine may still split it.
    if (const mime::Field* ct = mime::find_field(fields, "Content-Type");
        ct && ct->value.size() >= 9 && mime::ascii_iequals(ct->value.substr(0, 9), "multipart")) {
      return fail("a multipart whose boundary we cannot read");
    }
    if (out.leaves.size() >= limits.max_leaves) {
      return fail("more than " + std::to_string(limits.max_leaves) + " parts");
    }
    std::string_view body = msg.substr(node.body.begin, node.body.size());
    if (enc == mime::TransferEncoding::base64 && data_after_padding(body))
      return fail("base64 data after the padding");
    if (mime::decoded_size(body, enc) > limits.max_leaf_bytes)
      return fail("a part over the size limit");
    std::string decoded = mime::decode_transfer(body, enc);
    if (holds_inner_encoding(decoded)) return fail("uuencode, yEnc or BinHex inside a part");
    out.leaves.push_back(std::move(decoded));
    cut.push_back(node.body);
    return true;
  }
};

}  // namespace

ScanUnits split_for_scan(std::string_view message, const SplitLimits& limits) {
  ScanUnits out;
  mime::Facts facts = mime::parse_facts(message);
  Splitter s{message, limits, out, {}};
  if (!s.walk(facts.root, 0)) {
    out.leaves.clear();
    return out;
  }
  // The leaves come in message order and do not overlap; what lies between them stays.
  out.skeleton.reserve(message.size() < 4096 ? message.size() : 4096);
  uint64_t pos = 0;
  for (const mime::Range& r : s.cut) {
    uint64_t begin = std::max(r.begin, pos);
    if (begin > pos) out.skeleton.append(message.substr(pos, begin - pos));
    pos = std::max(pos, r.end);
  }
  if (pos < message.size()) out.skeleton.append(message.substr(pos));
  if (holds_inner_encoding(out.skeleton)) {
    ScanUnits whole;
    whole.whole = true;
    whole.reason = "uuencode, yEnc or BinHex outside the parts";
    return whole;
  }
  return out;
}

}  // namespace mailroom::filter
