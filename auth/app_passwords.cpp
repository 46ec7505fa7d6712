#include "auth/app_passwords.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "auth/password/password_hash.h"
#include "src/core/address.h"
#include "src/core/base64.h"
#include "src/core/log.h"
#include "src/db/sqlite.h"

namespace mailroom::auth {
namespace {

// 32 letters, so 5 random bits make one character with no bias; l and o are left out (and
// 0 and 1 never appear) so nothing read off a screen is ambiguous.
constexpr std::string_view kAlphabet = "abcdefghijkmnpqrstuvwxyz23456789";
static_assert(kAlphabet.size() == 32);
constexpr size_t kSecretLength = 16;  // 16 x 5 bits = 80 bits

std::string sha256_hex(std::string_view data, size_t hex_digits) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    std::abort();  // OpenSSL without SHA-256: nothing here can work
  }
  std::string out = core::hex_encode(std::string_view(reinterpret_cast<char*>(digest), len));
  out.resize(std::min(out.size(), hex_digits));
  return out;
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    std::abort();  // no randomness: no secret is safe
  }
  return core::hex_encode(raw);
}

// The lookup key is not the secret: 64 bits of a hash of an 80-bit random value. It picks the
// row to verify; the salted hash decides.
std::string lookup_key(const std::string& canonical) {
  return sha256_hex("mailroom-app-password:" + canonical, 16);
}

std::string join_protocols(const std::vector<std::string>& p) {
  std::string out;
  for (const auto& x : p) out += (out.empty() ? "" : ",") + x;
  return out;
}

std::vector<std::string> split_protocols(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

Status store_errors(db::SqliteFailure kind, std::string detail) {
  switch (kind) {
    case db::SqliteFailure::busy:
      return core::unavailable("app password database busy", std::move(detail));
    case db::SqliteFailure::io:
      return core::io_error("app password database error", std::move(detail));
    case db::SqliteFailure::missing:
      return core::not_found("app password database does not exist", std::move(detail));
    case db::SqliteFailure::constraint:
    case db::SqliteFailure::other:
      break;
  }
  return db::default_sqlite_errors(kind, std::move(detail));
}

constexpr const char* kColumns =
    "id, account_id, name, protocols, password_stamp, created_at, last_used_at, revoked_at, "
    "revoked_reason";

AppPassword read_row(const db::Stmt& s) {
  AppPassword a;
  a.id = s.text(0);
  a.account_id = s.text(1);
  a.name = s.text(2);
  a.protocols = split_protocols(s.text(3));
  a.password_stamp = s.text(4);
  a.created_at = s.i64(5);
  a.last_used_at = s.i64(6);
  a.revoked_at = s.i64(7);
  a.revoked_reason = s.text(8);
  return a;
}

// Schema version 1. `lookup` is indexed per account; active names are unique per account
// (a partial index: a revoked name may be reused).
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS app_passwords ("
    " id TEXT PRIMARY KEY,"
    " account_id TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " protocols TEXT NOT NULL DEFAULT '',"
    " lookup TEXT NOT NULL,"
    " hash TEXT NOT NULL,"
    " password_stamp TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " last_used_at INTEGER NOT NULL DEFAULT 0,"
    " revoked_at INTEGER NOT NULL DEFAULT 0,"
    " revoked_reason TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS app_passwords_lookup ON app_passwords(account_id, lookup);"
    "CREATE UNIQUE INDEX IF NOT EXISTS app_passwords_active_name"
    " ON app_passwords(account_id, name) WHERE revoked_at = 0;"
    "PRAGMA user_version = 1;";

}  // namespace

std::string generate_app_password() {
  unsigned char bytes[kSecretLength];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) std::abort();  // no randomness: nothing is safe
  std::string out;
  for (size_t i = 0; i < kSecretLength; ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    out += kAlphabet[bytes[i] & 31];
  }
  return out;
}

std::optional<std::string> normalize_app_password(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (kAlphabet.find(l) == std::string_view::npos) return std::nullopt;
    out += l;
    if (out.size() > kSecretLength) return std::nullopt;
  }
  if (out.size() != kSecretLength) return std::nullopt;
  return out;
}

