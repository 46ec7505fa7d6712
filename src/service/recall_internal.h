// Inside the recall service (recall.cpp, recall_log.cpp, recall_json.cpp): recall.db.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/db/sqlite.h"
#include "src/service/recall.h"

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

// A fresh recall id: "R" + UTC date + 8 random hex digits ("R20261205-3f9a1c2b").
std::string new_recall_id(int64_t now);

}  // namespace mailroom::service
