// DeliveryFilter: the per-recipient decision of what local delivery does with a message after
// the Scanner hook: which folders get a copy (with which flags), whether the header changes,
// whether the message is refused, and which new messages (redirects, vacation replies) the
// queue sends once the copies are stored. Sieve (src/sieve/delivery.h) is the one
// implementation; without a filter the queue keeps the message in the scanner's folder.
//
// Contract:
// - plan() never fails: a broken filter answers "keep" (plus perhaps a notice for the user),
//   so no mail is lost to a filter error.
// - The queue stores the copies, then submits `outgoing`, then calls `commit` (records that
//   must only exist once the message was delivered: vacation and duplicate tracking).
// - After a crash between a store append and the journal, the queue re-plans and skips every
//   copy whose folder already holds the message (local_delivery.cpp); outgoing messages of
//   that plan may then be sent a second time (a redirect; vacation is kept to once by its
//   record).
//
// Threading: plan() runs on queue delivery threads (it may block on files and the directory).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/queue/queue.h"

namespace mailroom::queue {

struct FilterInput {
  std::string_view message;  // as spooled (our Received: on top), CRLF
  std::string envelope_sender;
  std::string rcpt;     // RCPT TO as given (keeps +detail)
  std::string address;  // the account's primary address
  std::string account_id;
  std::string default_folder;  // "INBOX", or the scanner's folder
  bool spooled = true;         // false for LMTP (a refusal is the recipient's 5xx)
};

struct FolderCopy {
  std::string mailbox;
  uint32_t flags = 0;  // store::Flag bits
  std::vector<std::string> keywords;
  bool create = false;
};

struct OutgoingMessage {
  Envelope envelope;    // recipients resolved; sender "" for auto-replies
  std::string message;  // without our Received: (the queue adds it with the new queue id)
  std::string kind;     // "redirect", "vacation" (logs)
};

struct DeliveryPlan {
  std::vector<FolderCopy> copies;         // empty and not refused: discarded
  std::optional<std::string> message;     // replaces the message text (edited header)
  bool refuse = false;                    // reject/ereject: a 5.7.1 for this recipient
  std::string refuse_reason;              // client-safe
  std::vector<OutgoingMessage> outgoing;  // sent after the copies are stored
  std::function<void()> commit;           // after a successful delivery
  std::optional<std::string> notice;      // a short message for the user's INBOX
  std::string summary;                    // for the delivery log line ("sieve: ...")
};

class DeliveryFilter {
 public:
  virtual ~DeliveryFilter() = default;
  virtual DeliveryPlan plan(const FilterInput& input) = 0;
};

}  // namespace mailroom::queue
