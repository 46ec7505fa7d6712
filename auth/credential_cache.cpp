#include "auth/credential_cache.h"

#include <chrono>
#include <filesystem>

#include "src/core/log.h"
#include "src/db/sqlite.h"

namespace mailroom::auth {
namespace {

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class CachingDirectory final : public Directory {
 public:
  CachingDirectory(std::shared_ptr<Directory> inner, std::shared_ptr<CredentialCache> cache)
      : inner_(std::move(inner)), cache_(std::move(cache)) {}

  std::string name() const override { return inner_->name(); }
  Result<Domain> find_domain(const std::string& d) override { return inner_->find_domain(d); }
  Result<std::vector<Domain>> list_domains() override { return inner_->list_domains(); }
  Result<Account> find_account_by_address(const std::string& a) override {
    return inner_->find_account_by_address(a);
  }
  Result<Account> find_account_by_login(const std::string& l) override {
    return inner_->find_account_by_login(l);
  }
  Result<Account> find_account_by_id(const std::string& id) override {
    return inner_->find_account_by_id(id);
  }
  Result<Alias> find_alias(const std::string& a) override { return inner_->find_alias(a); }
  Result<Group> find_group(const std::string& a) override { return inner_->find_group(a); }
  Result<std::string> scram_secret(const Account& a) override { return inner_->scram_secret(a); }

  PasswordCheck check_password(const Account& account, const std::string& password) override {
    PasswordCheck live = inner_->check_password(account, password);
    int64_t now = now_unix();
    if (live == PasswordCheck::ok) {
      if (auto st = cache_->remember(account.id, password, now); !st)
        MR_LOG_WARN("event=credential_cache_write_failed account={} error={}", account.id,
                    core::quote(st.log_detail()));
      return live;
    }
    if (live == PasswordCheck::mismatch) return live;
    switch (cache_->check(account.id, password, now)) {
      case CredentialCache::Answer::ok:
        MR_LOG_INFO("event=credential_cache_used account={} result=ok", account.id);
        return PasswordCheck::ok;
      case CredentialCache::Answer::mismatch:
        MR_LOG_INFO("event=credential_cache_used account={} result=mismatch", account.id);
        return PasswordCheck::mismatch;
      case CredentialCache::Answer::expired:
        MR_LOG_INFO("event=credential_cache_expired account={}", account.id);
        return PasswordCheck::unavailable;
      case CredentialCache::Answer::absent:
        return PasswordCheck::unavailable;
    }
    return PasswordCheck::unavailable;
  }

 private:
  std::shared_ptr<Directory> inner_;
  std::shared_ptr<CredentialCache> cache_;
};

}  // namespace

CredentialCache::CredentialCache(CredentialCacheOptions o) : options_(std::move(o)) {}
CredentialCache::~CredentialCache() = default;

Result<std::shared_ptr<CredentialCache>> CredentialCache::open(const CredentialCacheOptions& o) {
  std::error_code ec;
  auto parent = std::filesystem::path(o.path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  db::SqliteOptions so;
  so.path = o.path;
  so.private_file = true;  // password hashes: 0600, also when an older file was wider
  auto opened = db::Sqlite::open(so);
  if (!opened) return opened.status();
  std::shared_ptr<CredentialCache> cache(new CredentialCache(o));
  cache->db_ = std::move(opened).value();
  if (auto st = cache->db_->exec(
          "CREATE TABLE IF NOT EXISTS credential_cache ("
          " account_id TEXT PRIMARY KEY, hash TEXT NOT NULL, verified_at INTEGER NOT NULL)");
      !st)
    return st;
  auto purged = cache->purge(now_unix());
  if (!purged) return purged.status();
  return cache;
}

Status CredentialCache::remember(const std::string& id, const std::string& password, int64_t now) {
  std::lock_guard lock(mu_);
  auto get = db_->prepare("SELECT hash FROM credential_cache WHERE account_id = ?");
  if (!get) return get.status();
  get->bind(1, id);
  Status st;
  bool same = get->step(&st) && password::verify(get->text(0), password) == password::Verify::ok;
  if (!st) return st;
  if (same) {
    auto touch = db_->prepare("UPDATE credential_cache SET verified_at = ? WHERE account_id = ?");
    if (!touch) return touch.status();
    return touch->bind(1, now).bind(2, id).run();
  }
  auto hashed = password::hash(password, options_.scheme);
  if (!hashed) return hashed.status();
  auto put = db_->prepare(
      "INSERT INTO credential_cache (account_id, hash, verified_at) VALUES (?, ?, ?) "
      "ON CONFLICT(account_id) DO UPDATE SET hash = excluded.hash, verified_at = "
      "excluded.verified_at");
  if (!put) return put.status();
  return put->bind(1, id).bind(2, *hashed).bind(3, now).run();
}

CredentialCache::Answer CredentialCache::check(const std::string& id, const std::string& password,
                                               int64_t now) {
  std::lock_guard lock(mu_);
  auto get = db_->prepare("SELECT hash, verified_at FROM credential_cache WHERE account_id = ?");
  if (!get) return Answer::absent;
  get->bind(1, id);
  Status st;
  if (!get->step(&st)) return Answer::absent;
  if (now - get->i64(1) >= options_.ttl_seconds) return Answer::expired;
  return password::verify(get->text(0), password) == password::Verify::ok ? Answer::ok
                                                                          : Answer::mismatch;
}

Status CredentialCache::forget(const std::string& id) {
  std::lock_guard lock(mu_);
  auto del = db_->prepare("DELETE FROM credential_cache WHERE account_id = ?");
  if (!del) return del.status();
  return del->bind(1, id).run();
}

Result<int64_t> CredentialCache::purge(int64_t now) {
  std::lock_guard lock(mu_);
  auto del = db_->prepare("DELETE FROM credential_cache WHERE verified_at <= ?");
  if (!del) return del.status();
  if (auto st = del->bind(1, now - options_.ttl_seconds).run(); !st) return st;
  return db_->changes();
}

std::shared_ptr<Directory> with_credential_cache(std::shared_ptr<Directory> inner,
                                                 std::shared_ptr<CredentialCache> cache) {
  return std::make_shared<CachingDirectory>(std::move(inner), std::move(cache));
}

}  // namespace mailroom::auth
