// mailroomctl user ... (service::Users), password hash, conflicts.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <iostream>

#include "auth/policy/policy_directory.h"
#include "src/ctl/ctl_support.h"
#include "src/service/aliases.h"
#include "src/service/passwords.h"
#include "src/service/users.h"
#include "src/service/writable_directory.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using auth::LocalDirectory;
using core::Status;
using namespace detail;

struct UserOpts {
  std::string address, password, password_hash, name, login, id, status, primary;
  std::string quota_bytes, quota_messages, scheme = "ARGON2ID", domain, file;
  std::vector<std::string> forward, add_address, remove_address, send_as;
  bool no_forward = false, keep_copy = false, no_keep_copy = false, no_scram = false;
  bool create_domains = false;
};

int print_user(Context& ctx, const auth::AccountRecord& r, const std::string& verb) {
  auto j = account_json(r);
  std::string text = verb.empty()
                         ? human(j)
                         : "user " + r.account.address + " " + verb + " (id " + r.account.id + ")";
  return done(ctx, Status::ok(), text, j);
}

// --quota-bytes / --quota-messages / --status, when given.
Status parse_common(const UserOpts& o, std::optional<uint64_t>* quota_bytes,
                    std::optional<uint64_t>* quota_messages,
                    std::optional<auth::AccountStatus>* status) {
  if (!o.quota_bytes.empty()) {
    auto q = service::parse_size(o.quota_bytes, "--quota-bytes");
    if (!q) return q.status();
    *quota_bytes = *q;
  }
  if (!o.quota_messages.empty()) {
    auto q = service::parse_size(o.quota_messages, "--quota-messages");
    if (!q) return q.status();
    *quota_messages = *q;
  }
  if (!o.status.empty()) {
    auto s = service::parse_account_status(o.status);
    if (!s) return s.status();
    *status = *s;
  }
  return Status::ok();
}

int add_user(Context& ctx, LocalDirectory& dir, const UserOpts& o) {
  // The service says the same without naming options.
  if (!o.password_hash.empty() && o.password_hash.front() != '{') {
    return ctx.fail(core::invalid_argument("--password-hash must look like {SCHEME}..."));
  }
  if (o.password_hash.empty() && o.password.empty()) {
    return ctx.fail(core::invalid_argument("user " + o.address +
                                           ": --password or --password-hash is required"));
  }
  std::optional<uint64_t> quota_bytes, quota_messages;
  std::optional<auth::AccountStatus> status;
  if (auto st = parse_common(o, &quota_bytes, &quota_messages, &status); !st) return ctx.fail(st);
  service::NewUser u;
  u.address = o.address;
  u.id = o.id;
  u.login = o.login;
  u.display_name = o.name;
  u.password = o.password;
  u.password_hash = o.password_hash;
  u.scheme = o.scheme;
  u.with_scram = !o.no_scram;
  u.quota_bytes = quota_bytes.value_or(0);
  u.quota_messages = quota_messages.value_or(0);
  u.status = status.value_or(auth::AccountStatus::active);
  u.forward_to = o.forward;
  u.forward_keep_copy = !o.no_keep_copy;
  u.other_addresses = o.add_address;
  u.send_as = o.send_as;
  auto r = service::Users(dir, change_context(ctx)).add(u);
  if (!r) return ctx.fail(r.status());
  return print_user(ctx, *r, "added");
}

int change_user(Context& ctx, LocalDirectory& dir, const UserOpts& o, CLI::App* cmd) {
  service::UserChange c;
  if (auto st = parse_common(o, &c.quota_bytes, &c.quota_messages, &c.status); !st) {
    return ctx.fail(st);
  }
  c.user = o.address;
  if (!o.password_hash.empty()) c.password_hash = o.password_hash;
  if (!o.password.empty()) c.password = o.password;
  c.scheme = o.scheme;
  c.with_scram = !o.no_scram;
  if (cmd->count("--name")) c.display_name = o.name;
  if (!o.primary.empty()) c.primary_address = o.primary;
  if (!o.login.empty()) c.login = o.login;
  if (!o.forward.empty()) {
    c.forward_to = o.forward;
  } else if (o.no_forward) {
    c.forward_to = std::vector<std::string>{};
  }
  if (o.no_keep_copy) {
    c.forward_keep_copy = false;
  } else if (o.keep_copy) {
    c.forward_keep_copy = true;
  }
  c.add_addresses = o.add_address;
  c.remove_addresses = o.remove_address;
  if (cmd->count("--send-as")) c.send_as = o.send_as;
  auto r = service::Users(dir, change_context(ctx)).change(c);
  if (!r) return ctx.fail(r.status());
  return print_user(ctx, *r, "changed");
}

