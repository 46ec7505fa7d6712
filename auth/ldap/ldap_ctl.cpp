#include "auth/ldap/ldap_ctl.h"

#include <CLI/CLI.hpp>

#include <boost/json.hpp>
#include <sstream>

#include "auth/ldap/ldap_client.h"
#include "auth/ldap/ldap_directory.h"
#include "auth/local/local_directory.h"
#include "auth/sync/ldap_sync.h"
#include "src/core/config_section.h"
#include "src/ctl/ctl.h"

namespace mailroom::ctl {

namespace {

struct SyncSetup {
  std::unique_ptr<auth::sync::LdapSync> sync;
};

// Reads [directory.ldap] and [server] data_dir from the config file; check = contact the
// server first (a clear error when it is unreachable or misconfigured).
core::Result<SyncSetup> open_sync(Context& ctx, bool check) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_file(ctx.config_path, &errors);
  auto root = doc->root();
  auto server = root.child("server");
  std::string data_dir = server.get_string("data_dir", "");
  auto directory = root.child("directory");
  auto section = directory.child("ldap");
  if (!section.present())
    return core::invalid_argument("no [directory.ldap] section in " + ctx.config_path);
  auto options = auth::ldap::parse_ldap_options(section);
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors.messages()) all += (all.empty() ? "" : "; ") + e;
    return core::invalid_argument(all);
  }
  if (data_dir.empty()) data_dir = ctx.data_dir();
  if (data_dir.empty()) return core::invalid_argument("no [server] data_dir");
  auto client = std::make_shared<auth::ldap::LdapClient>(options);
  if (check) {
    auto problems = client->check_configuration();
    if (!problems.empty()) {
      std::string all;
      for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
      return core::unavailable("LDAP check failed: " + all);
    }
  }
  auth::LocalDirectoryOptions lo;
  lo.path = data_dir + "/directory.db";
  auto local = auth::LocalDirectory::open(lo);
  if (!local) return local.status();
  SyncSetup s;
  s.sync = std::make_unique<auth::sync::LdapSync>(std::make_shared<auth::LdapDirectory>(client), *local);
  return s;
}

std::string stats_text(const auth::sync::LdapSyncStats& s) {
  std::ostringstream out;
  out << "seen=" << s.seen << " created=" << s.created << " updated=" << s.updated
      << " unchanged=" << s.unchanged << " removed=" << s.removed << " groups=" << s.groups
      << " errors=" << s.errors << " seconds=" << s.seconds;
  return out.str();
}

boost::json::object stats_json(const auth::sync::LdapSyncStats& s) {
  return {{"seen", s.seen},       {"created", s.created}, {"updated", s.updated},
          {"unchanged", s.unchanged}, {"removed", s.removed}, {"groups", s.groups},
          {"errors", s.errors},   {"seconds", s.seconds}};
}

}  // namespace

void register_ldap_commands(CLI::App& app, Context& ctx, int* exit_code) {
  CLI::App* directory = nullptr;
  try {
    directory = app.get_subcommand("directory");
  } catch (const CLI::OptionNotFound&) {
    directory = app.add_subcommand("directory", "accounts, aliases, groups and domains");
  }
  auto* sync = directory->add_subcommand("sync", "synchronize the replica from LDAP");
  struct Flags {
    bool now = false;
    bool dry_run = false;
  };
  auto flags = std::make_shared<Flags>();
  sync->add_flag("--now", flags->now, "run one full synchronization now");
  sync->add_flag("--dry-run", flags->dry_run, "show what a synchronization would change");
  auto* status = sync->add_subcommand("status", "last sync, lag, errors");
  status->callback([&ctx, exit_code] {
    auto s = open_sync(ctx, false);
    if (!s) { *exit_code = ctx.fail(s.status()); return; }
    std::string human;
    boost::json::object j;
    for (const auto& [k, v] : s->sync->status()) {
      human += k + ": " + v + "\n";
      j[k] = v;
    }
    ctx.print(human, boost::json::serialize(j));
    *exit_code = kOk;
  });
  sync->callback([&ctx, exit_code, flags, status] {
    if (status->parsed()) return;
    bool dry_run = flags->dry_run;
    if (!dry_run && !flags->now) {
      *exit_code = ctx.fail(core::invalid_argument("use --now, --dry-run or status"));
      return;
    }
    auto s = open_sync(ctx, true);
    if (!s) { *exit_code = ctx.fail(s.status()); return; }
    std::vector<auth::sync::LdapSyncChange> changes;
    auto r = s->sync->full_sync(dry_run, &changes);
    if (!r) { *exit_code = ctx.fail(r.status()); return; }
    std::string human = std::string(dry_run ? "dry run: " : "synchronized: ") + stats_text(*r) + "\n";
    boost::json::array jc;
    for (const auto& c : changes) {
      human += "  " + c.action + " " + c.address + (c.id.empty() ? "" : " (" + c.id + ")") + "\n";
      jc.push_back(boost::json::object{{"action", c.action}, {"id", c.id}, {"address", c.address}});
    }
    auto j = stats_json(*r);
    j["dry_run"] = dry_run;
    j["changes"] = jc;
    ctx.print(human, boost::json::serialize(j));
    *exit_code = kOk;
  });
}

}  // namespace mailroom::ctl
