// Inside the recall service (recall.cpp, recall_log.cpp, recall_json.cpp): recall.db.
#pragma once

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "src/db/sqlite.h"
#include "src/service/recall.h"
#include "src/store/mail_store.h"

namespace mailroom::auth {
class Directory;
}

namespace mailroom::service {

// recall.db: the recalls, their per-copy reports, and the append-only audit trail.
class RecallLog {
 public:
  static core::Result<std::unique_ptr<RecallLog>> open(const std::string& path);

  core::Status audit(const Caller& caller, const std::string& action, const std::string& reason,
                     const std::string& criteria, const std::string& recall_id, int64_t results);
  // The recall's row, written before any copy moves (so a crash mid-recall leaves a recall
  // that undo and purge know about), then its copies once done.
  core::Status begin_recall(const RecallReport& report, const Caller& caller,
                            const std::string& criteria);
  core::Status save_copies(const RecallReport& report);
  core::Result<RecallReport> load(const std::string& recall_id);
  core::Status mark_undone(const std::string& recall_id, int64_t when, const std::string& actor);
  core::Status mark_purged(const std::string& recall_id, int64_t when);
  // Account ids with copies in the recall area of `recall_id` (from begin_recall_accounts).
  core::Status add_accounts(const std::string& recall_id, const std::vector<std::string>& ids);
  core::Result<std::vector<std::string>> accounts(const std::string& recall_id);
  core::Result<std::vector<RecallSummary>> list(size_t limit);
  // Recalls created before `before`, neither undone nor purged.
  core::Result<std::vector<std::string>> expired(int64_t before);
  core::Result<std::vector<AuditEntry>> search_audit(const AuditQuery& query);

 private:
  explicit RecallLog(std::unique_ptr<db::Sqlite> db) : db_(std::move(db)) {}
  std::mutex mu_;
  std::unique_ptr<db::Sqlite> db_;
};

struct RecallService::Impl {
  core::Services& services;
  std::unique_ptr<RecallLog> log;
};

// The delivery log detail of a recipient a recall stopped in the queue ("... <recall id>").
inline constexpr const char* kStoppedPrefix = "stopped by mail recall";

// The lower-case domain after the last '@' ("" when none).
std::string recall_domain_of(std::string_view address);
// The domain whose administrators see (and recall) this copy: the mailbox's for local copies,
// the sender's for copies on their way out.
std::string recall_copy_domain(const CopyReport& c, const MessageReport& m);

// What a caller may see and do with copies: its domain grants (Caller::can), and grants
// limited to a directory group's members (Grant::members_of), which cover only the mailboxes
// of those members. Group members are expanded once per object (one object per call).
class RecallScope {
 public:
  RecallScope(const Caller& caller, auth::Directory* directory);
  bool allows(Action action, const CopyReport& c, const MessageReport& m);
  // `messages` with only the copies the caller may audit, and without messages left with none.
  std::vector<MessageReport> auditable(std::vector<MessageReport> messages);
  // The member groups of grants that may `action` somewhere.
  std::vector<std::string> member_groups(Action action) const;
  // Account ids of a group's members (empty when it cannot be expanded: fail closed).
  const std::set<std::string>& members(const std::string& group);

 private:
  const Caller& caller_;
  auth::Directory* directory_;
  std::map<std::string, std::set<std::string>> cache_;
};

// Every copy of the messages matched by `criteria` (first the matching records, then all
// records of each matched message, at most options.max_messages), with evidence, filtered to
// what `caller` may audit (recall_collect.cpp).
//
// Evidence::from_recall (a recall, not a dry run): the copies the caller may recall are not
// read here but marked evidence_pending; the recall takes their evidence from the rows it moves,
// so that each mailbox's index is opened once, not twice (10,000 mailboxes: twice the time).
enum class Evidence { gather, from_recall };
core::Result<std::vector<MessageReport>> recall_collect(RecallService::Impl& impl,
                                                        const RecallOptions& options,
                                                        const Caller& caller,
                                                        const RecallCriteria& criteria,
                                                        Evidence evidence = Evidence::gather);

// A copy's evidence from its store copies (mailbox, row): folders, opened, downloaded,
// answered, forwarded, and the state they add up to.
void apply_evidence(CopyReport& c,
                    const std::vector<std::pair<std::string, const store::MessageMeta*>>& copies);
// A delivered copy with no store copies left: deleted by the user, or already recalled.
void no_copies_left(store::MailStore& store, CopyReport& c);

// Runs fn(0..n-1) on up to `threads` threads of its own (never the server's worker pool).
template <typename Fn>
void recall_parallel_for(size_t n, size_t threads, Fn&& fn) {
  threads = std::max<size_t>(1, std::min(threads, n));
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

// A fresh recall id: "R" + UTC date + 8 random hex digits ("R20261205-3f9a1c2b").
std::string new_recall_id(int64_t now);

}  // namespace mailroom::service
