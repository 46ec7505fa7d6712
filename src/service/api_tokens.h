// API tokens (issue 17): named bearer tokens for the HTTP admin API and SCIM, each with its
// own grants (role + domains + optional member scope, admin_access.h) and a required expiry.
//
// A token is "mrt_<public id>_<secret>": 16 hex digits of public id (the row's key, also in
// logs and `list`) and 48 hex digits of secret (192 bits from OpenSSL RAND_bytes). It is
// shown once, at creation; admin.db keeps only the SHA-256 of the whole string. A fast hash
// is enough: the secret is random and 192 bits long, so there is no dictionary to try and
// 2^192 SHA-256 computations are out of reach; a slow password hash (argon2) protects
// guessable human passwords and would only cost every API request tens of milliseconds.
// Verification reads one row by its public id (the primary key) and compares digests in
// constant time (CRYPTO_memcmp), so neither timing nor the number of tokens helps a guesser.
//
// Lifetimes: required, default 90 days, at most kMaxApiTokenLifetime (2 years). An expired
// token stays listed (state "expired") until revoked; revoked rows stay as the audit record.
// A name is unique among tokens not revoked.
//
// Audit lines: event=admin.api_token_created / admin.api_token_revoked id= name= by=.
// Secrets are never logged.
//
// Threading: thread-safe (the AdminStore's mutex); every call blocks on SQLite: call from
// the worker pool.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/clock.h"
#include "src/core/status.h"
#include "src/service/admin_access.h"

namespace mailroom::auth {
class Resolver;
}

namespace mailroom::service {

class AdminStore;

inline constexpr int64_t kDefaultApiTokenLifetime = 90 * 86400;
inline constexpr int64_t kMaxApiTokenLifetime = 2 * 365 * 86400;
inline constexpr size_t kMaxApiTokenNameLength = 64;
inline constexpr std::string_view kApiTokenPrefix = "mrt_";

struct ApiToken {
  std::string id;             // public, 16 hex digits
  std::string name;           // letters, digits, '.', '_', '-'
  std::vector<Grant> grants;  // source "token:<name>"
  int64_t created_at = 0;     // unix seconds
  int64_t expires_at = 0;
  int64_t last_used_at = 0;  // 0: never; updated at most once a minute
  int64_t revoked_at = 0;    // 0: not revoked
  std::string created_by;    // the caller who created it ("mailroomctl", "token:ci")

  // "active", "expired" or "revoked" at `now`.
  const char* state(int64_t now) const;
};

// A duration as an administrator types it: "90d", "12h", "2w", "30m", "3600s" or a bare
// number of days. nullopt for anything else, zero or a negative value.
std::optional<int64_t> parse_token_lifetime(std::string_view text);

class ApiTokenStore {
 public:
  // `resolver` looks up the groups of member-scoped grants at creation; without one such a
  // grant cannot be created (unavailable).
  ApiTokenStore(std::shared_ptr<AdminStore> db, const core::Clock& clock = core::real_clock(),
                std::shared_ptr<auth::Resolver> resolver = nullptr);

  struct Created {
    ApiToken token;
    std::string secret;  // "mrt_<id>_<secret>": shown once, stored only as a digest
  };
  // lifetime_seconds: 0 takes kDefaultApiTokenLifetime. A grant's members_of must name a
  // directory group (stored lower-case). invalid_argument: a bad name, no grant, a bad grant
  // (normalize_grant), a lifetime < 0 or > kMaxApiTokenLifetime; not_found: a members_of
  // that is no group; unavailable: the directory cannot tell; already_exists: a token of that
  // name that is not revoked.
  core::Result<Created> create(const std::string& name, std::vector<Grant> grants,
                               int64_t lifetime_seconds, const std::string& created_by);

  // Every token, newest first, never a secret; revoked ones only when `include_revoked`.
  core::Result<std::vector<ApiToken>> list(bool include_revoked);

  // Revokes the token that is not yet revoked with this public id or, failing that, this
  // name. not_found when there is none.
  core::Result<ApiToken> revoke(const std::string& name_or_id, const std::string& revoked_by);

  enum class Outcome { valid, unknown, expired, revoked };
  struct Check {
    Outcome outcome = Outcome::unknown;
    ApiToken token;  // when valid (and, for the log, when expired or revoked)
  };
  // Checks a presented token. Not a token's shape, no such id, or a wrong secret: unknown
  // (a client is never told which). Valid: last_used_at is updated when it is older than a
  // minute. An error Status only when admin.db cannot be read (unavailable / io_error).
  core::Result<Check> verify(std::string_view presented);

 private:
  std::shared_ptr<AdminStore> db_;
  const core::Clock& clock_;
  std::shared_ptr<auth::Resolver> resolver_;
};

}  // namespace mailroom::service
