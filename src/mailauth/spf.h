// SPF (RFC 7208): check_host() for the MAIL FROM identity (and HELO when MAIL FROM is <>).
//
// Asynchronous over dns::Resolver: `done` runs once, on the resolver's io_context thread.
// Processing limits of RFC 7208 4.6.4: at most 10 DNS-querying terms (include, a, mx, ptr,
// exists, redirect), at most 10 names from one MX or PTR lookup, at most 2 void lookups
// (permerror beyond); macros (section 7) including the exp= explanation; include/redirect
// recursion; any DNS temporary failure -> temperror.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace mailroom::dns {
class Resolver;
}

namespace mailroom::mailauth {

enum class SpfResult : uint8_t { none, neutral, pass, fail, softfail, temperror, permerror };
const char* spf_result_name(SpfResult r);  // "none", "neutral", "pass", ... (RFC 8601 names)

struct SpfOutcome {
  SpfResult result = SpfResult::none;
  std::string domain;       // the domain checked (MAIL FROM's, or HELO's)
  std::string identity;     // "mailfrom" or "helo" (RFC 8601 ptype smtp.mailfrom / smtp.helo)
  std::string explanation;  // exp= text for fail, expanded, printable ASCII only
  std::string detail;       // why, for logs and the Authentication-Results comment
};

class SpfChecker {
 public:
  // `resolver` must outlive the checker and every pending check.
  explicit SpfChecker(dns::Resolver& resolver, std::string receiver = "");  // %{r} macro
  // ip: the client's textual IPv4/IPv6 address; helo: its EHLO/HELO name; mail_from: the
  // envelope sender ("" for <>: RFC 7208 2.4 checks postmaster@<helo> instead).
  void check(const std::string& ip, const std::string& helo, const std::string& mail_from,
             std::function<void(SpfOutcome)> done);

 private:
  dns::Resolver& resolver_;
  std::string receiver_;
};

}  // namespace mailroom::mailauth
