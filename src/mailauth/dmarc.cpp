// DmarcChecker (RFC 7489 6.6): the author domain, policy discovery through dns::Resolver
// (6.6.3), identifier alignment (3.1) and the policy to apply (6.6.4, 6.3 sp= and pct=).
#include "src/mailauth/dmarc.h"

#include <algorithm>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "src/dns/resolver.h"
#include "src/mailauth/dmarc_internal.h"

namespace mailroom::mailauth {
namespace {

// One check in flight: what the lookups' callbacks need.
struct DmarcCheck {
  dns::Resolver* resolver = nullptr;
  std::shared_ptr<const PublicSuffixList> psl;
  SpfOutcome spf;
  DkimVerification dkim;
  std::function<void(DmarcOutcome)> done;
  DmarcOutcome outcome;
  std::string org_domain;  // of outcome.from_domain
};

void dmarc_finish(const std::shared_ptr<DmarcCheck>& check) {
  auto done = std::move(check->done);
  done(std::move(check->outcome));
}

bool dmarc_aligned(const PublicSuffixList& psl, const std::string& domain,
                   const std::string& from_domain, const std::string& from_org, bool strict) {
  std::string ascii = detail::psl_ascii_domain(domain);
  if (ascii.empty()) return false;
  if (strict) return ascii == from_domain;
  return ascii == from_domain || psl.organizational_domain(ascii) == from_org;
}

// pct= (RFC 7489 6.6.4): true when this message is left out of the policy.
bool dmarc_sampled_out(int pct) {
  if (pct >= 100) return false;
  thread_local std::mt19937 random{std::random_device{}()};
  return std::uniform_int_distribution<int>(0, 99)(random) >= pct;
}

// The record is in: alignment and policy.
void dmarc_evaluate(const std::shared_ptr<DmarcCheck>& check, const std::string& txt,
                    bool at_org_domain) {
  DmarcOutcome& out = check->outcome;
  detail::DmarcRecord record = detail::dmarc_parse_record(txt);
  if (!record.usable) {
    out.result = DmarcResult::none;
    out.detail = "DMARC record not applied: " + record.detail;
    return dmarc_finish(check);
  }
  const PublicSuffixList& psl = *check->psl;
  std::string aligned;
  for (const DkimSignatureResult& sig : check->dkim.signatures) {
    if (sig.result == DkimResult::pass &&
        dmarc_aligned(psl, sig.domain, out.from_domain, check->org_domain, record.strict_dkim)) {
      aligned = "DKIM d=" + sig.domain;
      break;
    }
  }
  const SpfOutcome& spf = check->spf;
  if (aligned.empty() && spf.result == SpfResult::pass &&
      (spf.identity == "mailfrom" || spf.identity == "helo") &&
      dmarc_aligned(psl, spf.domain, out.from_domain, check->org_domain, record.strict_spf)) {
    aligned = "SPF " + spf.identity + " " + spf.domain;
  }
  // RFC 7489 6.3 sp=: for subdomains of the organizational domain, when the record found is
  // the organizational domain's.
  bool subdomain = at_org_domain && out.from_domain != check->org_domain;
  out.policy = subdomain && record.has_sp ? record.sp : record.p;
  if (!aligned.empty()) {
    out.result = DmarcResult::pass;
    out.detail = "aligned " + aligned;
  } else {
    out.result = DmarcResult::fail;
    out.detail = std::string("no aligned DKIM or SPF pass (") +
                 (record.strict_dkim ? "adkim=s" : "adkim=r") + ", " +
                 (record.strict_spf ? "aspf=s" : "aspf=r") + ")";
    out.sampled_out = dmarc_sampled_out(record.pct);
  }
  if (!record.detail.empty()) out.detail += "; " + record.detail;
  dmarc_finish(check);
}

// RFC 7489 6.6.3: _dmarc.<from domain>, then _dmarc.<organizational domain>.
void dmarc_discover(const std::shared_ptr<DmarcCheck>& check, bool at_org_domain) {
  const std::string& domain = at_org_domain ? check->org_domain : check->outcome.from_domain;
  std::string name = "_dmarc." + domain;
  check->resolver->txt(name, [check, name, at_org_domain](dns::TxtAnswer answer) {
    DmarcOutcome& out = check->outcome;
    if (answer.outcome == dns::Outcome::temporary) {
      out.result = DmarcResult::temperror;
      out.detail = "DNS lookup of " + name + " failed: " + answer.detail;
      return dmarc_finish(check);
    }
    std::vector<std::string> records;
    if (answer.outcome == dns::Outcome::ok) {
      std::copy_if(answer.records.begin(), answer.records.end(), std::back_inserter(records),
                   [](const std::string& r) { return detail::dmarc_is_record(r); });
    }
    if (records.size() > 1) {
      out.result = DmarcResult::none;
      out.detail = "more than one DMARC record at " + name;
      return dmarc_finish(check);
    }
    if (records.size() == 1) return dmarc_evaluate(check, records.front(), at_org_domain);
    if (!at_org_domain && check->org_domain != out.from_domain) {
      return dmarc_discover(check, true);
    }
    out.result = DmarcResult::none;
    out.detail = "no DMARC record for " + out.from_domain;
    dmarc_finish(check);
  });
}

}  // namespace

const char* dmarc_result_name(DmarcResult r) {
  switch (r) {
    case DmarcResult::none:
      return "none";
    case DmarcResult::pass:
      return "pass";
    case DmarcResult::fail:
      return "fail";
    case DmarcResult::temperror:
      return "temperror";
    case DmarcResult::permerror:
      return "permerror";
  }
  return "none";
}

const char* dmarc_policy_name(DmarcPolicy p) {
  switch (p) {
    case DmarcPolicy::none:
      return "none";
    case DmarcPolicy::quarantine:
      return "quarantine";
    case DmarcPolicy::reject:
      return "reject";
  }
  return "none";
}

DmarcChecker::DmarcChecker(dns::Resolver& resolver, std::shared_ptr<const PublicSuffixList> psl)
    : resolver_(resolver), psl_(psl ? std::move(psl) : PublicSuffixList::from_text("")) {}

void DmarcChecker::check(const std::string& message, const SpfOutcome& spf,
                         const DkimVerification& dkim, std::function<void(DmarcOutcome)> done) {
  detail::DmarcAuthors authors = detail::dmarc_author_domains(message);
  DmarcOutcome out;
  std::vector<std::string> domains = authors.domains;
  std::sort(domains.begin(), domains.end());
  domains.erase(std::unique(domains.begin(), domains.end()), domains.end());
  if (authors.from_fields == 0) {
    out.result = DmarcResult::none;
    out.detail = "no From field";
  } else if (!authors.error.empty()) {
    out.result = DmarcResult::permerror;
    out.detail = authors.error;
  } else if (domains.size() != 1) {
    out.result = DmarcResult::permerror;
    out.detail = "From names " + std::to_string(domains.size()) + " author domains";
  }
  if (!out.detail.empty()) return done(std::move(out));

  auto state = std::make_shared<DmarcCheck>();
  state->resolver = &resolver_;
  state->psl = psl_;
  state->spf = spf;
  state->dkim = dkim;
  state->done = std::move(done);
  state->outcome.from_domain = domains.front();
  state->org_domain = psl_->organizational_domain(domains.front());
  dmarc_discover(state, false);
}

}  // namespace mailroom::mailauth
