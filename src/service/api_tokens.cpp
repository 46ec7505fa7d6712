#include "src/service/api_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>

#include "src/core/base64.h"
#include "src/core/log.h"
#include "src/db/sqlite.h"
#include "src/service/admin_store.h"

namespace mailroom::service {
namespace {

constexpr size_t kApiTokenIdBytes = 8;       // 16 hex digits
constexpr size_t kApiTokenSecretBytes = 24;  // 48 hex digits, 192 bits
constexpr int64_t kApiTokenLastUsedEvery = 60;

std::string api_token_random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    std::abort();  // no randomness: no token is safe
  }
  return core::hex_encode(raw);
}

std::string api_token_sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    std::abort();  // OpenSSL without SHA-256: nothing here can work
  }
  return std::string(reinterpret_cast<char*>(digest), len);
}

bool api_token_is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The public id of a token of exactly our shape; nullopt otherwise (then no row is read).
std::optional<std::string> api_token_id_of(std::string_view t) {
  constexpr size_t id_len = kApiTokenIdBytes * 2, secret_len = kApiTokenSecretBytes * 2;
  if (t.size() != kApiTokenPrefix.size() + id_len + 1 + secret_len) return std::nullopt;
  if (t.substr(0, kApiTokenPrefix.size()) != kApiTokenPrefix) return std::nullopt;
  std::string_view id = t.substr(kApiTokenPrefix.size(), id_len);
  if (t[kApiTokenPrefix.size() + id_len] != '_') return std::nullopt;
  std::string_view secret = t.substr(kApiTokenPrefix.size() + id_len + 1);
  if (!api_token_is_hex(id) || !api_token_is_hex(secret)) return std::nullopt;
  return std::string(id);
}

core::Status api_token_check_name(const std::string& name) {
  if (name.empty()) return core::invalid_argument("API token name must not be empty");
  if (name.size() > kMaxApiTokenNameLength) {
    return core::invalid_argument("API token name longer than " +
                                  std::to_string(kMaxApiTokenNameLength) + " bytes");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return core::invalid_argument("API token name '" + name +
                                    "' may hold only letters, digits, '.', '_' and '-'");
    }
  }
  return core::Status::ok();
}

constexpr const char* kApiTokenColumns =
    "id, name, created_at, expires_at, last_used_at, revoked_at, created_by";

ApiToken api_token_row(const db::Stmt& s) {
  ApiToken t;
  t.id = s.text(0);
  t.name = s.text(1);
  t.created_at = s.i64(2);
  t.expires_at = s.i64(3);
  t.last_used_at = s.i64(4);
  t.revoked_at = s.i64(5);
  t.created_by = s.text(6);
  return t;
}

// Reads the grants of `t` (called with the store's mutex held).
core::Status api_token_load_grants(db::Sqlite& db, ApiToken& t) {
  auto q = db.prepare(
      "SELECT role, domains, members_of FROM api_token_grants WHERE token_id = ?1 ORDER BY seq");
  if (!q) return q.status();
  q->bind(1, t.id);
  core::Status err;
  while (q->step(&err)) {
    auto role = parse_role(q->text(0));
    // A role this program does not know (a newer writer) grants nothing.
    if (!role) continue;
    t.grants.push_back(
        Grant{*role, split_grant_domains(q->text(1)), "token:" + t.name, q->text(2)});
  }
  return err;
}

}  // namespace

const char* ApiToken::state(int64_t now) const {
  if (revoked_at != 0) return "revoked";
  if (now >= expires_at) return "expired";
  return "active";
}

std::optional<int64_t> parse_token_lifetime(std::string_view text) {
  int64_t unit = 86400;  // a bare number counts days
  if (!text.empty() && (text.back() < '0' || text.back() > '9')) {
    switch (text.back()) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'w':
        unit = 7 * 86400;
        break;
      default:
        return std::nullopt;
    }
    text.remove_suffix(1);
  }
  if (text.empty() || text.size() > 9) return std::nullopt;  // 9 digits cannot overflow
  int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n <= 0) return std::nullopt;
  return n * unit;
}

