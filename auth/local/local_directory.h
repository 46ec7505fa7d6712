// The embedded local Directory: one SQLite file (<data_dir>/directory.db), WAL mode.
//
// It is both the default backend and the replica that directory sync (auth/sync, from LDAP or
// MariaDB) writes into. mailroomd reads it while mailroomctl writes it from another process:
// every read goes to SQLite (no in-process cache), so a ctl change is visible at once.
//
// Schema: numbered migrations schema/sql/sqlite/NNN_*.sql, compiled into the binary and
// applied at open inside a transaction (PRAGMA user_version holds the last applied number).
//
// Keys: addresses, logins and domain names are stored lower-cased (ASCII; UTF-8 bytes kept)
// and compared case-insensitively. A login or an address belongs to at most one account
// (primary or secondary); the database enforces it (UNIQUE + triggers) and writes that would
// break it return Code::already_exists naming the address.
//
// Errors: not_found for an unknown object; already_exists; invalid_argument for malformed
// input (bad address, alias domain pointing nowhere); unavailable when SQLite stays busy
// longer than busy_timeout or the file cannot be opened; io_error for disk errors.
//
// Threading: thread-safe (one connection guarded by a mutex; calls block, use the worker
// pool). Several processes may open the same file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "auth/directory.h"

namespace mailroom::auth {

struct LocalDirectoryOptions {
  std::string path;            // the SQLite file; created (with its directory) if missing
  int busy_timeout_ms = 5000;  // how long a writer waits for another process's lock
  bool create = true;          // false: fail with not_found if the file does not exist
};

// Where an account / alias / group came from. Sync only touches rows of its own source, so a
// local admin account is never disabled by an LDAP sync that does not know it.
inline constexpr const char* kSourceLocal = "local";

// What upsert_* did (sync counts these; it writes only what changed).
enum class UpsertResult { created, updated, unchanged };

// An address used both by an account and by an alias (the account wins; DESIGN.md).
struct Conflict {
  std::string address;
  std::string account_id;
  std::string account_address;  // the account's primary address
  std::string kind;             // "alias" or "group"
};

// An account plus the fields the read API does not expose.
struct AccountRecord {
  Account account;
  std::string scram_secret;  // may be empty
  std::string source = kSourceLocal;
  int64_t created_at = 0;  // unix seconds
  int64_t updated_at = 0;
};

class LocalDirectory : public Directory {
 public:
  // Opens (and creates/migrates) the database.
  static Result<std::shared_ptr<LocalDirectory>> open(const LocalDirectoryOptions& options);
  ~LocalDirectory() override;
  LocalDirectory(const LocalDirectory&) = delete;
  LocalDirectory& operator=(const LocalDirectory&) = delete;

  // --- Directory (read API) ---
  std::string name() const override { return "local"; }
  Result<Domain> find_domain(const std::string& domain) override;
  Result<Account> find_account_by_address(const std::string& address) override;
  Result<Account> find_account_by_login(const std::string& login) override;
  Result<Account> find_account_by_id(const std::string& id) override;
  Result<Alias> find_alias(const std::string& address) override;
  Result<Group> find_group(const std::string& address) override;
  PasswordCheck check_password(const Account& account, const std::string& password) override;
  Result<std::string> scram_secret(const Account& account) override;
  Result<std::vector<Domain>> list_domains() override;

  // --- domains ---
  // add: already_exists if present; an alias domain's target must exist and be local.
  Status add_domain(const Domain& domain);
  // change: replaces kind / alias_of / catch_all of an existing domain.
  Status change_domain(const Domain& domain);
  // remove: refused (invalid_argument) while accounts, aliases or groups use the domain or
  // another domain is an alias of it, unless `force` (then those rows are deleted too).
  Status remove_domain(const std::string& name, bool force = false);