int list_users(Context& ctx, LocalDirectory& dir, const UserOpts& o) {
  auto all = service::Users(dir).list(o.domain);
  if (!all) return ctx.fail(all.status());
  json::array arr;
  std::string text;
  for (const auto& a : *all) {
    arr.push_back(json::object{{"id", a.id},
                               {"login", a.login},
                               {"address", a.address},
                               {"display_name", a.display_name},
                               {"status", auth::account_status_name(a.status)},
                               {"quota_bytes", a.quota_bytes},
                               {"quota_messages", a.quota_messages}});
    text += a.address + "\t" + a.display_name + "\t" + auth::account_status_name(a.status) + "\n";
  }
  if (!text.empty()) text.pop_back();
  return done(ctx, Status::ok(), text, arr);
}

int import_users(Context& ctx, LocalDirectory& dir, const UserOpts& o) {
  std::ifstream in(o.file);
  if (!in) return ctx.fail(core::invalid_argument("cannot read " + o.file));
  auto added = service::Users(dir, change_context(ctx)).import(in, o.file, o.create_domains);
  if (!added) return ctx.fail(added.status());
  return done(ctx, Status::ok(), std::to_string(*added) + " users imported",
              json::object{{"imported", *added}});
}

int list_conflicts(Context& ctx, LocalDirectory& dir) {
  auto c = service::Aliases(dir).conflicts();
  if (!c) return ctx.fail(c.status());
  json::array arr;
  std::string text;
  for (const auto& x : *c) {
    arr.push_back(json::object{{"address", x.address},
                               {"account_id", x.account_id},
                               {"account_address", x.account_address},
                               {"kind", x.kind}});
    text += x.address + ": account " + x.account_address + " wins over " + x.kind + "\n";
  }
  if (text.empty()) {
    text = "no conflicts";
  } else {
    text.pop_back();
  }
  return done(ctx, Status::ok(), text, arr);
}

}  // namespace

