// The rspamd scanner (rspamd_scanner.h): one POST /checkv2 per message with the envelope in
// rspamd's request headers, the answer read by parse_rspamd_reply, the verdict by decide_spam.
#include "src/filter/rspamd_scanner.h"

#include <chrono>

#include "src/core/address.h"
#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/http/client.h"

namespace mailroom::filter {

namespace {

void read_policy(core::ConfigSection& s, SpamPolicy& p) {
  p.enabled = s.get_bool("enabled", p.enabled);
  p.junk_score = s.get_number("junk_score", p.junk_score, -1e4, 1e4);
  p.reject_score = s.get_number("reject_score", p.reject_score, -1e4, 1e4);
  p.add_headers = s.get_bool("add_headers", p.add_headers);
  p.ads = s.get_bool("ads", p.ads);
  p.ads_symbols = s.get_strings("ads_symbols", p.ads_symbols);
}

std::string domain_of(const std::string& address) {
  size_t at = address.rfind('@');
  return at == std::string::npos ? std::string() : core::ascii_lower(address.substr(at + 1));
}

}  // namespace

RspamdOptions parse_rspamd_options(core::ConfigSection& s) {
  RspamdOptions o;
  o.url = s.get_string("url", "");
  o.timeout_ms = s.get_seconds("timeout", 15) * 1000;
  o.connections = static_cast<size_t>(s.get_int("connections", 4, 0, 256));
  o.on_failure = s.get_choice("on_failure", "accept", {"accept", "tempfail"}) == "tempfail"
                     ? ScanFailure::tempfail
                     : ScanFailure::accept;
  o.scan_authenticated = s.get_bool("scan_authenticated", false);
  o.max_size = s.get_size("max_size", o.max_size);
  read_policy(s, o.policy);
  o.policy.symbols_header_bytes =
      static_cast<size_t>(s.get_int("symbols_header_bytes", 900, 40, 990));
  o.controller_url = s.get_string("controller_url", "");
  o.controller_password = s.get_string("controller_password", "");
  if (!o.url.empty() && o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0) {
    s.error("url", "must be an http:// or https:// URL of rspamd's normal worker");
  }
  if (o.policy.junk_score > o.policy.reject_score) {
    s.error("junk_score", "is above reject_score");
  }
  for (auto& d : s.children("domain")) {
    SpamPolicy p = o.policy;
    auto names = d.get_strings("names", {});
    read_policy(d, p);
    if (names.empty()) d.error("names", "lists no domain");
    for (const auto& n : names) o.domains[core::ascii_lower(n)] = p;
    d.finish();
  }
  s.finish();
  return o;
}

RspamdScanner::RspamdScanner(RspamdOptions options) : options_(std::move(options)) {
  http::ClientOptions c;
  c.timeout = std::chrono::milliseconds(options_.timeout_ms);
  c.max_body = kMaxReplyBytes;
  c.max_idle = options_.connections;
  c.allow_http = true;
  if (options_.url.rfind("https://", 0) == 0) c.tls_context = http::make_client_tls_context("");
  client_ = std::make_unique<http::Client>(std::move(c));
}

RspamdScanner::~RspamdScanner() = default;

SpamPolicy RspamdScanner::policy_for(const std::vector<std::string>& recipients) const {
  std::vector<const SpamPolicy*> ps;
  for (const auto& r : recipients) {
    auto it = options_.domains.find(domain_of(r));
    ps.push_back(it == options_.domains.end() ? &options_.policy : &it->second);
  }
  if (ps.empty()) ps.push_back(&options_.policy);
  return merge_policies(ps);
}

ContentVerdict RspamdScanner::unavailable(const std::string& why) const {
  MR_LOG_WARN("event=spam_scan_failed detail={}", core::quote(why));
  ContentVerdict v;
  if (options_.on_failure == ScanFailure::tempfail) {
    v.action = ContentAction::tempfail;
    v.reason = "spam scanner unavailable";
    return v;
  }
  v.add_headers.emplace_back("X-Spam-Status", "unavailable");
  return v;
}

ContentVerdict RspamdScanner::scan(const ContentScanInput& in) {
  if (options_.url.empty() || !in.message) return {};
  if (!in.auth_account_id.empty() && !options_.scan_authenticated) return {};
  SpamPolicy policy = policy_for(in.recipients);
  if (!policy.enabled) return {};
  const std::string& message = *in.message;
  if (message.size() > options_.max_size) return {};

  // rspamd's protocol: the envelope travels in request headers ("Rspamd protocol", request).
  http::ClientRequest req;
  req.method = "POST";
  req.url = options_.url + "/checkv2";
  req.content_type = "message/rfc822";
  req.body = message;
  if (!in.client_ip.empty()) req.headers.emplace_back("IP", in.client_ip);
  if (!in.helo.empty()) req.headers.emplace_back("Helo", in.helo);
  // The null reverse-path is sent as "<>" (an empty header would be read as "no sender").
  req.headers.emplace_back("From", in.envelope_sender.empty() ? "<>" : in.envelope_sender);
  for (const auto& r : in.recipients) req.headers.emplace_back("Rcpt", r);
  if (!in.auth_account_id.empty()) req.headers.emplace_back("User", in.auth_account_id);
  // rspamd logs it ("qid: <...>") beside its verdict: one id in both logs.
  if (!in.queue_id.empty()) req.headers.emplace_back("Queue-Id", in.queue_id);
  // Our SPF/DKIM/DMARC verdicts, so that rspamd does not check (and query DNS) again.
  if (auto settings = rspamd_auth_settings(in.authentication_results); !settings.empty()) {
    req.headers.emplace_back("Settings", settings);
  }

  auto answer = client_->fetch(req);
  if (!answer.error.empty()) return unavailable(answer.error);
  if (answer.status != 200) {
    return unavailable("HTTP status " + std::to_string(answer.status));
  }
  auto reply = parse_rspamd_reply(answer.body);
  if (!reply) return unavailable(reply.status().log_detail());
  auto verdict = decide_spam(*reply, policy, has_bulk_headers(message));
  MR_LOG_INFO("event=spam_scanned score={:.2f} action={} verdict={} reused={}", reply->score,
              core::quote(reply->action), content_action_name(verdict.action), answer.reused);
  return verdict;
}

}  // namespace mailroom::filter