  // --- accounts ---
  // Creates an account. An empty account.id gets a new random UUID; an empty login becomes
  // the primary address. Returns the stored account (with its id).
  Result<Account> add_account(const Account& account, const std::string& scram_secret = {});
  // Replaces every attribute of the account with id `account.id` (login and primary address
  // may change: the id stays). other_addresses replace the secondary addresses.
  Status update_account(const Account& account);
  Status set_password(const std::string& id, const std::string& password_hash,
                      const std::string& scram_secret = {});
  Status set_status(const std::string& id, AccountStatus status);
  Status set_quota(const std::string& id, uint64_t quota_bytes, uint64_t quota_messages);
  Status set_forwarding(const std::string& id, const std::vector<std::string>& targets,
                        bool keep_copy);
  Status set_display_name(const std::string& id, const std::string& display_name);
  Status rename_login(const std::string& id, const std::string& new_login);
  // New primary address; when keep_old_as_secondary the old one stays as a secondary address.
  Status set_primary_address(const std::string& id, const std::string& new_address,
                             bool keep_old_as_secondary = true);
  Status add_secondary_address(const std::string& id, const std::string& address);
  Status remove_secondary_address(const std::string& id, const std::string& address);
  // Deletes the row (mailbox data is the store's business). Group memberships naming the
  // account's addresses are removed as well.
  Status remove_account(const std::string& id);
  Result<AccountRecord> get_account_record(const std::string& id);
  // All accounts, or those whose primary address is in `domain` (empty: all), ordered by
  // address. `source` empty: any source.
  Result<std::vector<Account>> list_accounts(const std::string& domain = {},
                                             const std::string& source = {});
  Result<uint64_t> count_accounts();

  // --- sync (auth/sync): idempotent, keyed by the immutable id ---
  // Creates or updates the account with id `record.account.id` (must be non-empty) and marks
  // it as coming from `record.source`. Writes nothing when every field is already equal.
  // An empty password_hash / scram_secret in the record keeps the stored one when
  // `keep_empty_secrets` (LDAP verifies by bind and has no hash to copy).
  Result<UpsertResult> upsert_account_by_id(const AccountRecord& record,
                                            bool keep_empty_secrets = true);
  // Ids of the accounts of a source (to find those that vanished upstream).
  Result<std::vector<std::string>> list_account_ids(const std::string& source);
  // Disable (status=disabled) or delete a vanished account, by id.
  Status disable_account_by_id(const std::string& id);
  Status delete_account_by_id(const std::string& id) { return remove_account(id); }
  Result<UpsertResult> upsert_alias(const Alias& alias, const std::string& source);
  Result<UpsertResult> upsert_group(const Group& group, const std::string& source);
  Result<std::vector<std::string>> list_alias_addresses(const std::string& source);
  Result<std::vector<std::string>> list_group_addresses(const std::string& source);

  // Key/value store for sync cookies (contextCSN, last change timestamp ...).
  // get: not_found when the key was never set.
  Result<std::string> get_sync_state(const std::string& key);
  Status set_sync_state(const std::string& key, const std::string& value);
  // Keys starting with `prefix` whose value is not empty ("" means cleared), ordered by key.
  Result<std::vector<std::pair<std::string, std::string>>> list_sync_state(
      const std::string& prefix);

  // Runs `body` inside one write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK when body
  // returns an error). The other methods may be called from body on the same thread; they do
  // not open nested transactions. Used for bulk import and sync batches.
  Status transaction(const std::function<Status()>& body);
  // Runs `body` as transaction() does and always rolls it back: a dry run sees exactly the
  // checks and effects of the real write (the same errors), and the file keeps no trace.
  // Inside an open transaction it uses a SAVEPOINT, which nests; body's reads see its writes.
  Status dry_run(const std::function<Status()>& body);

  // --- aliases ---
  Status add_alias(const Alias& alias);  // already_exists if the alias exists
  Status set_alias_targets(const std::string& address, const std::vector<std::string>& targets);
  Status remove_alias(const std::string& address);
  Result<std::vector<Alias>> list_aliases(const std::string& domain = {});

  // --- groups ---
  Status add_group(const Group& group);     // already_exists if the group exists
  Status update_group(const Group& group);  // replaces name, policy, senders and members
  Status remove_group(const std::string& address);
  Status add_group_member(const std::string& group, const std::string& member);
  Status remove_group_member(const std::string& group, const std::string& member);
  Result<std::vector<Group>> list_groups(const std::string& domain = {});

  // Addresses that are both an account address (primary or secondary) and an alias or group.
  Result<std::vector<Conflict>> conflicts();

  // A new random (version 4) UUID, lower-case.
  static std::string new_uuid();

  struct Impl;  // internal (local_directory_impl.h)

 private:
  LocalDirectory() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailroom::auth