std::string password_stamp(const Account& account) {
  if (!account.password_changed.empty()) return "t:" + account.password_changed;
  if (!account.password_hash.empty()) return "h:" + sha256_hex(account.password_hash, 32);
  return {};
}

bool AppPassword::allows(std::string_view protocol) const {
  if (protocols.empty()) return true;
  return std::find(protocols.begin(), protocols.end(), protocol) != protocols.end();
}

AppPasswordStore::AppPasswordStore(const core::Clock& clock) : clock_(clock) {}
AppPasswordStore::~AppPasswordStore() = default;

Result<std::shared_ptr<AppPasswordStore>> AppPasswordStore::open(const AppPasswordStoreOptions& o,
                                                                 const core::Clock& clock) {
  std::error_code ec;
  auto parent = std::filesystem::path(o.path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  db::SqliteOptions so;
  so.path = o.path;
  so.private_file = true;  // hashes of secrets: 0600
  so.busy_timeout_ms = o.busy_timeout_ms;
  so.synchronous = db::SqliteOptions::Sync::full;  // a revocation must survive a crash
  so.errors = store_errors;
  auto opened = db::Sqlite::open(so);
  if (!opened) return opened.status();
  std::shared_ptr<AppPasswordStore> store(new AppPasswordStore(clock));
  store->db_ = std::move(opened).value();
  if (auto st = store->db_->exec(kSchema); !st) return st;
  return store;
}

Result<AppPasswordStore::Created> AppPasswordStore::create(
    const Account& account, const std::string& name, const std::vector<std::string>& protocols,
    bool dry_run) {
  if (name.empty()) return core::invalid_argument("app password name must not be empty");
  if (name.size() > kMaxAppPasswordNameLength) {
    return core::invalid_argument("app password name longer than " +
                                  std::to_string(kMaxAppPasswordNameLength) + " bytes");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return core::invalid_argument("app password name contains a control character");
    }
  }
  std::vector<std::string> protos;
  for (const auto& p : protocols) {
    std::string l = core::ascii_lower(p);
    if (std::find(std::begin(kAppPasswordProtocols), std::end(kAppPasswordProtocols), l) ==
        std::end(kAppPasswordProtocols)) {
      return core::invalid_argument("unknown protocol '" + p + "' (imap, pop3, smtp)");
    }
    if (std::find(protos.begin(), protos.end(), l) == protos.end()) protos.push_back(l);
  }
  std::sort(protos.begin(), protos.end());
  if (account.status != AccountStatus::active) {
    return core::invalid_argument("account " + account.address + " is " +
                                  account_status_name(account.status));
  }
  Created out;
  out.secret = generate_app_password();
  auto canonical = normalize_app_password(out.secret);
  auto hash = password::hash(*canonical, password::Scheme::ssha512);
  if (!hash) return hash.status();
  AppPassword& r = out.record;
  r.account_id = account.id;
  r.name = name;
  r.protocols = protos;
  r.password_stamp = password_stamp(account);
  r.created_at = clock_.unix_seconds();

  std::lock_guard lock(mu_);
  db::Transaction tx(*db_);
  if (auto st = tx.begin(); !st) return st;
  auto count = db_->prepare(
      "SELECT COUNT(*), SUM(name = ?2) FROM app_passwords WHERE account_id = ?1 AND "
      "revoked_at = 0");
  if (!count) return count.status();
  count->bind(1, account.id).bind(2, name);
  Status err;
  if (!count->step(&err))
    return err.is_ok() ? core::internal_error("app password count returned no row") : err;
  if (count->i64(1) > 0) {
    return Status::error(Code::already_exists,
                         "app password '" + name + "' already exists for " + account.address);
  }
  if (static_cast<size_t>(count->i64(0)) >= kMaxActivePerAccount) {
    return core::invalid_argument(account.address + " already has " +
                                  std::to_string(kMaxActivePerAccount) +
                                  " app passwords: revoke one first");
  }
  count->reset();
  auto insert = db_->prepare(
      "INSERT INTO app_passwords(id, account_id, name, protocols, lookup, hash, password_stamp,"
      " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!insert) return insert.status();
  r.id = random_hex(4);
  insert->bind(1, r.id).bind(2, r.account_id).bind(3, r.name).bind(4, join_protocols(protos));
  insert->bind(5, lookup_key(*canonical)).bind(6, *hash).bind(7, r.password_stamp);
  insert->bind(8, r.created_at);
  if (auto st = insert->run(); !st) return st;
  if (dry_run) {
    out.secret.clear();
    return out;  // tx rolls back
  }
  if (auto st = tx.commit(); !st) return st;
  MR_LOG_INFO("event=auth.app_password_created account={} name={} id={} protocols={}",
              core::quote(r.account_id), core::quote(r.name), r.id,
              core::quote(protos.empty() ? "all" : join_protocols(protos)));
  return out;
}

Result<std::vector<AppPassword>> AppPasswordStore::list(const std::string& account_id,
                                                        bool include_revoked) {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM app_passwords WHERE account_id = ?1" +
                    (include_revoked ? "" : " AND revoked_at = 0") + " ORDER BY created_at, id";
  auto q = db_->prepare(sql);
  if (!q) return q.status();
  q->bind(1, account_id);
  std::vector<AppPassword> out;
  Status err;
  while (q->step(&err)) out.push_back(read_row(*q));
  if (!err) return err;
  return out;
}

Result<AppPassword> AppPasswordStore::get(const std::string& id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(std::string("SELECT ") + kColumns + " FROM app_passwords WHERE id = ?1");
  if (!q) return q.status();
  q->bind(1, id);
  Status err;
  if (!q->step(&err)) {
    if (!err) return err;
    return core::not_found("app password " + id + " not found");
  }
  return read_row(*q);
}

Result<std::vector<AppPassword>> AppPasswordStore::revoke_where(const std::string& account_id,
                                                                const std::string& only_id,
                                                                const std::string& reason) {
  std::lock_guard lock(mu_);
  db::Transaction tx(*db_);
  if (auto st = tx.begin(); !st) return st;
  auto q = db_->prepare(std::string("SELECT ") + kColumns +
                        " FROM app_passwords WHERE account_id = ?1 AND revoked_at = 0 AND"
                        " (?2 = '' OR id = ?2) ORDER BY created_at, id");
  if (!q) return q.status();
  q->bind(1, account_id).bind(2, only_id);
  std::vector<AppPassword> revoked;
  Status err;
  while (q->step(&err)) revoked.push_back(read_row(*q));
  if (!err) return err;
  q->reset();
  if (revoked.empty()) return revoked;
  const int64_t now = clock_.unix_seconds();
  auto u = db_->prepare(
      "UPDATE app_passwords SET revoked_at = ?2, revoked_reason = ?3 WHERE id = ?1 AND "
      "revoked_at = 0");
  if (!u) return u.status();
  for (auto& a : revoked) {
    // A row with revoked_at = 0 is active: a clock at the epoch must not undo the revocation.
    a.revoked_at = std::max<int64_t>(now, 1);
    a.revoked_reason = reason;
    u->bind(1, a.id).bind(2, a.revoked_at).bind(3, reason);
    if (auto st = u->run(); !st) return st;
    u->reset();
  }
  if (auto st = tx.commit(); !st) return st;
  for (const auto& a : revoked) {
    MR_LOG_INFO("event=auth.app_password_revoked account={} name={} id={} reason={}",
                core::quote(a.account_id), core::quote(a.name), a.id, core::quote(reason));
  }
  return revoked;
}

Result<AppPassword> AppPasswordStore::revoke(const std::string& account_id,
                                             const std::string& name_or_id,
                                             const std::string& reason) {
  std::string id;
  {
    std::lock_guard lock(mu_);
    auto q = db_->prepare(
        "SELECT id FROM app_passwords WHERE account_id = ?1 AND revoked_at = 0 AND"
        " (name = ?2 OR id = ?2) ORDER BY name = ?2 DESC LIMIT 1");
    if (!q) return q.status();
    q->bind(1, account_id).bind(2, name_or_id);
    Status err;
    if (!q->step(&err)) {
      if (!err) return err;
      return core::not_found("no active app password '" + name_or_id + "'");
    }
    id = q->text(0);
  }
  auto r = revoke_where(account_id, id, reason);
  if (!r) return r.status();
  if (r->empty()) return core::not_found("no active app password '" + name_or_id + "'");
  return r->front();
}

Result<std::vector<AppPassword>> AppPasswordStore::revoke_all(const std::string& account_id,
                                                              const std::string& reason) {
  return revoke_where(account_id, "", reason);
}

Result<std::vector<AppPassword>> AppPasswordStore::reconcile(const std::string& account_id,
                                                             const Result<Account>& current) {
  std::string reason;
  std::string stamp;
  if (!current) {
    if (current.code() != Code::not_found) return std::vector<AppPassword>{};  // cannot tell
    reason = "removed";
  } else if (current->status != AccountStatus::active) {
    reason = account_status_name(current->status);
  } else {
    stamp = password_stamp(*current);
  }
  if (reason.empty()) {
    // Only the rows whose stamp differs: one created after the change carries the new stamp.
    std::vector<std::string> stale;
    {
      std::lock_guard lock(mu_);
      auto q = db_->prepare(
          "SELECT id FROM app_passwords WHERE account_id = ?1 AND revoked_at = 0 AND "
          "password_stamp != ?2");
      if (!q) return q.status();
      q->bind(1, account_id).bind(2, stamp);
      Status err;
      while (q->step(&err)) stale.push_back(q->text(0));
      if (!err) return err;
    }
    std::vector<AppPassword> out;
    for (const auto& id : stale) {
      auto r = revoke_where(account_id, id, "password_changed");
      if (!r) return r.status();
      out.insert(out.end(), r->begin(), r->end());
    }
    return out;
  }
  return revoke_where(account_id, "", reason);
}

Result<std::vector<std::string>> AppPasswordStore::accounts_with_active() {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT DISTINCT account_id FROM app_passwords WHERE revoked_at = 0 ORDER BY account_id");
  if (!q) return q.status();
  std::vector<std::string> out;
  Status err;
  while (q->step(&err)) out.push_back(q->text(0));
  if (!err) return err;
  return out;
}

Result<AppPasswordStore::Check> AppPasswordStore::verify(const Account& account,
                                                         const std::string& typed,
                                                         const std::string& protocol,
                                                         AppPassword* matched) {
  auto canonical = normalize_app_password(typed);
  if (!canonical) return Check::no_match;
  const std::string key = lookup_key(*canonical);
  std::optional<AppPassword> hit;
  {
    std::lock_guard lock(mu_);
    auto q = db_->prepare(std::string("SELECT ") + kColumns +
                          ", hash FROM app_passwords WHERE account_id = ?1 AND lookup = ?2 AND "
                          "revoked_at = 0 LIMIT 1");
    if (!q) return q.status();
    q->bind(1, account.id).bind(2, key);
    Status err;
    if (!q->step(&err)) {
      if (!err) return err;
      return Check::no_match;
    }
    // The one hash this login verifies (a second row with the same 64-bit lookup key would
    // need a collision between two random secrets of one account).
    if (password::verify(q->text(9), *canonical) != password::Verify::ok) return Check::no_match;
    hit = read_row(*q);
  }
  // The secret is right: is the app password still valid for the directory's account?
  auto revoked = reconcile(account.id, Result<Account>(account));
  if (!revoked) return revoked.status();
  for (const auto& r : *revoked) {
    if (r.id == hit->id) {
      *matched = r;
      return Check::revoked;
    }
  }
  *matched = *hit;
  if (!hit->allows(protocol)) return Check::protocol_refused;
  std::lock_guard lock(mu_);
  auto u = db_->prepare("UPDATE app_passwords SET last_used_at = ?2 WHERE id = ?1");
  if (u) {
    u->bind(1, hit->id).bind(2, clock_.unix_seconds());
    if (auto st = u->run(); !st) {
      // A lost "last used" date must not refuse a correct login.
      MR_LOG_WARN("event=auth.app_password_use_not_recorded id={} error={}", hit->id,
                  core::quote(st.log_detail()));
    }
  }
  matched->last_used_at = clock_.unix_seconds();
  return Check::ok;
}

}  // namespace mailroom::auth
