#include "auth/sync/sql_sync.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "auth/sql/sql_directory.h"
#include "auth/sql/sql_options.h"
#include "auth/sync/account_policy.h"
#include "src/core/log.h"

namespace mailroom::auth::sync {

namespace {
constexpr const char* kMarkKey = "sql.changed_at";

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Answers from the replica or the live directory; owns the running sync. With lookup = "live"
// a lookup that cannot reach MariaDB is answered by the replica (the warm standby), so SMTP and
// logins keep resolving during an outage; passwords stay the live directory's business (an
// outage answers unavailable, which the credential cache may turn into an answer).
class SqlReplicaDirectory final : public Directory {
 public:
  SqlReplicaDirectory(std::shared_ptr<Directory> answer, std::shared_ptr<LocalDirectory> replica,
                      std::unique_ptr<SqlSync> sync)
      : answer_(std::move(answer)),
        replica_(std::move(replica)),
        sync_(std::move(sync)),
        standby_(answer_ != std::static_pointer_cast<Directory>(replica_)) {}
  ~SqlReplicaDirectory() override { sync_->stop(); }

  std::string name() const override { return "sql"; }
  Result<Domain> find_domain(const std::string& d) override {
    return ask(&Directory::find_domain, d);
  }
  Result<std::vector<Domain>> list_domains() override {
    auto r = answer_->list_domains();
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
    if (!r && r.code() == Code::not_found && standby_ && is_grace_alias(*replica_, a, unix_now()))
      return replica_->find_alias(a);
    return r;
  }
  Result<Group> find_group(const std::string& a) override { return ask(&Directory::find_group, a); }
  PasswordCheck check_password(const Account& a, const std::string& pw) override {
    return answer_->check_password(a, pw);
  }
  Result<std::string> scram_secret(const Account& a) override { return answer_->scram_secret(a); }

 private:
  template <class T>
  Result<T> ask(Result<T> (Directory::*lookup)(const std::string&), const std::string& key) {
    Result<T> r = ((*answer_).*lookup)(key);
    if (!r && r.code() == Code::unavailable && standby_) return ((*replica_).*lookup)(key);
    return r;
  }

  std::shared_ptr<Directory> answer_;
  std::shared_ptr<LocalDirectory> replica_;
  std::unique_ptr<SqlSync> sync_;
  bool standby_;
};
}  // namespace

static std::string counts_text(const SqlSyncStats& s) {
  return "seen=" + std::to_string(s.seen) + " created=" + std::to_string(s.created) +
         " updated=" + std::to_string(s.updated) + " removed=" + std::to_string(s.removed) +
         " errors=" + std::to_string(s.errors);
}

struct SqlSync::Impl {
  std::shared_ptr<sql::SqlListing> live;
  std::shared_ptr<Directory> live_directory;
  std::shared_ptr<LocalDirectory> replica;
  SqlSyncOptions options;

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool ready = false;
  std::thread thread;

  void upsert_accounts(const std::vector<sql::ListedAccount>& accounts, SqlSyncStats& stats,
                       std::string* mark) {
    for (const auto& a : accounts) {
      ++stats.seen;
      AccountRecord rec;
      rec.account = a.account;
      rec.scram_secret = a.scram_secret;
      rec.source = kSourceSql;
      int64_t now = unix_now();
      if (auto g = keep_old_address(*replica, rec, options.old_address_grace_s, now); !g)
        MR_LOG_WARN("event=old_address_grace_failed id={} error={}", core::quote(a.account.id),
                    core::quote(g.to_string()));
      // SQL is the authority on hashes: an emptied hash upstream empties the replica's.
      auto r = replica->upsert_account_by_id(rec, /*keep_empty_secrets=*/false);
      if (!r) {
        ++stats.errors;
        MR_LOG_WARN("event=sql_sync_account_failed id={} address={} error={}",
                    core::quote(a.account.id), core::quote(a.account.address),
                    core::quote(r.status().to_string()));
        continue;
      }
      if (a.account.status != AccountStatus::active || *r == UpsertResult::updated)
        logged(note_account_status(*replica, a.account.id, a.account.status, now),
               "sql_sync_note_status_failed");
      if (*r == UpsertResult::created) ++stats.created;
      if (*r == UpsertResult::updated) ++stats.updated;
      if (*r == UpsertResult::unchanged) ++stats.unchanged;
      if (a.changed_at > *mark) *mark = a.changed_at;
    }
  }

