// Scanner: a verdict on a message before local delivery (virus, spam, ads, block lists).
//
// The queue calls every configured scanner in order before storing a message; the first
// verdict other than `accept` decides (reject: not delivered, logged as rejected; folder:
// delivered to that folder instead of INBOX, e.g. "Junk" or "Ads"; tempfail: retried later;
// discard: not stored, no bounce, logged as rejected with the reason, e.g. a personal block
// list). The personal lists (personal_lists.h) are such a scanner.
//
// Threading: thread-safe; scan() may block (clamd, libclamav): called from queue threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::filter {

enum class VerdictKind { accept, reject, folder, tempfail, discard };

struct Verdict {
  VerdictKind kind = VerdictKind::accept;
  std::string folder;  // for VerdictKind::folder
  std::string reason;  // for logs and the delivery log (client-safe)
};

struct ScanInput {
  std::string_view message;  // complete message, CRLF
  std::string envelope_sender;
  std::string recipient_address;  // final address
  std::string account_id;         // mailbox owner
  std::string client_ip;
  std::string folder;  // where it goes so far: "INBOX", or "Junk"/"Ads" by an earlier verdict
};

class Scanner {
 public:
  virtual ~Scanner() = default;
  virtual std::string name() const = 0;
  virtual Verdict scan(const ScanInput& input) = 0;
};

}  // namespace mailroom::filter
