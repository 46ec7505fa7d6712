// mailroomctl directory sync --now | --dry-run | status, for the LDAP and the SQL backend, and
// mailroomctl directory retention [--dry-run] (auth/sync/retention.h).
//
// These commands read the config file themselves and open the replica
// (<data_dir>/directory.db) and, for sync, the upstream directory: they work while mailroomd
// runs (SQLite WAL, the sync is an idempotent diff) and do not need the rest of the spine.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "auth/local/local_directory.h"
#include "auth/sync/account_policy.h"
#include "auth/sync/retention.h"
#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/ctl/ctl.h"
#include "src/store/maintenance.h"
#ifdef MAILROOM_HAVE_LDAP_BACKEND
#include "auth/ldap/ldap_client.h"
#include "auth/ldap/ldap_directory.h"
#include "auth/sync/ldap_sync.h"
#endif
#ifdef MAILROOM_HAVE_SQL_BACKEND
#include "auth/sql/sql_directory.h"
#include "auth/sql/sql_options.h"
#include "auth/sync/sql_sync.h"
#endif

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using auth::sync::SyncChange;

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string join_errors(const core::ConfigErrors& errors) {
  std::string all;
  for (const auto& e : errors.messages()) all += (all.empty() ? "" : "; ") + e;
  return all;
}

// The config file, its data dir and the replica.
struct Setup {
  core::ConfigErrors errors;
  std::unique_ptr<core::ConfigDocument> doc;
  std::string backend;
  std::string data_dir;
  std::shared_ptr<auth::LocalDirectory> replica;
};

core::Status open_setup(Context& ctx, Setup& s) {
  // mailroomctl logs go to stdout: in --json mode only the document may appear there.
  if (ctx.json) spdlog::set_level(spdlog::level::err);
  s.doc = core::ConfigDocument::load_file(ctx.config_path, &s.errors);
  if (!s.doc) return core::invalid_argument(join_errors(s.errors));
  auto root = s.doc->root();
  auto server = root.child("server");
  s.data_dir = server.get_string("data_dir", "");
  if (s.data_dir.empty()) return core::invalid_argument("no [server] data_dir in " + ctx.config_path);
  s.backend = root.child("directory").get_string("backend", "local");
  auth::LocalDirectoryOptions lo;
  lo.path = s.data_dir + "/directory.db";
  auto local = auth::LocalDirectory::open(lo);
  if (!local) return local.status();
  s.replica = *local;
  return core::Status::ok();
}

// What one sync command produced, backend-neutral.
struct SyncOutcome {
  std::vector<std::pair<std::string, uint64_t>> counts;
  std::vector<SyncChange> changes;
};

#ifdef MAILROOM_HAVE_LDAP_BACKEND
core::Result<std::unique_ptr<auth::sync::LdapSync>> open_ldap_sync(Setup& s, bool check) {
  auto section = s.doc->root().child("directory").child("ldap");
  if (!section.present())
    return core::invalid_argument("no [directory.ldap] section in the configuration");
  auto options = auth::ldap::parse_ldap_options(section);
  if (!s.errors.empty()) return core::invalid_argument(join_errors(s.errors));
  auto client = std::make_shared<auth::ldap::LdapClient>(options);
  if (check) {
    auto problems = client->check_configuration();
    if (!problems.empty()) {
      std::string all;
      for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
      return core::unavailable("LDAP check failed: " + all);
    }
  }
  return std::make_unique<auth::sync::LdapSync>(std::make_shared<auth::LdapDirectory>(client),
                                                s.replica);
}
#endif

#ifdef MAILROOM_HAVE_SQL_BACKEND
core::Result<std::unique_ptr<auth::sync::SqlSync>> open_sql_sync(Setup& s, bool connect) {
  auto section = s.doc->root().child("directory").child("sql");
  if (!section.present())
    return core::invalid_argument("no [directory.sql] section in the configuration");
  auto options = auth::sql::parse_sql_directory_options(section);
  if (!s.errors.empty()) return core::invalid_argument(join_errors(s.errors));
  auth::sync::SqlSyncOptions so;
  so.on_removed = options.on_removed;
  so.old_address_grace_s = options.old_address_grace_s;
  std::shared_ptr<auth::sql::SqlListing> listing;
  std::shared_ptr<auth::Directory> live;
  if (connect) {
    options.sync_mode = "poll";  // prepares the listing queries
    auto l = auth::sql::open_sql_listing(options);
    if (!l) return l.status();
    listing = *l;
    auto d = auth::open_sql_directory(options);
    if (!d) return d.status();
    live = *d;
  }
  return std::make_unique<auth::sync::SqlSync>(listing, live, s.replica, so);
}
#endif

