// The Queue: durable accept, then local delivery (and later remote delivery).
//
// Contract:
// - submit() calls `done` with a queue id only after the message data and its envelope are
//   durably on disk (written and fdatasync'd; the spool segment's directory entry fsync'd).
//   Only then may a session answer 250. Many concurrent submissions share one fsync (group
//   commit), see spool.h.
// - After a crash (kill -9) and restart, every message that was acknowledged is delivered to
//   each of its local recipients exactly once: per-recipient state is journaled, and a
//   recipient whose state was lost after a store append is detected by the queue id in the
//   stored message's Received: header (see local_delivery.cpp).
// - Local recipients go through the Scanner hook and into the MailStore, with a DeliveryLog
//   record each. Remote recipients go to the RemoteTransport (remote.h) one domain at a time,
//   retried on a growing schedule (retry_min doubling up to retry_max) until max_queue_time;
//   a delay notice after delay_warning (RFC 3461 NOTIFY=DELAY) and a bounce (RFC 3464) on
//   permanent failure or expiry go to the envelope sender, never to the null sender.
// - A bounce is durable before the failure is: the recipient waits in state bounce_due until
//   the report is spooled, so a crash in between sends the report after the restart.
//
// Threading: thread-safe. submit() never blocks on disk; `done` runs on a queue thread and
// must only post work to the session's executor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "auth/destination.h"
#include "src/core/status.h"

namespace mailroom::core {
class ConfigSection;
struct Services;
}  // namespace mailroom::core
namespace mailroom::filter {
class Scanner;
}

namespace mailroom::queue {

class RemoteTransport;
class DeliveryFilter;

// One final destination of a message (an RCPT expands to one or more of these).
struct EnvelopeRecipient {
  std::string rcpt;    // RCPT TO address as given (for DSN/logs)
  std::string orcpt;   // RFC 3461 ORCPT (kept, not interpreted)
  std::string notify;  // RFC 3461 NOTIFY (kept)
  auth::Destination destination;
};

struct Envelope {
  std::string sender;  // MAIL FROM address ("" for the null sender <>)
  std::string body;    // "7BIT" | "8BITMIME" | "BINARYMIME"
  bool smtputf8 = false;
  std::string ret;              // RFC 3461 RET (kept)
  std::string envid;            // RFC 3461 ENVID (kept)
  std::string auth_account_id;  // authenticated submitter ("" for MX)
  std::string client_ip;
  std::string helo;
  int64_t received_at = 0;  // seconds since the epoch
  std::vector<EnvelopeRecipient> recipients;
};

enum class RecipientState : uint8_t {
  pending = 0,  // not yet delivered
  delivered = 1,
  failed = 2,         // permanent failure, reported to the sender (or nobody to report to)
  remote = 3,         // waiting for (the next attempt of) remote delivery
  remote_warned = 4,  // remote, and the sender was told of the delay (RFC 3464 "delayed")
  bounce_due = 5,     // failed; the bounce is not spooled yet
};
constexpr uint8_t kMaxRecipientState = 5;

struct QueuedMessage {
  std::string queue_id;
  Envelope envelope;
  uint64_t size = 0;
  std::vector<RecipientState> states;  // one per envelope recipient
  bool held = false;                   // `mailroomctl queue hold`
};

struct Options {
  std::string spool_dir;  // <data_dir>/queue
  size_t delivery_threads = 4;
  uint64_t segment_bytes = 64u << 20;  // rotate spool segments at this size
  bool fsync = true;                   // false only for tests measuring without durability
  int64_t retry_seconds = 60;          // delay before retrying a deferred local recipient
  // Remote delivery schedule (like Postfix: minimal/maximal_backoff_time, maximal_queue_lifetime,
  // delay_warning_time).
  int64_t retry_min = 300;
  int64_t retry_max = 4000;
  int64_t max_queue_time = 5 * 24 * 3600;  // RFC 5321 4.5.4.1: give up after 4-5 days
  int64_t delay_warning = 4 * 3600;        // 0: never send delay notices
  size_t remote_in_flight = 200;           // remote attempts running at once
  bool return_full_message = false;        // bounces return the whole message without RET=FULL
};

Options parse_options(core::ConfigSection& section, const std::string& data_dir);

class Queue {
 public:
  using Done = std::function<void(core::Result<std::string> queue_id)>;
  virtual ~Queue() = default;

  // Recovers the spool and starts the commit and delivery threads.
  virtual core::Status start() = 0;
  // Stops the threads after the current batch; undelivered messages stay spooled.
  virtual void stop() = 0;

  // A new unique queue id ("MR" + 20 upper-case hex digits). Sessions take one before
  // writing the Received: header, which must contain it (crash recovery looks for it).
  virtual std::string new_queue_id() = 0;

  // Makes the message durable, then calls `done` (on a queue thread) with `queue_id`.
  // `message` is the complete message as it will be stored (Received: already prepended,
  // CRLF line endings); delivery adds Return-Path: and Delivered-To:.
  virtual void submit(std::string queue_id, Envelope envelope, std::string message, Done done) = 0;

  // LMTP (RFC 2033): delivers now, without spooling, and returns one Status per envelope
  // recipient (ok, over_quota, too_large, unavailable, ...). Blocking: call from the worker
  // pool. Same Scanner hook, headers and delivery log as spooled delivery.
  virtual std::vector<core::Status> deliver_now(const std::string& queue_id,
                                                const Envelope& envelope,
                                                const std::string& message) = 0;

  // Messages still in the spool (pending, deferred or waiting for remote delivery).
  virtual std::vector<QueuedMessage> list() = 0;

  // Waits until no local delivery is pending (tests, graceful stop). False on timeout.
  virtual bool wait_idle(int64_t timeout_ms) = 0;

  // Where remote recipients go; without one they wait in state "remote". Set before start().
  virtual void set_remote_transport(std::shared_ptr<RemoteTransport> transport) = 0;
  // Per-recipient filtering after the scanners (Sieve, delivery_filter.h); set before start().
  virtual void set_delivery_filter(std::shared_ptr<DeliveryFilter> filter) { (void)filter; }
  // Tries every waiting remote recipient now (`mailroomctl queue flush`, tests).
  virtual void flush_remote() = 0;
  // Mail recall: drops the recipients of `queue_id` not yet delivered or sent (those whose
  // destination address is in `only`, or all when it is empty), without a bounce, each with a
  // delivery log record saying `why`. found = false when the message is no
  // longer queued. in_flight: a remote attempt was running, so a dropped recipient may still
  // have been accepted by the peer (its delivery log record will say so).
  struct StoppedRecipient {
    std::string recipient;  // RCPT TO as given
    std::string address;    // the destination's address
    bool remote = false;
  };
  struct StopResult {
    bool found = false;
    bool in_flight = false;
    std::vector<StoppedRecipient> stopped;
  };
  virtual StopResult stop_message(const std::string& queue_id, const std::string& why,
                                  const std::vector<std::string>& only = {}) {
    (void)queue_id;
    (void)why;
    (void)only;
    return {};
  }
};

// The spool-backed queue; delivers into services.store and logs to services.delivery_log.
std::shared_ptr<Queue> open_queue(const Options& options, core::Services& services);
// Same with an explicit scanner chain (empty = accept everything).
std::shared_ptr<Queue> open_queue(const Options& options, core::Services& services,
                                  std::vector<std::shared_ptr<filter::Scanner>> scanners);

}  // namespace mailroom::queue
