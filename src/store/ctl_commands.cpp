// mailroomctl: mailbox, fsck, export, import and quota commands (src/ctl/ctl.h conventions).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <memory>
#include <sstream>

#include "auth/directory.h"
#include "src/ctl/ctl.h"
#include "src/store/mail_store.h"
#include "src/store/maintenance.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using store::MailStore;

struct Target {
  auth::Account account;
  MailStore* store = nullptr;
};

// USER is an address (local@domain), a login name or an account id.
core::Result<Target> resolve_user(Context& ctx, const std::string& user) {
  core::Services* sv = ctx.services();
  if (!sv) return core::Status::error(core::Code::unavailable, "cannot open the services");
  if (!sv->store || !sv->directory)
    return core::Status::error(core::Code::unavailable, "mail store or directory not configured");
  core::Result<auth::Account> acct =
      user.find('@') != std::string::npos ? sv->directory->find_account_by_address(user)
                                          : sv->directory->find_account_by_login(user);
  if (!acct.is_ok() && acct.code() == core::Code::not_found)
    acct = sv->directory->find_account_by_id(user);
  if (!acct.is_ok()) {
    if (acct.code() == core::Code::not_found) return core::not_found("user " + user + " not found");
    return acct.status();
  }
  return Target{*acct, sv->store.get()};
}

std::vector<uint32_t> parse_uids(const std::string& text, core::Status* err) {
  std::vector<uint32_t> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    try {
      size_t used = 0;
      unsigned long v = std::stoul(part, &used);
      if (used != part.size() || v == 0 || v > 0xFFFFFFFFul) throw std::invalid_argument(part);
      out.push_back(static_cast<uint32_t>(v));
    } catch (const std::exception&) {
      *err = core::invalid_argument("invalid UID list: " + text);
      return {};
    }
  }
  return out;
}

json::object report_json(const store::FsckReport& r) {
  json::array errors, repaired;
  for (auto& e : r.errors) errors.emplace_back(e);
  for (auto& e : r.repaired) repaired.emplace_back(e);
  return {{"account_id", r.account_id},   {"consistent", r.consistent()},
          {"messages", r.messages},       {"files", r.files},
          {"orphan_files", r.orphan_files}, {"tmp_files", r.tmp_files},
          {"index_rebuilt", r.index_rebuilt}, {"errors", errors}, {"repaired", repaired}};
}