  Status sync_domains() {
    auto domains = live_directory->list_domains();
    if (!domains) {
      if (domains.code() == Code::not_found) return Status::ok();  // listing disabled
      return domains.status();
    }
    // Local domains first: an alias domain's target must exist.
    std::stable_sort(domains->begin(), domains->end(), [](const Domain& a, const Domain& b) {
      return a.kind == DomainKind::local && b.kind != DomainKind::local;
    });
    for (const auto& d : *domains) {
      auto have = replica->find_domain(d.name);
      Status s;
      if (!have && have.code() == Code::not_found) {
        s = replica->add_domain(d);
      } else if (have && (have->kind != d.kind || have->alias_of != d.alias_of ||
                          have->catch_all != d.catch_all)) {
        s = replica->change_domain(d);
      }
      if (!s) {
        MR_LOG_WARN("event=sql_sync_domain_failed domain={} error={}", core::quote(d.name),
                    core::quote(s.to_string()));
      }
    }
    return Status::ok();  // domains vanished upstream are kept (removing one drops accounts)
  }

  Status sync_aliases_and_groups(SqlSyncStats& stats) {
    auto aliases = live->list_aliases();
    if (!aliases) return aliases.status();
    auto groups = live->list_groups();
    if (!groups) return groups.status();
    std::set<std::string> seen;
    for (const auto& a : *aliases) {
      seen.insert(a.address);
      auto r = replica->upsert_alias(a, kSourceSql);
      if (!r) {
        ++stats.errors;
        MR_LOG_WARN("event=sql_sync_alias_failed address={} error={}", core::quote(a.address),
                    core::quote(r.status().to_string()));
      } else if (*r != UpsertResult::unchanged) {
        ++stats.groups;
      }
    }
    if (auto have = replica->list_alias_addresses(kSourceSql)) {
      for (const auto& addr : *have) {
        if (!seen.count(addr) &&
            !logged(replica->remove_alias(addr), "sql_sync_alias_remove_failed"))
          ++stats.errors;
      }
    }
    seen.clear();
    for (const auto& g : *groups) {
      seen.insert(g.address);
      auto r = replica->upsert_group(g, kSourceSql);
      if (!r) {
        ++stats.errors;
        MR_LOG_WARN("event=sql_sync_group_failed address={} error={}", core::quote(g.address),
                    core::quote(r.status().to_string()));
      } else if (*r != UpsertResult::unchanged) {
        ++stats.groups;
      }
    }
    if (auto have = replica->list_group_addresses(kSourceSql)) {
      for (const auto& addr : *have) {
        if (!seen.count(addr) &&
            !logged(replica->remove_group(addr), "sql_sync_group_remove_failed"))
          ++stats.errors;
      }
    }
    return Status::ok();
  }

  Result<SqlSyncStats> full_sync() {
    SqlSyncStats stats;
    // Read everything first: a failed read must never look like "everyone left".
    auto accounts = live->list_accounts("");
    if (!accounts) return accounts.status();
    if (auto s = sync_domains(); !s) return s;
    std::string mark;
    upsert_accounts(*accounts, stats, &mark);
    std::set<std::string> seen;
    for (const auto& a : *accounts) seen.insert(a.account.id);
    auto ids = replica->list_account_ids(kSourceSql);
    if (!ids) return ids.status();
    for (const auto& id : *ids) {
      if (seen.count(id)) continue;
      auto rec = replica->get_account_record(id);
      if (!rec) continue;
      logged(note_account_status(*replica, id, AccountStatus::deleted, unix_now()),
             "sql_sync_note_status_failed");
      Status s;
      if (options.on_removed == "delete") {
        s = replica->delete_account_by_id(id);
      } else if (rec->account.status == AccountStatus::active) {
        s = replica->disable_account_by_id(id);
      } else {
        continue;  // already disabled
      }
      ++stats.removed;
      MR_LOG_INFO("event=sql_sync_account_removed id={} address={} action={} result={}",
                  core::quote(id), core::quote(rec->account.address), options.on_removed,
                  s ? "ok" : core::quote(s.to_string()));
    }
    if (auto s = sync_aliases_and_groups(stats); !s) return s;
    if (!mark.empty())
      if (auto st = replica->set_sync_state(kMarkKey, mark); !st) return st;
    return stats;
  }

