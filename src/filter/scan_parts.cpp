#include "src/filter/scan_parts.h"

#include <algorithm>
#include <array>

#include "src/mime/facts.h"
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
    mime::TransferEncoding enc =
        mime::transfer_encoding(msg.substr(node.header.begin, node.header.size()));
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
    if (out.leaves.size() >= limits.max_leaves) {
      return fail("more than " + std::to_string(limits.max_leaves) + " parts");
    }
    std::string_view body = msg.substr(node.body.begin, node.body.size());
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
