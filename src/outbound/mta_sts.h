// MTA-STS (RFC 8461): the pure parts — the TXT record, the policy file, MX pattern matching
// and the per-domain policy cache. No I/O here; the discovery (DNS, HTTPS) is in
// mta_sts_fetch.h and the use of a policy in outbound.cpp.
//
// Threading: none of these types lock; the cache lives on the outbound I/O thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::outbound {

enum class StsMode : uint8_t { none, testing, enforce };
const char* sts_mode_name(StsMode mode);

// RFC 8461 3.2.
struct StsPolicy {
  StsMode mode = StsMode::none;
  std::vector<std::string> mx;  // lower case, no trailing dot; "*.example.net" allowed
  int64_t max_age = 0;          // seconds, 0..31557600

  // RFC 8461 4.1: does the MX host `host` match one of the mx patterns?
  bool matches(std::string_view host) const;
};

constexpr int64_t kStsMaxAgeLimit = 31557600;
constexpr size_t kStsMaxPolicyBytes = 64 * 1024;  // RFC 8461 3.3: "SHOULD" limit

// The policy file's body (CRLF or LF lines of "key: value"). nullopt (with `error` set when
// given) for anything RFC 8461 3.2 calls invalid: a missing or other version, a missing or
// unknown mode, a missing or out-of-range max_age, no mx in enforce/testing mode, a malformed
// line or mx pattern. Unknown keys are ignored; of repeated keys other than mx the first counts.
// A policy of mode none may come without mx (RFC 8461 8.3: how a domain withdraws).
std::optional<StsPolicy> parse_sts_policy(std::string_view body, std::string* error = nullptr);

// RFC 8461 4.1: `pattern` ("mx.example.net" or "*.example.net") against `host`; case-
// insensitive, trailing dots ignored; the wildcard stands for exactly one leftmost label.
bool sts_mx_matches(std::string_view pattern, std::string_view host);

// RFC 8461 3.1: the TXT records at _mta-sts.<domain>. Records not beginning with "v=STSv1"
// are discarded; the id of the one remaining record, or nullopt when there are none, more
// than one, or it is malformed (id missing or not 1-32 letters and digits).
std::optional<std::string> parse_sts_txt(const std::vector<std::string>& records,
                                         std::string* error = nullptr);

// Policies by domain, each with the TXT id it was fetched under and its expiry (fetch time +
// max_age, RFC 8461 5.1). Bounded: the oldest expiry is dropped when full.
class StsCache {
 public:
  struct Entry {
    std::string id;
    StsPolicy policy;
    int64_t expires = 0;  // Unix seconds
  };
  explicit StsCache(size_t max_entries = 10000) : max_entries_(max_entries) {}

  // The entry for `domain` when it has not expired at `now`, else null (and it is dropped).
  const Entry* find(const std::string& domain, int64_t now);
  void store(const std::string& domain, std::string id, StsPolicy policy, int64_t now);
  size_t size() const { return entries_.size(); }

 private:
  size_t max_entries_;
  std::map<std::string, Entry> entries_;
};

}  // namespace mailroom::outbound
