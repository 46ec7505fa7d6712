// Conversations for JMAP (RFC 8621 3 Threads), internal to src/jmap. The store keeps no
// threads (IMAP answers THREADID NIL), so JMAP derives them from the header fields the store
// cached at delivery (mime::Facts): a message belongs to the thread of its root, the first
// message id of References (RFC 5322 3.6.4: the thread's first message), else of In-Reply-To,
// else its own Message-ID; a message without any is a thread of its own. Subjects are not
// compared (no merging of "Re:" chains without References).
//
// Thread id: "T" + 16 hex digits of a hash of the root's message id, so every copy of an Email
// and every Email of one conversation answer the same id, and the id survives rebuilds.
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

namespace mailroom::jmap {

// The root message id of a message's thread from its raw header fields; "" when it has none.
std::string thread_root(std::string_view message_id, std::string_view in_reply_to,
                        std::string_view references);
// The Thread id of a root ("" root: the Email's own thread, from its guid).
std::string thread_id_of(std::string_view root, std::string_view guid);

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
