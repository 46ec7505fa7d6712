// mailroomctl mailbox, fsck, export, import and quota (service::Mailboxes; src/ctl/ctl.h
// conventions).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <memory>

#include "src/ctl/ctl_support.h"
#include "src/service/mailboxes.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;

// The mailbox service over the configured directory and store, or nullopt after printing why.
std::optional<service::Mailboxes> mailboxes(Context& ctx, int* exit_code) {
  core::Services* sv = ctx.services();
  if (!sv) {
    *exit_code = ctx.fail(core::Status::error(core::Code::unavailable, "cannot open the services"));
    return std::nullopt;
  }
  return service::Mailboxes(sv->directory.get(), sv->store.get(), detail::change_context(ctx));
}

json::object report_json(const store::FsckReport& r) {
  json::array errors, repaired;
  for (auto& e : r.errors) errors.emplace_back(e);
  for (auto& e : r.repaired) repaired.emplace_back(e);
  return {{"account_id", r.account_id},
          {"consistent", r.consistent()},
          {"messages", r.messages},
          {"files", r.files},
          {"orphan_files", r.orphan_files},
          {"tmp_files", r.tmp_files},
          {"stale_cache_files", r.stale_cache_files},
          {"index_rebuilt", r.index_rebuilt},
          {"errors", errors},
          {"repaired", repaired}};
}

std::string mailbox_line(const store::MailboxInfo& b) {
  const char* special = store::special_use_attribute(b.special_use);
  return b.name + "  messages=" + std::to_string(b.messages) +
         " unseen=" + std::to_string(b.unseen) + " size=" + std::to_string(b.size) +
         " uidvalidity=" + std::to_string(b.uid_validity) +
         " uidnext=" + std::to_string(b.uid_next) + (b.subscribed ? " subscribed" : "") +
         (*special ? std::string(" ") + special : std::string()) + "\n";
}

void register_mailbox(CLI::App& app, Context& ctx, int* exit_code) {
  auto* mbox = app.add_subcommand("mailbox", "List and manage a user's mailboxes");
  mbox->require_subcommand(1);

  auto user = std::make_shared<std::string>();
  auto* list = mbox->add_subcommand("list", "List mailboxes with counts and sizes");
  list->add_option("USER", *user, "address, login or account id")->required();
  list->callback([&ctx, exit_code, user] {
    auto m = mailboxes(ctx, exit_code);
    if (!m) return;
    auto boxes = m->list(*user);
    if (!boxes) return void(*exit_code = ctx.fail(boxes.status()));
    std::string human;
    json::array arr;
    for (auto& b : *boxes) {
      human += mailbox_line(b);
      arr.push_back(json::object{{"name", b.name},
                                 {"special_use", store::special_use_attribute(b.special_use)},
                                 {"subscribed", b.subscribed},
                                 {"uid_validity", b.uid_validity},
                                 {"uid_next", b.uid_next},
                                 {"highest_modseq", b.highest_modseq},
                                 {"messages", b.messages},
                                 {"unseen", b.unseen},
                                 {"size", b.size}});
    }
    ctx.print(human, json::serialize(json::object{{"mailboxes", arr}}));
    *exit_code = kOk;
  });

  auto name = std::make_shared<std::string>();
  auto* create = mbox->add_subcommand("create", "Create a mailbox (and missing parents)");
  create->add_option("USER", *user)->required();
  create->add_option("NAME", *name)->required();
  create->callback([&ctx, exit_code, user, name] {
    auto m = mailboxes(ctx, exit_code);
    if (!m) return;
    if (auto s = m->create(*user, *name); !s) return void(*exit_code = ctx.fail(s));
    ctx.print("created " + *name + "\n", json::serialize(json::object{{"created", *name}}));
    *exit_code = kOk;
  });

  auto recursive = std::make_shared<bool>(false);
  auto* del = mbox->add_subcommand("delete", "Delete a mailbox and its messages");
  del->add_option("USER", *user)->required();
  del->add_option("NAME", *name)->required();
  del->add_flag("-r,--recursive", *recursive, "also delete its children");
  del->callback([&ctx, exit_code, user, name, recursive] {
    auto m = mailboxes(ctx, exit_code);
    if (!m) return;
    if (auto s = m->remove(*user, *name, *recursive); !s) return void(*exit_code = ctx.fail(s));
    ctx.print("deleted " + *name + "\n", json::serialize(json::object{{"deleted", *name}}));
    *exit_code = kOk;
  });

  auto to = std::make_shared<std::string>();
  auto* ren = mbox->add_subcommand("rename", "Rename a mailbox and its children");
  ren->add_option("USER", *user)->required();
  ren->add_option("FROM", *name)->required();
  ren->add_option("TO", *to)->required();
  ren->callback([&ctx, exit_code, user, name, to] {
    auto m = mailboxes(ctx, exit_code);
    if (!m) return;
    if (auto s = m->rename(*user, *name, *to); !s) return void(*exit_code = ctx.fail(s));
    ctx.print("renamed " + *name + " to " + *to + "\n",
              json::serialize(json::object{{"renamed", *name}, {"to", *to}}));
    *exit_code = kOk;
  });
}