core::Status not_a_synced_backend(const std::string& backend) {
  return core::invalid_argument("directory backend \"" + backend +
                                "\" has nothing to synchronize (ldap and sql do), or is not built in");
}

// The counters both backends' stats share.
template <class Stats>
std::vector<std::pair<std::string, uint64_t>> counts_of(const Stats& r) {
  return {{"seen", r.seen},           {"created", r.created}, {"updated", r.updated},
          {"unchanged", r.unchanged}, {"removed", r.removed}, {"groups", r.groups},
          {"errors", r.errors}};
}

// sync --now (dry_run false) or --dry-run.
core::Result<SyncOutcome> run_sync(Setup& s, bool dry_run) {
  SyncOutcome out;
#ifdef MAILROOM_HAVE_LDAP_BACKEND
  if (s.backend == "ldap") {
    auto sync = open_ldap_sync(s, true);
    if (!sync) return sync.status();
    auto r = (*sync)->full_sync(dry_run, &out.changes);
    if (!r) return r.status();
    out.counts = counts_of(*r);
    return out;
  }
#endif
#ifdef MAILROOM_HAVE_SQL_BACKEND
  if (s.backend == "sql") {
    auto sync = open_sql_sync(s, true);
    if (!sync) return sync.status();
    auto r = dry_run ? (*sync)->dry_run(&out.changes) : (*sync)->full_sync();
    if (!r) return r.status();
    out.counts = counts_of(*r);
    return out;
  }
#endif
  return not_a_synced_backend(s.backend);
}

core::Result<std::vector<std::pair<std::string, std::string>>> sync_status(Setup& s) {
#ifdef MAILROOM_HAVE_LDAP_BACKEND
  if (s.backend == "ldap") {
    auto sync = open_ldap_sync(s, false);
    if (!sync) return sync.status();
    return (*sync)->status();
  }
#endif
#ifdef MAILROOM_HAVE_SQL_BACKEND
  if (s.backend == "sql") {
    auto sync = open_sql_sync(s, false);
    if (!sync) return sync.status();
    return (*sync)->status();
  }
#endif
  return not_a_synced_backend(s.backend);
}

CLI::App* directory_command(CLI::App& app) {
  try {
    return app.get_subcommand("directory");
  } catch (const CLI::OptionNotFound&) {
    return app.add_subcommand("directory", "directory synchronization and retention");
  }
}

void register_sync(CLI::App& directory, Context& ctx, int* exit_code) {
  auto* sync = directory.add_subcommand("sync", "synchronize the replica from LDAP or SQL");
  struct Flags {
    bool now = false;
    bool dry_run = false;
  };
  auto flags = std::make_shared<Flags>();
  sync->add_flag("--now", flags->now, "run one full synchronization now");
  sync->add_flag("--dry-run", flags->dry_run, "show what a synchronization would change");
  auto* status = sync->add_subcommand("status", "last sync, lag, errors");
  status->callback([&ctx, exit_code] {
    Setup s;
    if (auto st = open_setup(ctx, s); !st) { *exit_code = ctx.fail(st); return; }
    auto lines = sync_status(s);
    if (!lines) { *exit_code = ctx.fail(lines.status()); return; }
    std::string human = "backend: " + s.backend + "\n";
    json::object j{{"backend", s.backend}};
    for (const auto& [k, v] : *lines) {
      human += k + ": " + v + "\n";
      j[k] = v;
    }
    ctx.print(human, json::serialize(j));
    *exit_code = kOk;
  });
  sync->callback([&ctx, exit_code, flags, status] {
    if (status->parsed()) return;
    if (!flags->dry_run && !flags->now) {
      *exit_code = ctx.fail(core::invalid_argument("use --now, --dry-run or status"));
      return;
    }
    Setup s;
    if (auto st = open_setup(ctx, s); !st) { *exit_code = ctx.fail(st); return; }
    auto r = run_sync(s, flags->dry_run);
    if (!r) { *exit_code = ctx.fail(r.status()); return; }
    std::string human = flags->dry_run ? "dry run:" : "synchronized:";
    json::object j{{"backend", s.backend}, {"dry_run", flags->dry_run}};
    for (const auto& [k, v] : r->counts) {
      human += " " + k + "=" + std::to_string(v);
      j[k] = v;
    }
    human += "\n";
    json::array jc;
    for (const auto& c : r->changes) {
      human += "  " + c.action + " " + c.address + (c.id.empty() ? "" : " (" + c.id + ")") + "\n";
      jc.push_back(json::object{{"action", c.action}, {"id", c.id}, {"address", c.address}});
    }
    j["changes"] = jc;
    ctx.print(human, json::serialize(j));
    *exit_code = kOk;
  });
}

