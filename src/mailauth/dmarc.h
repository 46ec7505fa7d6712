// DMARC (RFC 7489): the RFC5322.From domain, its policy record (_dmarc.<domain>, else the
// organizational domain's, found with the Public Suffix List), identifier alignment of the SPF
// and DKIM results (relaxed or strict, adkim=/aspf=), and the policy to apply (p=, sp= for
// subdomains, pct=). Also the Authentication-Results header (RFC 8601) of the three checks.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/mailauth/dkim_verify.h"
#include "src/mailauth/spf.h"

namespace mailroom::dns {
class Resolver;
}

namespace mailroom::mailauth {

// The Public Suffix List (Debian's publicsuffix: /usr/share/publicsuffix/public_suffix_list.dat),
// loaded once; organizational_domain("a.b.example.co.uk") == "example.co.uk" (RFC 7489 3.2).
class PublicSuffixList {
 public:
  static std::shared_ptr<const PublicSuffixList> load(const std::string& path);
  static std::shared_ptr<const PublicSuffixList> from_text(const std::string& text);  // tests
  std::string organizational_domain(const std::string& domain) const;

 private:
  struct Rules;
  std::shared_ptr<const Rules> rules_;
};

enum class DmarcResult : uint8_t { none, pass, fail, temperror, permerror };
const char* dmarc_result_name(DmarcResult r);
enum class DmarcPolicy : uint8_t { none, quarantine, reject };
const char* dmarc_policy_name(DmarcPolicy p);

struct DmarcOutcome {
  DmarcResult result = DmarcResult::none;
  std::string from_domain;  // header.from; "" when the message has no single usable From
  DmarcPolicy policy = DmarcPolicy::none;  // what the domain asks for a failing message
  bool sampled_out = false;  // pct= left this message out: apply the next lower policy
  std::string detail;
};

class DmarcChecker {
 public:
  DmarcChecker(dns::Resolver& resolver, std::shared_ptr<const PublicSuffixList> psl);
  // `message` for its From header; spf and dkim are the results already computed.
  void check(const std::string& message, const SpfOutcome& spf, const DkimVerification& dkim,
             std::function<void(DmarcOutcome)> done);

 private:
  dns::Resolver& resolver_;
  std::shared_ptr<const PublicSuffixList> psl_;
};

// "Authentication-Results: <authserv_id>; spf=pass smtp.mailfrom=...; dkim=pass
// header.d=... header.s=... header.b=...; dmarc=pass header.from=...\r\n" (RFC 8601,
// folded, values quoted where the grammar needs it).
std::string authentication_results(const std::string& authserv_id, const SpfOutcome& spf,
                                   const DkimVerification& dkim, const DmarcOutcome& dmarc);

// RFC 8601 5: removes every Authentication-Results (and ARC-... is left alone) header field
// claiming `authserv_id` (case-insensitively) from the header block of `message`.
std::string remove_forged_results(const std::string& message, const std::string& authserv_id);

}  // namespace mailroom::mailauth
