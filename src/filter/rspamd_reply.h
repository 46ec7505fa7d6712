// rspamd's answer to /checkv2 (its HTTP protocol, "Rspamd protocol" in rspamd's docs), read
// strictly, and what Mailroom makes of it: the X-Spam-* header fields and the verdict. Pure
// code, no I/O: the scanner (rspamd_scanner.h) fetches, this decides; the fuzz target and the
// unit tests feed it raw bodies.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/core/status.h"
#include "src/filter/content_scan.h"

namespace mailroom::filter {

struct RspamdSymbol {
  std::string name;  // [A-Za-z0-9_.-], at most kMaxSymbolName octets
  double score = 0;
};

struct RspamdReply {
  double score = 0;
  double required_score = 0;
  std::string action;  // one of rspamd's actions: "no action", "greylist", "add header", ...
  bool is_skipped = false;
  std::vector<RspamdSymbol> symbols;  // highest score first, then by name
  std::string smtp_message;           // "messages"."smtp_message" if any (printable ASCII)
  bool has_symbol(std::string_view name) const;
};

inline constexpr size_t kMaxReplyBytes = 4 << 20;
inline constexpr size_t kMaxSymbols = 4096;
inline constexpr size_t kMaxSymbolName = 128;
inline constexpr double kMaxScore = 1e6;  // |score| above this is not a score

// A /checkv2 body: a JSON object with finite numbers "score" and "required_score", a known
// "action" and "symbols" as an object of objects with a finite "score". Members rspamd adds
// over time (urls, emails, milter, ...) are ignored. An {"error": ...} body, malformed JSON,
// a wrong type or a value out of bounds is invalid_argument with the reason.
core::Result<RspamdReply> parse_rspamd_reply(std::string_view body);

// What a domain wants done with rspamd's scores ([spam] and [[spam.domain]]).
struct SpamPolicy {
  bool enabled = true;
  double junk_score = 6.0;     // score >= this: Junk (rspamd's "add header" default)
  double reject_score = 15.0;  // score >= this: 554 5.7.1 (rspamd's "reject" default)
  bool add_headers = true;
  bool ads = true;  // advertising/bulk mail goes to "Ads"
  std::vector<std::string> ads_symbols = {"PRECEDENCE_BULK", "HAS_LIST_UNSUB", "DCC_BULK",
                                          "MAILLIST"};
  size_t symbols_header_bytes = 900;  // X-Spam-Symbols is cut there (one line < 998, RFC 5322)
};

// The policy for a message whose recipients' domains have these policies: the most lenient of
// them (highest thresholds; scanning and ads on if any has them on), so that no recipient
// loses mail its own domain would accept.
SpamPolicy merge_policies(const std::vector<const SpamPolicy*>& policies);

// True when the header block of `message` (CRLF or LF) has List-Unsubscribe (RFC 2369,
// RFC 8058) or "Precedence: bulk|list|junk" (RFC 3834 3.1.8 names it).
bool has_bulk_headers(std::string_view message);

// The value of rspamd's "Settings" request header that hands it Mailroom's own SPF, DKIM and
// DMARC results (an RFC 8601 Authentication-Results value, as src/mailauth writes it) instead
// of letting it check them again: those of its groups "spf", "dkim", "dmarc" that the value
// has a result for are disabled, and the symbols they would have given are inserted
// (R_SPF_ALLOW, R_DKIM_REJECT, DMARC_POLICY_QUARANTINE, ...). "" when the value has none.
std::string rspamd_auth_settings(std::string_view authentication_results);

// X-Spam-Flag, X-Spam-Score, X-Spam-Status and X-Spam-Symbols for this reply.
std::vector<std::pair<std::string, std::string>> spam_headers(const RspamdReply& reply,
                                                              const SpamPolicy& policy);

// The verdict: reject above reject_score, junk above junk_score, ads for bulk mail (bulk
// headers or an ads symbol), else accept; headers as the policy says.
ContentVerdict decide_spam(const RspamdReply& reply, const SpamPolicy& policy, bool bulk_headers);

}  // namespace mailroom::filter