std::string day_stamp(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return buf;
}

// Archives (mboxrd of every folder) and/or removes one account's mailbox.
core::Result<std::string> apply_retention(store::MailStore& mail, const store::StoreOptions& so,
                                          const std::string& data_dir, const std::string& action,
                                          const auth::sync::RetentionItem& item, int64_t now) {
  namespace fs = std::filesystem;
  fs::path box = fs::path(so.root) / item.account_id;
  std::error_code ec;
  bool exists = fs::exists(box, ec);
  std::string what = action;
  if (action == "archive" && exists) {
    fs::path dir = fs::path(data_dir) / "archive";
    fs::create_directories(dir, ec);
    ::chmod(dir.c_str(), 0700);
    std::string out = (dir / (item.account_id + "-" + day_stamp(now) + ".mbox")).string();
    auto n = store::export_mbox(mail, item.account_id, {}, out);
    if (!n) return n.status();
    ::chmod(out.c_str(), 0600);
    what = "archive " + out + " messages=" + std::to_string(*n);
  }
  if (exists) {
    fs::remove_all(box, ec);
    if (ec) return core::io_error("cannot remove the mailbox of " + item.account_id, ec.message());
  } else {
    what += " (no mailbox)";
  }
  return what;
}

void register_retention(CLI::App& directory, Context& ctx, int* exit_code) {
  auto* cmd = directory.add_subcommand(
      "retention", "archive or delete the mailboxes of removed/disabled users whose retention is over");
  auto dry_run = std::make_shared<bool>(false);
  cmd->add_flag("--dry-run", *dry_run, "list what would be archived or deleted");
  cmd->callback([&ctx, exit_code, dry_run] {
    Setup s;
    if (auto st = open_setup(ctx, s); !st) { *exit_code = ctx.fail(st); return; }
    auto dir_section = s.doc->root().child("directory");
    auto options = auth::sync::parse_retention_options(dir_section);
    auto store_section = s.doc->root().child("store");
    auto so = store::parse_store_options(store_section, s.data_dir);
    if (!s.errors.empty()) { *exit_code = ctx.fail(core::invalid_argument(join_errors(s.errors))); return; }
    int64_t now = now_unix();
    auto due = auth::sync::due_for_retention(*s.replica, options, now);
    if (!due) { *exit_code = ctx.fail(due.status()); return; }
    std::unique_ptr<store::MailStore> mail;
    if (!*dry_run && !due->empty()) mail = store::open_file_store(so);
    std::string human = std::string(*dry_run ? "dry run: " : "") + "action=" + options.action +
                        " retention_seconds=" + std::to_string(options.retention_s) +
                        " due=" + std::to_string(due->size()) + "\n";
    json::array items;
    int failures = 0;
    for (const auto& item : *due) {
      std::string result = *dry_run ? "would " + options.action : "";
      if (!*dry_run) {
        auto r = apply_retention(*mail, so, s.data_dir, options.action, item, now);
        if (r) {
          result = *r;
          auth::sync::mark_retention_done(*s.replica, item.account_id, *r, now);
          MR_LOG_INFO("event=retention_applied account={} address={} inactive_since={} result={}",
                      item.account_id, item.address, item.inactive_since, core::quote(*r));
        } else {
          ++failures;
          result = "failed: " + r.status().to_string();
          MR_LOG_WARN("event=retention_failed account={} error={}", item.account_id,
                      core::quote(r.status().log_detail()));
        }
      }
      human += "  " + item.account_id + " " + item.address + " inactive since " +
               std::to_string(item.inactive_since) + ": " + result + "\n";
      items.push_back(json::object{{"id", item.account_id}, {"address", item.address},
                                   {"inactive_since", item.inactive_since},
                                   {"due_at", item.due_at}, {"result", result}});
    }
    ctx.print(human, json::serialize(json::object{{"dry_run", *dry_run},
                                                  {"action", options.action},
                                                  {"retention_seconds", options.retention_s},
                                                  {"accounts", items}}));
    *exit_code = failures ? kSystemError : kOk;
  });
}

}  // namespace

// Called by register_directory_commands (auth/ctl_commands.cpp).
void register_sync_commands(CLI::App& app, Context& ctx, int* exit_code) {
  CLI::App* directory = directory_command(app);
  register_sync(*directory, ctx, exit_code);
  register_retention(*directory, ctx, exit_code);
}

}  // namespace mailroom::ctl
