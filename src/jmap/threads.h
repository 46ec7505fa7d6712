// Conversations for JMAP (RFC 8621 3 Threads), internal to src/jmap. The store keeps no
// threads, so JMAP derives them from the header fields the store cached at delivery
// (mime::Facts) by the rule of src/mime/conversation.h, which IMAP's THREADID (RFC 8474 5.2)
// follows too: the same conversation has the same id in both protocols.
//
// ThreadCache keeps, per account, the index of every Email's thread, valid for the account's
// membership it was built from (each mailbox's id, UIDVALIDITY, UIDNEXT and message count:
// an append, move or expunge changes one; a flag change does not). A change rebuilds it from
// snapshots, reading cached facts only of Emails it did not know (incremental). Threading:
// thread-safe; get() blocks on the store. State: per process, a cache bounded by bytes (an
// estimate of each index's memory, max_bytes in all) and by accounts (kMaxThreadAccounts);
// the least recently used indexes go first. An index larger than max_bytes alone is not kept
// (each call rebuilds it in full).
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
  size_t bytes = 0;  // an estimate of the memory it holds (estimate_bytes())

  // The thread of an Email (its own "T" + guid when the index does not know it).
  std::string thread(const std::string& guid) const;
};

// The memory an index holds: its strings (heap beyond the small-string buffer), the hash
// nodes and the vectors; an estimate within tens of percent of what the allocator hands out.
size_t estimate_bytes(const ThreadIndex& index);

inline constexpr size_t kMaxThreadAccounts = 256;

class ThreadCache {
 public:
  explicit ThreadCache(size_t max_bytes = size_t{64} << 20) : max_bytes_(max_bytes) {}

  core::Result<std::shared_ptr<const ThreadIndex>> get(store::MailStore& store,
                                                       const std::string& account_id,
                                                       const std::vector<MailboxView>& all);
  size_t builds() const;
  size_t bytes() const;    // of the indexes kept
  size_t entries() const;  // accounts kept

 private:
  struct Entry {
    std::shared_ptr<const ThreadIndex> index;
    std::list<std::string>::iterator lru;
  };
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string, Entry> entries_;
  size_t bytes_ = 0;
  size_t builds_ = 0;
};

}  // namespace mailroom::jmap
