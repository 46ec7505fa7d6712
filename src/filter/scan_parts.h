// A message cut into what a virus engine scans, without the engine's own mail parser
// (issue 21: ClamAV's MIME parser writes every part to a temporary file, and its fixed cost
// per message was more than mailroomd's whole delivery).
//
// split_for_scan() parses the MIME structure (src/mime, the parser IMAP uses) and returns:
// - the skeleton: the message with the body of every leaf cut out, i.e. the top-level and
//   nested headers, the MIME headers of every part, boundaries, preambles and epilogues.
//   It is scanned as mail but not parsed as mail, so signatures written for the raw mail
//   (ClamAV target type 4, headers) still match it;
// - every leaf's content, decoded (base64, quoted-printable; RFC 2045 section 6), each
//   scanned as a file of its own with every other parser on: archives, documents, HTML,
//   nested types. A message/rfc822 part (RFC 2046 section 5.2.1) is walked like the
//   top-level message: its header goes to the skeleton and its leaves are decoded here.
// When the message holds something only the engine's own mail parser decodes, `whole` is set
// with the reason and the caller scans the message as one file as before:
// - a Content-Transfer-Encoding we do not decode (x-uuencode, typos), also on a message/rfc822
//   part (RFC 2046 5.2.1 allows only 7bit, 8bit, binary there);
// - uuencode, BinHex or yEnc inside a leaf (ClamAV finds them inside text parts);
// - deeper nesting or more leaves than `SplitLimits` allow.
//
// Contract: pure, thread-safe, never fails (any byte string is a message). Bounded: at most
// max_leaves leaves, nesting max_depth, each leaf decoded up to max_leaf_bytes (a larger
// leaf makes the whole message go to the engine, whose size limits then apply).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::filter {

struct SplitLimits {
  size_t max_leaves = 256;
  int max_depth = 16;
  uint64_t max_leaf_bytes = 25u << 20;
};

struct ScanUnits {
  bool whole = false;               // scan the message as one file instead
  std::string reason;               // why (`whole`), for the log
  std::string skeleton;             // the message without the leaf bodies
  std::vector<std::string> leaves;  // each leaf's decoded content, in order
};

ScanUnits split_for_scan(std::string_view message, const SplitLimits& limits = {});

}  // namespace mailroom::filter