void register_fsck(CLI::App& app, Context& ctx, int* exit_code) {
  struct Args {
    std::string user;
    bool all = false, repair = false;
    int64_t min_age = 300;
  };
  auto a = std::make_shared<Args>();
  auto* cmd =
      app.add_subcommand("fsck", "Verify (and --repair) mail indexes against message files");
  cmd->add_option("USER", a->user, "address, login or account id");
  cmd->add_flag("--all", a->all, "every account under the store root");
  cmd->add_flag("--repair", a->repair, "fix what is found (rebuilds a broken index from files)");
  cmd->add_option("--min-age", a->min_age,
                  "seconds before an unreferenced file counts as garbage (default 300)");
  cmd->callback([&ctx, exit_code, a] {
    if (a->all == !a->user.empty())
      return void(*exit_code = ctx.fail(core::invalid_argument("give USER or --all")));
    core::Services* sv = ctx.services();
    if (!sv || !sv->store) return void(*exit_code = kSystemError);
    service::FsckRequest request{a->user, a->all, {}};
    request.options.repair = a->repair;
    request.options.min_orphan_age_seconds = a->min_age;
    auto reports = service::Mailboxes(sv->directory.get(), sv->store.get()).fsck(request);
    if (!reports) return void(*exit_code = ctx.fail(reports.status()));
    json::array out;
    std::string human;
    bool all_ok = true;
    for (const auto& r : *reports) {
      all_ok = all_ok && (r.consistent() || a->repair);
      human += r.account_id + ": " + (r.consistent() ? "ok" : "INCONSISTENT") +
               " messages=" + std::to_string(r.messages) + " files=" + std::to_string(r.files) +
               " orphans=" + std::to_string(r.orphan_files) +
               " tmp=" + std::to_string(r.tmp_files) +
               " stale_caches=" + std::to_string(r.stale_cache_files) + "\n";
      for (auto& e : r.errors) human += "  error: " + e + "\n";
      for (auto& e : r.repaired) human += "  repaired: " + e + "\n";
      out.push_back(report_json(r));
    }
    ctx.print(human, json::serialize(json::object{{"accounts", out}}));
    // Inconsistency found without --repair: exit 1 so scripts notice.
    *exit_code = all_ok ? kOk : kUserError;
  });
}

