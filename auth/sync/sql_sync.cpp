#include "auth/sync/sql_sync.h"

#include <algorithm>

#include "auth/forwarding_directory.h"
#include "auth/sql/sql_directory.h"
#include "auth/sql/sql_options.h"
#include "auth/sync/sync_source.h"

namespace mailroom::auth::sync {

namespace {

constexpr const char* kMarkKey = "sql.changed_at";

class SqlSource final : public SyncSource {
 public:
  SqlSource(std::shared_ptr<sql::SqlListing> live, std::shared_ptr<Directory> live_directory)
      : live_(std::move(live)), live_directory_(std::move(live_directory)) {}

  std::string name() const override { return kSourceSql; }
  bool owns_secrets() const override { return true; }
  std::vector<std::string> state_keys() const override { return {kMarkKey}; }

  Result<SourceDomains> read_domains() override {
    SourceDomains out;
    out.mirror = true;
    auto domains = live_directory_->list_domains();
    if (!domains) {
      if (domains.code() == Code::not_found) return out;  // listing disabled
      return domains.status();
    }
    out.domains = std::move(*domains);
    // Local domains first: an alias domain's target must exist.
    std::stable_sort(out.domains.begin(), out.domains.end(), [](const Domain& a, const Domain& b) {
      return a.kind == DomainKind::local && b.kind != DomainKind::local;
    });
    return out;
  }

  Status read_accounts(AccountSink& sink, Marks& next) override {
    return read_since("", sink, next);
  }

  bool can_read_changes(const Marks& stored) override {
    auto mark = stored.find(kMarkKey);
    return mark != stored.end() && !mark->second.empty();
  }

  Status read_changes(const Marks& stored, AccountSink& sink, Marks& next,
                      bool* groups_changed) override {
    next[kMarkKey] = stored.at(kMarkKey);
    *groups_changed = true;  // no change dates on aliases and groups: read them every time
    return read_since(stored.at(kMarkKey), sink, next);
  }

  Result<SourceObjects> read_groups(Marks&) override {
    SourceObjects out;
    auto aliases = live_->list_aliases();
    if (!aliases) return aliases.status();
    auto groups = live_->list_groups();
    if (!groups) return groups.status();
    out.aliases = std::move(*aliases);
    out.groups = std::move(*groups);
    return out;
  }

 private:
  Status read_since(const std::string& since, AccountSink& sink, Marks& next) {
    auto accounts = live_->list_accounts(since);
    if (!accounts) return accounts.status();
    for (auto& a : *accounts) {
      AccountRecord rec;
      rec.account = std::move(a.account);
      rec.scram_secret = std::move(a.scram_secret);
      if (auto st = sink.account(std::move(rec)); !st) return st;
      if (a.changed_at > next[kMarkKey]) next[kMarkKey] = a.changed_at;  // compared as text
    }
    if (next[kMarkKey].empty()) next.erase(kMarkKey);
    return Status::ok();
  }

  std::shared_ptr<sql::SqlListing> live_;
  std::shared_ptr<Directory> live_directory_;
};

// Answers from the replica or the live directory; owns the running sync. With lookup = "live"
// a lookup that cannot reach MariaDB is answered by the replica (the warm standby), so SMTP and
// logins keep resolving during an outage; passwords stay the live directory's business (an
// outage answers unavailable, which the credential cache may turn into an answer).
class SqlReplicaDirectory final : public ForwardingDirectory {
 public:
  SqlReplicaDirectory(std::shared_ptr<Directory> answer, std::shared_ptr<LocalDirectory> replica,
                      std::unique_ptr<SyncEngine> sync, const core::Clock& clock)
      : ForwardingDirectory(answer),
        replica_(std::move(replica)),
        sync_(std::move(sync)),
        clock_(clock),
        standby_(answer != std::static_pointer_cast<Directory>(replica_)) {}
  ~SqlReplicaDirectory() override { sync_->stop(); }

  std::string name() const override { return "sql"; }
  Result<Domain> find_domain(const std::string& d) override {
    return ask(&Directory::find_domain, d);
  }
  Result<std::vector<Domain>> list_domains() override {
    auto r = inner().list_domains();
    if (!r && r.code() == Code::unavailable && standby_) return replica_->list_domains();
    return r;
  }
  Result<Account> find_account_by_address(const std::string& a) override {
    return ask(&Directory::find_account_by_address, a);
  }
  Result<Account> find_account_by_login(const std::string& l) override {
    return ask(&Directory::find_account_by_login, l);
  }
  Result<Account> find_account_by_id(const std::string& id) override {
    return ask(&Directory::find_account_by_id, id);
  }
  Result<Alias> find_alias(const std::string& a) override {
    auto r = ask(&Directory::find_alias, a);
    // An old primary address in its grace period is known to the replica only.
    if (!r && r.code() == Code::not_found && standby_ &&
        is_grace_alias(*replica_, a, clock_.unix_seconds()))
      return replica_->find_alias(a);
    return r;
  }
  Result<Group> find_group(const std::string& a) override { return ask(&Directory::find_group, a); }

 private:
  template <class T>
  Result<T> ask(Result<T> (Directory::*lookup)(const std::string&), const std::string& key) {
    Result<T> r = (inner().*lookup)(key);
    if (!r && r.code() == Code::unavailable && standby_) return ((*replica_).*lookup)(key);
    return r;
  }

  std::shared_ptr<LocalDirectory> replica_;
  std::unique_ptr<SyncEngine> sync_;
  const core::Clock& clock_;
  bool standby_;
};

}  // namespace

std::unique_ptr<SyncEngine> make_sql_sync(std::shared_ptr<sql::SqlListing> live,
                                          std::shared_ptr<Directory> live_directory,
                                          std::shared_ptr<LocalDirectory> replica,
                                          const SqlSyncOptions& options, const core::Clock& clock) {
  SyncOptions so;
  so.mode = "poll";
  so.interval_s = options.interval_s;
  so.full_compare_s = options.full_compare_s;
  so.full_pass_first = true;
  so.on_removed = options.on_removed;
  so.old_address_grace_s = options.old_address_grace_s;
  return std::make_unique<SyncEngine>(
      std::make_unique<SqlSource>(std::move(live), std::move(live_directory)), std::move(replica),
      std::move(so), clock);
}

Result<std::shared_ptr<Directory>> open_sql_replica(std::shared_ptr<Directory> live,
                                                    std::shared_ptr<sql::SqlListing> listing,
                                                    const sql::SqlDirectoryOptions& options,
                                                    const std::string& data_dir, bool start_sync,
                                                    const core::Clock& clock) {
  LocalDirectoryOptions lo;
  lo.path = data_dir + "/directory.db";
  auto replica = LocalDirectory::open(lo);
  if (!replica) return replica.status();
  SqlSyncOptions so;
  so.interval_s = std::max<int64_t>(1, options.sync_interval_s);
  so.full_compare_s = std::max<int64_t>(so.interval_s, options.full_compare_s);
  so.on_removed = options.on_removed;
  so.old_address_grace_s = options.old_address_grace_s;
  auto sync = make_sql_sync(std::move(listing), live, *replica, so, clock);
  if (start_sync) sync->start();
  std::shared_ptr<Directory> answer =
      options.lookup == "replica" ? std::shared_ptr<Directory>(*replica) : live;
  return std::shared_ptr<Directory>(
      std::make_shared<SqlReplicaDirectory>(std::move(answer), *replica, std::move(sync), clock));
}

}  // namespace mailroom::auth::sync