  Result<SqlSyncStats> dry_run(std::vector<SyncChange>* changes) {
    SqlSyncStats stats;
    auto accounts = live->list_accounts("");
    if (!accounts) return accounts.status();
    auto aliases = live->list_aliases();
    if (!aliases) return aliases.status();
    auto groups = live->list_groups();
    if (!groups) return groups.status();
    std::set<std::string> seen;
    for (const auto& a : *accounts) {
      ++stats.seen;
      seen.insert(a.account.id);
      auto old = replica->get_account_record(a.account.id);
      if (!old) {
        ++stats.created;
        changes->push_back({"create", a.account.id, a.account.address});
      } else if (!same_account_data(old->account, a.account) ||
                 old->account.password_hash != a.account.password_hash ||
                 old->scram_secret != a.scram_secret) {
        ++stats.updated;
        changes->push_back({"update", a.account.id, a.account.address});
      } else {
        ++stats.unchanged;
      }
    }
    auto ids = replica->list_account_ids(kSourceSql);
    if (!ids) return ids.status();
    for (const auto& id : *ids) {
      if (seen.count(id)) continue;
      auto rec = replica->get_account_record(id);
      if (!rec) continue;
      if (options.on_removed != "delete" && rec->account.status != AccountStatus::active) continue;
      ++stats.removed;
      changes->push_back({"remove", id, rec->account.address});
    }
    auto diff = [&](const std::set<std::string>& upstream, const char* kind,
                    Result<std::vector<std::string>> local) -> Status {
      if (!local) return local.status();
      std::set<std::string> have(local->begin(), local->end());
      for (const auto& a : upstream)
        if (!have.count(a)) changes->push_back({std::string("create-") + kind, "", a});
      for (const auto& a : have)
        if (!upstream.count(a)) changes->push_back({std::string("remove-") + kind, "", a});
      return Status::ok();
    };
    std::set<std::string> up_aliases, up_groups;
    for (const auto& a : *aliases) up_aliases.insert(a.address);
    for (const auto& g : *groups) up_groups.insert(g.address);
    if (auto s = diff(up_aliases, "alias", replica->list_alias_addresses(kSourceSql)); !s) return s;
    if (auto s = diff(up_groups, "group", replica->list_group_addresses(kSourceSql)); !s) return s;
    return stats;
  }

  Result<SqlSyncStats> poll_once() {
    auto mark = replica->get_sync_state(kMarkKey);
    if (!mark) return full_sync();
    SqlSyncStats stats;
    auto accounts = live->list_accounts(*mark);
    if (!accounts) return accounts.status();
    std::string new_mark = *mark;
    upsert_accounts(*accounts, stats, &new_mark);
    if (auto s = sync_aliases_and_groups(stats); !s) return s;
    if (new_mark != *mark)
      if (auto st = replica->set_sync_state(kMarkKey, new_mark); !st) return st;
    return stats;
  }

