// Turning directory entries into Accounts, Groups and Aliases (pure functions, no libldap).
//
// The profile (ldap_options.h) names the attributes; this file knows the value formats:
// entryUUID strings, AD objectGUID bytes, proxyAddresses "SMTP:"/"smtp:" prefixes,
// userAccountControl bit 2 (ACCOUNTDISABLE) and accountExpires (FILETIME), range-retrieval
// attribute names ("member;range=0-1499").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/directory.h"
#include "auth/ldap/ldap_options.h"

namespace mailroom::auth::ldap {

// One search result entry. Attribute names are lower-cased, without options.
struct LdapEntry {
  std::string dn;
  std::map<std::string, std::vector<std::string>> attrs;

  const std::vector<std::string>& values(std::string_view name) const;
  std::string first(std::string_view name) const;  // "" when absent
  bool has(std::string_view name) const { return !values(name).empty(); }
  // Checks objectClass membership (case-insensitive).
  bool is_a(std::string_view object_class) const;
};

std::string lower(std::string_view s);

// AD objectGUID (16 bytes, first three fields little-endian) <-> "xxxxxxxx-xxxx-...".
std::string guid_to_string(std::string_view bytes);
std::optional<std::string> guid_from_string(std::string_view text);

// The account id of an entry (lower-case UUID text); empty when the attribute is missing.
std::string entry_id(const LdapEntry& e, const AttributeMap& a);

// "member;range=0-1499" -> {"member", 0, 1499}; end = -1 for "*". nullopt if no range option.
struct RangeOption {
  std::string attribute;
  int64_t start = 0;
  int64_t end = -1;
};
std::optional<RangeOption> parse_range_option(std::string_view attribute_description);

// AD accountExpires: 0 and 0x7FFFFFFFFFFFFFFF mean never; otherwise 100 ns ticks since
// 1601-01-01 UTC. True when the account has expired at unix time `now`.
bool ad_account_expired(std::string_view account_expires, int64_t now_unix);

// Whether `dn` is strictly below `base` (case-insensitive, spaces after commas ignored).
bool dn_under(std::string_view dn, std::string_view base);
// A leaver (issue 22, G7): under leavers_ou or a member of leavers_group (ldap_options.h).
// entry_to_account() disables such an account.
bool is_leaver(const LdapEntry& e, const LdapOptions& o);

// Builds an Account. nullopt when the entry has no id or no usable primary address.
std::optional<Account> entry_to_account(const LdapEntry& e, const LdapOptions& o, int64_t now_unix);

// The group's own address and policy; members are filled by the caller (they need lookups).
std::optional<Group> entry_to_group_header(const LdapEntry& e, const LdapOptions& o);

std::optional<Alias> entry_to_alias(const LdapEntry& e, const LdapOptions& o);

// Every attribute the mapping reads from a user entry (for the search attribute list).
std::vector<std::string> account_attributes(const LdapOptions& o);
// The same for a group entry; the member attributes only when members are read from them
// (not with nested_groups = "in_chain").
std::vector<std::string> group_attributes(const LdapOptions& o);

// uniqueMember values may end in "#'0101'B" (RFC 4517 NameAndOptionalUID): strip it.
std::string strip_optional_uid(std::string_view value);

// memberURL of a dynamic group (RFC 4516): "ldap:///ou=people,dc=x??sub?(dept=42)".
struct MemberUrl {
  std::string base;
  std::string scope = "sub";  // base | one | sub
  std::string filter = "(objectClass=*)";
};
std::optional<MemberUrl> parse_member_url(std::string_view url);

}  // namespace mailroom::auth::ldap
