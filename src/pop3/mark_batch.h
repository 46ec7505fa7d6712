// When a session's POP3 retrieval marks become durable. Pure bookkeeping, no I/O.
//
// The guarantee (issue 7, mail recall must know which messages left the server):
// - Every mark is appended to the session's retrieval journal (store::RetrievalJournal) before
//   its message is sent (RETR, and TOP when it sends the whole message); if it cannot be
//   written the client gets -ERR [SYS/TEMP] and no message. An appended mark survives a crash
//   or kill of mailroomd.
// - Marks are not fsync'd one by one (a per-message fsync capped a download at the disk's
//   fsync rate). A power loss or kernel crash can lose marks that are not yet synced, and at
//   most: those written since the last sync, which happens with the mark of the
//   `max_unsynced`-th message, with the first mark written `max_age` or more after the oldest
//   unsynced one ([pop3] retrieval_sync_messages, retrieval_sync_ms: 1,000 and 1 s), before
//   the answer to QUIT, and when the session ends in any other way (drop, timeout, shutdown).
//   A sync also makes the marks visible in the index (MessageMeta::retrieved_at).
#pragma once

#include <chrono>
#include <cstddef>

namespace mailroom::pop3 {

class MarkBatch {
 public:
  using Clock = std::chrono::steady_clock;

  MarkBatch(std::size_t max_unsynced, Clock::duration max_age)
      : max_unsynced_(max_unsynced == 0 ? 1 : max_unsynced), max_age_(max_age) {}

  // Whether the mark about to be written must be synced (it then covers every earlier one).
  bool next_needs_sync(Clock::time_point now) const {
    return unsynced_ + 1 >= max_unsynced_ || (unsynced_ > 0 && now - oldest_ >= max_age_);
  }
  // A mark was committed; `synced`: with an fsync, so nothing is pending any more.
  void written(bool synced, Clock::time_point now) {
    if (synced) {
      unsynced_ = 0;
      return;
    }
    if (unsynced_++ == 0) oldest_ = now;
  }
  // Marks committed without fsync since the last sync.
  std::size_t unsynced() const { return unsynced_; }
  void synced() { unsynced_ = 0; }

 private:
  std::size_t max_unsynced_;
  Clock::duration max_age_;
  std::size_t unsynced_ = 0;
  Clock::time_point oldest_{};
};

}  // namespace mailroom::pop3
