#include "src/imap/proto/list_pattern.h"

#include <cctype>

namespace mailroom::imap::proto {
namespace {

bool is_wildcard(char c) { return c == '*' || c == '%'; }

void set_bit(std::vector<uint64_t>& bits, size_t i) { bits[i / 64] |= uint64_t{1} << (i % 64); }

bool test_bit(const std::vector<uint64_t>& bits, size_t i) {
  return (bits[i / 64] >> (i % 64)) & 1;
}

// out |= (in << 1): state j of `in` enables state j + 1.
void or_shifted(std::vector<uint64_t>& out, const std::vector<uint64_t>& in) {
  uint64_t carry = 0;
  for (size_t w = 0; w < in.size(); ++w) {
    out[w] |= (in[w] << 1) | carry;
    carry = in[w] >> 63;
  }
}

// A name whose first level is INBOX: its first five characters compare without case.
bool inbox_rooted(std::string_view name) {
  return name.substr(0, 5) == "INBOX" && (name.size() == 5 || name[5] == '/');
}

}  // namespace

ListPattern::ListPattern(std::string_view pattern) {
  // "**", "%*" and "*%" match what "*" matches; "%%" what "%" matches. Collapsing them keeps
  // the wildcard states apart, so one shift step is the whole empty-match closure below.
  for (size_t i = 0; i < pattern.size();) {
    if (!is_wildcard(pattern[i])) {
      tokens_.push_back(pattern[i++]);
      ++literals_;
      continue;
    }
    bool star = false;
    for (; i < pattern.size() && is_wildcard(pattern[i]); ++i) star = star || pattern[i] == '*';
    tokens_.push_back(star ? '*' : '%');
  }
  words_ = (tokens_.size() + 1 + 63) / 64;
  star_.assign(words_, 0);
  percent_.assign(words_, 0);
  wild_.assign(words_, 0);
  none_.assign(words_, 0);
  literal_index_.fill(-1);
  for (size_t j = 0; j < tokens_.size(); ++j) {
    auto c = static_cast<unsigned char>(tokens_[j]);
    if (c == '*' || c == '%') {
      set_bit(c == '*' ? star_ : percent_, j);
      set_bit(wild_, j);
      continue;
    }
    if (literal_index_[c] < 0) {
      literal_index_[c] = static_cast<int16_t>(literal_masks_.size());
      literal_masks_.emplace_back(words_, 0);
    }
    set_bit(literal_masks_[literal_index_[c]], j);
  }
}

const ListPattern::Bits& ListPattern::literal_mask(unsigned char c) const {
  int16_t i = literal_index_[c];
  return i < 0 ? none_ : literal_masks_[i];
}

bool ListPattern::matches(std::string_view name) const {
  if (literals_ > name.size()) return false;
  // State j: tokens_[0, j) matched so far; tokens_.size() accepts.
  Bits states(words_, 0), next(words_, 0), scratch(words_, 0);
  set_bit(states, 0);
  auto close = [&](Bits& s) {  // a wildcard may match nothing
    for (size_t w = 0; w < words_; ++w) scratch[w] = s[w] & wild_[w];
    or_shifted(s, scratch);
  };
  close(states);
  bool inbox = inbox_rooted(name);
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    const Bits& lit = literal_mask(c);
    const Bits& lower =
        inbox && i < 5 ? literal_mask(static_cast<unsigned char>(std::tolower(c))) : none_;
    bool any = false;
    for (size_t w = 0; w < words_; ++w) {
      scratch[w] = states[w] & (lit[w] | lower[w]);  // literal steps, shifted below
      next[w] = (states[w] & star_[w]) | (c != '/' ? states[w] & percent_[w] : 0);
    }
    or_shifted(next, scratch);
    close(next);
    for (size_t w = 0; w < words_; ++w) any = any || next[w] != 0;
    if (!any) return false;
    states.swap(next);
  }
  return test_bit(states, tokens_.size());
}

}  // namespace mailroom::imap::proto
