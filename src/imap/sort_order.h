// RFC 5256 SORT over precomputed keys (src/imap/sort_keys.h): pure, no I/O, so the SORT
// command, its unit tests and bench/imap/bench_sort_keys.cpp run the same code.
#pragma once

#include <cstdint>
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

// The positions of `in` in SORT order (RFC 5256 3) for `criteria` ({name, reverse}: ARRIVAL,
// CC, DATE, FROM, SIZE, SUBJECT, TO; other names compare equal); ties keep the order of `in`
// (the sequence numbers). Text keys are in i;unicode-casemap form, compared as octets
// (RFC 5256 7, RFC 5051).
std::vector<uint32_t> sort_order(const std::vector<SortInput>& in,
                                 const std::vector<std::pair<std::string, bool>>& criteria);

}  // namespace mailroom::imap
