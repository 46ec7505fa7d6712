// The members of every group of a full group pass, worked out locally from the groups'
// `member` values (ldap_sync.cpp read_groups).
//
// Asking the directory once per group does not scale: on Active Directory the in-chain search
// (LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941) is evaluated by walking the
// directory, and Samba spent more than 12 minutes of CPU on 5,000 groups over 50,000 users
// (bench/ad/README.md); with plain `member` values each member DN cost one base search. Here
// the pass reads every group (with its members, range retrieval included) and every user once,
// and this code joins them:
//   - NestedMode::flatten (nested_groups = "in_chain"): a group's members are the users of the
//     group and of every group nested in it, at any depth, as the in-chain search answers;
//     groups without a mail address count as links in the chain; cycles end.
//   - NestedMode::keep (nested_groups = "member"): a nested group appears as its address (the
//     Resolver expands it at delivery), as a member search finds it.
// A member DN that is neither a user of the pass nor a group of the pass is handed to
// `resolve_other` (keep mode: the old one-entry search, for contacts and entries outside the
// user filter); flatten mode drops it, as the in-chain search over users would.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/directory.h"

namespace mailroom::auth::sync {

enum class NestedMode { flatten, keep };

struct GroupNode {
  std::string dn;
  std::optional<Group> header;          // nullopt: no mail address (only a link in a chain)
  std::vector<std::string> member_dns;  // `member` and `uniqueMember` values (uid part removed)
};

// A key under which two spellings of one DN meet: lower case, no spaces around ',', '=' and
// '+' (RFC 4514 allows them; directories return the stored form, members are written by hand).
std::string dn_key(std::string_view dn);

struct ExpansionInput {
  std::vector<GroupNode> groups;
  std::unordered_map<std::string, std::string> user_address;  // dn_key -> primary address
  NestedMode mode = NestedMode::keep;
  int max_members = 10000;
  // keep mode only: the address of a DN outside the pass ("" when none). May fail (the
  // directory is down): the whole expansion fails, nothing is half-written.
  std::function<Result<std::string>(const std::string& dn)> resolve_other;
};

// The groups with a header, members filled in, in input order.
Result<std::vector<Group>> expand_groups(ExpansionInput in);

}  // namespace mailroom::auth::sync
