// The mail queue as an administrator sees it: the messages still waiting in the spool.
//
// Reads the spool files (src/queue/spool.h) without modifying them, so it is safe while
// mailroomd runs; a message whose every recipient is done (delivered or failed) is left
// out, it only waits for its segment to be cleaned up.
//
// Errors: io_error when the spool cannot be read.
// Threading: called from one thread; blocks on disk I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/core/status.h"
#include "src/queue/queue.h"

namespace mailroom::service {

// "pending", "delivered", "failed", "remote" ("unknown" for a value from a newer version).
const char* recipient_state_name(queue::RecipientState state);

struct SpooledRecipient {
  std::string rcpt;     // RCPT TO as given
  std::string address;  // where it goes: the account's primary address or the remote address
  queue::RecipientState state = queue::RecipientState::pending;
};

struct SpooledMessage {
  std::string queue_id;
  std::string sender;  // "" for the null sender
  uint64_t size = 0;
  int64_t received_at = 0;
  bool held = false;  // `mailroomctl queue hold`
  std::vector<SpooledRecipient> recipients;
};

class MailQueue {
 public:
  explicit MailQueue(std::string spool_dir) : spool_dir_(std::move(spool_dir)) {}

  // In spool order. A pending recipient with a remote destination is reported as remote.
  core::Result<std::vector<SpooledMessage>> list();

  // Asks the queue to flush (all, or one message), hold, release or delete a message
  // (src/queue/control.h): applied by mailroomd within about a second, or at its next start.
  core::Status request(const std::string& verb, const std::string& queue_id);

 private:
  std::string spool_dir_;
};

}  // namespace mailroom::service
