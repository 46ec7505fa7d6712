// SORT over precomputed keys. Each criterion becomes a column computed once; the entries
// sorted carry the first criterion inline (a text key as its first 24 octets in three numbers),
// so most comparisons are two integer compares in a contiguous array: 100,000 keys in the
// mapped file would otherwise cost a cache miss per comparison.
#include "src/imap/sort_order.h"

#include <algorithm>
#include <cstring>

namespace mailroom::imap {
namespace {

// Octets [at, at + 8) of a key, big-endian, zero-padded: two keys whose prefixes differ are
// ordered as their octets are; equal prefixes fall back to comparing the texts.
uint64_t sort_key_word(std::string_view s, size_t at) {
  unsigned char b[8] = {};
  if (at < s.size()) std::memcpy(b, s.data() + at, std::min<size_t>(8, s.size() - at));
  uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v;
}

struct SortColumn {
  bool reverse = false;
  bool text = false;
  std::vector<int64_t> number;        // ARRIVAL, DATE, SIZE
  std::vector<std::string_view> key;  // FROM, TO, CC, SUBJECT
};

// What the sort moves: the first criterion's key inline (a number, or a text's first 24
// octets: subjects often share a list tag or ticket prefix), so most comparisons touch
// neither the columns nor the mapped texts.
struct SortEntry {
  uint64_t k0 = 0, k1 = 0, k2 = 0;  // ascending order is the criterion's (reverse: inverted)
  uint32_t index = 0;
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
      for (const auto& r : in) c.key.push_back(r.keys.text(t));
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
  std::vector<SortEntry> entries(in.size());
  for (uint32_t i = 0; i < entries.size(); ++i) {
    SortEntry& e = entries[i];
    e.index = i;
    if (cols.empty()) continue;
    const SortColumn& c = cols[0];
    if (c.text) {
      e.k0 = sort_key_word(c.key[i], 0);
      e.k1 = sort_key_word(c.key[i], 8);
      e.k2 = sort_key_word(c.key[i], 16);
    } else {
      e.k0 = static_cast<uint64_t>(c.number[i]) ^ (uint64_t{1} << 63);  // signed order
    }
    if (c.reverse) e.k0 = ~e.k0, e.k1 = ~e.k1, e.k2 = ~e.k2;
  }
  // The rest of the order for entries equal in k0..k2: the first criterion's whole text, then
  // the other criteria, then the position (the sequence number).
  auto tie = [&](uint32_t a, uint32_t b) {
    for (size_t k = 0; k < cols.size(); ++k) {
      const SortColumn& c = cols[k];
      int cmp;
      if (!c.text)
        cmp = (c.number[a] > c.number[b]) - (c.number[a] < c.number[b]);
      else if (k == 0 && c.key[a].size() <= 24 && c.key[b].size() <= 24)
        cmp = (c.key[a].size() > c.key[b].size()) - (c.key[a].size() < c.key[b].size());
      else
        cmp = c.key[a].compare(c.key[b]);
      if (cmp != 0) return c.reverse ? cmp > 0 : cmp < 0;
    }
    return a < b;
  };
  std::sort(entries.begin(), entries.end(), [&](const SortEntry& a, const SortEntry& b) {
    if (a.k0 != b.k0) return a.k0 < b.k0;
    if (a.k1 != b.k1) return a.k1 < b.k1;
    if (a.k2 != b.k2) return a.k2 < b.k2;
    return tie(a.index, b.index);
  });
  std::vector<uint32_t> order;
  order.reserve(entries.size());
  for (const auto& e : entries) order.push_back(e.index);
  return order;
}

}  // namespace mailroom::imap