ApiTokenStore::ApiTokenStore(std::shared_ptr<AdminStore> db, const core::Clock& clock,
                             std::shared_ptr<auth::Resolver> resolver)
    : db_(std::move(db)), clock_(clock), resolver_(std::move(resolver)) {}

core::Result<ApiTokenStore::Created> ApiTokenStore::create(const std::string& name,
                                                           std::vector<Grant> grants,
                                                           int64_t lifetime_seconds,
                                                           const std::string& created_by) {
  if (auto st = api_token_check_name(name); !st) return st;
  if (grants.empty()) return core::invalid_argument("an API token needs at least one role");
  for (auto& g : grants) {
    if (auto st = normalize_grant(g); !st) return st;
    g.source = "token:" + name;
  }
  if (lifetime_seconds == 0) lifetime_seconds = kDefaultApiTokenLifetime;
  if (lifetime_seconds < 0 || lifetime_seconds > kMaxApiTokenLifetime) {
    return core::invalid_argument("an API token's lifetime must be between 1 second and " +
                                  std::to_string(kMaxApiTokenLifetime / 86400) + " days");
  }
  // After the checks that need no directory: a bad request costs no lookup.
  for (const auto& g : grants) {
    if (auto st = check_grant_group(g, resolver_.get()); !st) return st;
  }
  Created out;
  ApiToken& t = out.token;
  t.id = api_token_random_hex(kApiTokenIdBytes);
  t.name = name;
  t.grants = std::move(grants);
  t.created_at = clock_.unix_seconds();
  t.expires_at = t.created_at + lifetime_seconds;
  t.created_by = created_by;
  out.secret =
      std::string(kApiTokenPrefix) + t.id + "_" + api_token_random_hex(kApiTokenSecretBytes);

  auto st = db_->with_db([&](db::Sqlite& db) -> core::Status {
    db::Transaction tx(db);
    if (auto s = tx.begin(); !s) return s;
    auto taken = db.prepare("SELECT 1 FROM api_tokens WHERE name = ?1 AND revoked_at = 0");
    if (!taken) return taken.status();
    taken->bind(1, name);
    core::Status err;
    if (taken->step(&err)) {
      return core::Status::error(core::Code::already_exists,
                                 "API token '" + name + "' already exists");
    }
    if (!err) return err;
    taken->reset();
    auto ins = db.prepare(
        "INSERT INTO api_tokens(id, name, secret_sha256, created_at, expires_at, created_by)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!ins) return ins.status();
    ins->bind(1, t.id).bind(2, t.name).bind_blob(3, api_token_sha256(out.secret));
    ins->bind(4, t.created_at).bind(5, t.expires_at).bind(6, t.created_by);
    if (auto s = ins->run(); !s) return s;
    int64_t seq = 0;
    for (const auto& g : t.grants) {
      auto gi = db.prepare(
          "INSERT INTO api_token_grants(token_id, seq, role, domains, members_of)"
          " VALUES (?1, ?2, ?3, ?4, ?5)");
      if (!gi) return gi.status();
      gi->bind(1, t.id).bind(2, seq++).bind(3, role_name(g.role));
      gi->bind(4, join_grant_domains(g.domains)).bind(5, g.members_of);
      if (auto s = gi->run(); !s) return s;
    }
    return tx.commit();
  });
  if (!st) return st;
  std::string roles;
  for (const auto& g : t.grants) {
    roles += std::string(roles.empty() ? "" : ";") + role_name(g.role) + "=" +
             join_grant_domains(g.domains);
    if (!g.members_of.empty()) roles += "/members_of=" + g.members_of;
  }
  MR_LOG_INFO("event=admin.api_token_created id={} name={} grants={} expires_at={} by={}", t.id,
              core::quote(t.name), core::quote(roles), t.expires_at, core::quote(created_by));
  return out;
}

core::Result<std::vector<ApiToken>> ApiTokenStore::list(bool include_revoked) {
  std::vector<ApiToken> out;
  auto st = db_->with_db([&](db::Sqlite& db) -> core::Status {
    std::string sql = std::string("SELECT ") + kApiTokenColumns + " FROM api_tokens" +
                      (include_revoked ? "" : " WHERE revoked_at = 0") +
                      " ORDER BY created_at DESC, name";
    auto q = db.prepare(sql);
    if (!q) return q.status();
    core::Status err;
    while (q->step(&err)) out.push_back(api_token_row(*q));
    if (!err) return err;
    q->reset();
    for (auto& t : out) {
      if (auto s = api_token_load_grants(db, t); !s) return s;
    }
    return core::Status::ok();
  });
  if (!st) return st;
  return out;
}

core::Result<ApiToken> ApiTokenStore::revoke(const std::string& name_or_id,
                                             const std::string& revoked_by) {
  ApiToken t;
  const int64_t now = clock_.unix_seconds();
  auto st = db_->with_db([&](db::Sqlite& db) -> core::Status {
    db::Transaction tx(db);
    if (auto s = tx.begin(); !s) return s;
    // By id first: an id is random, a name is chosen, and a name may look like an id.
    bool found = false;
    for (const char* where : {"id = ?1", "name = ?1"}) {
      auto q = db.prepare(std::string("SELECT ") + kApiTokenColumns +
                          " FROM api_tokens WHERE revoked_at = 0 AND " + where);
      if (!q) return q.status();
      q->bind(1, name_or_id);
      core::Status err;
      if (q->step(&err)) {
        t = api_token_row(*q);
        found = true;
        break;
      }
      if (!err) return err;
    }
    if (!found) return core::not_found("API token '" + name_or_id + "' not found");
    auto up = db.prepare("UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1");
    if (!up) return up.status();
    up->bind(1, t.id).bind(2, now);
    if (auto s = up->run(); !s) return s;
    t.revoked_at = now;
    if (auto s = api_token_load_grants(db, t); !s) return s;
    return tx.commit();
  });
  if (!st) return st;
  MR_LOG_INFO("event=admin.api_token_revoked id={} name={} by={}", t.id, core::quote(t.name),
              core::quote(revoked_by));
  return t;
}

core::Result<ApiTokenStore::Check> ApiTokenStore::verify(std::string_view presented) {
  Check out;
  auto id = api_token_id_of(presented);
  if (!id) return out;  // unknown
  const std::string digest = api_token_sha256(presented);
  const int64_t now = clock_.unix_seconds();
  auto st = db_->with_db([&](db::Sqlite& db) -> core::Status {
    auto q = db.prepare(std::string("SELECT ") + kApiTokenColumns +
                        ", secret_sha256 FROM api_tokens WHERE id = ?1");
    if (!q) return q.status();
    q->bind(1, *id);
    core::Status err;
    if (!q->step(&err)) return err;  // no row: unknown
    std::string stored = q->text(7);
    if (stored.size() != digest.size() ||
        CRYPTO_memcmp(stored.data(), digest.data(), digest.size()) != 0) {
      return core::Status::ok();  // unknown
    }
    out.token = api_token_row(*q);
    q->reset();
    if (out.token.revoked_at != 0) {
      out.outcome = Outcome::revoked;
      return core::Status::ok();
    }
    if (now >= out.token.expires_at) {
      out.outcome = Outcome::expired;
      return core::Status::ok();
    }
    if (auto s = api_token_load_grants(db, out.token); !s) return s;
    out.outcome = Outcome::valid;
    // A write per request would serialise every API call on the WAL; once a minute is
    // enough to tell a token in use from a forgotten one.
    if (now - out.token.last_used_at >= kApiTokenLastUsedEvery) {
      auto up = db.prepare("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1");
      if (!up) return up.status();
      up->bind(1, out.token.id).bind(2, now);
      if (auto s = up->run(); !s) {
        // The token is valid; a busy file must not refuse the request for a statistic.
        MR_LOG_WARN("event=admin.api_token_last_used_failed id={} error={}", out.token.id,
                    core::quote(s.to_string()));
      } else {
        out.token.last_used_at = now;
      }
    }
    return core::Status::ok();
  });
  if (!st) return st;
  return out;
}

}  // namespace mailroom::service
