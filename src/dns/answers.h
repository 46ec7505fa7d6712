// Inside src/dns: a DNS reply, as c-ares delivers it, turned into what the resolver caches
// and hands out. c-ares parses every packet (its ares_parse_*_reply and ares_expand_name
// check lengths and compression pointers); the only bytes read here are the fixed-size
// fields around the names, for TTLs, each read after a bounds check. No fuzz target of our
// own for that reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/dns/resolver.h"

namespace mailroom::dns {

// TTLs above a day are cut to a day: a record that stays that long changes rarely, and a
// restart is not the only way to see a change.
inline constexpr uint32_t kMaxPositiveTtl = 86400;

// RR types and class (RFC 1035 3.2.2, RFC 3596 2.1), by number: <arpa/nameser.h> would bring
// macros such as DELETE, STATUS and QUERY into every file of a unity batch.
inline constexpr int kTypeA = 1;
inline constexpr int kTypeSoa = 6;
inline constexpr int kTypeMx = 15;
inline constexpr int kTypeTxt = 16;
inline constexpr int kTypeAaaa = 28;
inline constexpr int kClassIn = 1;

// One query's result (one type, one name).
struct Answer {
  Outcome outcome = Outcome::temporary;
  std::vector<Mx> mx;              // kTypeMx, in the order of the reply
  std::vector<std::string> items;  // kTypeA / kTypeAaaa: addresses; kTypeTxt: records
  std::string detail;              // when outcome != ok
  uint32_t ttl = 0;                // seconds it may be cached; 0 = not at all
};

// Lower case, one trailing dot removed. False for what cannot be a domain name on the wire
// (empty, longer than 253, an empty or 64+ label, NUL, white space, control characters, a
// backslash that c-ares would read as an escape): those are answered without a query.
bool normalize_name(std::string_view name, std::string* out);

// `status` is the ARES_* code c-ares gave the query callback; `abuf` may be null. Negative
// answers are cached for min(SOA TTL, SOA MINIMUM, negative_ttl_max) (RFC 2308 section 5);
// a negative answer without an SOA is not cached at all.
Answer interpret_reply(int type, int status, const unsigned char* abuf, int alen,
                       int64_t negative_ttl_max);

// "MX", "A", "AAAA", "TXT" for messages.
const char* type_name(int type);

}  // namespace mailroom::dns