  void run() {
    using Clock = std::chrono::steady_clock;
    Clock::time_point last_full{};
    bool first = true;
    for (;;) {
      bool full = first || Clock::now() - last_full >= std::chrono::seconds(options.full_compare_s);
      auto r = full ? full_sync() : poll_once();
      if (auto e = expire_old_addresses(*replica, unix_now()); !e)
        MR_LOG_WARN("event=old_address_grace_expiry_failed error={}",
                    core::quote(e.status().to_string()));
      if (r) {
        if (full) last_full = Clock::now();
        if (full || r->created || r->updated || r->removed || r->groups) {
          MR_LOG_INFO(
              "event=sql_sync_done pass={} seen={} created={} updated={} unchanged={} "
              "removed={} groups={} errors={}",
              full ? "full" : "poll", r->seen, r->created, r->updated, r->unchanged, r->removed,
              r->groups, r->errors);
        }
        logged(replica->set_sync_state("sql.last_error", ""), "sql_sync_state_failed");
        logged(replica->set_sync_state("sql.last_sync", std::to_string(unix_now())),
               "sql_sync_state_failed");
        logged(replica->set_sync_state("sql.last_counts", counts_text(*r)),
               "sql_sync_state_failed");
      } else {
        MR_LOG_WARN("event=sql_sync_failed pass={} error={}", full ? "full" : "poll",
                    core::quote(r.status().to_string()));
        logged(replica->set_sync_state("sql.last_error", r.status().to_string()),
               "sql_sync_state_failed");
      }
      std::unique_lock lock(mu);
      if (first) {
        ready = true;
        cv.notify_all();
        first = false;
      }
      cv.wait_for(lock, std::chrono::seconds(options.interval_s), [&] { return stopping; });
      if (stopping) return;
    }
  }
};

SqlSync::SqlSync(std::shared_ptr<sql::SqlListing> live, std::shared_ptr<Directory> live_directory,
                 std::shared_ptr<LocalDirectory> replica, SqlSyncOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->live = std::move(live);
  impl_->live_directory = std::move(live_directory);
  impl_->replica = std::move(replica);
  impl_->options = std::move(options);
}

SqlSync::~SqlSync() { stop(); }

Result<SqlSyncStats> SqlSync::full_sync() {
  auto r = impl_->full_sync();
  auto& replica = *impl_->replica;
  if (r) {
    logged(replica.set_sync_state("sql.last_sync", std::to_string(unix_now())),
           "sql_sync_state_failed");
    logged(replica.set_sync_state("sql.last_counts", counts_text(*r)), "sql_sync_state_failed");
    logged(replica.set_sync_state("sql.last_error", ""), "sql_sync_state_failed");
  } else {
    logged(replica.set_sync_state("sql.last_error", r.status().to_string()),
           "sql_sync_state_failed");
  }
  return r;
}
Result<SqlSyncStats> SqlSync::poll_once() { return impl_->poll_once(); }
Result<SqlSyncStats> SqlSync::dry_run(std::vector<SyncChange>* changes) {
  return impl_->dry_run(changes);
}

std::vector<std::pair<std::string, std::string>> SqlSync::status() {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("mode", "poll");
  auto get = [&](const char* key) {
    auto v = impl_->replica->get_sync_state(key);
    return v ? *v : std::string();
  };
  for (const char* k : {"sql.last_sync", "sql.last_error", "sql.last_counts", kMarkKey})
    out.emplace_back(k, get(k));
  std::string last = get("sql.last_sync");
  if (!last.empty())
    out.emplace_back("lag_seconds",
                     std::to_string(unix_now() - std::strtoll(last.c_str(), nullptr, 10)));
  return out;
}

void SqlSync::start() {
  if (impl_->thread.joinable()) return;
  impl_->thread = std::thread([this] { impl_->run(); });
}

void SqlSync::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool SqlSync::wait_ready(int timeout_ms) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [&] { return impl_->ready; });
}

Result<std::shared_ptr<Directory>> open_sql_replica(std::shared_ptr<Directory> live,
                                                    std::shared_ptr<sql::SqlListing> listing,
                                                    const sql::SqlDirectoryOptions& options,
                                                    const std::string& data_dir) {
  LocalDirectoryOptions lo;
  lo.path = data_dir + "/directory.db";
  auto replica = LocalDirectory::open(lo);
  if (!replica) return replica.status();
  SqlSyncOptions so;
  so.interval_s = std::max<int64_t>(1, options.sync_interval_s);
  so.full_compare_s = std::max<int64_t>(so.interval_s, options.full_compare_s);
  so.on_removed = options.on_removed;
  so.old_address_grace_s = options.old_address_grace_s;
  auto sync = std::make_unique<SqlSync>(std::move(listing), live, *replica, so);
  sync->start();
  std::shared_ptr<Directory> answer =
      options.lookup == "replica" ? std::shared_ptr<Directory>(*replica) : live;
  return std::shared_ptr<Directory>(
      std::make_shared<SqlReplicaDirectory>(std::move(answer), *replica, std::move(sync)));
}

}  // namespace mailroom::auth::sync
