// Content scanning before the 250 (issue 21): a message-level verdict, so a refusal is an SMTP
// reply to the client and never a bounce (no backscatter). src/smtp/message.cpp runs the chain
// after the inbound mail-auth verdict and before Queue::submit (SMTP, submission) or
// Queue::deliver_now (LMTP), on the worker pool. The older per-recipient Scanner hook
// (scanner.h) runs at local delivery, after the 250.
//
// Threading: ContentScanner implementations are thread-safe; scan() may block (clamd,
// libclamav, rspamd) and is called on the worker pool only, never on an I/O thread.
// Errors: a scanner that cannot tell (daemon down, timeout) answers tempfail (or accept with a
// header when the administrator chose to fail open); it never throws.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom::filter {

struct ContentScanInput {
  std::shared_ptr<const std::string> message;  // complete message, CRLF, as received
  std::string queue_id;                        // the id the 250 will name (logs, rspamd)
  std::string client_ip, helo, envelope_sender;
  std::vector<std::string> recipients;  // final recipient addresses
  std::string auth_account_id;          // non-empty on authenticated submission
  bool trusted_hop = false;             // the client is a configured trusted gateway
  std::string
      authentication_results;  // the Authentication-Results value mail-auth produced, if any
};

enum class ContentAction { accept, reject, tempfail, quarantine, junk, ads };

std::string_view content_action_name(ContentAction action);

struct ContentVerdict {
  ContentAction action = ContentAction::accept;
  std::string reason;                                            // client-safe text
  std::vector<std::pair<std::string, std::string>> add_headers;  // prepended at delivery
  std::optional<std::string> replacement;  // a rewritten message (e.g. infected part replaced)
};

class ContentScanner {  // thread-safe; scan() may block (called on the worker pool)
 public:
  virtual ~ContentScanner() = default;
  virtual std::string name() const = 0;
  virtual ContentVerdict scan(const ContentScanInput& in) = 0;
};

// What the chain decided for one message.
struct ContentScanResult {
  // accept, reject, tempfail, quarantine, junk or ads. Of junk and ads the last one said wins
  // (a later scanner knows more: the spam scanner runs after antivirus).
  ContentAction action = ContentAction::accept;
  std::string reason;      // the deciding scanner's reason
  std::string decided_by;  // the deciding scanner's name ("" when every scanner accepted)
  std::vector<std::pair<std::string, std::string>> add_headers;  // of every scanner, in order
  // The message as the last rewriting scanner left it; null when no scanner rewrote it.
  std::shared_ptr<const std::string> replacement;
};

// The configured scanners, run in order (antivirus first, then spam):
// - headers accumulate over every scanner that ran;
// - the first reject, tempfail or quarantine decides and stops the chain;
// - a replacement is what the next scanner sees and what is delivered.
class ContentScanChain {
 public:
  explicit ContentScanChain(std::vector<std::shared_ptr<ContentScanner>> scanners)
      : scanners_(std::move(scanners)) {}
  bool empty() const { return scanners_.empty(); }
  const std::vector<std::shared_ptr<ContentScanner>>& scanners() const { return scanners_; }

  // Blocking (each scanner's scan()); counts mailroom_content_scans_total per scanner.
  ContentScanResult run(ContentScanInput input) const;

 private:
  std::vector<std::shared_ptr<ContentScanner>> scanners_;
};

// Removes the verdict fields (X-Spam-*, X-Virus-*: what Sieve's spamtest/virustest, RFC 5235,
// and mail clients read) with their folded lines from the message's header; everything else
// stays byte for byte. False when there was none (the message is not copied then). Applied to
// what a sender submits (SMTP from untrusted clients, JMAP) before the scanners add their own.
bool strip_verdict_fields(std::string& message);

// The header block to prepend for `headers` ("Name: value\r\n" each; a value is folded as
// given, CR and LF not at a fold are replaced by spaces so a scanner cannot inject fields).
std::string format_added_headers(const std::vector<std::pair<std::string, std::string>>& headers);

}  // namespace mailroom::filter
