// check_host() of RFC 7208 section 4 as Asio C++20 coroutines on the resolver's io_context:
// each DNS lookup is awaited, include= and redirect= recurse with co_await, and the counters
// of 4.6.4 live in one SpfEvaluation shared by the whole recursion. Nothing blocks; every
// lookup ends within the resolver's own timeout, and the limits bound how many there are.
#include "src/mailauth/spf.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>

#include "src/dns/await.h"
#include "src/dns/resolver.h"
#include "src/mailauth/spf_internal.h"

namespace mailroom::mailauth {
namespace spf_internal {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

constexpr int kSpfMaxDnsTerms = 10;    // include, a, mx, ptr, exists, redirect (4.6.4)
constexpr int kSpfMaxVoidLookups = 2;  // NXDOMAIN or no answer (4.6.4)
constexpr size_t kSpfMaxMxNames = 10;  // address lookups for one "mx" (4.6.4)

struct SpfHostResult {
  SpfResult result = SpfResult::none;
  std::string explanation;
  std::string detail;
};

// One check_host() with its recursion: the limits count across include= and redirect=.
struct SpfEvaluation {
  dns::Resolver& resolver;
  SpfMacroContext macros;  // `domain` is set per record evaluated
  int dns_terms = 0;
  int void_lookups = 0;
};
// Coroutines take it by shared_ptr, never by reference (.clang-tidy: a reference parameter of
// a coroutine dangles once the caller's frame is gone).
using SpfEval = std::shared_ptr<SpfEvaluation>;

struct SpfTermResult {
  enum class Kind : uint8_t { no_match, match, error };
  Kind kind = Kind::no_match;
  SpfResult error = SpfResult::none;  // temperror or permerror, for Kind::error
  std::string detail;
};

SpfTermResult spf_no_match() { return {}; }
SpfTermResult spf_match() { return {SpfTermResult::Kind::match, SpfResult::none, ""}; }
SpfTermResult spf_term_error(SpfResult r, std::string detail) {
  return {SpfTermResult::Kind::error, r, std::move(detail)};
}

// Section 5: A records for an IPv4 client, AAAA for IPv6; `found` tells whether the answer
// had any address of the client's family (none is a void lookup).
bool spf_addresses_match(const SpfIp& client, const dns::AddressAnswer& answer, int cidr4,
                         int cidr6, bool* found) {
  *found = false;
  if (answer.outcome != dns::Outcome::ok) return false;
  for (const std::string& text : answer.addresses) {
    auto address = parse_spf_ip(text);
    if (!address || address->v6 != client.v6) continue;
    *found = true;
    if (spf_prefix_match(client, *address, client.v6 ? cidr6 : cidr4)) return true;
  }
  return false;
}

bool spf_count_term(SpfEvaluation& ev) { return ++ev.dns_terms <= kSpfMaxDnsTerms; }
bool spf_count_void(SpfEvaluation& ev) { return ++ev.void_lookups <= kSpfMaxVoidLookups; }

const char* const kSpfTooManyTerms = "more than 10 DNS-querying terms (RFC 7208 4.6.4)";
const char* const kSpfTooManyVoids = "more than 2 void lookups (RFC 7208 4.6.4)";

// `explain`: fetch exp= on a fail. Not inside include=, where a fail is only "no match".
awaitable<SpfHostResult> spf_check_host(SpfEval ev, std::string domain, bool explain);

awaitable<SpfTermResult> spf_include(SpfEval ev, std::string target) {
  SpfHostResult inner = co_await spf_check_host(ev, target, false);
  // Section 5.2's table.
  switch (inner.result) {
    case SpfResult::pass:
      co_return spf_match();
    case SpfResult::fail:
    case SpfResult::softfail:
    case SpfResult::neutral:
      co_return spf_no_match();
    case SpfResult::temperror:
      co_return spf_term_error(SpfResult::temperror, inner.detail);
    case SpfResult::none:
    case SpfResult::permerror:
      break;
  }
  co_return spf_term_error(SpfResult::permerror, inner.detail);
}

awaitable<SpfTermResult> spf_a(SpfEval ev, std::string target, int cidr4, int cidr6) {
  dns::AddressAnswer answer = co_await dns::await_addresses(ev->resolver, target);
  if (answer.outcome == dns::Outcome::temporary) {
    co_return spf_term_error(SpfResult::temperror, answer.detail);
  }
  bool found = false;
  if (spf_addresses_match(ev->macros.ip, answer, cidr4, cidr6, &found)) co_return spf_match();
  if (!found && !spf_count_void(*ev))
    co_return spf_term_error(SpfResult::permerror, kSpfTooManyVoids);
  co_return spf_no_match();
}

awaitable<SpfTermResult> spf_mx_term(SpfEval ev, std::string target, int cidr4, int cidr6) {
  dns::MxAnswer mx = co_await dns::await_mx(ev->resolver, target);
  if (mx.outcome == dns::Outcome::temporary) {
    co_return spf_term_error(SpfResult::temperror, mx.detail);
  }
  if (mx.outcome != dns::Outcome::ok) {
    if (!spf_count_void(*ev)) co_return spf_term_error(SpfResult::permerror, kSpfTooManyVoids);
    co_return spf_no_match();
  }
  std::vector<std::string> hosts;
  for (const dns::Mx& record : mx.records) {
    if (!record.host.empty()) hosts.push_back(record.host);  // a null MX names no host
  }
  if (hosts.size() > kSpfMaxMxNames) {
    co_return spf_term_error(SpfResult::permerror, "more than 10 MX names for " + target);
  }
  for (const std::string& host : hosts) {
    dns::AddressAnswer answer = co_await dns::await_addresses(ev->resolver, host);
    if (answer.outcome == dns::Outcome::temporary) {
      co_return spf_term_error(SpfResult::temperror, answer.detail);
    }
    bool found = false;
    if (spf_addresses_match(ev->macros.ip, answer, cidr4, cidr6, &found)) co_return spf_match();
  }
  co_return spf_no_match();
}

// Section 5.7: an A lookup whatever the client's family.
awaitable<SpfTermResult> spf_exists(SpfEval ev, std::string target) {
  dns::AddressAnswer answer = co_await dns::await_addresses(ev->resolver, target);
  if (answer.outcome == dns::Outcome::temporary) {
    co_return spf_term_error(SpfResult::temperror, answer.detail);
  }
  for (const std::string& text : answer.addresses) {
    auto address = parse_spf_ip(text);
    if (address && !address->v6) co_return spf_match();
  }
  if (!spf_count_void(*ev)) co_return spf_term_error(SpfResult::permerror, kSpfTooManyVoids);
  co_return spf_no_match();
}

awaitable<SpfTermResult> spf_evaluate(SpfEval ev, SpfMacroContext ctx, SpfDirective d) {
  switch (d.mechanism) {
    case SpfMechanism::all:
      co_return spf_match();
    case SpfMechanism::ip4:
    case SpfMechanism::ip6:
      co_return spf_prefix_match(ev->macros.ip, d.network, d.network.v6 ? d.cidr6 : d.cidr4)
          ? spf_match()
          : spf_no_match();
    default:
      break;
  }
  if (!spf_count_term(*ev)) co_return spf_term_error(SpfResult::permerror, kSpfTooManyTerms);
  if (d.mechanism == SpfMechanism::ptr) {
    co_return spf_no_match();  // spf.h: no PTR lookups, "ptr" never matches
  }
  std::string target = ctx.domain;
  if (!d.domain_spec.empty()) {
    auto expanded = expand_spf_domain(d.domain_spec, ctx);
    if (!expanded) co_return spf_term_error(SpfResult::permerror, "bad macro");
    target = std::move(*expanded);
  }
  switch (d.mechanism) {
    case SpfMechanism::include:
      co_return co_await spf_include(ev, target);
    case SpfMechanism::a:
      co_return co_await spf_a(ev, target, d.cidr4, d.cidr6);
    case SpfMechanism::mx:
      co_return co_await spf_mx_term(ev, target, d.cidr4, d.cidr6);
    default:
      co_return co_await spf_exists(ev, target);
  }
}

// Section 6.2: any failure to build the explanation leaves it empty; it never changes the
// result. Printable ASCII only (expand_spf_macros refuses anything else).
awaitable<std::string> spf_explanation(SpfEval ev, SpfMacroContext ctx, std::string exp_spec) {
  auto name = expand_spf_domain(exp_spec, ctx);
  if (!name || !valid_spf_domain(*name)) co_return std::string();
  dns::TxtAnswer txt = co_await dns::await_txt(ev->resolver, *name);
  if (txt.outcome != dns::Outcome::ok || txt.records.size() != 1) co_return std::string();
  co_return expand_spf_macros(txt.records[0], ctx, true).value_or("");
}

awaitable<SpfHostResult> spf_check_host(SpfEval ev, std::string domain, bool explain) {
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  if (!valid_spf_domain(domain)) {
    co_return SpfHostResult{SpfResult::none, "", "\"" + domain + "\" is not a valid domain name"};
  }
  dns::TxtAnswer txt = co_await dns::await_txt(ev->resolver, domain);
  if (txt.outcome == dns::Outcome::temporary) {
    co_return SpfHostResult{SpfResult::temperror, "", txt.detail};
  }
  std::vector<std::string> records;
  for (const std::string& r : txt.records) {
    if (is_spf_record(r)) records.push_back(r);
  }
  if (records.empty()) {
    co_return SpfHostResult{
        SpfResult::none, "",
        domain + (txt.outcome == dns::Outcome::nxdomain ? ": no such domain" : ": no SPF record")};
  }
  if (records.size() > 1) {
    co_return SpfHostResult{SpfResult::permerror, "", domain + ": more than one SPF record"};
  }
  SpfRecord record;
  std::string error;
  if (!parse_spf_record(records[0], &record, &error)) {
    co_return SpfHostResult{SpfResult::permerror, "", domain + ": " + error};
  }
  SpfMacroContext ctx = ev->macros;
  ctx.domain = domain;
  for (const SpfDirective& d : record.directives) {
    SpfTermResult term = co_await spf_evaluate(ev, ctx, d);
    if (term.kind == SpfTermResult::Kind::error) {
      co_return SpfHostResult{term.error, "", domain + ": " + d.text + ": " + term.detail};
    }
    if (term.kind == SpfTermResult::Kind::match) {
      SpfHostResult out{d.qualifier, "", domain + ": matched " + d.text};
      // Only this record's exp=: never an include's (its fail is no match here), and after a
      // redirect= the target's (6.2).
      if (explain && d.qualifier == SpfResult::fail && record.exp) {
        out.explanation = co_await spf_explanation(ev, ctx, *record.exp);
      }
      co_return out;
    }
  }
  if (record.redirect) {
    if (!spf_count_term(*ev)) {
      co_return SpfHostResult{SpfResult::permerror, "", domain + ": " + kSpfTooManyTerms};
    }
    std::string target = expand_spf_domain(*record.redirect, ctx).value_or("");
    SpfHostResult inner = co_await spf_check_host(ev, target, explain);
    if (inner.result == SpfResult::none) {
      inner.result = SpfResult::permerror;  // 6.1: no record at the target is a permerror
    }
    inner.detail = domain + ": redirect=" + target + ": " + inner.detail;
    co_return inner;
  }
  co_return SpfHostResult{SpfResult::neutral, "", domain + ": no mechanism matched"};
}

awaitable<SpfOutcome> spf_run(dns::Resolver* resolver, std::string receiver, std::string ip,
                              std::string helo, std::string mail_from) {
  SpfOutcome out;
  if (mail_from.size() >= 2 && mail_from.front() == '<' && mail_from.back() == '>') {
    mail_from = mail_from.substr(1, mail_from.size() - 2);
  }
  // RFC 7208 2.4: with a null reverse-path the HELO identity is checked, as postmaster@helo.
  out.identity = mail_from.empty() ? "helo" : "mailfrom";
  std::string sender = mail_from.empty() ? "postmaster@" + helo : mail_from;
  size_t at = sender.rfind('@');
  std::string local = at == std::string::npos ? "" : sender.substr(0, at);
  std::string domain = at == std::string::npos ? sender : sender.substr(at + 1);
  if (local.empty()) local = "postmaster";  // 4.3
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  out.domain = domain;

  auto client = parse_spf_ip(ip);
  if (!client) {
    out.detail = "\"" + ip + "\" is not an IP address";
    co_return out;
  }
  auto ev = std::make_shared<SpfEvaluation>(SpfEvaluation{*resolver, {}, 0, 0});
  ev->macros.sender = local + "@" + domain;
  ev->macros.local_part = local;
  ev->macros.sender_domain = domain;
  ev->macros.ip = *client;
  ev->macros.helo = helo;
  ev->macros.receiver = std::move(receiver);
  ev->macros.now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  SpfHostResult result = co_await spf_check_host(ev, domain, true);
  out.result = result.result;
  out.explanation = std::move(result.explanation);
  out.detail = std::move(result.detail);
  co_return out;
}

}  // namespace
}  // namespace spf_internal

