// Accounts of the local directory: add, change (password, status, quotas, addresses,
// forwarding, send-as, login), remove, list, show, and bulk import.
//
// A user is named by address, login or immutable id (tried in that order, addresses and
// logins case-insensitively). The id never changes: a new primary address or login updates
// the same account, and so the same mailbox.
//
// Errors (messages name the object and are safe to show to the administrator):
// not_found for an unknown user or secondary address; already_exists when an address, login
// or id belongs to another account; invalid_argument for malformed input (bad address, a
// domain that is not local, bad status or size, unknown password scheme, empty password);
// unavailable / io_error from SQLite.
//
// Threading: one Users is called from one thread; every call blocks on SQLite (and on
// password hashing).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/local/local_directory.h"
#include "src/core/status.h"
#include "src/service/journal.h"

namespace mailroom::service {

// A size as administrators write it: "12345", "64K", "500M", "1G", "2T" (powers of 1024).
// invalid_argument "<what>: '<text>' is not a size (e.g. 500M, 1G)"; `what` names the field.
core::Result<uint64_t> parse_size(const std::string& text, const std::string& what);
// "active" | "disabled" | "deleted".
core::Result<auth::AccountStatus> parse_account_status(const std::string& text);

struct NewUser {
  std::string address;  // primary address; its domain must be local
  std::string id;       // empty: a new random UUID
  std::string login;    // empty: the address
  std::string display_name;
  std::string password;       // hashed with `scheme` ...
  std::string password_hash;  // ... unless this existing "{SCHEME}..." hash is given
  std::string scheme = "ARGON2ID";
  bool with_scram = true;    // also store a SCRAM-SHA-256 secret derived from `password`
  uint64_t quota_bytes = 0;  // 0 = unlimited
  uint64_t quota_messages = 0;
  auth::AccountStatus status = auth::AccountStatus::active;
  std::vector<std::string> forward_to;
  bool forward_keep_copy = true;
  std::vector<std::string> other_addresses;  // secondary addresses
  std::vector<std::string> send_as;
};

// Fields left empty (nullopt) keep their value.
struct UserChange {
  std::string user;                          // address, login or id
  std::optional<std::string> password;       // new password, hashed with `scheme` ...
  std::optional<std::string> password_hash;  // ... or a new "{SCHEME}..." hash (wins)
  std::string scheme = "ARGON2ID";
  bool with_scram = true;
  std::optional<std::string> display_name;
  std::optional<auth::AccountStatus> status;
  std::optional<std::string> primary_address;  // the old one stays as a secondary address
  std::optional<std::string> login;
  std::optional<uint64_t> quota_bytes;
  std::optional<uint64_t> quota_messages;
  std::optional<std::vector<std::string>> forward_to;  // replaces; empty stops forwarding
  std::optional<bool> forward_keep_copy;
  std::vector<std::string> add_addresses;           // secondary addresses to add
  std::vector<std::string> remove_addresses;        // not_found unless each is a secondary address
  std::optional<std::vector<std::string>> send_as;  // replaces
};

class Users {
 public:
  explicit Users(auth::LocalDirectory& directory) : directory_(directory) {}
  // Writes are journaled and may be dry runs as `change` says (src/service/journal.h).
  Users(auth::LocalDirectory& directory, ChangeContext change)
      : directory_(directory), change_(std::move(change)) {}

  // The stored account (with its id). Errors also: invalid_argument when the request has
  // neither a password nor a hash, or the hash does not start with "{".
  core::Result<auth::AccountRecord> add(const NewUser& request);
  // One write for every field but the primary address, which follows its own rule (old
  // address kept as secondary; the login follows when it was the address). Returns the
  // account as stored afterwards.
  core::Result<auth::AccountRecord> change(const UserChange& request);
  // Deletes the account (its mailbox stays on disk); returns what it was.
  core::Result<auth::Account> remove(const std::string& user);
  // Every account, or those whose primary address is in `domain`, ordered by address.
  core::Result<std::vector<auth::Account>> list(const std::string& domain);
  core::Result<auth::AccountRecord> show(const std::string& user);
  // not_found "user <user> not found".
  core::Result<auth::Account> find(const std::string& user);

  // Bulk import, one account per line, tab-separated:
  //   address <TAB> {SCHEME}hash [<TAB> display name [<TAB> quota bytes]]
  // '#' starts a comment line. Rows are written in transactions of 5000; the first bad line
  // or failed row stops the import (earlier transactions stay) with an error that starts
  // "<source_name>:<line>: ". `create_domains`: add the local domains that are missing.
  // Returns the number of accounts added. Journaled as one change set ("user.add" per account,
  // "domain.add" per domain created); a dry run reads the whole stream in one rolled-back
  // transaction, so it fails on the row the import would fail on.
  core::Result<uint64_t> import(std::istream& in, const std::string& source_name,
                                bool create_domains);

 private:
  auth::LocalDirectory& directory_;
  ChangeContext change_;
};

}  // namespace mailroom::service
