// The in-memory store::MailStore for unit tests (queue delivery, POP3 sessions), with fault
// injection and recorded calls.
//
//   mailroom::testing::FakeStore store;
//   store.add("id-alice", "Subject: hi\n\nbody\n");              // INBOX, stored with CRLF
//   store.fail(FakeStore::Op::append, core::Code::unavailable, 1);  // the next append only
//   store.fail(FakeStore::Op::read_message, core::Code::io_error);  // every read, until cleared
//
// Every mailbox exists (empty) until something is appended to it; there is no quota. What it
// implements: append, snapshot, read_message(s), expunge, retrieval marks (with the default
// RetrievalJournal of mail_store.h) and quota_usage. Everything else answers Code::internal
// "not in the fake", and watch() returns no handle. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/store/mail_store.h"

namespace mailroom::testing {

class FakeStore : public store::MailStore {
 public:
  // Calls that can be made to fail and are counted. mark_retrieved covers the batch call.
  enum class Op { append, snapshot, read_message, expunge, mark_retrieved, kCount };

  // A POP3 retrieval mark as the fake received it.
  struct Mark {
    uint32_t uid = 0;
    int64_t when = 0;
    std::string ip;
    bool written_with_sync = false;  // by a mark_retrieved_batch call with sync=true
    bool durable = false;            // that call or a later one with sync=true
    int synced_by = 0;               // which sync (1, 2, ...) made it durable
  };

  uint32_t uid_validity = 1700000000;  // of every mailbox

  // --- setup and inspection (no faults, not counted) ---
  // Stores a message (CRLF line endings, like the file store); returns its UID.
  uint32_t add(const std::string& account, std::string_view message,
               const std::string& mailbox = "INBOX");
  size_t count(const std::string& account, const std::string& mailbox = "INBOX");
  bool has_uid(const std::string& account, uint32_t uid, const std::string& mailbox = "INBOX");
  std::vector<Mark> marks(const std::string& account, const std::string& mailbox = "INBOX");

  // --- fault injection and recorded calls ---
  // The next `times` calls of `op` (every call when negative) answer `code`; Code::ok clears.
  void fail(Op op, core::Code code, int times = -1);
  int calls(Op op);  // calls made, failed ones included
  int syncs();       // mark_retrieved_batch calls with sync=true that succeeded

  // --- store::MailStore ---
  core::Result<store::AppendResult> append(const std::string& account,
                                           const store::AppendRequest& request) override;
  core::Result<store::Snapshot> snapshot(const std::string& account,
                                         const std::string& mailbox) override;
  core::Result<std::string> read_message(const std::string& account, const std::string& mailbox,
                                         uint32_t uid) override;
  core::Result<std::vector<uint32_t>> expunge(const std::string& account,
                                              const std::string& mailbox,
                                              const std::vector<uint32_t>& uids) override;
  core::Status mark_retrieved(const std::string& account, const std::string& mailbox, uint32_t uid,
                              int64_t when, const std::string& client_ip) override;
  core::Status mark_retrieved_batch(const std::string& account, const std::string& mailbox,
                                    const std::vector<std::pair<uint32_t, int64_t>>& marks,
                                    const std::string& client_ip, bool sync) override;
  core::Result<store::QuotaUsage> quota_usage(const std::string& account) override;

  // Not in the fake.
  core::Result<std::vector<store::MailboxInfo>> list_mailboxes(const std::string&) override;
  core::Result<store::MailboxInfo> mailbox_status(const std::string&, const std::string&) override;
  core::Status create_mailbox(const std::string&, const std::string&, store::SpecialUse) override;
  core::Status delete_mailbox(const std::string&, const std::string&, bool) override;
  core::Status rename_mailbox(const std::string&, const std::string&, const std::string&) override;
  core::Status set_subscribed(const std::string&, const std::string&, bool) override;
  core::Result<std::vector<std::string>> subscriptions(const std::string&) override;
  core::Result<store::Changes> changes_since(const std::string&, const std::string&,
                                             uint64_t) override;
  core::Result<store::StoreFlagsResult> store_flags(const std::string&, const std::string&,
                                                    const store::StoreFlagsRequest&) override;
  core::Result<store::CopyResult> copy(const std::string&, const std::string&,
                                       const std::vector<uint32_t>&, const std::string&,
                                       const store::Quota&) override;
  core::Result<store::CopyResult> move(const std::string&, const std::string&,
                                       const std::vector<uint32_t>&, const std::string&) override;
  core::Result<std::string> facts(const std::string&, const std::string&, uint32_t) override;
  std::unique_ptr<store::WatchHandle> watch(
      const std::string&, const std::string&,
      std::function<void(const store::ChangeEvent&)>) override;

 private:
  struct Box {
    uint32_t next_uid = 1;
    uint64_t highest_modseq = 1;
    std::map<uint32_t, std::pair<store::MessageMeta, std::string>> messages;
    std::vector<Mark> marks;
  };
  struct Fault {
    core::Code code = core::Code::ok;
    int remaining = 0;  // negative: every call
  };
  // Counts a call of `op` and answers its injected fault, if any (ok otherwise). Locked.
  core::Status enter(Op op);
  Box& box(const std::string& account, const std::string& mailbox) {
    return accounts_[account][mailbox];
  }
  uint32_t insert(Box& box, std::string_view message, const store::AppendRequest& request);

  std::mutex mu_;

  uint64_t guids_ = 0;                                          // the last guid handed out
  std::map<std::string, std::map<std::string, Box>> accounts_;  // account -> mailbox -> box
  std::array<Fault, static_cast<size_t>(Op::kCount)> faults_{};
  std::array<int, static_cast<size_t>(Op::kCount)> calls_{};
  int syncs_ = 0;
};

}  // namespace mailroom::testing
