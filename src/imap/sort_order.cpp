// SORT over precomputed keys. Each criterion becomes a column computed once; text keys carry
// their first 8 octets as a number, so most comparisons never touch the text.
#include "src/imap/sort_order.h"

#include <algorithm>
#include <cstring>

namespace mailroom::imap {
namespace {

// The first 8 octets of a key, big-endian, zero-padded: two keys whose prefixes differ are
// ordered as their octets are; equal prefixes fall back to comparing the texts.
uint64_t sort_key_prefix(std::string_view s) {
  unsigned char b[8] = {};
  std::memcpy(b, s.data(), std::min<size_t>(8, s.size()));
  uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v;
}

struct SortColumn {
  bool reverse = false;
  bool text = false;
  std::vector<int64_t> number;                             // ARRIVAL, DATE, SIZE
  std::vector<std::pair<uint64_t, std::string_view>> key;  // FROM, TO, CC, SUBJECT
};

}  // namespace

std::vector<uint32_t> sort_order(const std::vector<SortInput>& in,
                                 const std::vector<std::pair<std::string, bool>>& criteria) {
  std::vector<SortColumn> cols;
  for (const auto& [name, reverse] : criteria) {
    SortColumn c;
    c.reverse = reverse;
    auto text_key = [&](KeyText t) {
      c.text = true;
      c.key.reserve(in.size());
      for (const auto& r : in) {
        std::string_view v = r.keys.text(t);
        c.key.emplace_back(sort_key_prefix(v), v);
      }
    };
    if (name == "ARRIVAL") {
      for (const auto& r : in) c.number.push_back(r.internal_date);
    } else if (name == "DATE") {
      // RFC 5256 2.2: the sent date, or INTERNALDATE when the Date: header is missing/invalid.
      for (const auto& r : in)
        c.number.push_back(r.keys.has_sent_date() ? r.keys.sent_date() : r.internal_date);
    } else if (name == "SIZE") {
      for (const auto& r : in) c.number.push_back(static_cast<int64_t>(r.size));
    } else if (name == "FROM") {
      text_key(KeyText::sort_from);
    } else if (name == "TO") {
      text_key(KeyText::sort_to);
    } else if (name == "CC") {
      text_key(KeyText::sort_cc);
    } else if (name == "SUBJECT") {
      text_key(KeyText::base_subject);  // RFC 5256 2.1
    } else {
      continue;
    }
    cols.push_back(std::move(c));
  }
  std::vector<uint32_t> order(in.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    for (const auto& c : cols) {
      int cmp;
      if (!c.text) {
        cmp = (c.number[a] > c.number[b]) - (c.number[a] < c.number[b]);
      } else if (c.key[a].first != c.key[b].first) {
        cmp = c.key[a].first < c.key[b].first ? -1 : 1;
      } else {
        cmp = c.key[a].second.compare(c.key[b].second);
      }
      if (cmp != 0) return c.reverse ? cmp > 0 : cmp < 0;
    }
    return a < b;
  });
  return order;
}

}  // namespace mailroom::imap
