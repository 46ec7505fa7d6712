// App passwords (issue 16): per-account secondary passwords for mail clients that cannot do
// SSO (OAUTHBEARER, Kerberos). Also the only password an SSO-only account (no directory
// password) can type into Thunderbird or a phone.
//
// What one is:
//   - a random secret shown once at creation: 4 groups of 4 characters from a 32-letter
//     alphabet without look-alikes (a-z and 2-9 minus l, o), "k7qm-x2hp-9rta-wc4e": 80 bits;
//     when typed, case, spaces and dashes are ignored;
//   - a name chosen by its owner ("thunderbird laptop"), unique among the account's active ones;
//   - optionally limited to protocols ("imap", "pop3", "smtp"); none listed: all of them;
//   - keyed by the account's immutable id (Account::id), whatever the directory backend.
//
// Storage: <data_dir>/app-passwords.db (SQLite, WAL, mode 0600), its own file so it works
// with every backend (local, LDAP or SQL, live or replica) and survives a rebuilt replica.
// Per app password: a public id (8 hex digits: logs, sessions, revoke), a lookup key (16 hex
// digits of SHA-256 of the secret), the secret's salted hash ({SSHA512}, password_hash.h) and
// the account's directory password stamp at creation. Revoked rows are kept (revoked_at,
// reason) as the audit record until `purge_revoked`.
//
// Verification cost is bounded: the lookup key selects the one row the secret can match, so a
// login verifies at most one hash, however many app passwords the account has (at most
// kMaxActivePerAccount). A salted fast hash is enough for an 80-bit random secret (2^80
// SHA-512 computations are out of reach); slow hashes (argon2) protect guessable human
// passwords, and would make every app-password login cost ~30 ms and 20 MiB for nothing.
//
// Revocation (reason in the log line and the row):
//   "revoked"           by its owner or the administrator (revoke())
//   "removed"           the directory no longer has the account
//   "disabled"/"deleted" the directory disabled or deleted the account
//   "password_changed"  the account's directory password stamp (password_stamp() below)
//                       differs from the one recorded at creation
// reconcile() applies the last three for one account, from the directory's current answer;
// it is called at every app-password login, by mailroomd's account sweep, and by the admin
// operations before they list. A directory that cannot answer revokes nothing.
// Every revocation logs
//   event=auth.app_password_revoked account=<id> name=<name> id=<app id> reason=<reason>
// Secrets are never logged.
//
// Several nodes: this is account data that belongs in MariaDB beside the directory when
// nodes share accounts (DESIGN.md "Beyond one machine"); today one file per data directory.
//
// Threading: thread-safe (one SQLite connection behind a mutex); every call blocks (SQLite,
// hashing): call from the worker pool. Several processes (mailroomd, mailroomctl) may open
// the same file.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/directory.h"
#include "src/core/clock.h"

namespace mailroom::db {
class Sqlite;
}

namespace mailroom::auth {

// The protocols an app password may be limited to (ClientInfo::protocol values).
inline constexpr const char* kAppPasswordProtocols[] = {"imap", "pop3", "smtp"};
inline constexpr size_t kMaxActivePerAccount = 20;
inline constexpr size_t kMaxAppPasswordNameLength = 64;

// A new secret in its display form "xxxx-xxxx-xxxx-xxxx" (80 bits from RAND_bytes).
std::string generate_app_password();
// The canonical 16 characters when `typed` is an app password's shape (case, spaces and
// dashes ignored); nullopt otherwise (then it cannot be one, and no lookup is made).
std::optional<std::string> normalize_app_password(std::string_view typed);

// What identifies the account's current directory password, for "revoke when the directory
// changes the password": "t:" + Account::password_changed when the backend reports a change
// time (LDAP pwdChangedTime, AD pwdLastSet, SQL column password_changed); else "h:" + a
// digest of Account::password_hash (local and SQL directories: every new password has a new
// salt); "" when the backend says neither (then only a status change or removal revokes).
std::string password_stamp(const Account& account);

struct AppPassword {
  std::string id;          // public, 8 hex digits
  std::string account_id;  // Account::id
  std::string name;
  std::vector<std::string> protocols;  // empty: every protocol
  std::string password_stamp;          // password_stamp() at creation
  int64_t created_at = 0;              // unix seconds
  int64_t last_used_at = 0;            // 0: never
  int64_t revoked_at = 0;              // 0: active
  std::string revoked_reason;

