#include "src/net/sasl_dialogue.h"

#include "src/core/base64.h"
#include "src/net/transport.h"
#include "src/net/worker_pool.h"

namespace mailroom::net {

namespace {

SaslResult ended(auth::AuthOutcome outcome) {
  SaslResult r;
  r.step.outcome = outcome;
  return r;
}

}  // namespace

boost::asio::awaitable<SaslResult> run_sasl(Transport& transport, WorkerPool& workers,
                                            auth::Exchange& exchange,
                                            const std::optional<std::string>& initial_response,
                                            const SaslFraming& framing) {
  std::optional<std::string> response;
  if (initial_response) {
    if (*initial_response == "=") {
      response = std::string();  // RFC 4954 4, RFC 4959 3, RFC 5034 4: an empty response
    } else {
      response = core::base64_decode(*initial_response);
      if (!response) {
        SaslResult r = ended(auth::AuthOutcome::malformed);
        r.end = SaslEnd::bad_initial_response;
        co_return r;
      }
    }
  }
  for (int round = 0;; ++round) {
    auto next = [&exchange, &response] {
      return exchange.step(response ? std::optional<std::string_view>(*response) : std::nullopt);
    };
    SaslResult result;
    result.step = co_await blocking(workers, next);
    if (result.step.outcome != auth::AuthOutcome::in_progress) co_return result;
    if (round + 1 >= framing.max_rounds) co_return ended(auth::AuthOutcome::failed);

    std::string encoded = core::base64_encode(result.step.challenge);
    if (framing.quoted) encoded = "\"" + encoded + "\"";
    std::string challenge = std::string(framing.challenge_prefix) + encoded + "\r\n";
    transport.queue(challenge);
    bool flushed = co_await transport.flush();
    if (!flushed) {
      result.end = SaslEnd::closed;
      co_return result;
    }
    std::string line;
    transport.set_secret_input(true);
    ReadStatus st = co_await transport.read_line(line, framing.max_response);
    transport.set_secret_input(false);
    if (st == ReadStatus::too_long) {
      result.end = SaslEnd::too_long;
      co_return result;
    }
    if (st != ReadStatus::ok) {
      result.end = SaslEnd::closed;
      co_return result;
    }
    if (framing.quoted) {
      if (line.size() < 2 || line.front() != '"' || line.back() != '"') {
        co_return ended(auth::AuthOutcome::malformed);
      }
      line = line.substr(1, line.size() - 2);
    }
    if (line == "*") co_return ended(auth::AuthOutcome::cancelled);  // RFC 4422 3.5
    response = core::base64_decode(line);
    if (!response) co_return ended(auth::AuthOutcome::malformed);
  }
}

}  // namespace mailroom::net
