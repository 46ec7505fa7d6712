// Comparators (RFC 4790: i;octet, i;ascii-casemap, i;ascii-numeric) and match types (RFC 5228
// 2.7.1 :is :contains :matches, RFC 5231 :value :count) on strings.
//
// :matches uses the iterative glob algorithm (one back-up point: the last "*"), so a pattern
// costs at most O(pattern x text) steps, never exponential time; every step is charged to a
// budget so that a hostile pattern against a large header ends the run (CPU limit) instead of
// occupying a delivery thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::sieve {

enum class Comparator { octet, ascii_casemap, ascii_numeric };
enum class MatchType { is, contains, matches, value, count };
enum class Relation { gt, ge, lt, le, eq, ne };

std::optional<Comparator> comparator_named(std::string_view name);
Relation relation_named(std::string_view op);  // gt ge lt le eq ne (checked by the parser)

// A step budget; exhausted() once more than `limit` steps were charged.
struct Budget {
  uint64_t limit = 0;
  uint64_t used = 0;
  bool charge(uint64_t n) {
    used += n;
    return used <= limit;
  }
  bool exhausted() const { return used > limit; }
};

// :matches of `text` against `pattern` ("*" any run, "?" one octet, "\" escapes the next).
// On a match, `captures` (when given) receives ${0} (the whole text) and one entry per
// wildcard in pattern order (RFC 5229 3.2: the leftmost wildcards match as little as they can).
bool glob_match(std::string_view pattern, std::string_view text, Comparator c, Budget& budget,
                std::vector<std::string>* captures = nullptr);

// Ordering of two values by the comparator (RFC 4790 9.1.1: for i;ascii-numeric, a string not
// starting with a digit is larger than every number, and all such strings are equal).
int compare(std::string_view a, std::string_view b, Comparator c);
bool relation_holds(int cmp, Relation r);

// Escapes "*", "?" and "\" (set :quotewildcard, RFC 5229 4.1).
std::string quote_wildcard(std::string_view s);

}  // namespace mailroom::sieve
