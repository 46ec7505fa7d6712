// Content scanners that run before the 250 (antivirus, spam): the whole message and its
// envelope in, one verdict out. Written against the interface of the `av` branch; the merge
// resolves this file to theirs.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mailroom::filter {

struct ContentScanInput {
  std::shared_ptr<const std::string> message;  // complete message, CRLF, as received
  std::string client_ip, helo, envelope_sender;
  std::vector<std::string> recipients;  // final recipient addresses
  std::string auth_account_id;          // non-empty on authenticated submission
  bool trusted_hop = false;             // the client is a configured trusted gateway
  std::string authentication_results;   // the Authentication-Results value mail-auth produced, if any
};
enum class ContentAction { accept, reject, tempfail, quarantine, junk, ads };
struct ContentVerdict {
  ContentAction action = ContentAction::accept;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> add_headers;  // prepended at delivery
  std::optional<std::string> replacement;
};
class ContentScanner {  // thread-safe; scan() may block (called on the worker pool)
 public:
  virtual ~ContentScanner() = default;
  virtual std::string name() const = 0;
  virtual ContentVerdict scan(const ContentScanInput& in) = 0;
};

}  // namespace mailroom::filter
