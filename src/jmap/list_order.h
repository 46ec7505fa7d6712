// The order of one mailbox's Emails by receivedAt, kept between requests, for the query the
// web client sends whenever a folder opens or scrolls (Email/query with only inMailbox, sorted
// by receivedAt): the list of a 100,000-message folder should open as fast as a 100-message
// one (issue 19), and reading and sorting every message of the folder per request does not.
//
// An order is valid for the mailbox's membership it was built from: (UIDVALIDITY, UIDNEXT,
// number of messages). Any change of membership changes one of them: an append or a move in
// raises UIDNEXT, an expunge or a move out lowers the count, a mailbox made again gets a new
// UIDVALIDITY. Flag changes (keywords) leave the order as it is, so they do not rebuild it.
// Internal dates never change after append.
//
// Threading: thread-safe; get() blocks on the store (worker pool). Least recently used orders
// are dropped beyond max_bytes. State: per process, a cache (a miss rebuilds it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/core/status.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {

struct ListOrder {
  uint32_t uid_validity = 0;
  uint32_t uid_next = 0;
  uint32_t messages = 0;
  // Message guids (Email ids without their "M"), each once, by receivedAt (descending unless
  // ascending), equal dates by guid ascending: the order of email_query's general path.
  std::vector<std::string> guids;
  size_t bytes = 0;
};

class ListOrderCache {
 public:
  explicit ListOrderCache(size_t max_bytes = size_t{64} << 20) : max_bytes_(max_bytes) {}

  // The order of `mailbox` (as load_mailboxes described it a moment ago), built from a store
  // snapshot when it is not kept or its membership changed. Blocking.
  core::Result<std::shared_ptr<const ListOrder>> get(store::MailStore& store,
                                                     const std::string& account_id,
                                                     const store::MailboxInfo& mailbox,
                                                     bool ascending);
  size_t bytes() const;
  size_t builds() const;  // orders built from snapshots so far (tests, metrics)

 private:
  struct Entry {
    std::shared_ptr<const ListOrder> order;
    std::list<std::string>::iterator lru;
  };
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string, Entry> entries_;
  size_t bytes_ = 0;
  size_t builds_ = 0;
};

// The order of a snapshot's messages (pure; list_order.cpp).
std::shared_ptr<ListOrder> build_list_order(const store::Snapshot& snap, bool ascending);

}  // namespace mailroom::jmap
