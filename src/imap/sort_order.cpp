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

// One criterion of RFC 5256 3, as the comparisons below need it.
struct Criterion {
  enum Kind : uint8_t { arrival, date, size, text } kind = arrival;
  KeyText key = KeyText::base_subject;  // text
  bool reverse = false;
};

// The criteria SORT compares; names it does not know compare equal, so they are left out.
std::vector<Criterion> compile(const SortCriteria& criteria) {
  std::vector<Criterion> out;
  for (const auto& [name, reverse] : criteria) {
    Criterion c;
    c.reverse = reverse;
    if (name == "ARRIVAL") {
      c.kind = Criterion::arrival;
    } else if (name == "DATE") {
      c.kind = Criterion::date;
    } else if (name == "SIZE") {
      c.kind = Criterion::size;
    } else if (name == "FROM" || name == "TO" || name == "CC" || name == "SUBJECT" ||
               name == "DISPLAYFROM" || name == "DISPLAYTO") {
      c.kind = Criterion::text;
      c.key = name == "FROM"          ? KeyText::sort_from
              : name == "TO"          ? KeyText::sort_to
              : name == "CC"          ? KeyText::sort_cc
              : name == "DISPLAYFROM" ? KeyText::display_from  // RFC 5957 4
              : name == "DISPLAYTO"   ? KeyText::display_to
                                      : KeyText::base_subject;  // RFC 5256 2.1
    } else {
      continue;
    }
    out.push_back(c);
  }
  return out;
}

int64_t number_of(const Criterion& c, const SortInput& r) {
  switch (c.kind) {
    case Criterion::date:
      // RFC 5256 2.2: the sent date, or INTERNALDATE when the Date: header is missing/invalid.
      return r.keys.has_sent_date() ? r.keys.sent_date() : r.internal_date;
    case Criterion::size:
      return static_cast<int64_t>(r.size);
    default:
      return r.internal_date;
  }
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

// The whole order on positions without columns: for merging a few messages into an order
// computed before (sort_order_from), where building columns of every message would cost more
// than the comparisons.
struct FullLess {
  const std::vector<Criterion>& crits;
  const SortInputOf& input;
  bool operator()(uint32_t a, uint32_t b) const {
    SortInput x = input(a), y = input(b);
    for (const Criterion& c : crits) {
      int cmp;
      if (c.kind == Criterion::text) {
        cmp = x.keys.text(c.key).compare(y.keys.text(c.key));
      } else {
        int64_t u = number_of(c, x), v = number_of(c, y);
        cmp = (u > v) - (u < v);
      }
      if (cmp != 0) return c.reverse ? cmp > 0 : cmp < 0;
    }
    return a < b;
  }
};

}  // namespace

std::vector<uint32_t> sort_order(const std::vector<SortInput>& in, const SortCriteria& criteria) {
  std::vector<SortColumn> cols;
  for (const Criterion& k : compile(criteria)) {
    SortColumn c;
    c.reverse = k.reverse;
    c.text = k.kind == Criterion::text;
    if (c.text) {
      c.key.reserve(in.size());
      for (const auto& r : in) c.key.push_back(r.keys.text(k.key));
    } else {
      c.number.reserve(in.size());
      for (const auto& r : in) c.number.push_back(number_of(k, r));
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

std::vector<uint32_t> sort_order_from(const std::vector<uint32_t>& uids, const SortInputOf& input,
                                      const SortCriteria& criteria,
                                      const std::vector<uint32_t>& previous, bool* unchanged) {
  const size_t n = uids.size();
  if (unchanged) *unchanged = false;
  if (n == 0) return {};
  // Position of a UID: a dense table when the UIDs are not too sparse, else bisection.
  constexpr uint32_t kNone = UINT32_MAX;
  const uint32_t lo = uids.front(), span = uids.back() - uids.front() + 1;
  std::vector<uint32_t> dense;
  if (span <= 4 * n + 1024) {
    dense.assign(span, kNone);
    for (uint32_t i = 0; i < n; ++i) dense[uids[i] - lo] = i;
  }
  auto position = [&](uint32_t uid) {
    if (uid < lo || uid - lo >= span) return kNone;
    if (!dense.empty()) return dense[uid - lo];
    auto it = std::lower_bound(uids.begin(), uids.end(), uid);
    return it != uids.end() && *it == uid ? static_cast<uint32_t>(it - uids.begin()) : kNone;
  };
  // The messages still there, in their earlier order (leaving some out keeps it right).
  std::vector<uint32_t> kept;
  kept.reserve(n);
  std::vector<bool> seen(n, false);
  for (uint32_t uid : previous) {
    uint32_t p = position(uid);
    if (p == kNone || seen[p]) continue;
    seen[p] = true;
    kept.push_back(p);
  }
  std::vector<uint32_t> fresh;
  for (uint32_t i = 0; i < n; ++i)
    if (!seen[i]) fresh.push_back(i);
  if (fresh.empty()) {
    if (unchanged) *unchanged = kept.size() == previous.size();
    return kept;
  }
  // Each new message costs a bisection of the order (log n comparisons, each reading two
  // records); past about n / 32 of them one sort of everything is cheaper.
  if (fresh.size() * 32 > n) {
    std::vector<SortInput> in;
    in.reserve(n);
    for (uint32_t i = 0; i < n; ++i) in.push_back(input(i));
    return sort_order(in, criteria);
  }
  std::vector<Criterion> crits = compile(criteria);
  FullLess less{crits, input};
  std::sort(fresh.begin(), fresh.end(), less);
  std::vector<uint32_t> out;
  out.reserve(n);
  auto from = kept.begin();
  for (uint32_t f : fresh) {
    auto at = std::upper_bound(from, kept.end(), f, less);
    out.insert(out.end(), from, at);
    out.push_back(f);
    from = at;
  }
  out.insert(out.end(), from, kept.end());
  return out;
}

std::shared_ptr<const std::vector<uint32_t>> SortOrderCache::find(const std::string& criteria) {
  std::lock_guard<std::mutex> lk(mu_);
  for (size_t i = 0; i < orders_.size(); ++i) {
    if (orders_[i].first != criteria) continue;
    std::rotate(orders_.begin(), orders_.begin() + static_cast<ptrdiff_t>(i),
                orders_.begin() + static_cast<ptrdiff_t>(i + 1));
    return orders_.front().second;
  }
  return nullptr;
}

void SortOrderCache::put(const std::string& criteria,
                         std::shared_ptr<const std::vector<uint32_t>> uids) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = std::find_if(orders_.begin(), orders_.end(),
                         [&](const auto& o) { return o.first == criteria; });
  if (it != orders_.end()) orders_.erase(it);
  orders_.insert(orders_.begin(), {criteria, std::move(uids)});
  if (orders_.size() > kMaxOrders) orders_.pop_back();
}

size_t SortOrderCache::bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  size_t b = 0;
  for (const auto& [criteria, uids] : orders_) b += criteria.size() + 4 * uids->size();
  return b;
}

std::string sort_criteria_key(const SortCriteria& criteria) {
  std::string key;
  for (const auto& [name, reverse] : criteria) {
    if (!key.empty()) key += ' ';
    if (reverse) key += "REVERSE ";
    key += name;
  }
  return key;
}

}  // namespace mailroom::imap
