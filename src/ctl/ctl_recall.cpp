// mailroomctl recall (service::RecallService, issue 18):
//   recall --message-id ID [--queue-id Q] --reason TEXT [--dry-run] [--json|--csv]
//   recall find [--message-id ...] [--group G] ... --reason TEXT [--json|--csv]
//   recall undo RECALL_ID --reason TEXT
//   recall show RECALL_ID [--json|--csv]
//   recall list [--limit N]
//   recall audit [--actor A] [--action X] [--text T] [--since S] [--until U] [--limit N]
//   recall purge [RECALL_ID]          (without an id: every recall older than keep_days)
// mailroomctl acts as the server's owner (a global admin). Queued copies are stopped through
// the spool's control files (mailroomd applies them within a second).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <ctime>
#include <iostream>

#include "src/ctl/ctl.h"
#include "src/service/recall.h"

namespace mailroom::ctl {
namespace {

struct RecallArgs {
  std::vector<std::string> message_ids;
  std::vector<std::string> queue_ids;
  std::string reason;
  bool csv = false;
  service::RecallCriteria criteria;
  std::string recall_id;
  service::AuditQuery audit;
  size_t limit = 50;
};

std::shared_ptr<service::RecallService> open_recall(Context& ctx, int* code) {
  auto* services = ctx.services();
  if (!services) {
    *code = kSystemError;
    return nullptr;
  }
  service::RecallOptions options =
      ctx.recall_options ? *ctx.recall_options : service::RecallOptions{};
  options.spool_dir = ctx.data_dir() + "/queue";
  auto svc = service::RecallService::open(*services, options);
  if (!svc) {
    *code = ctx.fail(svc.status());
    return nullptr;
  }
  return *svc;
}

std::string when(int64_t t) {
  if (t == 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

std::string human_messages(const std::vector<service::MessageReport>& messages) {
  std::string out;
  for (const auto& m : messages) {
    out += "<" + m.message_id + "> " + m.queue_id + " " + when(m.time) + " from " +
           m.envelope_sender + "\n  Subject: " + m.subject + "\n";
    for (const auto& c : m.copies) {
      std::string folders;
      for (const auto& f : c.folders) folders += (folders.empty() ? "" : ",") + f;
      out += "  " + c.address + "  " + c.state;
      if (!folders.empty()) out += "  [" + folders + "]";
      if (!c.forwarded_by.empty()) out += "  forwarded by " + c.forwarded_by;
      if (c.seen)
        out += "  opened " + when(c.seen_at) + (c.seen_via.empty() ? "" : " via " + c.seen_via);
      if (c.downloaded_at)
        out += "  downloaded " + when(c.downloaded_at) + " from " + c.downloaded_from;
      if (!c.note.empty()) out += "  (" + c.note + ")";
      out += "\n";
    }
  }
  return out.empty() ? "(nothing found)" : out;
}

void print_report(Context& ctx, const service::RecallReport& r, bool csv) {
  if (csv) {
    std::cout << service::recall_report_csv(r.messages);
    return;
  }
  std::string head = r.dry_run ? "dry run: nothing was moved\n"
                               : "recall " + r.recall_id + " by " + r.actor + " at " +
                                     when(r.created_at) + (r.undone_at ? " (undone)" : "") + "\n";
  ctx.print(head + human_messages(r.messages), service::recall_report_json(r));
}

int run_recall(Context& ctx, RecallArgs& a) {
  int code = kOk;
  auto svc = open_recall(ctx, &code);
  if (!svc) return code;
  auto r = svc->recall(service::cli_caller(), a.message_ids, a.queue_ids, a.reason, ctx.dry_run);
  if (!r) return ctx.fail(r.status());
  print_report(ctx, *r, a.csv);
  return kOk;
}

int run_find(Context& ctx, RecallArgs& a) {
  int code = kOk;
  auto svc = open_recall(ctx, &code);
  if (!svc) return code;
  auto r = svc->find(service::cli_caller(), a.criteria, a.reason);
  if (!r) return ctx.fail(r.status());
  if (a.csv) {
    std::cout << service::recall_report_csv(*r);
    return kOk;
  }
  ctx.print(human_messages(*r), service::message_reports_json(*r));
  return kOk;
}

int run_undo(Context& ctx, RecallArgs& a) {
  int code = kOk;
  auto svc = open_recall(ctx, &code);
  if (!svc) return code;
  auto r = svc->undo(service::cli_caller(), a.recall_id, a.reason);
  if (!r) return ctx.fail(r.status());
  print_report(ctx, *r, a.csv);
  return kOk;
}

int run_show(Context& ctx, RecallArgs& a) {
  int code = kOk;
  auto svc = open_recall(ctx, &code);
  if (!svc) return code;
  auto r = svc->show(service::cli_caller(), a.recall_id);
  if (!r) return ctx.fail(r.status());
  print_report(ctx, *r, a.csv);
  return kOk;
}

int run_list(Context& ctx, RecallArgs& a) {
  int code = kOk;
  auto svc = open_recall(ctx, &code);
  if (!svc) return code;
  auto r = svc->list(service::cli_caller(), a.limit);
  if (!r) return ctx.fail(r.status());
  std::string human;
  for (const auto& s : *r) {
    human += s.recall_id + "  " + when(s.created_at) + "  " + s.actor + "  " +
             std::to_string(s.copies) + " copies" + (s.undone_at ? "  undone" : "") +
             (s.purged_at ? "  purged" : "") + "  " + s.reason + "\n";
  }
  ctx.print(human.empty() ? "(no recalls)" : human, service::recall_summaries_json(*r));
  return kOk;
}

int run_audit(Context& ctx, RecallArgs& a) {
  int code = kOk;
  auto svc = open_recall(ctx, &code);
  if (!svc) return code;
  a.audit.limit = a.limit;
  auto r = svc->audit(service::cli_caller(), a.audit);
  if (!r) return ctx.fail(r.status());
  std::string human;
  for (const auto& e : *r) {
    human += std::to_string(e.seq) + "  " + when(e.time) + "  " + e.actor + "  " + e.action + "  " +
             e.recall_id + "  " + std::to_string(e.results) + "  " + e.reason + "  " + e.criteria +
             "\n";
  }
  ctx.print(human.empty() ? "(no entries)" : human, service::audit_entries_json(*r));
  return kOk;
}

int run_purge(Context& ctx, RecallArgs& a) {
  int code = kOk;
  auto svc = open_recall(ctx, &code);
  if (!svc) return code;
  auto n = svc->purge(service::cli_caller(), static_cast<int64_t>(::time(nullptr)), a.recall_id);
  if (!n) return ctx.fail(n.status());
  ctx.print(std::to_string(*n) + " recall(s) purged", "{\"purged\":" + std::to_string(*n) + "}");
  return kOk;
}

}  // namespace

void register_recall_commands(CLI::App& app, Context& ctx, int* ec) {
  auto a = std::make_shared<RecallArgs>();
  auto* r = app.add_subcommand("recall",
                               "Mail recall: take a message back out of every mailbox it reached");
  r->add_option("--message-id", a->message_ids, "Message-ID (without <>) to recall; repeatable");
  r->add_option("--queue-id", a->queue_ids, "Queue id to recall; repeatable");
  r->add_option("--reason", a->reason, "Why (required; kept in the audit trail)");
  r->add_flag("--csv", a->csv, "The per-copy report as CSV");
  r->add_flag("--dry-run", ctx.dry_run, "Report what would be recalled, move nothing");
  r->require_subcommand(0, 1);

  auto* find = r->add_subcommand("find", "Search the delivery log, with each copy's evidence");
  auto& q = a->criteria.query;
  find->add_option("--message-id", q.message_id, "Message-ID without <>");
  find->add_option("--queue-id", q.queue_id, "Queue id");
  find->add_option("--sender", q.envelope_sender, "Sender (the forwarder, for forwarded copies)");
  find->add_option("--recipient", q.recipient, "Envelope recipient");
  find->add_option("--sender-domain", q.sender_domain, "Sender domain");
  find->add_option("--recipient-domain", q.recipient_domain, "Recipient domain");
  find->add_option("--subject", q.subject_prefix, "Subject starts with this");
  find->add_option("--subject-contains", q.subject_contains, "Subject contains this");
  find->add_option("--group", a->criteria.group, "Mail to this directory group or its members");
  find->add_option("--since", q.since, "From this time (Unix seconds)");
  find->add_option("--until", q.until, "Up to this time (Unix seconds)");
  find->add_option("--limit", q.limit, "Delivery log records to read at most");
  find->add_option("--reason", a->reason, "Why (required; kept in the audit trail)")->required();
  find->add_flag("--csv", a->csv, "As CSV");
  find->callback([&ctx, ec, a] { *ec = run_find(ctx, *a); });

  auto* undo = r->add_subcommand("undo", "Put back every copy a recall took");
  undo->add_option("recall_id", a->recall_id, "Recall id")->required();
  undo->add_option("--reason", a->reason, "Why (required)")->required();
  undo->callback([&ctx, ec, a] { *ec = run_undo(ctx, *a); });

  auto* show = r->add_subcommand("show", "A recall's per-copy report");
  show->add_option("recall_id", a->recall_id, "Recall id")->required();
  show->add_flag("--csv", a->csv, "As CSV");
  show->callback([&ctx, ec, a] { *ec = run_show(ctx, *a); });

  auto* list = r->add_subcommand("list", "Recalls, newest first");
  list->add_option("--limit", a->limit, "At most this many");
  list->callback([&ctx, ec, a] { *ec = run_list(ctx, *a); });

  auto* audit = r->add_subcommand("audit", "The append-only audit trail of searches and recalls");
  audit->add_option("--actor", a->audit.actor, "Who");
  audit->add_option("--action", a->audit.action, "search, recall, dry_run, undo, show, purge, ...");
  audit->add_option("--text", a->audit.text, "In the reason or the criteria, or a recall id");
  audit->add_option("--since", a->audit.since, "From this time (Unix seconds)");
  audit->add_option("--until", a->audit.until, "Up to this time (Unix seconds)");
  audit->add_option("--limit", a->limit, "At most this many");
  audit->callback([&ctx, ec, a] { *ec = run_audit(ctx, *a); });

  auto* purge = r->add_subcommand("purge", "Delete recalled copies for good (default: expired)");
  purge->add_option("recall_id", a->recall_id, "One recall now");
  purge->callback([&ctx, ec, a] { *ec = run_purge(ctx, *a); });

  r->callback([&ctx, ec, a, r] {
    if (!r->get_subcommands().empty()) return;
    if (a->reason.empty()) {
      *ec = ctx.fail(core::invalid_argument("--reason is required"));
      return;
    }
    *ec = run_recall(ctx, *a);
  });
}

}  // namespace mailroom::ctl
