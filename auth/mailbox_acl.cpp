// RFC 4314 rights and identifiers (see mailbox_acl.h).
#include "auth/mailbox_acl.h"

#include <algorithm>
#include <cstring>

#include "auth/local/local_directory.h"
#include "src/core/address.h"
#include "src/core/log.h"

namespace mailroom::auth::acl {
namespace {

constexpr size_t kMaxIdentifier = 256;

}  // namespace

bool names(const std::string& id, const Subject& who) {
  if (id == "anyone") return true;
  if (id.rfind("u:", 0) == 0) return id.compare(2, std::string::npos, who.account_id) == 0;
  if (id.rfind("g:", 0) == 0)
    return std::binary_search(who.group_ids.begin(), who.group_ids.end(), id.substr(2));
  return false;
}

core::Result<Account> find_user(Directory* directory, const std::string& name) {
  if (directory == nullptr) return core::not_found("no directory");
  std::string key = core::ascii_lower(name);
  auto a = directory->find_account_by_login(key);
  if (a || a.code() != core::Code::not_found || key.find('@') == std::string::npos) return a;
  return directory->find_account_by_address(key);
}

std::optional<uint32_t> parse_rights(const std::string& text) {
  uint32_t out = 0;
  for (char c : text) {
    const char* p = c == '\0' ? nullptr : std::strchr(kLetters, c);
    if (p != nullptr) {
      out |= 1u << (p - kLetters);
    } else if (c == 'c') {  // RFC 4314 2.1.1: "create" = k here
      out |= kCreate;
    } else if (c == 'd') {  // RFC 4314 2.1.1: "delete" = e t x here
      out |= kExpunge | kDeleteMsg | kDeleteBox;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string format_rights(uint32_t rights, bool with_obsolete) {
  std::string out;
  for (int i = 0; kLetters[i] != '\0'; ++i) {
    if (rights & (1u << i)) out += kLetters[i];
  }
  if (with_obsolete) {
    // RFC 4314 2.1.1: "c" / "d" whenever any member of "create" / "delete" is there.
    if (rights & kCreate) out += 'c';
    if (rights & (kExpunge | kDeleteMsg | kDeleteBox)) out += 'd';
  }
  return out;
}

Subject subject_of(LocalDirectory* local, const std::string& account_id) {
  Subject s;
  s.account_id = account_id;
  if (local != nullptr) {
    auto groups = local->group_ids_of_account(account_id);
    if (groups) {
      s.group_ids = std::move(*groups);
    } else {
      // Fails closed: without its groups the user has only its own and "anyone" rights.
      MR_LOG_WARN("event=acl_groups_failed account={} detail={}", account_id,
                  core::quote(groups.status().to_string()));
    }
  }
  return s;
}

core::Result<std::string> stored_identifier(Directory* directory, const std::string& wire) {
  if (wire.empty() || wire.size() > kMaxIdentifier)
    return core::invalid_argument("Invalid identifier");
  for (unsigned char c : wire) {
    if (c < 0x20 || c == 0x7f) return core::invalid_argument("Invalid identifier");
  }
  bool neg = wire[0] == '-';
  std::string name = neg ? wire.substr(1) : wire;
  std::string prefix = neg ? "-" : "";
  if (name.empty() || name[0] == '-') return core::invalid_argument("Invalid identifier");
  if (name == "anyone") return prefix + "anyone";
  if (name[0] == '$') {
    if (directory == nullptr) return core::not_found("Unknown group");
    auto g = directory->find_group(core::ascii_lower(name.substr(1)));
    if (!g) {
      if (g.code() == core::Code::not_found) return core::not_found("Unknown group");
      return g.status();
    }
    if (g->id.empty()) return core::invalid_argument("This group has no immutable id");
    return prefix + "g:" + core::ascii_lower(g->id);
  }
  auto a = find_user(directory, name);
  if (!a) {
    if (a.code() == core::Code::not_found) return core::not_found("Unknown identifier");
    return a.status();
  }
  return prefix + "u:" + a->id;
}

std::string wire_identifier(Directory* directory, LocalDirectory* local,
                            const std::string& stored) {
  bool neg = !stored.empty() && stored[0] == '-';
  std::string id = neg ? stored.substr(1) : stored;
  std::string prefix = neg ? "-" : "";
  if (id.rfind("u:", 0) == 0 && directory != nullptr) {
    auto a = directory->find_account_by_id(id.substr(2));
    if (a) return prefix + (a->login.empty() ? a->address : a->login);
  } else if (id.rfind("g:", 0) == 0 && local != nullptr) {
    auto g = local->find_group_by_id(id.substr(2));
    if (g) return prefix + "$" + g->address;
  }
  return stored;
}

}  // namespace mailroom::auth::acl
