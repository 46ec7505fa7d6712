// mailroomctl user ..., password hash, conflicts.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <fstream>
#include <iostream>

#include "auth/ctl_support.h"
#include "auth/password/password_hash.h"
#include "src/core/address.h"

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

int show_user(Context& ctx, LocalDirectory& dir, const std::string& id, const std::string& verb) {
  auto r = dir.get_account_record(id);
  if (!r) return ctx.fail(r.status());
  auto j = account_json(*r);
  std::string text = verb.empty() ? human(j) : "user " + r->account.address + " " + verb +
                                                   " (id " + r->account.id + ")";
  return done(ctx, Status::ok(), text, j);
}

core::Result<auth::AccountStatus> parse_status(const std::string& s) {
  if (s == "active") return auth::AccountStatus::active;
  if (s == "disabled") return auth::AccountStatus::disabled;
  if (s == "deleted") return auth::AccountStatus::deleted;
  return core::invalid_argument("status must be active, disabled or deleted, not '" + s + "'");
}

int add_user(Context& ctx, LocalDirectory& dir, const UserOpts& o) {
  auth::Account a;
  a.id = o.id;
  a.address = o.address;
  a.login = o.login;
  a.display_name = o.name;
  a.forward_to = o.forward;
  a.forward_keep_copy = !o.no_keep_copy;
  a.other_addresses = o.add_address;
  a.send_as = o.send_as;
  std::string secret;
  if (!o.password_hash.empty()) {
    if (o.password_hash.front() != '{') {
      return ctx.fail(core::invalid_argument("--password-hash must look like {SCHEME}..."));
    }
    a.password_hash = o.password_hash;
  } else if (!o.password.empty()) {
    auto st = hash_password(o.password, o.scheme, !o.no_scram, &a.password_hash, &secret);
    if (!st) return ctx.fail(st);
  } else {
    return ctx.fail(core::invalid_argument("user " + o.address +
                                           ": --password or --password-hash is required"));
  }
  if (!o.quota_bytes.empty()) {
    auto q = parse_size(o.quota_bytes, "--quota-bytes");
    if (!q) return ctx.fail(q.status());
    a.quota_bytes = *q;
  }
  if (!o.quota_messages.empty()) {
    auto q = parse_size(o.quota_messages, "--quota-messages");
    if (!q) return ctx.fail(q.status());
    a.quota_messages = *q;
  }
  if (!o.status.empty()) {
    auto s = parse_status(o.status);
    if (!s) return ctx.fail(s.status());
    a.status = *s;
  }
  auto stored = dir.add_account(a, secret);
  if (!stored) return ctx.fail(stored.status());
  return show_user(ctx, dir, stored->id, "added");
}

