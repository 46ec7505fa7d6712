// Conversations for JMAP (RFC 8621 3 Threads), internal to src/jmap. The store keeps no
// threads, so JMAP derives them from the header fields the store cached at delivery
// (mime::Facts) by the rule of src/mime/conversation.h, which IMAP's THREADID (RFC 8474 5.2)
// follows too: the same conversation has the same id in both protocols.
//
// ThreadCache keeps, per account, the index of every Email's thread, valid for the account's
// membership it was built from (each mailbox's id, UIDVALIDITY, UIDNEXT and message count:
// an append, move or expunge changes one; a flag change does not). A change rebuilds it from
// snapshots, reading cached facts only of Emails it did not know (incremental). Threading:
// thread-safe; get() blocks on the store. State: per process, a cache (at most 256 accounts,
// least recently used dropped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "src/core/status.h"
#include "src/jmap/views.h"
#include "src/mime/conversation.h"

namespace mailroom::jmap {

// The conversation rule and the Thread id, shared with IMAP THREADID (src/mime/conversation.h).
using mime::thread_id_of;
using mime::thread_root;

struct ThreadIndex {
  std::string membership;
  std::unordered_map<std::string, std::string> thread_of;  // guid -> thread id
  // thread id -> guids by receivedAt ascending (then guid): RFC 8621 3 "emailIds" order.
  std::unordered_map<std::string, std::vector<std::string>> members;
  // Threads of Emails the previous index had and this one has not (Thread/changes), bounded.
  std::unordered_map<std::string, std::string> gone;

  // The thread of an Email (its own "T" + guid when the index does not know it).
  std::string thread(const std::string& guid) const;
};

class ThreadCache {
 public:
  core::Result<std::shared_ptr<const ThreadIndex>> get(store::MailStore& store,
                                                       const std::string& account_id,
                                                       const std::vector<MailboxView>& all);
  size_t builds() const;

 private:
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string, std::shared_ptr<const ThreadIndex>> entries_;
  size_t builds_ = 0;
};

}  // namespace mailroom::jmap