void register_mailbox(CLI::App& app, Context& ctx, int* exit_code) {
  auto* mbox = app.add_subcommand("mailbox", "List and manage a user's mailboxes");
  mbox->require_subcommand(1);

  auto user = std::make_shared<std::string>();
  auto* list = mbox->add_subcommand("list", "List mailboxes with counts and sizes");
  list->add_option("USER", *user, "address, login or account id")->required();
  list->callback([&ctx, exit_code, user] {
    auto t = resolve_user(ctx, *user);
    if (!t.is_ok()) return void(*exit_code = ctx.fail(t.status()));
    auto boxes = t->store->list_mailboxes(t->account.id);
    if (!boxes.is_ok()) return void(*exit_code = ctx.fail(boxes.status()));
    std::string human;
    json::array arr;
    for (auto& b : *boxes) {
      human += b.name + "  messages=" + std::to_string(b.messages) +
               " unseen=" + std::to_string(b.unseen) + " size=" + std::to_string(b.size) +
               " uidvalidity=" + std::to_string(b.uid_validity) +
               " uidnext=" + std::to_string(b.uid_next) + (b.subscribed ? " subscribed" : "") +
               (*store::special_use_attribute(b.special_use)
                    ? std::string(" ") + store::special_use_attribute(b.special_use)
                    : std::string()) +
               "\n";
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
    auto t = resolve_user(ctx, *user);
    if (!t.is_ok()) return void(*exit_code = ctx.fail(t.status()));
    auto s = t->store->create_mailbox(t->account.id, *name, store::SpecialUse::none);
    if (!s.is_ok()) return void(*exit_code = ctx.fail(s));
    ctx.print("created " + *name + "\n", json::serialize(json::object{{"created", *name}}));
    *exit_code = kOk;
  });

  auto recursive = std::make_shared<bool>(false);
  auto* del = mbox->add_subcommand("delete", "Delete a mailbox and its messages");
  del->add_option("USER", *user)->required();
  del->add_option("NAME", *name)->required();
  del->add_flag("-r,--recursive", *recursive, "also delete its children");
  del->callback([&ctx, exit_code, user, name, recursive] {
    auto t = resolve_user(ctx, *user);
    if (!t.is_ok()) return void(*exit_code = ctx.fail(t.status()));
    auto s = t->store->delete_mailbox(t->account.id, *name, *recursive);
    if (!s.is_ok()) return void(*exit_code = ctx.fail(s));
    ctx.print("deleted " + *name + "\n", json::serialize(json::object{{"deleted", *name}}));
    *exit_code = kOk;
  });

  auto to = std::make_shared<std::string>();
  auto* ren = mbox->add_subcommand("rename", "Rename a mailbox and its children");
  ren->add_option("USER", *user)->required();
  ren->add_option("FROM", *name)->required();
  ren->add_option("TO", *to)->required();
  ren->callback([&ctx, exit_code, user, name, to] {
    auto t = resolve_user(ctx, *user);
    if (!t.is_ok()) return void(*exit_code = ctx.fail(t.status()));
    auto s = t->store->rename_mailbox(t->account.id, *name, *to);
    if (!s.is_ok()) return void(*exit_code = ctx.fail(s));
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
  auto* cmd = app.add_subcommand("fsck", "Verify (and --repair) mail indexes against message files");
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
    const store::StoreOptions* opts = store::file_store_options(*sv->store);
    if (!opts) return void(*exit_code = ctx.fail(core::invalid_argument("store has no files to check")));
    std::vector<std::string> ids;
    if (a->all) {
      ids = store::list_store_accounts(*opts);
    } else {
      auto t = resolve_user(ctx, a->user);
      if (!t.is_ok()) return void(*exit_code = ctx.fail(t.status()));
      ids.push_back(t->account.id);
    }
    store::FsckOptions fo;
    fo.repair = a->repair;
    fo.min_orphan_age_seconds = a->min_age;
    json::array reports;
    std::string human;
    bool all_ok = true;
    for (auto& id : ids) {
      auto r = store::fsck_user(*opts, id, fo);
      if (!r.is_ok()) return void(*exit_code = ctx.fail(r.status()));
      all_ok = all_ok && (r->consistent() || a->repair);
      human += id + ": " + (r->consistent() ? "ok" : "INCONSISTENT") +
               " messages=" + std::to_string(r->messages) + " files=" + std::to_string(r->files) +
               " orphans=" + std::to_string(r->orphan_files) + " tmp=" + std::to_string(r->tmp_files) +
               "\n";
      for (auto& e : r->errors) human += "  error: " + e + "\n";
      for (auto& e : r->repaired) human += "  repaired: " + e + "\n";
      reports.push_back(report_json(*r));
    }
    ctx.print(human, json::serialize(json::object{{"accounts", reports}}));
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
    auto t = resolve_user(ctx, a->user);
    if (!t.is_ok()) return void(*exit_code = ctx.fail(t.status()));
    core::Status err;
    auto uids = a->uids.empty() ? std::vector<uint32_t>{} : parse_uids(a->uids, &err);
    if (!err.is_ok()) return void(*exit_code = ctx.fail(err));
    auto s = store::export_zip(*t->store, t->account.id, a->mailbox, uids, a->out);
    if (!s.is_ok()) return void(*exit_code = ctx.fail(s));
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
    auto t = resolve_user(ctx, a->user);
    if (!t.is_ok()) return void(*exit_code = ctx.fail(t.status()));
    std::vector<std::string> boxes;
    if (!a->all) boxes.push_back(a->mailbox);
    auto n = store::export_mbox(*t->store, t->account.id, boxes, a->out);
    if (!n.is_ok()) return void(*exit_code = ctx.fail(n.status()));
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
    auto t = resolve_user(ctx, a->user);
    if (!t.is_ok()) return void(*exit_code = ctx.fail(t.status()));
    store::Quota q{t->account.quota_bytes, t->account.quota_messages};
    auto n = store::import_mbox(*t->store, t->account.id, a->mailbox, a->file, q);
    if (!n.is_ok()) return void(*exit_code = ctx.fail(n.status()));
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
    auto t = resolve_user(ctx, *user);
    if (!t.is_ok()) return void(*exit_code = ctx.fail(t.status()));
    auto u = t->store->quota_usage(t->account.id);
    if (!u.is_ok()) return void(*exit_code = ctx.fail(u.status()));
    auto lim = [](uint64_t v) { return v ? std::to_string(v) : std::string("unlimited"); };
    ctx.print(t->account.address + ": " + std::to_string(u->bytes) + " bytes of " +
                  lim(t->account.quota_bytes) + ", " + std::to_string(u->messages) +
                  " messages of " + lim(t->account.quota_messages) + "\n",
              json::serialize(json::object{{"address", t->account.address},
                                           {"account_id", t->account.id},
                                           {"bytes", u->bytes},
                                           {"messages", u->messages},
                                           {"quota_bytes", t->account.quota_bytes},
                                           {"quota_messages", t->account.quota_messages}}));
    *exit_code = kOk;
  });
}

}  // namespace

void register_store_commands(CLI::App& app, Context& ctx, int* exit_code) {
  register_mailbox(app, ctx, exit_code);
  register_fsck(app, ctx, exit_code);
  register_export_import(app, ctx, exit_code);
  register_quota(app, ctx, exit_code);
}

}  // namespace mailroom::ctl
