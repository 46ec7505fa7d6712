// RFC 4314 rights and identifiers, RFC 2342 shared namespaces (see acl.h).
#include "src/imap/acl.h"

#include "auth/directory.h"
#include "auth/local/local_directory.h"
#include "auth/policy/policy_directory.h"
#include "src/core/address.h"
#include "src/core/log.h"

namespace mailroom::imap::acl {
namespace {

auth::LocalDirectory* local_directory(core::Services& services) {
  return services.policies ? &services.policies->store() : nullptr;
}

}  // namespace

Subject subject_of(core::Services& services, const std::string& account_id) {
  return auth::acl::subject_of(local_directory(services), account_id);
}

core::Result<std::string> stored_identifier(core::Services& services, const std::string& wire) {
  return auth::acl::stored_identifier(services.directory.get(), wire);
}

std::string wire_identifier(core::Services& services, const std::string& stored) {
  return auth::acl::wire_identifier(services.directory.get(), local_directory(services), stored);
}

bool in_shared_namespace(const std::string& name) {
  for (const char* p : {kOtherUsersPrefix, kSharedPrefix}) {
    std::string_view pv(p);
    if (name.size() >= pv.size() && name.compare(0, pv.size(), pv) == 0 &&
        (name.size() == pv.size() || name[pv.size()] == '/'))
      return true;
  }
  return false;
}

core::Status no_such_mailbox(const std::string& name) {
  return core::not_found("no such mailbox", name);
}

void filter_flags(uint32_t rights, uint32_t& flags, std::vector<std::string>& keywords) {
  uint32_t keep = 0;
  if (rights & kSeen) keep |= store::kSeen;
  if (rights & kDeleteMsg) keep |= store::kDeleted;
  if (rights & kWrite) keep |= ~(store::kSeen | store::kDeleted);
  flags &= keep;
  if (!(rights & kWrite)) keywords.clear();
}

std::string shared_name(bool shared_account, const std::string& login, const std::string& mailbox) {
  return std::string(shared_account ? kSharedPrefix : kOtherUsersPrefix) + "/" + login + "/" +
         mailbox;
}

core::Result<Target> resolve_shared(core::Services& services, const Subject& who,
                                    const std::string& name) {
  // "<prefix>/<login>/<folder>": the prefix and the login are not mailboxes themselves.
  size_t first = name.find('/');
  if (first == std::string::npos) return no_such_mailbox(name);
  size_t second = name.find('/', first + 1);
  if (second == std::string::npos || second + 1 >= name.size()) return no_such_mailbox(name);
  std::string login = name.substr(first + 1, second - first - 1);
  std::string folder = name.substr(second + 1);
  auto owner = auth::acl::find_user(services.directory.get(), login);
  if (!owner) {
    if (owner.code() == core::Code::not_found) return no_such_mailbox(name);
    return owner.status();
  }
  auto entries = services.store->get_acl(owner->id, folder);
  if (!entries) {
    if (entries.code() == core::Code::not_found || entries.code() == core::Code::invalid_argument)
      return no_such_mailbox(name);
    return entries.status();
  }
  Target t;
  t.owner = owner->id;
  t.mailbox = folder;
  t.own = owner->id == who.account_id;
  t.rights = effective_rights(*entries, owner->id, who);
  // RFC 4314 4 / 6: without "l" the user must not tell it from a mailbox that does not exist.
  if (!(t.rights & kLookup)) return no_such_mailbox(name);
  return t;
}

core::Result<std::vector<SharedFolder>> visible_shared_folders(core::Services& services,
                                                               const std::string& account_id) {
  std::vector<SharedFolder> out;
  auto accounts = services.store->acl_accounts();
  if (!accounts) return accounts.status();
  std::optional<Subject> subject;
  for (const auto& a : *accounts) {
    if (a.account_id == account_id || !services.directory) continue;
    if (!subject) subject = subject_of(services, account_id);
    const Subject& who = *subject;
    auto acls = services.store->acls(a.account_id);
    if (!acls) {
      MR_LOG_WARN("event=imap_acl_read_failed owner={} detail={}", a.account_id,
                  core::quote(acls.status().to_string()));
      continue;
    }
    std::string login;
    for (const auto& box : *acls) {
      uint32_t rights = effective_rights(box.entries, a.account_id, who);
      if (!(rights & kLookup)) continue;
      if (login.empty()) {
        auto owner = services.directory->find_account_by_id(a.account_id);
        if (!owner) break;  // an owner the directory no longer knows: nothing to show
        login = owner->login.empty() ? owner->address : owner->login;
      }
      SharedFolder f;
      f.name = shared_name(a.shared, login, box.mailbox);
      f.target = Target{a.account_id, box.mailbox, rights, false};
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace mailroom::imap::acl
