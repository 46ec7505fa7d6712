// libFuzzer target: the antivirus part splitter (src/filter/scan_parts.h) over any message.
// Invariants: no crash, leak or UB; a message handed back whole says why and has no leaves;
// a split message has no more leaves than the limit, and the skeleton plus the decoded leaves
// are never longer than the message (leaves are disjoint and decoding never grows).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "src/filter/scan_parts.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view msg(reinterpret_cast<const char*>(data), size);
  mailroom::filter::SplitLimits limits;
  limits.max_leaves = 64;
  limits.max_depth = 8;
  limits.max_leaf_bytes = 1 << 16;
  auto u = mailroom::filter::split_for_scan(msg, limits);
  if (u.whole) {
    if (u.reason.empty() || !u.leaves.empty()) __builtin_trap();
    return 0;
  }
  if (u.leaves.size() > limits.max_leaves) __builtin_trap();
  size_t total = u.skeleton.size();
  for (const auto& l : u.leaves) total += l.size();
  if (total > size) __builtin_trap();
  return 0;
}
