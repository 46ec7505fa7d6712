// What the directory sync does around an account beyond copying it (issue 4, shared by the
// LDAP and SQL syncs): the grace alias of an old primary address, and the dates the
// retention of removed / disabled users counts from.
//
// Old address grace: when a sync changes an account's primary address, the old address
// becomes an alias (source "grace") to the new one for `old_address_grace` seconds, so mail
// sent to the old address keeps reaching the same mailbox; expire_old_addresses() drops it
// afterwards (the sync loops call it). The expiry is the sync_state key "grace:<address>".
// An address that becomes an account's address again loses its grace alias at once.
//
// Retention: the first sync pass that sees an account inactive (disabled or removed
// upstream) records "inactive_since:<id>" = now; a pass that sees it active again clears
// it. auth/sync/retention.h decides from these dates. Accounts inactive before the first
// record (e.g. disabled in the very first sync) count from that first sight, never earlier:
// nothing is archived or deleted because of the first sync.
//
// Threading: call on the sync's thread, inside or outside a replica transaction.
#pragma once

#include <cstdint>
#include <string>

#include "auth/local/local_directory.h"

namespace mailroom::auth::sync {

inline constexpr const char* kSourceGrace = "grace";

// One line of a sync dry run (mailroomctl directory sync --dry-run).
struct SyncChange {
  std::string action;  // create | update | remove | create-group | remove-group | ...
  std::string id;      // account id ("" for groups and aliases)
  std::string address;
};

// The account fields a sync copies, compared (hashes and secrets apart).
bool same_account_data(const Account& a, const Account& b);

// Before upserting `incoming`: keeps `was` (the stored account's primary address, "" when
// none is stored) as a grace alias when it changes and grace_seconds > 0, and removes a grace
// alias named like incoming's new primary address.
Status keep_old_address(LocalDirectory& replica, const AccountRecord& incoming,
                        const std::string& was, int64_t grace_seconds, int64_t now);

// Is `address` a grace alias that has not expired yet? (The SQL backend with lookup = "live"
// answers these from the replica, since MariaDB does not know them.)
bool is_grace_alias(LocalDirectory& replica, const std::string& address, int64_t now);

// Removes the grace aliases whose time is over; returns how many.
Result<int> expire_old_addresses(LocalDirectory& replica, int64_t now);

// Records or clears the start of an account's inactivity (see above).
Status note_account_status(LocalDirectory& replica, const std::string& id, AccountStatus status,
                           int64_t now);
// For replica writes the sync can go on without (bookkeeping the next pass redoes): logs a
// failure as event=<event> and returns whether `s` is ok.
bool logged(const Status& s, const char* event);

// The recorded start of inactivity; not_found when the account is active (or never seen).
Result<int64_t> inactive_since(LocalDirectory& replica, const std::string& id);
// The sync_state key prefix of those dates (retention.cpp lists them).
inline constexpr const char* kInactivePrefix = "inactive_since:";

}  // namespace mailroom::auth::sync
