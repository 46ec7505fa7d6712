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
//   record each. Remote recipients stay queued (state "remote", listed by `queue list`):
//   there is no remote SMTP client yet.
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
  failed = 2,  // permanent failure (no DSN client yet: logged)
  remote = 3,  // waiting for the remote client
};

struct QueuedMessage {
  std::string queue_id;
  Envelope envelope;
  uint64_t size = 0;
  std::vector<RecipientState> states;  // one per envelope recipient
};

struct Options {
  std::string spool_dir;  // <data_dir>/queue
  size_t delivery_threads = 4;
  uint64_t segment_bytes = 64u << 20;  // rotate spool segments at this size
  bool fsync = true;                   // false only for tests measuring without durability
  int64_t retry_seconds = 60;          // delay before retrying a deferred recipient
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
};

// The spool-backed queue; delivers into services.store and logs to services.delivery_log.
std::shared_ptr<Queue> open_queue(const Options& options, core::Services& services);
// Same with an explicit scanner chain (empty = accept everything).
std::shared_ptr<Queue> open_queue(const Options& options, core::Services& services,
                                  std::vector<std::shared_ptr<filter::Scanner>> scanners);

}  // namespace mailroom::queue