int change_user(Context& ctx, LocalDirectory& dir, const UserOpts& o, CLI::App* cmd) {
  auto found = find_user(dir, o.address);
  if (!found) return ctx.fail(found.status());
  std::string id = found->id;
  auto rec = dir.get_account_record(id);
  if (!rec) return ctx.fail(rec.status());
  auth::AccountRecord r = *rec;
  auth::Account& a = r.account;
  if (!o.password.empty() || !o.password_hash.empty()) {
    if (!o.password_hash.empty()) {
      a.password_hash = o.password_hash;
      r.scram_secret.clear();
    } else {
      r.scram_secret.clear();
      auto st = hash_password(o.password, o.scheme, !o.no_scram, &a.password_hash, &r.scram_secret);
      if (!st) return ctx.fail(st);
    }
  }
  if (cmd->count("--name")) a.display_name = o.name;
  if (!o.status.empty()) {
    auto s = parse_status(o.status);
    if (!s) return ctx.fail(s.status());
    a.status = *s;
  }
  if (!o.quota_bytes.empty()) {
    auto q = parse_size(o.quota_bytes, "--quota-bytes");
    if (!q) return ctx.fail(q.status());
    a.quota_bytes = *q;
  }
  if (!o.quota_messages.empty()) {
    auto q = parse_size(o.quota_messages, "--quota-messages");
    if (!q) return ctx.fail(q.status());
    a.quota_messages = *q;
  }
  if (o.no_forward) a.forward_to.clear();
  if (!o.forward.empty()) a.forward_to = o.forward;
  if (o.keep_copy) a.forward_keep_copy = true;
  if (o.no_keep_copy) a.forward_keep_copy = false;
  if (cmd->count("--send-as")) a.send_as = o.send_as;
  for (const auto& x : o.add_address) a.other_addresses.push_back(x);
  for (const auto& x : o.remove_address) {
    auto before = a.other_addresses.size();
    std::erase(a.other_addresses, core::ascii_lower(x));
    if (before == a.other_addresses.size()) {
      return ctx.fail(core::not_found("address " + x + " is not a secondary address of " + a.address));
    }
  }
  if (!o.login.empty()) a.login = o.login;
  // Everything but the primary address in one write; the primary address through its own
  // rule (old address kept as secondary, login follows when it was the address).
  Status st = dir.transaction([&]() -> Status {
    auto s = dir.upsert_account_by_id(r, /*keep_empty_secrets=*/false);
    if (!s) return s.status();
    if (!o.primary.empty()) return dir.set_primary_address(id, o.primary, true);
    return Status::ok();
  });
  if (!st) return ctx.fail(st);
  return show_user(ctx, dir, id, "changed");
}

