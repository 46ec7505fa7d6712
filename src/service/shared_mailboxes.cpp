// Administrator-created shared mailboxes (see shared_mailboxes.h).
#include "src/service/shared_mailboxes.h"

#include "auth/mailbox_acl.h"
#include "src/core/address.h"

namespace mailroom::service {
namespace {

// A crypt(3) string no password produces: the account cannot log in (shared_mailboxes.h).
constexpr const char* kNoLogin = "{CRYPT}!shared-mailbox";

core::Result<std::string> checked_rights(const std::string& rights) {
  auto bits = auth::acl::parse_rights(rights);
  if (!bits || *bits == 0)
    return core::invalid_argument("rights \"" + rights + "\" are not a set of \"lrswipkxtea\"");
  return auth::acl::format_rights(*bits, false);
}

}  // namespace

core::Status SharedMailboxes::set(const std::string& account_id, const std::string& mailbox,
                                  const std::string& identifier, const std::string& rights) {
  auto id = auth::acl::stored_identifier(&directory_, identifier);
  if (!id) {
    if (id.code() == core::Code::not_found)
      return core::not_found(identifier + ": no such user or group");
    return id.status();
  }
  auto st = store_.set_acl(account_id, mailbox, *id, rights);
  if (st.code() == core::Code::not_found)
    return core::not_found("mailbox " + mailbox + " not found");
  return st;
}

core::Result<SharedMailbox> SharedMailboxes::describe(const auth::Account& account) {
  SharedMailbox out;
  out.account = account;
  auto acls = store_.acls(account.id);
  if (!acls) return acls.status();
  for (auto& box : *acls) {
    for (auto& e : box.entries)
      e.identifier = auth::acl::wire_identifier(&directory_, &directory_, e.identifier);
  }
  out.acls = std::move(*acls);
  return out;
}

core::Result<auth::Account> SharedMailboxes::find_shared(const std::string& address) {
  auto a = auth::acl::find_user(&directory_, address);
  if (!a) {
    if (a.code() == core::Code::not_found)
      return core::not_found("shared mailbox " + address + " not found");
    return a.status();
  }
  auto marked = store_.acl_accounts();
  if (!marked) return marked.status();
  for (const auto& m : *marked) {
    if (m.account_id == a->id && m.shared) return a;
  }
  return core::not_found(address + " is not a shared mailbox");
}

core::Result<SharedMailbox> SharedMailboxes::create(const NewSharedMailbox& request) {
  auto rights = checked_rights(request.rights);
  if (!rights) return rights.status();
  if (request.group.empty()) return core::invalid_argument("a group is required");
  auto group = directory_.find_group(core::ascii_lower(request.group));
  if (!group) {
    if (group.code() == core::Code::not_found)
      return core::not_found("group " + request.group + " not found");
    return group.status();
  }
  auth::Account a;
  a.id = auth::LocalDirectory::new_uuid();
  a.address = request.address;
  a.display_name = request.display_name;
  a.password_hash = kNoLogin;
  auto added = directory_.add_account(a);
  if (!added) return added.status();
  auto st = store_.mark_shared_account(added->id, true);
  if (st) st = set(added->id, "INBOX", "$" + group->address, *rights);
  if (!st) {
    // Half made: the account goes again (its empty store stays, harmless).
    (void)directory_.remove_account(added->id);
    return st;
  }
  return describe(*added);
}

core::Result<std::vector<SharedMailbox>> SharedMailboxes::list() {
  auto marked = store_.acl_accounts();
  if (!marked) return marked.status();
  std::vector<SharedMailbox> out;
  for (const auto& m : *marked) {
    if (!m.shared) continue;
    auto a = directory_.find_account_by_id(m.account_id);
    if (!a) {
      if (a.code() == core::Code::not_found) continue;  // removed from the directory
      return a.status();
    }
    auto d = describe(*a);
    if (!d) return d.status();
    out.push_back(std::move(*d));
  }
  return out;
}

core::Result<SharedMailbox> SharedMailboxes::show(const std::string& address) {
  auto a = find_shared(address);
  if (!a) return a.status();
  return describe(*a);
}

core::Status SharedMailboxes::remove(const std::string& address) {
  auto a = find_shared(address);
  if (!a) return a.status();
  auto st = directory_.remove_account(a->id);
  if (!st) return st;
  return store_.mark_shared_account(a->id, false);
}

core::Result<SharedMailbox> SharedMailboxes::grant(const std::string& address,
                                                   const std::string& identifier,
                                                   const std::string& rights,
                                                   const std::string& mailbox) {
  auto r = checked_rights(rights);
  if (!r) return r.status();
  auto a = find_shared(address);
  if (!a) return a.status();
  auto st = set(a->id, mailbox, identifier, *r);
  if (!st) return st;
  return describe(*a);
}

core::Result<SharedMailbox> SharedMailboxes::revoke(const std::string& address,
                                                    const std::string& identifier,
                                                    const std::string& mailbox) {
  auto a = find_shared(address);
  if (!a) return a.status();
  auto st = set(a->id, mailbox, identifier, "");
  if (!st) return st;
  return describe(*a);
}

core::Status SharedMailboxes::convert_account(const std::string& account_id,
                                              const std::string& group, const std::string& rights) {
  auto r = checked_rights(rights);
  if (!r) return r.status();
  auto st = store_.mark_shared_account(account_id, true);
  if (!st) return st;
  return set(account_id, "INBOX", "$" + core::ascii_lower(group), *r);
}

}  // namespace mailroom::service
