// SPF (RFC 7208): check_host() for the MAIL FROM identity (and HELO when MAIL FROM is <>).
//
// Asynchronous over dns::Resolver: `done` runs once, on the resolver's io_context thread.
// Processing limits of RFC 7208 4.6.4: at most 10 DNS-querying terms (include, a, mx, ptr,
// exists, redirect), at most 10 names from one MX lookup, at most 2 void lookups
// (permerror beyond); macros (section 7) including the exp= explanation; include/redirect
// recursion; any DNS temporary failure -> temperror.
//
// No PTR lookups (dns::Resolver has none, and RFC 7208 5.5 says "ptr" SHOULD NOT be used):
// a "ptr" term counts against the limit of 10 but never matches, and %{p} is "unknown".
// No timer of its own: every lookup ends within the resolver's timeout and tries, and the
// limits above bound how many lookups one check makes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}
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
  // `io` is the resolver's io_context (the check runs there as a coroutine); `resolver` must
  // outlive every pending check, the checker itself need not. `receiver`: the %{r} macro.
  SpfChecker(boost::asio::io_context& io, dns::Resolver& resolver, std::string receiver = "");
  // ip: the client's textual IPv4/IPv6 address; helo: its EHLO/HELO name; mail_from: the
  // envelope sender ("" for <>: RFC 7208 2.4 checks postmaster@<helo> instead).
  void check(const std::string& ip, const std::string& helo, const std::string& mail_from,
             std::function<void(SpfOutcome)> done);

 private:
  boost::asio::io_context& io_;
  dns::Resolver& resolver_;
  std::string receiver_;
};

}  // namespace mailroom::mailauth