  bool active() const { return revoked_at == 0; }
  bool allows(std::string_view protocol) const;
};

struct AppPasswordStoreOptions {
  std::string path;  // <data_dir>/app-passwords.db
  int busy_timeout_ms = 5000;
};

class AppPasswordStore {
 public:
  // Opens or creates the file (mode 0600, also when it existed wider). io_error when it
  // cannot be created. `clock` dates creations, uses and revocations; it must outlive the store.
  static Result<std::shared_ptr<AppPasswordStore>> open(
      const AppPasswordStoreOptions& options, const core::Clock& clock = core::real_clock());
  ~AppPasswordStore();
  AppPasswordStore(const AppPasswordStore&) = delete;
  AppPasswordStore& operator=(const AppPasswordStore&) = delete;

  struct Created {
    AppPassword record;
    std::string secret;  // display form; shown once, stored only as a hash
  };
  // A new app password for `account` (which must be active). invalid_argument: empty or
  // too long name, unknown protocol, the account is not active; already_exists: an active one
  // of that name; the limit kMaxActivePerAccount reached: invalid_argument.
  // `dry_run`: every check and the insert run in a transaction that is rolled back; the
  // result has an id but no secret, nothing is stored or logged.
  Result<Created> create(const Account& account, const std::string& name,
                         const std::vector<std::string>& protocols, bool dry_run = false);

  // The account's app passwords, oldest first; revoked ones only when `include_revoked`.
  Result<std::vector<AppPassword>> list(const std::string& account_id, bool include_revoked);
  // One by public id (any account); not_found.
  Result<AppPassword> get(const std::string& id);

  // Revokes the account's active app password named `name_or_id` (its name or public id);
  // not_found when there is none. `reason` goes to the row and the log line.
  Result<AppPassword> revoke(const std::string& account_id, const std::string& name_or_id,
                             const std::string& reason = "revoked");
  // Revokes every active app password of the account; returns them.
  Result<std::vector<AppPassword>> revoke_all(const std::string& account_id,
                                              const std::string& reason);

  // Applies the directory's current answer about the account (find_account_by_id): revokes
  // every active app password when the account is gone (not_found), not active, or its
  // password stamp differs from the one recorded. `unavailable` (or another error) revokes
  // nothing. Returns what was revoked.
  Result<std::vector<AppPassword>> reconcile(const std::string& account_id,
                                             const Result<Account>& current);

  // Ids of accounts with at least one active app password.
  Result<std::vector<std::string>> accounts_with_active();

  enum class Check {
    no_match,          // not an app password of this account (try the directory password)
    ok,                // *matched is the app password
    protocol_refused,  // the secret is right, but not for this protocol
    revoked,           // the secret is right, but reconcile() just revoked it
  };
  // Checks `typed` against the account's active app passwords: at most one hash is verified.
  // The account is the one the directory answered at this login; reconcile() runs first when
  // the secret matches. On ok, last_used_at is updated. unavailable: the file cannot be read.
  Result<Check> verify(const Account& account, const std::string& typed,
                       const std::string& protocol, AppPassword* matched);

 private:
  explicit AppPasswordStore(const core::Clock& clock);
  Result<std::vector<AppPassword>> revoke_where(const std::string& account_id,
                                                const std::string& only_id,
                                                const std::string& reason);

  const core::Clock& clock_;
  std::mutex mu_;
  std::unique_ptr<db::Sqlite> db_;
};

}  // namespace mailroom::auth
