#include "auth/ldap/ldap_directory.h"

#include <chrono>
#include <mutex>
#include <set>
#include <unordered_map>

#include "auth/ldap/ldap_client.h"
#include "auth/ldap/ldap_filter.h"
#include "src/core/log.h"

namespace mailroom::auth {

using namespace ldap;

struct LdapDirectory::Impl {
  std::mutex mu;
  std::unordered_map<std::string, std::string> dn_by_id;  // bounded cache for binds
  void remember(const std::string& id, const std::string& dn) {
    std::lock_guard lock(mu);
    if (dn_by_id.size() > 200000) dn_by_id.clear();
    dn_by_id[id] = dn;
  }
};

namespace {
int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

LdapDirectory::LdapDirectory(std::shared_ptr<LdapClient> client)
    : client_(std::move(client)), impl_(std::make_unique<Impl>()) {}

LdapDirectory::~LdapDirectory() = default;

Result<Domain> LdapDirectory::find_domain(const std::string& domain) {
  for (const auto& d : client_->options().domains)
    if (d == domain) return Domain{d, DomainKind::local, {}, {}};
  return core::not_found("no such domain");
}

Result<std::vector<Domain>> LdapDirectory::list_domains() {
  std::vector<Domain> out;
  for (const auto& d : client_->options().domains)
    out.push_back(Domain{d, DomainKind::local, {}, {}});
  return out;
}

// One account from a search with `filter`: not_found for none, the first (with a warning)
// when the directory holds duplicates.
static Result<std::pair<Account, std::string>> search_account(LdapClient& client,
                                                              const std::string& filter) {
  const LdapOptions& o = client.options();
  SearchRequest r;
  r.base = o.user_base;
  r.filter = filter;
  r.attributes = account_attributes(o);
  r.size_limit = 2;
  auto res = client.search(r);
  if (!res) return res.status();
  for (const auto& e : res->entries) {
    auto acc = entry_to_account(e, o, now_unix());
    if (!acc) {
      MR_LOG_WARN("event=ldap_entry_unusable dn={} reason={}", core::quote(e.dn),
                  core::quote("no id or no mail address"));
      continue;
    }
    if (res->entries.size() > 1)
      MR_LOG_WARN("event=ldap_ambiguous filter={} using={}", core::quote(filter),
                  core::quote(e.dn));
    return std::make_pair(std::move(*acc), e.dn);
  }
  return core::not_found("no such account");
}

Result<Account> LdapDirectory::find_account_by_address(const std::string& address) {
  auto r = search_account(*client_, expand_filter(client_->options().account_filter, address));
  if (!r) return r.status();
  impl_->remember(r->first.id, r->second);
  return std::move(r->first);
}

Result<Account> LdapDirectory::find_account_by_login(const std::string& login) {
  auto r = search_account(*client_, expand_filter(client_->options().login_filter, login));
  if (!r) return r.status();
  impl_->remember(r->first.id, r->second);
  return std::move(r->first);
}

static std::string id_filter(const LdapOptions& o, const std::string& id) {
  std::string value;
  if (o.attrs.id_is_guid) {
    auto bytes = guid_from_string(id);
    if (!bytes) return {};
    value = escape_filter_bytes(*bytes);
  } else {
    value = escape_filter_value(id);
  }
  return "(&" + o.user_class_filter + "(" + o.attrs.id + "=" + value + "))";
}

Result<Account> LdapDirectory::find_account_by_id(const std::string& id) {
  std::string f = id_filter(client_->options(), id);
  if (f.empty()) return core::not_found("no such account", "malformed id '" + id + "'");
  auto r = search_account(*client_, f);
  if (!r) return r.status();
  impl_->remember(r->first.id, r->second);
  return std::move(r->first);
}

Result<std::string> LdapDirectory::dn_of(const std::string& id) {
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->dn_by_id.find(id);
    if (it != impl_->dn_by_id.end()) return it->second;
  }
  std::string f = id_filter(client_->options(), id);
  if (f.empty()) return core::not_found("no such account");
  auto r = search_account(*client_, f);
  if (!r) return r.status();
  impl_->remember(id, r->second);
  return r->second;
}

Result<Alias> LdapDirectory::find_alias(const std::string& address) {
  const LdapOptions& o = client_->options();
  if (o.alias_filter.empty()) return core::not_found("no such alias");
  SearchRequest r;
  r.base = o.base_dn;
  r.filter = expand_filter(o.alias_filter, address);
  r.attributes = {o.attrs.mail, o.attrs.alias_target};
  r.size_limit = 2;
  auto res = client_->search(r);
  if (!res) return res.status();
  for (const auto& e : res->entries)
    if (auto a = entry_to_alias(e, o)) return std::move(*a);
  return core::not_found("no such alias");
}

Result<std::string> LdapDirectory::address_of_dn(const std::string& dn) {
  const LdapOptions& o = client_->options();
  SearchRequest r;
  r.base = dn;
  r.scope = Scope::base;
  r.filter = "(objectClass=*)";
  r.attributes = {o.attrs.mail, o.attrs.group_mail};
  if (o.attrs.alternate_is_proxy) r.attributes.push_back(o.attrs.alternate);
  r.no_such_object_is_empty = true;
  auto res = client_->search(r);
  if (!res) return res.status();
  if (res->entries.empty()) return std::string();
  const LdapEntry& e = res->entries.front();
  if (o.attrs.alternate_is_proxy)
    for (const auto& v : e.values(o.attrs.alternate))
      if (v.compare(0, 5, "SMTP:") == 0) return lower(v.substr(5));
  std::string m = e.first(o.attrs.mail);
  if (m.empty()) m = e.first(o.attrs.group_mail);
  return lower(m);
}

Result<Group> LdapDirectory::find_group(const std::string& address) {
  const LdapOptions& o = client_->options();
  SearchRequest r;
  r.base = o.group_base;
  r.filter = expand_filter(o.group_filter, address);
  r.attributes = group_attributes(o);
  r.size_limit = 2;
  auto res = client_->search(r);
  if (!res) return res.status();
  if (res->entries.empty()) return core::not_found("no such group");
  const LdapEntry& e = res->entries.front();
  auto g = entry_to_group_header(e, o);
  if (!g) return core::not_found("no such group");
  std::set<std::string> seen;
  auto add = [&](std::string a) {
    if (!a.empty() && a != g->address && seen.insert(a).second) g->members.push_back(std::move(a));
  };
  if (o.nested_groups == NestedGroups::in_chain) {
    // AD: LDAP_MATCHING_RULE_IN_CHAIN returns every user of the group, nested ones included.
    SearchRequest m;
    m.base = o.user_base;
    m.filter = "(&" + o.user_class_filter +
               "(memberOf:1.2.840.113556.1.4.1941:=" + escape_filter_value(e.dn) + "))";
    m.attributes = account_attributes(o);
    m.paged = true;
    auto st = client_->search_each(m, [&](LdapEntry&& u) {
      if (auto acc = entry_to_account(u, o, now_unix())) add(acc->address);
      return static_cast<int>(g->members.size()) < o.max_group_members;
    });
    if (!st) return st;
  } else {
    std::vector<std::string> dns;
    for (const auto& v : e.values(o.attrs.member)) dns.push_back(v);
    for (const auto& v : e.values(o.attrs.unique_member)) dns.push_back(strip_optional_uid(v));
    for (const auto& dn : dns) {
      if (static_cast<int>(g->members.size()) >= o.max_group_members) break;
      auto a = address_of_dn(dn);
      if (!a) return a.status();
      add(std::move(*a));  // nested groups appear as their address; the Resolver expands them
    }
    for (const auto& url : e.values(o.attrs.member_url)) {
      auto mu = parse_member_url(url);
      if (!mu) {
        MR_LOG_WARN("event=ldap_bad_member_url group={} url={}", core::quote(e.dn),
                    core::quote(url));
        continue;
      }
      SearchRequest m;
      m.base = mu->base;
      m.scope = mu->scope == "base" ? Scope::base : mu->scope == "one" ? Scope::one : Scope::sub;
      m.filter = mu->filter;
      m.attributes = {o.attrs.mail};
      m.paged = true;
      auto st = client_->search_each(m, [&](LdapEntry&& u) {
        add(lower(u.first(o.attrs.mail)));
        return static_cast<int>(g->members.size()) < o.max_group_members;
      });
      if (!st) return st;
    }
  }
  return std::move(*g);
}

PasswordCheck LdapDirectory::check_password(const Account& account, const std::string& password) {
  if (password.empty()) return PasswordCheck::mismatch;
  auto dn = dn_of(account.id);
  if (!dn)
    return dn.code() == Code::not_found ? PasswordCheck::mismatch : PasswordCheck::unavailable;
  return client_->bind(*dn, password);
}

}  // namespace mailroom::auth