int list_users(Context& ctx, LocalDirectory& dir, const UserOpts& o) {
  auto all = dir.list_accounts(o.domain);
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

// Bulk import: one account per line, tab-separated:
//   address <TAB> {SCHEME}hash [<TAB> display name [<TAB> quota bytes]]
// '#' starts a comment line. Rows are written in transactions of 5000.
int import_users(Context& ctx, LocalDirectory& dir, const UserOpts& o) {
  std::ifstream in(o.file);
  if (!in) return ctx.fail(core::invalid_argument("cannot read " + o.file));
  std::string line;
  size_t line_no = 0, added = 0;
  std::vector<std::pair<size_t, auth::Account>> batch;
  auto flush = [&]() -> Status {
    Status st = dir.transaction([&]() -> Status {
      for (auto& [n, a] : batch) {
        if (o.create_domains) {
          std::string d = a.address.substr(a.address.rfind('@') + 1);
          auto dom = dir.find_domain(core::ascii_lower(d));
          if (!dom && dom.code() == core::Code::not_found) {
            auth::Domain nd;
            nd.name = d;
            auto s = dir.add_domain(nd);
            if (!s) return s;
          }
        }
        auto r = dir.add_account(a);
        if (!r) {
          auto s = r.status();
          return Status::error(s.code(), o.file + ":" + std::to_string(n) + ": " + s.client_message(),
                               s.log_detail());
        }
        ++added;
      }
      return Status::ok();
    });
    batch.clear();
    return st;
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    size_t pos = 0;
    while (true) {
      auto t = line.find('\t', pos);
      f.push_back(line.substr(pos, t == std::string::npos ? std::string::npos : t - pos));
      if (t == std::string::npos) break;
      pos = t + 1;
    }
    if (f.size() < 2 || f[1].empty() || f[1][0] != '{') {
      return ctx.fail(core::invalid_argument(o.file + ":" + std::to_string(line_no) +
                                             ": expected address<TAB>{SCHEME}hash"));
    }
    auth::Account a;
    a.address = f[0];
    a.password_hash = f[1];
    if (f.size() > 2) a.display_name = f[2];
    if (f.size() > 3 && !f[3].empty()) {
      auto q = parse_size(f[3], o.file + ":" + std::to_string(line_no) + ": quota");
      if (!q) return ctx.fail(q.status());
      a.quota_bytes = *q;
    }
    batch.emplace_back(line_no, std::move(a));
    if (batch.size() >= 5000) {
      auto st = flush();
      if (!st) return ctx.fail(st);
    }
  }
  auto st = flush();
  if (!st) return ctx.fail(st);
  return done(ctx, Status::ok(), std::to_string(added) + " users imported",
              json::object{{"imported", added}});
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
  add->callback([&ctx, ec, o] { run(ctx, ec, [&](LocalDirectory& d) { return add_user(ctx, d, *o); }); });

  auto* change = user->add_subcommand("change", "Change an account (named by address, login or id)");
  change->add_option("address", o->address, "Address, login or id")->required();
  change->add_option("--password", o->password, "New password");
  change->add_option("--password-hash", o->password_hash, "New {SCHEME}hash");
  change->add_option("--scheme", o->scheme, "Hash scheme for --password");
  change->add_flag("--no-scram", o->no_scram, "Do not store a SCRAM-SHA-256 secret");
  change->add_option("--name", o->name, "Display name");
  change->add_option("--status", o->status, "active, disabled or deleted");
  change->add_option("--primary", o->primary, "New primary address (the old one stays as secondary)");
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
  change->callback([&ctx, ec, o, change] {
    run(ctx, ec, [&](LocalDirectory& d) { return change_user(ctx, d, *o, change); });
  });

  auto* remove = user->add_subcommand("remove", "Delete an account (its mailbox stays on disk)");
  remove->add_option("address", o->address, "Address, login or id")->required();
  remove->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) {
      auto a = find_user(d, o->address);
      if (!a) return ctx.fail(a.status());
      auto st = d.remove_account(a->id);
      return done(ctx, st, "user " + a->address + " removed (id " + a->id + ")",
                  json::object{{"removed", a->address}, {"id", a->id}});
    });
  });

  auto* list = user->add_subcommand("list", "List accounts");
  list->add_option("--domain", o->domain, "Only this domain");
  list->callback([&ctx, ec, o] { run(ctx, ec, [&](LocalDirectory& d) { return list_users(ctx, d, *o); }); });

  auto* show = user->add_subcommand("show", "Show an account");
  show->add_option("address", o->address, "Address, login or id")->required();
  show->callback([&ctx, ec, o] {
    run(ctx, ec, [&](LocalDirectory& d) {
      auto a = find_user(d, o->address);
      if (!a) return ctx.fail(a.status());
      return show_user(ctx, d, a->id, "");
    });
  });

  auto* import = user->add_subcommand("import", "Bulk-create accounts from a file");
  import->add_option("--file", o->file, "address<TAB>{SCHEME}hash[<TAB>name[<TAB>quota]] per line")
      ->required();
  import->add_flag("--create-domains", o->create_domains, "Add missing domains");
  import->callback([&ctx, ec, o] { run(ctx, ec, [&](LocalDirectory& d) { return import_users(ctx, d, *o); }); });

  // password hash: reads the password from stdin (never from the command line).
  auto* pw = app.add_subcommand("password", "Password utilities")->require_subcommand(1);
  auto* hash = pw->add_subcommand("hash", "Hash a password read from stdin");
  hash->add_option("--scheme", o->scheme, "ARGON2ID (default), SHA512-CRYPT, CRYPT, SSHA512, SSHA");
  hash->callback([&ctx, ec, o] {
    std::string line;
    std::getline(std::cin, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string h, secret;
    auto st = hash_password(line, o->scheme, true, &h, &secret);
    *ec = done(ctx, st, h, json::object{{"hash", h}, {"scram_secret", secret}});
  });

  auto* conflicts = app.add_subcommand("conflicts", "Addresses that are both an account and an alias or group");
  conflicts->callback([&ctx, ec] {
    run(ctx, ec, [&](LocalDirectory& d) {
      auto c = d.conflicts();
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
      if (text.empty()) text = "no conflicts";
      else text.pop_back();
      return done(ctx, Status::ok(), text, arr);
    });
  });
}

}  // namespace mailroom::ctl
