// The one SASL dialogue (RFC 4422) of SMTP AUTH (RFC 4954), IMAP AUTHENTICATE (RFC 3501
// 6.2.2, RFC 4959) and POP3 AUTH (RFC 5034): challenge, response, "*" to cancel, base64 on
// the wire, the initial response ("=" for an empty one), a bound on rounds and on the length
// of a response, each step of the Authenticator run on the worker pool, and the client's
// responses marked secret for the protocol trace. The protocols differ only in how a
// challenge is written ("334 " or "+ ") and in how they answer the outcome.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "auth/authenticator.h"

namespace mailroom::net {

class Transport;
class WorkerPool;

struct SaslFraming {
  std::string_view challenge_prefix;  // "334 " (SMTP), "+ " (IMAP, POP3)
  std::size_t max_response = 12288;   // octets of a response line (RFC 4954 4: 12288)
  int max_rounds = 20;                // challenges before the exchange fails
  // ManageSieve (RFC 5804 2.1): challenges are sent as quoted strings and responses come as
  // quoted strings ("*" quoted to cancel); literals are not accepted there.
  bool quoted = false;
};

enum class SaslEnd {
  done,      // the exchange ended; step.outcome tells how (success, failed, cancelled, ...)
  too_long,  // a response line was over max_response (answer the protocol's error)
  closed,    // the client went away, timed out, or the server is stopping
  bad_initial_response,  // the initial response was not base64 (the exchange never started)
};

struct SaslResult {
  SaslEnd end = SaslEnd::done;
  auth::AuthStep step;
};

// Runs `exchange` to its end. `initial_response` is the client's initial response as written
// on the wire (base64, or "=" for an empty one), nullopt when it sent none. A later response
// that is not base64 ends with AuthOutcome::malformed, too many rounds with failed, "*" with
// cancelled.
boost::asio::awaitable<SaslResult> run_sasl(Transport& transport, WorkerPool& workers,
                                            auth::Exchange& exchange,
                                            const std::optional<std::string>& initial_response,
                                            const SaslFraming& framing);

}  // namespace mailroom::net
