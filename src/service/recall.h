// Mail recall and its audit (issue 18; the reference product's FAQ Q16): find a message in the
// delivery log, take every copy of it back out of the mailboxes it reached (and stop what is
// still queued), report the evidence per copy, undo, and purge after a configurable time.
//
// Rules:
// - Copies are followed by the store's message identity (the file guid the delivery log
//   recorded), so a copy the user moved or copied to another folder is found and recalled too;
//   a copy forwarded to another local account has its own delivery log record (forwarded_by).
// - A copy downloaded by POP3 (a retrieval mark) cannot be recalled: its server copy is still
//   taken out, and the copy is reported "downloaded", never "recalled".
// - Recalled copies go to the user's hidden recall area (src/store), kept `keep_days`, then
//   purged; undo puts them back with their flags.
// - Scope (src/service/admin_access.h): a caller sees a message when it may audit the sender's
//   domain or a recipient's domain, and sees (and recalls) only the copies in mailboxes of
//   domains it may audit (recall) — remote copies count as the sender domain's. An API token
//   or grant without the recall action may search but not recall.
// - Every search, recall and undo is audited (who, what, why: the reason is required) in an
//   append-only table of recall.db (<data_dir>/recall.db, 0600): SQLite triggers refuse any
//   UPDATE or DELETE of it.
//
// Threading: thread-safe; blocking (delivery log, store, SQLite). Call from the worker pool or
// mailroomctl. A recall spreads its mailboxes over `threads` threads of its own, so the server's
// worker pool (and delivery) is never waiting for it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/core/services.h"
#include "src/core/status.h"
#include "src/queue/delivery_log.h"
#include "src/service/admin_access.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::service {

struct RecallOptions {
  int64_t keep_seconds = 30 * 86400;  // [recall] keep_days: how long undo stays possible
  size_t threads = 8;                 // [recall] threads: mailboxes worked on at once
  size_t max_records = 20000;         // delivery log records one search reads at most
  size_t max_messages = 100;          // messages one recall may take back
  // Sender self-recall ([recall] self_recall_domains, self_recall_minutes): a user of one of
  // these domains may recall a message they sent to local recipients within the window, if no
  // copy was opened or downloaded yet.
  std::vector<std::string> self_recall_domains;
  int64_t self_recall_seconds = 600;
  // Where mailroomctl asks the running queue to stop queued copies; "" = <data_dir>/queue.
  std::string spool_dir;
};

// [recall] keep_days (1..3650, default 30), threads (1..64, 8), max_records, max_messages,
// self_recall_domains (list), self_recall_minutes (1..1440, 10).
RecallOptions parse_recall_options(core::ConfigSection& section);

// What to search: the delivery log's fields, plus a directory group whose members' copies
// (and mail sent to the group's own address) are wanted.
struct RecallCriteria {
  queue::DeliveryQuery query;
  std::string group;  // a group address ("" = none)
};

// One copy of a message: where it went and what happened to it since.
struct CopyReport {
  std::string recipient;     // RCPT TO as given
  std::string address;       // the mailbox owner's address, or the remote address
  std::string account_id;    // "" for remote copies
  std::string forwarded_by;  // the forwarder when this copy is a forward
  std::string queue_id;
  std::string guid;                  // the stored file ("" for remote or old records)
  int64_t delivered_at = 0;          // delivery log time
  std::string log_result;            // the delivery log's last result for this copy
  std::string detail;                // the peer's reply for sent copies, failure text
  std::vector<std::string> folders;  // where its copies are (before the action)
  bool seen = false;
  int64_t seen_at = 0;
  std::string seen_via;  // "imap", "jmap", ... ("" when unknown)
  int64_t downloaded_at = 0;
  std::string downloaded_from;  // client address of the POP3 download
  bool answered = false;        // \Answered
  bool forwarded = false;       // $Forwarded
  bool deleted_flag = false;    // \Deleted set but not expunged
  // delivered | opened | answered | forwarded | downloaded | deleted | recalled | restored |
  // queued | stopped | sent | not_delivered | error
  std::string state;
  bool recallable = false;
  size_t copies_taken = 0;  // store copies moved to the recall area by this action
  std::string note;
  bool evidence_pending = false;  // internal: read from the recall's own moves (not stored)
};

struct MessageReport {
  std::string message_id;
  std::string queue_id;
  std::string subject;
  std::string header_from;
  std::string envelope_sender;
  int64_t time = 0;
  uint64_t size = 0;
  std::vector<CopyReport> copies;
};

