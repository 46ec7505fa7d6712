// The queue's remote side: the queue decides when a message's remote recipients are tried,
// retried, given up on and reported (DSN); a RemoteTransport (src/outbound: MX lookup, SMTP
// client, TLS, DKIM) makes one attempt for the recipients of one domain and reports one reply
// per recipient. Interface only: including it costs nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mailroom::queue {

struct Envelope;

struct RemoteRecipient {
  size_t index = 0;     // into the envelope's recipients
  std::string address;  // the remote address (Destination::address)
  std::string notify;   // RFC 3461 NOTIFY as received ("" = not given)
  std::string orcpt;    // RFC 3461 ORCPT as received
};

struct RemoteAttempt {
  std::string queue_id;
  std::string domain;  // lower-case domain of every recipient below
  std::shared_ptr<const Envelope> envelope;
  // As spooled (CRLF, Received: first). Valid until `done` is called: the queue may drop the
  // bytes from memory between attempts.
  std::shared_ptr<const std::string> message;
  std::vector<RemoteRecipient> recipients;
  int attempt = 1;  // 1 for the first try of these recipients
};

struct RemoteReply {
  enum class Kind : uint8_t { delivered, temporary, permanent };
  Kind kind = Kind::temporary;
  int code = 0;        // SMTP reply code, 0 when none (DNS, connection, TLS)
  std::string status;  // RFC 3463 enhanced status "4.4.1"
  std::string text;    // the peer's reply or our reason, one line
  std::string peer;    // "mx.example.com[192.0.2.1]:25", empty when none was reached
  std::string tls;     // "TLSv1.3" or "" when the session was not encrypted
  // The peer took the message but does not offer DSN (RFC 3461 5.2.2: "relayed").
  bool relayed_without_dsn = false;
  // The destination's security policy, appended to the delivery log's detail ("sts=enforce");
  // empty when none applied.
  std::string policy;
};

class RemoteTransport {
 public:
  using Done = std::function<void(std::vector<RemoteReply>)>;
  virtual ~RemoteTransport() = default;
  // Tries once; `done` (on any thread, exactly once) gets one reply per attempt recipient, in
  // order. Must not block the caller.
  virtual void deliver(RemoteAttempt attempt, Done done) = 0;
  // Abandons running attempts (their recipients are tried again after a restart); called
  // after the queue stopped. An attempt that ended meanwhile may still call `done`; an
  // abandoned one keeps its `done`, uncalled, until the transport is destroyed, so `done`
  // must not own what owns the transport (the queue).
  virtual void stop() {}
};

}  // namespace mailroom::queue
