// Mailbox access control (RFC 4314) as identity rules: which rights an ACL entry names and
// whom. The IMAP server (src/imap/acl.h) and the administrator's shared mailboxes
// (src/service/shared_mailboxes.h) use it; the entries live in the mail store
// (store::AclEntry, FORMAT.md "Access control lists"), which auth does not include.
//
// Rights: the eleven letters "lrswipkxtea" of RFC 4314 2.1 as a bit set. The obsolete
// RFC 2086 letters are read as RFC 4314 2.1.1 allows for servers that use "c" for creating
// mailboxes and "d" for deleting messages and mailboxes: "c" = k, "d" = e t x (the second
// grouping of 2.1.1); a rights list given back carries "c" when k is in it and "d" when any of
// e t x is.
//
// Identifiers (RFC 4314 2, 3.1): on the wire a login or address ("bob", "bob@example.com"),
// "$<group address>" for a directory group, "anyone", each optionally with a leading "-"
// (negative rights, 2). Stored by immutable id, so renaming an account or a group keeps its
// rights: "u:<account id>", "g:<group id>", "anyone", "-" + any of them. Names shown are
// resolved from the ids when asked.
//
// Threading: the functions taking a directory block: call them on the worker pool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/directory.h"
#include "src/core/status.h"

namespace mailroom::auth {
class Directory;
class LocalDirectory;
}  // namespace mailroom::auth

namespace mailroom::auth::acl {

// RFC 4314 2.1.
enum Right : uint32_t {
  kLookup = 1u << 0,       // l: LIST, SUBSCRIBE
  kRead = 1u << 1,         // r: SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from
  kSeen = 1u << 2,         // s: keep \Seen
  kWrite = 1u << 3,        // w: flags and keywords other than \Seen and \Deleted
  kInsert = 1u << 4,       // i: APPEND, COPY/MOVE into
  kPost = 1u << 5,         // p: submission to the mailbox (advisory)
  kCreate = 1u << 6,       // k: CREATE below, RENAME to below
  kDeleteBox = 1u << 7,    // x: DELETE, RENAME from
  kDeleteMsg = 1u << 8,    // t: \Deleted
  kExpunge = 1u << 9,      // e: EXPUNGE
  kAdminister = 1u << 10,  // a: SETACL, DELETEACL, GETACL, LISTRIGHTS
};
inline constexpr uint32_t kAll = (1u << 11) - 1;
inline constexpr const char* kLetters = "lrswipkxtea";

// "lrswipkxtea" letters (and "c", "d") into bits; nullopt for any other character (RFC 4314
// 3.1: an unrecognized right is BAD).
std::optional<uint32_t> parse_rights(const std::string& text);
// Bits into letters in "lrswipkxtea" order, plus "c"/"d" (2.1.1) when `with_obsolete`.
std::string format_rights(uint32_t rights, bool with_obsolete = true);

// The one asking: the account and its groups now (directory groups by immutable id).
struct Subject {
  std::string account_id;
  std::vector<std::string> group_ids;  // sorted
};
// The account's current groups from the local directory (the replica LDAP / SQL sync writes;
// `local` null: none). Joining a group grants access at the next look-up.
Subject subject_of(LocalDirectory* local, const std::string& account_id);

// True when the stored identifier (without a leading "-") names `who`.
bool names(const std::string& identifier, const Subject& who);

// RFC 4314 2: the rights of `who` from the entries (each with `identifier` and `rights`, as
// store::AclEntry) of a mailbox owned by `owner`: the owner has all; anyone else the union of
// the matching positive entries minus the union of the matching negative ones.
template <class Entries>
uint32_t effective_rights(const Entries& entries, const std::string& owner, const Subject& who) {
  if (owner == who.account_id) return kAll;  // RFC 4314 2: the owner keeps every right here
  uint32_t positive = 0, negative = 0;
  for (const auto& e : entries) {
    bool neg = !e.identifier.empty() && e.identifier[0] == '-';
    if (!names(neg ? e.identifier.substr(1) : e.identifier, who)) continue;
    (neg ? negative : positive) |= parse_rights(e.rights).value_or(0);
  }
  return positive & ~negative;
}

// A wire identifier into its stored form; not_found for a user or group the directory does
// not know, invalid_argument for one that cannot be an identifier, unavailable when the
// directory cannot tell.
core::Result<std::string> stored_identifier(Directory* directory, const std::string& wire);
// The stored form back into a name ("bob", "$staff@example.com", "anyone"); an id the
// directory no longer knows is shown as stored.
std::string wire_identifier(Directory* directory, LocalDirectory* local, const std::string& stored);
// The account a login (or address) names; not_found / unavailable as the directory says.
core::Result<Account> find_user(Directory* directory, const std::string& name);

}  // namespace mailroom::auth::acl
