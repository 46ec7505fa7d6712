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
// Both sections of the list (ICANN and PRIVATE) are used; its UTF-8 rules are converted to
// A-labels (Punycode), so "xn--55qx5d.cn" matches the rule "公司.cn". Immutable: safe to share
// between threads.
class PublicSuffixList {
 public:
  static constexpr const char* kDebianPath = "/usr/share/publicsuffix/public_suffix_list.dat";
  // nullptr when the file cannot be read or holds no rule.
  static std::shared_ptr<const PublicSuffixList> load(const std::string& path);
  // The list's format from a string (tests); "" gives only the implicit rule "*".
  static std::shared_ptr<const PublicSuffixList> from_text(const std::string& text);
  // Public suffix + one label, lower case, A-labels, no trailing dot. A domain that is itself
  // a public suffix ("com", "co.uk") is its own organizational domain (RFC 7489 3.2 has no
  // label to add; OpenDMARC does the same). A name matching no rule has the public suffix of
  // its last label (the rule "*"). "" when `domain` is not a host name.
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

// RFC 7489 6.6. The author domain is the domain of the From field: a message whose From
// fields (all of them) name exactly one domain is checked for it; no From field gives none;
// From fields naming several domains, or a From that is not a usable mailbox, give permerror
// (6.6.1 leaves it to the receiver; a none there would let a second From slip past a
// p=reject domain, so the caller's local policy decides). The record is looked up at
// _dmarc.<from domain>, else at _dmarc.<organizational domain>; several DMARC records at one
// name, or one without a valid p= (and no rua=), give none (6.6.3). A DNS temporary failure
// gives temperror. SPF counts when it passed for the MAIL FROM domain, or for the HELO
// domain standing in for a null MAIL FROM (RFC 7489 3.1.2).
class DmarcChecker {
 public:
  // `resolver` must outlive the checker and every pending check. A null `psl` means the
  // implicit rule "*" only.
  DmarcChecker(dns::Resolver& resolver, std::shared_ptr<const PublicSuffixList> psl);
  // `message` for its From header; spf and dkim are the results already computed. `done`
  // runs once: on the resolver's io_context thread after the DNS lookups, or before check()
  // returns when no lookup is needed (no usable From).
  void check(const std::string& message, const SpfOutcome& spf, const DkimVerification& dkim,
             std::function<void(DmarcOutcome)> done);

 private:
  dns::Resolver& resolver_;
  std::shared_ptr<const PublicSuffixList> psl_;
};

// "Authentication-Results: <authserv_id>;\r\n\tspf=pass smtp.mailfrom=...;\r\n\tdkim=pass
// header.d=... header.s=... header.b=...;\r\n\tdmarc=pass header.from=...\r\n" (RFC 8601,
// one result per line, values quoted where the grammar needs it, ASCII only). One dkim= per
// signature, dkim=none without any. Results other than pass carry their detail as a comment
// (controls removed, parentheses escaped). `mail_from`: the envelope sender for
// smtp.mailfrom=local@domain (its local part quoted when it is not a dot-atom); when "" the
// domain SPF checked is written. SPF of the HELO identity is written smtp.helo=.
std::string authentication_results(const std::string& authserv_id, const SpfOutcome& spf,
                                   const DkimVerification& dkim, const DmarcOutcome& dmarc,
                                   const std::string& mail_from = "");

// RFC 8601 5: removes every Authentication-Results (and ARC-... is left alone) header field
// claiming `authserv_id` (case-insensitively) from the header block of `message`. The claim
// is the first token or quoted string after CFWS, whatever follows it (a version, ";", or
// nothing in a malformed field). Continuation lines go with their field; every other byte,
// the body included, is kept as it was.
std::string remove_forged_results(const std::string& message, const std::string& authserv_id);

}  // namespace mailroom::mailauth