void register_user_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* user = app.add_subcommand("user", "Manage accounts")->require_subcommand(1);
  auto o = std::make_shared<UserOpts>();

  auto* add = user->add_subcommand("add", "Create an account");
  add->add_option("address", o->address, "Primary address")->required();
  add->add_option("--password", o->password, "Password (hashed with --scheme)");
  add->add_option("--password-hash", o->password_hash, "An existing {SCHEME}hash");
  add->add_option("--scheme", o->scheme, "ARGON2ID (default), SHA512-CRYPT, CRYPT, SSHA512, SSHA");
  add->add_flag("--no-scram", o->no_scram, "Do not store a SCRAM-SHA-256 secret");
  add->add_option("--name", o->name, "Display name");
  add->add_option("--login", o->login, "Login name (default: the address)");
  add->add_option("--id", o->id, "Immutable id (default: a new UUID)");
  add->add_option("--quota-bytes", o->quota_bytes, "Quota, e.g. 1G (0 = unlimited)");
  add->add_option("--quota-messages", o->quota_messages, "Message count quota (0 = unlimited)");
  add->add_option("--status", o->status, "active (default), disabled");
  add->add_option("--forward", o->forward, "Forward to these addresses");
  add->add_flag("--no-keep-copy", o->no_keep_copy, "When forwarding, keep no local copy");
  add->add_option("--address", o->add_address, "Secondary addresses");
  add->add_option("--send-as", o->send_as, "Extra addresses this user may send as");
  add->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  add->callback(
      [&ctx, ec, o] { run(ctx, ec, [&](LocalDirectory& d) { return add_user(ctx, d, *o); }); });

  auto* change =
      user->add_subcommand("change", "Change an account (named by address, login or id)");
  change->add_option("address", o->address, "Address, login or id")->required();
  change->add_option("--password", o->password, "New password");
  change->add_option("--password-hash", o->password_hash, "New {SCHEME}hash");
  change->add_option("--scheme", o->scheme, "Hash scheme for --password");
  change->add_flag("--no-scram", o->no_scram, "Do not store a SCRAM-SHA-256 secret");
  change->add_option("--name", o->name, "Display name");
  change->add_option("--status", o->status, "active, disabled or deleted");
  change->add_option("--primary", o->primary,
                     "New primary address (the old one stays as secondary)");
  change->add_option("--login", o->login, "New login name");
  change->add_option("--quota-bytes", o->quota_bytes, "Quota, e.g. 1G (0 = unlimited)");
  change->add_option("--quota-messages", o->quota_messages, "Message count quota");
  change->add_option("--forward", o->forward, "Forward to these addresses (replaces)");
  change->add_flag("--no-forward", o->no_forward, "Stop forwarding");
  change->add_flag("--keep-copy", o->keep_copy, "When forwarding, keep a local copy");
  change->add_flag("--no-keep-copy", o->no_keep_copy, "When forwarding, keep no local copy");
  change->add_option("--add-address", o->add_address, "Add secondary addresses");
  change->add_option("--remove-address", o->remove_address, "Remove secondary addresses");
  change->add_option("--send-as", o->send_as, "Replace the send-as addresses");
  change->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  change->callback([&ctx, ec, o, change] {
    run(ctx, ec, [&](LocalDirectory& d) { return change_user(ctx, d, *o, change); });
  });

  auto* remove = user->add_subcommand("remove", "Delete an account (its mailbox stays on disk)");
  remove->add_option("address", o->address, "Address, login or id")->required();
  remove->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  remove->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) {
      auto a = service::Users(d, change_context(ctx)).remove(o->address);
      if (!a) return ctx.fail(a.status());
      return done(ctx, Status::ok(), "user " + a->address + " removed (id " + a->id + ")",
                  json::object{{"removed", a->address}, {"id", a->id}});
    });
  });

  auto* list = user->add_subcommand("list", "List accounts");
  list->add_option("--domain", o->domain, "Only this domain");
  list->callback([&ctx, ec, o] {
    read_run(ctx, ec, [&](LocalDirectory& d) { return list_users(ctx, d, *o); });
  });

  auto* show = user->add_subcommand("show", "Show an account");
  show->add_option("address", o->address, "Address, login or id")->required();
  show->callback([&ctx, ec, o] {
    // With the effective policy; on an LDAP / SQL backend from the replica (read-only).
    auto show_one = [&](LocalDirectory& d) {
      auto r = service::Users(d).show(o->address);
      if (!r) return ctx.fail(r.status());
      json::value j = account_json(*r);
      std::string text = human(j);
      j.as_object()["effective_policy"] = effective_policy_for(d, r->account, &text);
      return done(ctx, Status::ok(), text, j);
    };
    read_run(ctx, ec, show_one);
  });

  auto* import = user->add_subcommand("import", "Bulk-create accounts from a file");
  import->add_option("--file", o->file, "address<TAB>{SCHEME}hash[<TAB>name[<TAB>quota]] per line")
      ->required();
  import->add_flag("--create-domains", o->create_domains, "Add missing domains");
  import->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  import->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) { return import_users(ctx, d, *o); });
  }  // namespace mailroom::ctl
  );

  // password hash: reads the password from stdin (never from the command line).
  auto* pw = app.add_subcommand("password", "Password utilities")->require_subcommand(1);
  auto* hash = pw->add_subcommand("hash", "Hash a password read from stdin");
  hash->add_option("--scheme", o->scheme, "ARGON2ID (default), SHA512-CRYPT, CRYPT, SSHA512, SSHA");
  hash->callback([&ctx, ec, o] {
    std::string line;
    std::getline(std::cin, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto h = service::hash_password(line, o->scheme, true);
    std::string text = h ? h->hash : "";
    std::string secret = h ? h->scram_secret : "";
    *ec = done(ctx, h.status(), text, json::object{{"hash", text}, {"scram_secret", secret}});
  });

  auto* conflicts =
      app.add_subcommand("conflicts", "Addresses that are both an account and an alias or group");
  conflicts->callback(
      [&ctx, ec] { read_run(ctx, ec, [&](LocalDirectory& d) { return list_conflicts(ctx, d); }); });
}

}  // namespace mailroom::ctl