struct RecallReport {
  std::string recall_id;  // "" for a search or a dry run
  bool dry_run = false;
  std::string actor;
  std::string reason;
  int64_t created_at = 0;
  int64_t undone_at = 0;
  int64_t purged_at = 0;
  std::vector<MessageReport> messages;
};

struct RecallSummary {
  std::string recall_id;
  std::string actor;
  std::string reason;
  std::string criteria;  // JSON
  int64_t created_at = 0;
  int64_t undone_at = 0;
  int64_t purged_at = 0;
  size_t copies = 0;
};

struct AuditEntry {
  int64_t seq = 0;
  int64_t time = 0;
  std::string actor;
  std::string front_end;
  std::string action;  // search | recall | dry_run | undo | show | self_recall | purge
  std::string reason;
  std::string criteria;  // JSON
  std::string recall_id;
  int64_t results = 0;
};

struct AuditQuery {
  std::string actor;
  std::string action;
  std::string text;  // in the reason or the criteria
  int64_t since = 0;
  int64_t until = 0;
  size_t limit = 100;
};

class RecallService {
 public:
  // Opens (creating, 0600) <data_dir>/recall.db. `services` must outlive the service; its
  // delivery_log and store are required, queue and directory optional (mailroomctl has no
  // live queue: it asks mailroomd to stop queued copies through the spool's control files).
  static core::Result<std::shared_ptr<RecallService>> open(core::Services& services,
                                                           RecallOptions options);
  ~RecallService();

  // Searches, grouped by message, newest first, with the evidence of every copy the caller
  // may see. Audited; `reason` is required.
  core::Result<std::vector<MessageReport>> find(const Caller& caller,
                                                const RecallCriteria& criteria,
                                                const std::string& reason);
  // Recalls the messages with these Message-IDs / queue ids (at least one). dry_run: the
  // report of what would happen, nothing moved (audited as dry_run). permission_denied when
  // the caller may not recall any copy it sees; not_found when nothing matches.
  core::Result<RecallReport> recall(const Caller& caller,
                                    const std::vector<std::string>& message_ids,
                                    const std::vector<std::string>& queue_ids,
                                    const std::string& reason, bool dry_run);
  // Puts back every copy of a recall (its caller must be allowed to recall them).
  core::Result<RecallReport> undo(const Caller& caller, const std::string& recall_id,
                                  const std::string& reason);
  // A stored report (copies filtered to the caller's scope); not_found outside it.
  core::Result<RecallReport> show(const Caller& caller, const std::string& recall_id);
  core::Result<std::vector<RecallSummary>> list(const Caller& caller, size_t limit);
  // The audit trail (global admins and auditors/domain admins see entries of their own
  // recalls and searches only when not global: their actor names).
  core::Result<std::vector<AuditEntry>> audit(const Caller& caller, const AuditQuery& query);
  // Purges the recall areas of recalls older than keep_days (or `recall_id` now). Returns the
  // number of recalls purged.
  core::Result<size_t> purge(const Caller& caller, int64_t now, const std::string& recall_id = "");
  // Sender self-recall: the account `account_id` (address `address`) takes back a message it
  // sent to local recipients, within the window and while no copy was opened or downloaded.
  // permission_denied outside the rules (the text says which).
  core::Result<RecallReport> self_recall(const std::string& account_id, const std::string& address,
                                         const std::string& message_id);

  const RecallOptions& options() const { return options_; }

  struct Impl;  // recall.cpp

 private:
  RecallService(core::Services& services, RecallOptions options);
  std::unique_ptr<Impl> impl_;
  RecallOptions options_;
};

// Purges expired recalls (RecallService::purge) once at start and then every `interval`, on a
// thread of its own; the destructor stops it. mailroomd keeps one.
class RecallPurger {
 public:
  RecallPurger(std::shared_ptr<RecallService> recall, int64_t interval_seconds);
  ~RecallPurger();
  RecallPurger(const RecallPurger&) = delete;
  RecallPurger& operator=(const RecallPurger&) = delete;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// JSON and CSV of the reports (mailroomctl --json/--csv and the admin API share them).
std::string recall_report_json(const RecallReport& report);
std::string message_reports_json(const std::vector<MessageReport>& messages);
std::string recall_report_csv(const std::vector<MessageReport>& messages);
std::string recall_summaries_json(const std::vector<RecallSummary>& list);
std::string audit_entries_json(const std::vector<AuditEntry>& entries);

}  // namespace mailroom::service
