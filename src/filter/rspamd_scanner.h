// The spam scanner: rspamd's normal worker over its HTTP protocol (POST /checkv2), before the
// 250. Verdicts per domain: X-Spam-* headers, Junk above junk_score, 554 5.7.1 above
// reject_score, "Ads" for advertising/bulk mail (rspamd_reply.h decides).
//
// Config ([spam]; absent or without `url`: no spam scanning):
//   url = "http://127.0.0.1:11333"     rspamd's normal worker
//   timeout = "15s"                    per scan (connect, send, answer)
//   connections = 4                    idle connections kept for reuse (rspamd 3.4 closes
//                                      each one after its answer; later versions keep them)
//   on_failure = "accept"              rspamd down or a bad answer: "accept" (with
//                                      X-Spam-Status: unavailable) or "tempfail" (451 4.7.1)
//   scan_authenticated = false         also scan authenticated submissions
//   max_size = "20M"                   larger messages are not scanned
//   junk_score = 6.0, reject_score = 15.0, add_headers = true, ads = true,
//   ads_symbols = ["PRECEDENCE_BULK", "HAS_LIST_UNSUB", "DCC_BULK", "MAILLIST"],
//   symbols_header_bytes = 900
//   [[spam.domain]]                    overrides of the six policy keys for some domains
//   names = ["example.com"]
//   junk_score = 4.0
// Mailroom's own SPF, DKIM and DMARC results (src/mailauth) go with the request as rspamd's
// "Settings" header (rspamd_auth_settings): its spf/dkim/dmarc groups off, their symbols
// inserted, so rspamd neither repeats the checks nor the DNS queries. Without results (mail
// authentication off, authenticated submission) rspamd checks by itself.
//
// Threading: thread-safe; scan() blocks on the HTTP exchange (worker pool only).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/core/status.h"
#include "src/filter/content_scan.h"
#include "src/filter/rspamd_reply.h"

namespace mailroom::core {
class ConfigSection;
}
namespace mailroom::http {
class Client;
}

namespace mailroom::filter {

enum class ScanFailure { accept, tempfail };

struct RspamdOptions {
  std::string url;  // empty: spam scanning is off
  int64_t timeout_ms = 15000;
  size_t connections = 4;
  ScanFailure on_failure = ScanFailure::accept;
  bool scan_authenticated = false;
  uint64_t max_size = 20 << 20;
  SpamPolicy policy;                          // the default
  std::map<std::string, SpamPolicy> domains;  // lower-case domain -> its policy
  // The controller (learning, spam_learner.h): [spam] controller_url, controller_password.
  std::string controller_url;
  std::string controller_password;
};

// Reads [spam] (and [[spam.domain]]) and calls section.finish().
RspamdOptions parse_rspamd_options(core::ConfigSection& section);

class RspamdScanner : public ContentScanner {
 public:
  explicit RspamdScanner(RspamdOptions options);
  ~RspamdScanner() override;

  std::string name() const override { return "rspamd"; }
  ContentVerdict scan(const ContentScanInput& in) override;

  // The policy for these recipients (merge_policies of their domains' policies).
  SpamPolicy policy_for(const std::vector<std::string>& recipients) const;

 private:
  ContentVerdict unavailable(const std::string& why) const;

  RspamdOptions options_;
  std::unique_ptr<http::Client> client_;
};

}  // namespace mailroom::filter
