// Internal to src/service: how a write becomes journal records (journal.h) or a dry run.
//
// A directory write names the objects it may change (ObjectKey), and run_tracked() runs it in
// one directory.db transaction between two snapshots of those objects: each object whose state
// differs becomes one record. A dry run is the same transaction rolled back
// (LocalDirectory::dry_run), so it fails exactly where the real write would and describes the
// same change. The journal rows are written inside the directory transaction, before its
// COMMIT: a journal that cannot be written stops the change. (The reverse, a COMMIT that
// fails after the journal row was written, would leave a record of a change that did not
// happen; the write lock is already held by then, so only a disk failure can do it.)
//
// States are kept twice: a JSON document for people (never a hash or secret) and a private
// encoding of every field (one "key=value" line per field, '\' and newlines escaped) that
// revert decodes.
//
// Threading: as the service objects: one call at a time per object; blocks on SQLite.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/local/local_directory.h"
#include "src/core/status.h"
#include "src/service/journal.h"

namespace mailroom::service::tracking {

// --- JSON documents (no Boost.JSON in this layer: a writer for flat objects is enough) ---
std::string json_quote(std::string_view text);
class JsonObject {
 public:
  JsonObject& add(std::string_view key, std::string_view value);
  JsonObject& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  JsonObject& add(std::string_view key, uint64_t value);
  JsonObject& add(std::string_view key, bool value);
  JsonObject& add(std::string_view key, const std::vector<std::string>& values);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(std::string_view k);
  std::string body_;
};

// --- the private encoding ---
using Fields = std::vector<std::pair<std::string, std::string>>;
std::string encode_fields(const Fields& fields);
Fields decode_fields(const std::string& text);
std::string field(const Fields& fields, std::string_view key);                    // first, or ""
std::vector<std::string> all_fields(const Fields& fields, std::string_view key);  // in order

// --- directory objects ---
enum class ObjectKind { domain, user, alias, group };
struct ObjectKey {
  ObjectKind kind = ObjectKind::domain;
  std::string key;  // domain name, account id, alias or group address (lower-case)
  bool operator==(const ObjectKey&) const = default;
};
const char* kind_name(ObjectKind kind);  // "domain", "user", "alias", "group"

// An object's state, or its absence.
struct ObjectState {
  bool exists = false;
  std::string object;     // "user:alice@example.com"
  std::string object_id;  // accounts: the id
  std::string json = "null";
  std::string restore;        // private encoding; "" when absent
  std::string password_hash;  // accounts: to tell a password change
};

// The keys of a write that knows them before it starts.
inline std::function<core::Result<std::vector<ObjectKey>>()> fixed_keys(
    std::vector<ObjectKey> keys) {
  return [keys = std::move(keys)]() -> core::Result<std::vector<ObjectKey>> { return keys; };
}

core::Result<ObjectState> load_state(auth::LocalDirectory& dir, const ObjectKey& key);
// The key of a journal record about a directory object (false for other kinds).
bool key_of_record(const ChangeRecord& record, ObjectKey* key);
// Lower-cased address the way the directory stores it (text itself when it does not parse).
std::string address_key(const std::string& text);

// Groups that list any of `addresses` (or, with a non-empty `domain`, any address of it) as a
// member: what removing an account or a domain also changes.
core::Result<std::vector<ObjectKey>> groups_with_members(auth::LocalDirectory& dir,
                                                         const std::vector<std::string>& addresses,
                                                         const std::string& domain = {});

// An account's addresses (primary and secondary) in a private encoding; [] for "".
std::vector<std::string> restore_addresses(const std::string& restore);

// Sets the object to the state encoded in `restore` ("" = absent): revert.
core::Status restore_object(auth::LocalDirectory& dir, const ObjectKey& key,
                            const std::string& restore);

// Runs `body` in one transaction of `dir` (rolled back for a dry run) between snapshots of the
// objects `keys` names (called inside the transaction), journals each object that changed
// and hands the records to ctx.changes. Records of the operation's kind (the part of
// `operation` before the dot) are named `operation`; others by what happened to them
// ("group.member_remove" when removing an account took it out of a group). `operation` ""
// names every record that way (revert). `reverts`: the change set a revert undoes.
// `extra` (optional) runs inside the transaction after the snapshots, for writes outside
// directory.db that must happen only if the directory part succeeds (revert of block lists).
core::Status run_tracked(auth::LocalDirectory& dir, const ChangeContext& ctx,
                         const std::string& operation,
                         const std::function<core::Result<std::vector<ObjectKey>>()>& keys,
                         const std::function<core::Status()>& body, const std::string& reverts = {},
                         std::vector<JournalEntry> extra_entries = {},
                         const std::function<core::Status()>& extra = {});

// A record for an object outside directory.db (block list entries, app passwords).
JournalEntry make_entry(const ChangeContext& ctx, const std::string& operation,
                        const std::string& object, const std::string& object_id,
                        const std::string& before_json, const std::string& after_json,
                        const std::string& restore_before, const std::string& restore_after);
// Journals (unless a dry run) and reports the entries of one operation: one change set.
core::Status finish_entries(const ChangeContext& ctx, std::vector<JournalEntry> entries,
                            const std::string& reverts = {});

}  // namespace mailroom::service::tracking
