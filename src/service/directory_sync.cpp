#include "src/service/directory_sync.h"

#include <sys/stat.h>

#include <ctime>
#include <filesystem>

#include "auth/local/local_directory.h"
#include "auth/sync/account_policy.h"
#include "auth/sync/retention.h"
#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/store/mail_store.h"
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
#include "src/store/store_options.h"
#endif

namespace mailroom::service {

// The configuration file, its data dir and the replica.
struct DirectorySync::Setup {
  explicit Setup(const core::Clock& c) : clock(c) {}
  const core::Clock& clock;
  core::ConfigErrors errors;
  std::unique_ptr<core::ConfigDocument> doc;
  std::string config_path;
  std::string backend;
  std::string data_dir;
  std::shared_ptr<auth::LocalDirectory> replica;
};

namespace {

std::string join_errors(const core::ConfigErrors& errors) {
  std::string all;
  for (const auto& e : errors.messages()) all += (all.empty() ? "" : "; ") + e;
  return all;
}

#ifdef MAILROOM_HAVE_LDAP_BACKEND
core::Result<std::unique_ptr<auth::sync::SyncEngine>> open_ldap_sync(DirectorySync::Setup& s,
                                                                     bool check) {
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
  return auth::sync::make_ldap_sync(std::make_shared<auth::LdapDirectory>(client), s.replica,
                                    s.clock);
}
#endif

#ifdef MAILROOM_HAVE_SQL_BACKEND
// `connect` false: status only, read from the replica (no MariaDB connection).
core::Result<std::unique_ptr<auth::sync::SyncEngine>> open_sql_sync(DirectorySync::Setup& s,
                                                                    bool connect) {
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
  return auth::sync::make_sql_sync(listing, live, s.replica, so, s.clock);
}
#endif

core::Status not_a_synced_backend(const std::string& backend) {
  return core::invalid_argument("directory backend \"" + backend +
                                "\" has nothing to synchronize (ldap and sql do), or is not "
                                "built in");
}

// The sync engine of the configured backend; `connect` false: for status() only, which reads
// the replica (no upstream connection).
core::Result<std::unique_ptr<auth::sync::SyncEngine>> open_engine(DirectorySync::Setup& s,
                                                                  bool connect) {
#ifdef MAILROOM_HAVE_LDAP_BACKEND
  if (s.backend == "ldap") return open_ldap_sync(s, connect);
#endif
#ifdef MAILROOM_HAVE_SQL_BACKEND
  if (s.backend == "sql") return open_sql_sync(s, connect);
#endif
  return not_a_synced_backend(s.backend);
}

std::vector<std::pair<std::string, uint64_t>> counts_of(const auth::sync::SyncStats& r) {
  return {{"seen", r.seen},           {"created", r.created}, {"updated", r.updated},
          {"unchanged", r.unchanged}, {"removed", r.removed}, {"groups", r.groups},
          {"errors", r.errors}};
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

}  // namespace

DirectorySync::DirectorySync(std::unique_ptr<Setup> setup) : setup_(std::move(setup)) {}
DirectorySync::~DirectorySync() = default;

const std::string& DirectorySync::backend() const { return setup_->backend; }

core::Result<std::unique_ptr<DirectorySync>> DirectorySync::open(const std::string& config_path,
                                                                 const core::Clock& clock) {
  auto s = std::make_unique<Setup>(clock);
  s->config_path = config_path;
  s->doc = core::ConfigDocument::load_file(config_path, &s->errors);
  if (!s->doc) return core::invalid_argument(join_errors(s->errors));
  auto root = s->doc->root();
  s->data_dir = root.child("server").get_string("data_dir", "");
  if (s->data_dir.empty()) return core::invalid_argument("no [server] data_dir in " + config_path);
  s->backend = root.child("directory").get_string("backend", "local");
  auth::LocalDirectoryOptions lo;
  lo.path = s->data_dir + "/directory.db";
  auto local = auth::LocalDirectory::open(lo);
  if (!local) return local.status();
  s->replica = *local;
  return std::unique_ptr<DirectorySync>(new DirectorySync(std::move(s)));
}

core::Result<SyncStatus> DirectorySync::status() {
  Setup& s = *setup_;
  auto sync = open_engine(s, false);
  if (!sync) return sync.status();
  return SyncStatus{s.backend, (*sync)->status()};
}

core::Result<SyncReport> DirectorySync::run(bool dry_run) {
  Setup& s = *setup_;
  SyncReport out;
  out.backend = s.backend;
  out.dry_run = dry_run;
  auto sync = open_engine(s, true);
  if (!sync) return sync.status();
  auto r = dry_run ? (*sync)->dry_run(&out.changes) : (*sync)->full_sync(&out.changes);
  if (!r) return r.status();
  out.counts = counts_of(*r);
  return out;
}

core::Result<RetentionReport> DirectorySync::retention(bool dry_run) {
  Setup& s = *setup_;
  const int64_t now = s.clock.unix_seconds();
  auto dir_section = s.doc->root().child("directory");
  auto options = auth::sync::parse_retention_options(dir_section);
  auto store_section = s.doc->root().child("store");
  auto so = store::parse_store_options(store_section, s.data_dir);
  if (!s.errors.empty()) return core::invalid_argument(join_errors(s.errors));
  auto due = auth::sync::due_for_retention(*s.replica, options, s.clock);
  if (!due) return due.status();

  RetentionReport report;
  report.dry_run = dry_run;
  report.action = options.action;
  report.retention_s = options.retention_s;
  std::unique_ptr<store::MailStore> mail;
  if (!dry_run && !due->empty()) mail = store::open_file_store(so);
  for (const auto& item : *due) {
    RetentionAccount entry{item.account_id, item.address, item.inactive_since, item.due_at};
    if (dry_run) {
      entry.result = "would " + options.action;
    } else if (auto r = apply_retention(*mail, so, s.data_dir, options.action, item, now)) {
      entry.result = *r;
      auth::sync::logged(auth::sync::mark_retention_done(*s.replica, item.account_id, *r, s.clock),
                         "retention_mark_failed");
      MR_LOG_INFO("event=retention_applied account={} address={} inactive_since={} result={}",
                  item.account_id, item.address, item.inactive_since, core::quote(*r));
    } else {
      ++report.failures;
      entry.failed = true;
      entry.result = "failed: " + r.status().to_string();
      MR_LOG_WARN("event=retention_failed account={} error={}", item.account_id,
                  core::quote(r.status().log_detail()));
    }
    report.accounts.push_back(std::move(entry));
  }
  return report;
}

}  // namespace mailroom::service
