// The credential cache for directory outages ([directory] credential_cache_ttl).
//
// LDAP verifies passwords by binding as the user, so while every LDAP server is down nobody
// can log in, even though the replica still knows who they are. With the cache on, each
// password that the live directory accepted is remembered as a salted hash (never the
// password: "{SHA512-CRYPT}" by default, or "{ARGON2ID}"), keyed by the immutable account id,
// in <data_dir>/credential-cache.db (SQLite, mode 0600, survives restarts). When the live
// check answers "unavailable", the cache answers instead:
//   - a fresh entry whose hash matches          -> ok (logged: event=credential_cache_used)
//   - a fresh entry whose hash does not match   -> mismatch (counts toward the throttle)
//   - no entry, or an entry older than the ttl  -> unavailable (the client's "try later")
// An entry's age is counted from the last successful live check that wrote it; a live
// mismatch never touches the cache (the cached password may still be the right one when the
// directory comes back), a live "ok" with a different password replaces the entry.
//
// Off by default: keeping password-derived data outside the corporate directory is a policy
// decision for its administrator (examples/openldap.toml shows credential_cache_ttl = "7d").
//
// Threading: thread-safe (one SQLite connection behind a mutex); calls block (worker pool).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "auth/directory.h"
#include "auth/password/password_hash.h"
#include "src/core/clock.h"

namespace mailroom::db {
class Sqlite;
}

namespace mailroom::auth {

struct CredentialCacheOptions {
  std::string path;         // <data_dir>/credential-cache.db
  int64_t ttl_seconds = 0;  // 0 = the cache is off (open() is not called)
  password::Scheme scheme = password::Scheme::sha512_crypt;
};

class CredentialCache {
 public:
  enum class Answer { ok, mismatch, absent, expired };

  // Opens or creates the file (mode 0600, also when it existed with a wider mode) and drops
  // the entries that expired. io_error when the file cannot be created. `clock` (which must
  // outlive the cache) dates the entries the decorator below remembers and checks.
  static Result<std::shared_ptr<CredentialCache>> open(
      const CredentialCacheOptions& options, const core::Clock& clock = core::real_clock());
  ~CredentialCache();

  // After a successful live check: stores a new salted hash unless the entry already
  // matches `password` (then only its time is renewed). `now` in unix seconds.
  Status remember(const std::string& account_id, const std::string& password, int64_t now);
  // During an outage.
  Answer check(const std::string& account_id, const std::string& password, int64_t now);
  // Forgets an account (removed / disabled upstream).
  Status forget(const std::string& account_id);
  // Removes expired entries; returns how many.
  Result<int64_t> purge(int64_t now);

  int64_t ttl_seconds() const { return options_.ttl_seconds; }
  const core::Clock& clock() const { return clock_; }

 private:
  CredentialCache(CredentialCacheOptions o, const core::Clock& clock);
  CredentialCacheOptions options_;
  const core::Clock& clock_;
  std::mutex mu_;
  std::unique_ptr<db::Sqlite> db_;
};

// The decorator (a ForwardingDirectory): every call goes to `inner`; check_password falls
// back to the cache when `inner` answers unavailable, and feeds it when `inner` answers ok.
std::shared_ptr<Directory> with_credential_cache(std::shared_ptr<Directory> inner,
                                                 std::shared_ptr<CredentialCache> cache);

}  // namespace mailroom::auth
