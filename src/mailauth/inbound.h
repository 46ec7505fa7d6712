// Inbound mail authentication for the MX: SPF (RFC 7208) and DKIM (RFC 6376) in parallel, then
// DMARC (RFC 7489), on one I/O thread of its own with its own c-ares resolver; the verdict says
// what the SMTP session should do and carries the Authentication-Results header (RFC 8601).
//
// Policy ([mailauth]): what a DMARC "reject" or "quarantine" failure and an SPF "fail" do:
// "reject" (550 5.7.1 at the end of DATA), "junk" (delivered into the recipient's Junk folder)
// or "mark" (only the header). Temporary DNS errors never reject.
//
// State: per node and disposable (the resolver cache).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "src/core/status.h"
#include "src/dns/resolver.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::mailauth {

enum class Action : uint8_t { mark, junk, reject };

struct InboundOptions {
  bool enabled = true;
  std::string authserv_id;  // default: the server's host name
  Action dmarc_reject = Action::reject;
  Action dmarc_quarantine = Action::junk;
  Action spf_fail = Action::mark;
  std::string public_suffix_list = "/usr/share/publicsuffix/public_suffix_list.dat";
  dns::ResolverOptions dns;  // [dns], parsed once by the caller
};

// [mailauth]
InboundOptions parse_inbound_options(core::ConfigSection& section, const std::string& hostname);

struct InboundVerdict {
  Action action = Action::mark;
  std::string reason;                  // for the 550 text and logs when action != mark
  std::string authentication_results;  // the complete header field, CRLF-terminated
  std::string summary;                 // "spf=pass dkim=pass dmarc=pass" for logs
};

class InboundVerifier {
 public:
  static core::Result<std::shared_ptr<InboundVerifier>> start(InboundOptions options);
  virtual ~InboundVerifier() = default;
  virtual const InboundOptions& options() const = 0;
  // `done` runs once, on the verifier's thread (post it back to your own executor).
  virtual void verify(const std::string& client_ip, const std::string& helo,
                      const std::string& mail_from, std::shared_ptr<const std::string> message,
                      std::function<void(InboundVerdict)> done) = 0;
  virtual void stop() = 0;
};

}  // namespace mailroom::mailauth
