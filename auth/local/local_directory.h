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
#include "auth/policy/policy.h"

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

// SCIM 2.0 attributes kept beside an account or group (src/api/scim): what the directory has
// no column for, as a JSON object the SCIM layer owns; this layer only stores it.
struct ScimOverlay {
  std::string external_id;  // "" = none
  std::string attributes = "{}";
  int64_t created_at = 0;  // unix seconds
  int64_t updated_at = 0;
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
  // Every group membership of `from` becomes one of `to` (an account's primary address
  // changed upstream); a group that already lists `to` keeps one entry.
  Status rename_group_member(const std::string& from, const std::string& to);
  Result<std::vector<Group>> list_groups(const std::string& domain = {});

  // Addresses that are both an account address (primary or secondary) and an alias or group.
  Result<std::vector<Conflict>> conflicts();

  // --- SCIM overlay (schema/sql/sqlite/003_scim.sql) ---
  // kind "User" (key: account id) or "Group" (key: group address). Removed with the account or
  // group (triggers). get: not_found when none was stored.
  Result<ScimOverlay> get_scim_overlay(const std::string& kind, const std::string& key);
  // Creates or replaces; keeps created_at of an existing row.
  Status set_scim_overlay(const std::string& kind, const std::string& key,
                          const std::string& external_id, const std::string& attributes);
  // Keys with this externalId (compared case-exactly), at most `limit`.
  Result<std::vector<std::string>> find_scim_external_id(const std::string& kind,
                                                         const std::string& external_id,
                                                         int limit = 2);

  // --- policy bundles (schema/sql/sqlite/004_policies.sql, auth/policy/policy.h) ---
  // add: already_exists for a taken name. change: replaces every field but name and
  // created_at (not_found when absent). remove: invalid_argument while the bundle is assigned,
  // unless `force` (its assignments go with it).
  Status add_policy(const PolicyBundle& bundle);
  Status change_policy(const PolicyBundle& bundle);
  Status remove_policy(const std::string& name, bool force);
  Result<PolicyBundle> get_policy(const std::string& name);
  Result<std::vector<PolicyBundle>> list_policies();
  // assign: already_exists when the same assignment exists; not_found for an unknown bundle.
  // The caller resolves the target (group address -> group id ...).
  Status assign_policy(const PolicyAssignment& assignment);
  Status unassign_policy(const std::string& policy, PolicyScope scope, const std::string& target);
  // Every assignment, or those of one bundle, ordered by bundle, scope, label.
  Result<std::vector<PolicyAssignment>> list_policy_assignments(const std::string& policy = {});
  // The bundles that apply to the account with id `account_id`: assigned to it, to a group
  // it is a member of (by any of its addresses, through nested groups up to 16 levels,
  // loop-safe), to the domain of its primary address, or to everyone. Empty when none.
  Result<std::vector<AppliedBundle>> policies_for_account(const std::string& account_id);
  // The group with this immutable id; not_found when none.
  Result<Group> find_group_by_id(const std::string& id);
  // The immutable ids of the groups the account with id `account_id` is a member of now (by
  // any of its addresses, through nested groups up to 16 levels, loop-safe), sorted; groups
  // without an id are left out. IMAP ACLs (RFC 4314) name groups by these ids.
  Result<std::vector<std::string>> group_ids_of_account(const std::string& account_id);

  // A new random (version 4) UUID, lower-case.
  static std::string new_uuid();

  struct Impl;  // internal (local_directory_impl.h)

 private:
  LocalDirectory() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailroom::auth