const char* spf_result_name(SpfResult r) {
  switch (r) {
    case SpfResult::none:
      return "none";
    case SpfResult::neutral:
      return "neutral";
    case SpfResult::pass:
      return "pass";
    case SpfResult::fail:
      return "fail";
    case SpfResult::softfail:
      return "softfail";
    case SpfResult::temperror:
      return "temperror";
    case SpfResult::permerror:
      return "permerror";
  }
  return "unknown";
}

SpfChecker::SpfChecker(boost::asio::io_context& io, dns::Resolver& resolver, std::string receiver)
    : io_(io), resolver_(resolver), receiver_(std::move(receiver)) {}

void SpfChecker::check(const std::string& ip, const std::string& helo, const std::string& mail_from,
                       std::function<void(SpfOutcome)> done) {
  boost::asio::co_spawn(io_, spf_internal::spf_run(&resolver_, receiver_, ip, helo, mail_from),
                        [done = std::move(done)](std::exception_ptr error, SpfOutcome out) {
                          if (error) {
                            // Nothing in the check throws on purpose; an allocation failure is
                            // "could not tell".
                            out = SpfOutcome{};
                            out.result = SpfResult::temperror;
                            out.detail = "internal error in the SPF check";
                            try {
                              std::rethrow_exception(error);
                            } catch (const std::exception& e) {
                              out.detail += std::string(": ") + e.what();
                            } catch (...) {
                            }
                          }
                          done(std::move(out));
                        });
}

}  // namespace mailroom::mailauth