void register_export_import(CLI::App& app, Context& ctx, int* exit_code) {
  struct Args {
    std::string user, mailbox, uids, out, file;
    bool all = false;
  };
  auto a = std::make_shared<Args>();
  auto* exp = app.add_subcommand("export", "Save messages as ZIP of .eml or as mbox");
  exp->require_subcommand(1);
  auto* zip = exp->add_subcommand("zip", "Selected messages as a ZIP of .eml files");
  zip->add_option("USER", a->user)->required();
  zip->add_option("MAILBOX", a->mailbox)->required();
  zip->add_option("--uids", a->uids, "comma-separated UIDs (default: all)");
  zip->add_option("--out", a->out, "output .zip file")->required();
  zip->callback([&ctx, exit_code, a] {
    auto m = mailboxes(ctx, exit_code);
    if (!m) return;
    auto uids = a->uids.empty() ? std::vector<uint32_t>{} : service::parse_uid_list(a->uids);
    if (!uids) return void(*exit_code = ctx.fail(uids.status()));
    if (auto s = m->export_zip(a->user, a->mailbox, *uids, a->out); !s) {
      return void(*exit_code = ctx.fail(s));
    }
    ctx.print("wrote " + a->out + "\n", json::serialize(json::object{{"written", a->out}}));
    *exit_code = kOk;
  });
  auto* mbox = exp->add_subcommand("mbox", "A mailbox (or --all) as an mboxrd file");
  mbox->add_option("USER", a->user)->required();
  mbox->add_option("MAILBOX", a->mailbox);
  mbox->add_flag("--all", a->all, "every mailbox of the user");
  mbox->add_option("--out", a->out, "output mbox file")->required();
  mbox->callback([&ctx, exit_code, a] {
    if (a->all == !a->mailbox.empty())
      return void(*exit_code = ctx.fail(core::invalid_argument("give MAILBOX or --all")));
    auto m = mailboxes(ctx, exit_code);
    if (!m) return;
    std::vector<std::string> boxes;
    if (!a->all) boxes.push_back(a->mailbox);
    auto n = m->export_mbox(a->user, boxes, a->out);
    if (!n) return void(*exit_code = ctx.fail(n.status()));
    ctx.print("wrote " + std::to_string(*n) + " messages to " + a->out + "\n",
              json::serialize(json::object{{"written", a->out}, {"messages", *n}}));
    *exit_code = kOk;
  });

  auto* imp = app.add_subcommand("import", "Import messages");
  imp->require_subcommand(1);
  auto* imbox = imp->add_subcommand("mbox", "Append every message of an mbox file to MAILBOX");
  imbox->add_option("USER", a->user)->required();
  imbox->add_option("MAILBOX", a->mailbox)->required();
  imbox->add_option("FILE", a->file)->required();
  imbox->callback([&ctx, exit_code, a] {
    auto m = mailboxes(ctx, exit_code);
    if (!m) return;
    auto n = m->import_mbox(a->user, a->mailbox, a->file);
    if (!n) return void(*exit_code = ctx.fail(n.status()));
    ctx.print("imported " + std::to_string(*n) + " messages into " + a->mailbox + "\n",
              json::serialize(json::object{{"imported", *n}, {"mailbox", a->mailbox}}));
    *exit_code = kOk;
  });
}

void register_quota(CLI::App& app, Context& ctx, int* exit_code) {
  auto user = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("quota", "Show a user's storage use against the quota");
  cmd->add_option("USER", *user)->required();
  cmd->callback([&ctx, exit_code, user] {
    auto m = mailboxes(ctx, exit_code);
    if (!m) return;
    auto q = m->quota(*user);
    if (!q) return void(*exit_code = ctx.fail(q.status()));
    const auth::Account& acct = q->account;
    auto lim = [](uint64_t v) { return v ? std::to_string(v) : std::string("unlimited"); };
    ctx.print(acct.address + ": " + std::to_string(q->usage.bytes) + " bytes of " +
                  lim(acct.quota_bytes) + ", " + std::to_string(q->usage.messages) +
                  " messages of " + lim(acct.quota_messages) + "\n",
              json::serialize(json::object{{"address", acct.address},
                                           {"account_id", acct.id},
                                           {"bytes", q->usage.bytes},
                                           {"messages", q->usage.messages},
                                           {"quota_bytes", acct.quota_bytes},
                                           {"quota_messages", acct.quota_messages}}));
    *exit_code = kOk;
  });
}

}  // namespace

void register_mailbox_commands(CLI::App& app, Context& ctx, int* exit_code) {
  register_mailbox(app, ctx, exit_code);
  register_fsck(app, ctx, exit_code);
  register_export_import(app, ctx, exit_code);
  register_quota(app, ctx, exit_code);
}

}  // namespace mailroom::ctl
