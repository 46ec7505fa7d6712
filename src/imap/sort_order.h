// RFC 5256 SORT over precomputed keys (src/imap/sort_keys.h): pure, no I/O, so the SORT
// command, its unit tests and bench/imap/bench_sort_keys.cpp run the same code.
//
// The order is a fixed total order on a mailbox's messages: the criteria compare keys that
// depend only on the immutable message (its key record, INTERNALDATE, RFC822.SIZE), and ties
// go to the lower sequence number, i.e. the lower UID. So the order of any subset of the
// mailbox is the mailbox's order with the other messages left out, and an order computed
// earlier stays right for the UIDs still there; sort_order_from() and SortOrderCache use this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "src/imap/sort_key_file.h"

namespace mailroom::imap {

// One message as SORT sees it.
struct SortInput {
  KeyRecord keys;             // KeyRecord{} when the message has none
  int64_t internal_date = 0;  // ARRIVAL, and DATE without a usable Date: header
  uint64_t size = 0;          // SIZE
};

using SortCriteria = std::vector<std::pair<std::string, bool>>;  // {name, reverse}

// The positions of `in` in SORT order (RFC 5256 3) for `criteria` ({name, reverse}: ARRIVAL,
// CC, DATE, FROM, SIZE, SUBJECT, TO; other names compare equal); ties keep the order of `in`
// (the sequence numbers). Text keys are in i;unicode-casemap form, compared as octets
// (RFC 5256 7, RFC 5051).
std::vector<uint32_t> sort_order(const std::vector<SortInput>& in, const SortCriteria& criteria);

// The SortInput of position i (0 <= i < the number of messages).
using SortInputOf = std::function<SortInput(uint32_t)>;

// sort_order() of the messages `input` describes, computed from `previous`, the UIDs of an
// earlier result for the same criteria over the same mailbox incarnation (any set of its
// UIDs, in that order): `uids` (ascending) are the messages' UIDs. UIDs of `previous` not in
// `uids` (expunged) are left out, UIDs not in `previous` (new mail) are sorted and merged in;
// many new ones make it sort afresh. `input` is asked only for the new messages and those
// they are compared with (or every message when it sorts afresh). `unchanged` (optional) is
// set when the result is `previous` itself. The caller vouches that every message of
// `previous` had the keys it has now (records are immutable; a message without a record
// must not be in `previous`).
std::vector<uint32_t> sort_order_from(const std::vector<uint32_t>& uids, const SortInputOf& input,
                                      const SortCriteria& criteria,
                                      const std::vector<uint32_t>& previous,
                                      bool* unchanged = nullptr);

// The SORT orders last computed over one mailbox incarnation: per criteria list, every UID
// of the mailbox in that order (4 bytes per message), for at most kMaxOrders criteria lists
// (the least recently used goes). Kept with the mailbox's key table in SortKeyRegistry, so
// dropped with it, and its bytes() count towards the registry's budget. Thread-safe; the
// orders handed out are immutable.
class SortOrderCache {
 public:
  static constexpr size_t kMaxOrders = 4;
  // The UIDs in order for `criteria` (sort_criteria_key()), or null.
  std::shared_ptr<const std::vector<uint32_t>> find(const std::string& criteria);
  void put(const std::string& criteria, std::shared_ptr<const std::vector<uint32_t>> uids);
  size_t bytes() const;

 private:
  mutable std::mutex mu_;
  // Most recently used first.
  std::vector<std::pair<std::string, std::shared_ptr<const std::vector<uint32_t>>>> orders_;
};

// The cache key of a criteria list ("REVERSE DATE SIZE" ...).
std::string sort_criteria_key(const SortCriteria& criteria);

}  // namespace mailroom::imap
