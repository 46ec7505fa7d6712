// LIST/LSUB mailbox patterns (RFC 3501 6.3.8): "*" matches any characters, "%" any but the
// hierarchy delimiter "/". Patterns are untrusted input, so matching never backtracks (a
// recursive matcher is exponential on "******b"): the pattern is compiled once into a
// bit-parallel NFA, and a name is matched in O(len(name) * len(pattern) / 64) word steps
// whatever the wildcards.
//
// INBOX is case-insensitive (RFC 3501 5.1): for a name whose first hierarchy level is "INBOX"
// (the store's canonical spelling), pattern characters that meet those five letters compare
// without case, so "inbox", "InBox/%" and "inb*" all reach it.
//
// Pure; a constructed pattern may be used from any thread (matches() is const).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::imap::proto {

class ListPattern {
 public:
  // Longest pattern a LIST/LSUB accepts (the session answers BAD above it): bounds the work
  // of one name to a few hundred machine words.
  static constexpr size_t kMaxLength = 1024;

  explicit ListPattern(std::string_view pattern);

  // Whether `name` (as the client sees it, "/" separated) matches.
  bool matches(std::string_view name) const;

 private:
  using Bits = std::vector<uint64_t>;
  const Bits& literal_mask(unsigned char c) const;

  std::string tokens_;   // the pattern with runs of wildcards collapsed to one "*" or "%"
  size_t literals_ = 0;  // non-wildcard tokens: a shorter name cannot match
  size_t words_ = 0;     // 64-bit words per state set (states 0..tokens_.size())
  Bits star_, percent_, wild_;
  std::array<int16_t, 256> literal_index_{};  // byte -> index into literal_masks_, -1 none
  std::vector<Bits> literal_masks_;
  Bits none_;
};

}  // namespace mailroom::imap::proto
