// The delivery log: one record per (message, final recipient) saying what was delivered
// where, for mail recall and audit (DESIGN.md "Storage on disk").
//
// Contract (every implementation: SQLite here, MariaDB for several nodes):
// - record() stores a batch of records durably (one transaction) or none of them.
//   Records are never updated in place: a retry after a temporary failure adds a new record.
// - query() returns records matching every non-empty field of the query, newest first,
//   at most `limit`. Text fields compare exactly (message_id, sender, recipient are
//   lower-cased addresses / the Message-ID as written), except subject_prefix (a prefix) and
//   subject_contains (a substring); `since`/`until` bound `time`.
// - Errors: unavailable (database down: the queue keeps the message state and retries the
//   log write later), io_error, invalid_argument (bad query).
//
// Threading: thread-safe; calls block. Call from the worker pool or the queue's threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/core/status.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::queue {

enum class DeliveryResult {
  delivered,      // stored in the mailbox; mailbox + uid set
  failed,         // permanent failure (e.g. message larger than quota); detail says why
  deferred,       // temporary failure; the queue will retry
  queued_remote,  // non-local recipient waiting for the remote client (not delivered yet)
  rejected,       // refused by a Scanner verdict
  sent,           // accepted by the remote server named in detail (peer, TLS, its reply)
};
const char* delivery_result_name(DeliveryResult r);
// Parses a name from delivery_result_name(); false when unknown.
bool parse_delivery_result(const std::string& name, DeliveryResult* out);

struct DeliveryRecord {
  int64_t id = 0;               // assigned by the log (0 when writing)
  std::string queue_id;         // the spool's id of the message
  std::string message_id;       // Message-ID header as written, without <>
  std::string envelope_sender;  // MAIL FROM ("" for <>)
  std::string header_from;      // From: header, RFC 2047-decoded, UTF-8
  std::string subject;          // Subject: header, RFC 2047-decoded, UTF-8
  std::string recipient;        // envelope recipient as given in RCPT TO (lower-cased)
  std::string final_address;    // the mailbox owner's primary address or remote address
  std::string account_id;       // mailbox owner ("" for remote)
  std::string mailbox;          // folder ("INBOX")
  uint32_t uid_validity = 0;
  uint32_t uid = 0;
  uint64_t size = 0;  // octets stored
  int64_t time = 0;   // seconds since the epoch (UTC)
  DeliveryResult result = DeliveryResult::delivered;
  std::string detail;  // reason for failures (client-safe text)
  // The stored message file's id (store::AppendResult::guid; "" for remote and older rows):
  // mail recall follows the copy through the user's MOVEs and COPYs by it.
  std::string guid;
  // The account whose forwarding made this copy ("" when not a forward; auth::Destination).
  std::string forwarded_by;
};

constexpr size_t kMaxAccountIds = 1024;

struct DeliveryQuery {
  std::string message_id;
  std::string queue_id;
  // Matches the envelope sender, except on forwarded copies, where it matches the forwarder
  // (the reference product's rule: a forward is found by who forwarded it). sender_domain too.
  std::string envelope_sender;
  std::string recipient;
  std::string account_id;
  // Any of these mailbox owners (at most kMaxAccountIds; a directory group's members).
  std::vector<std::string> account_ids;
  std::string recipient_domain;  // the part after the last '@' of recipient (lower-case)
  std::string sender_domain;     // the part after the last '@' of envelope_sender (lower-case)
  std::string subject_prefix;    // Subject starts with this (MariaDB: case-insensitive)
  std::string subject_contains;  // Subject contains this (case-insensitive for ASCII; scans)
  int64_t since = 0;             // 0 = unbounded
  int64_t until = 0;             // 0 = unbounded
  size_t limit = 100;
};

class DeliveryLog {
 public:
  virtual ~DeliveryLog() = default;
  // "sqlite", "mariadb" (for logs).
  virtual std::string name() const = 0;
  virtual core::Status record(const std::vector<DeliveryRecord>& records) = 0;
  virtual core::Result<std::vector<DeliveryRecord>> query(const DeliveryQuery& query) = 0;
};

// [delivery_log] backend = "sqlite" (default; path = "<data_dir>/delivery_log.db") |
// "mariadb" (see open_mariadb_delivery_log). Problems (bad keys, database cannot be opened)
// are added to the section's ConfigErrors and nullptr is returned.
std::shared_ptr<DeliveryLog> open_delivery_log(core::ConfigSection& section,
                                               const std::string& data_dir);

// SQLite implementation (WAL, one table, indexes on message_id/recipient/account/time).
core::Result<std::shared_ptr<DeliveryLog>> open_sqlite_delivery_log(const std::string& path);

// MariaDB implementation, provided by another module when built with
// MAILROOM_HAVE_MARIADB_DELIVERY_LOG (reads its own keys from `section`; must call
// section.finish() itself). Without it, backend = "mariadb" gives "not built in".
core::Result<std::shared_ptr<DeliveryLog>> open_mariadb_delivery_log(core::ConfigSection& section);

}  // namespace mailroom::queue
