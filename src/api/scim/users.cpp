// SCIM Users on the accounts of the local directory (resources.h has the mapping).
#include "src/service/users.h"

#include <algorithm>
#include <boost/json.hpp>
#include <ctime>

#include "src/api/scim/resources.h"
#include "src/core/address.h"
#include "src/http/http.h"
#include "src/service/change_tracking.h"
#include "src/service/passwords.h"

namespace mailroom::api::scim {

namespace json = boost::json;

namespace {

// Accounts created without a password get a hash no password matches: they log in by SSO
// (bearer tokens) or app passwords until an administrator or the client sets one.
constexpr const char* kScimNoPassword = "{NOPASSWORD}";

std::string scim_user_lower(std::string_view s) { return core::ascii_lower(std::string(s)); }

std::string scim_user_domain(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? std::string() : scim_user_lower(address.substr(at + 1));
}

}  // namespace

std::string scim_time(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

const json::value* scim_user_get(const json::object& o, std::string_view key) {
  return o.if_contains(key);
}

std::string scim_user_string(const json::object& o, std::string_view key) {
  auto* v = scim_user_get(o, key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// Attributes the directory holds itself; the rest goes to the overlay.
bool scim_user_directory_attr(std::string_view name) {
  return name == "schemas" || name == "id" || name == "meta" || name == "userName" ||
         name == "displayName" || name == "active" || name == "password" || name == "externalId" ||
         name == "groups";
}

void scim_user_render(const ScimContext& ctx, const auth::AccountRecord& rec,
                      const auth::ScimOverlay* overlay, json::object& out) {
  const auth::Account& a = rec.account;
  out = json::object();
  json::object stored;
  if (overlay) {
    json::error_code ec;
    auto v = json::parse(overlay->attributes, ec);
    if (!ec && v.is_object()) stored = std::move(v.get_object());
  }
  json::array schemas{kUserSchema};
  if (stored.contains(kEnterpriseSchema)) schemas.emplace_back(kEnterpriseSchema);
  out["schemas"] = std::move(schemas);
  out["id"] = a.id;
  if (overlay && !overlay->external_id.empty()) out["externalId"] = overlay->external_id;
  out["userName"] = a.login;
  if (!a.display_name.empty()) out["displayName"] = a.display_name;
  out["active"] = a.status == auth::AccountStatus::active;

  // emails: the directory's addresses, with the types the client gave them; addresses the
  // directory does not hold (other domains) as the client stored them.
  json::array stored_emails;
  if (auto* e = stored.if_contains("emails"); e && e->is_array()) stored_emails = e->get_array();
  auto stored_type = [&](const std::string& address, const char* fallback) -> json::value {
    for (const auto& e : stored_emails) {
      if (!e.is_object()) continue;
      auto* v = e.get_object().if_contains("value");
      auto* t = e.get_object().if_contains("type");
      if (v && v->is_string() && scim_user_lower(v->get_string()) == address && t) return *t;
    }
    return json::value(fallback);
  };
  json::array emails;
  emails.push_back(json::object{
      {"value", a.address}, {"type", stored_type(a.address, "work")}, {"primary", true}});
  for (const auto& other : a.other_addresses)
    emails.push_back(json::object{{"value", other}, {"type", stored_type(other, "other")}});
  for (const auto& e : stored_emails) {
    if (!e.is_object()) continue;
    auto* v = e.get_object().if_contains("value");
    if (!v || !v->is_string()) continue;
    std::string value = scim_user_lower(v->get_string());
    if (value == a.address || std::find(a.other_addresses.begin(), a.other_addresses.end(),
                                        value) != a.other_addresses.end())
      continue;
    json::object copy = e.get_object();
    copy.erase("primary");
    emails.push_back(std::move(copy));
  }
  out["emails"] = std::move(emails);
  for (auto& kv : stored)
    if (!scim_user_directory_attr(kv.key()) && kv.key() != "emails") out[kv.key()] = kv.value();

  int64_t created = rec.created_at;
  int64_t modified = std::max(rec.updated_at, overlay ? overlay->updated_at : 0);
  out["meta"] = json::object{{"resourceType", "User"},
                             {"created", scim_time(created)},
                             {"lastModified", scim_time(modified)},
                             {"location", ctx.base_url + "/Users/" + http::percent_encode(a.id)}};
  scim_set_version(out);
}

std::optional<ScimError> scim_user_load(const ScimContext& ctx, const std::string& id,
                                        auth::AccountRecord& rec) {
  auto r = ctx.dir.get_account_record(id);
  if (!r) {
    if (r.code() == core::Code::not_found) return ScimError{404, "", "user " + id + " not found"};
    return scim_error_from_status(r.status());
  }
  if (!ctx.caller.can_see(scim_user_domain(r->account.address)))
    return ScimError{404, "", "user " + id + " not found"};
  rec = std::move(r).value();
  return std::nullopt;
}

// What a request's representation says about the directory's fields.
struct ScimUserFields {
  std::string login;
  std::string display_name;
  std::optional<bool> active;
  std::optional<std::string> password;
  std::string external_id;
  bool has_emails = false;
  std::string primary;                 // primary address, lower-case ("" when none)
  std::vector<std::string> secondary;  // local-domain addresses besides the primary
  std::string overlay;                 // the rest, as JSON
};

std::optional<ScimError> scim_user_fields(const ScimContext& ctx, const json::object& r,
                                          ScimUserFields& f) {
  f.login = scim_user_string(r, "userName");
  if (f.login.empty()) return scim_bad_request("invalidValue", "userName is required");
  f.display_name = scim_user_string(r, "displayName");
  if (f.display_name.empty()) {
    if (auto* n = scim_user_get(r, "name"); n && n->is_object()) {
      f.display_name = scim_user_string(n->get_object(), "formatted");
      if (f.display_name.empty()) {
        std::string given = scim_user_string(n->get_object(), "givenName");
        std::string family = scim_user_string(n->get_object(), "familyName");
        f.display_name = given + (given.empty() || family.empty() ? "" : " ") + family;
      }
    }
  }
  if (auto* a = scim_user_get(r, "active"); a && a->is_bool()) f.active = a->get_bool();
  if (auto* p = scim_user_get(r, "password"); p && p->is_string()) {
    f.password = std::string(p->get_string());
    if (f.password->empty()) return scim_bad_request("invalidValue", "password is empty");
  }
  f.external_id = scim_user_string(r, "externalId");
  if (f.external_id.size() > 1024) return scim_bad_request("invalidValue", "externalId too long");

  if (auto* e = scim_user_get(r, "emails"); e && e->is_array()) {
    f.has_emails = true;
    const json::array& emails = e->get_array();
    std::string first, work;
    for (const auto& x : emails) {
      std::string v = scim_user_lower(scim_user_string(x.get_object(), "value"));
      if (v.empty()) continue;
      if (first.empty()) first = v;
      auto* p = x.get_object().if_contains("primary");
      if (p && p->is_bool() && p->get_bool() && f.primary.empty()) f.primary = v;
      if (work.empty() && scim_user_lower(scim_user_string(x.get_object(), "type")) == "work")
        work = v;
    }
    if (f.primary.empty()) f.primary = !work.empty() ? work : first;
    for (const auto& x : emails) {
      std::string v = scim_user_lower(scim_user_string(x.get_object(), "value"));
      if (v.empty() || v == f.primary) continue;
      if (std::find(f.secondary.begin(), f.secondary.end(), v) != f.secondary.end()) continue;
      // addresses of other domains (a private address) stay in the overlay only
      auto d = ctx.dir.find_domain(scim_user_domain(v));
      if (d && d->kind == auth::DomainKind::local)
        f.secondary.push_back(v);
      else if (!d && d.code() != core::Code::not_found)
        return scim_error_from_status(d.status());
    }
  }
  if (f.primary.empty() && f.login.find('@') != std::string::npos)
    f.primary = scim_user_lower(f.login);

  json::object overlay;
  for (const auto& kv : r)
    if (!scim_user_directory_attr(kv.key())) overlay[kv.key()] = kv.value();
  f.overlay = json::serialize(overlay);
  if (f.overlay.size() > 64 * 1024)
    return ScimError{413, "", "the user's attributes exceed 64 KiB"};
  return std::nullopt;
}

std::optional<ScimError> scim_user_check_write(const ScimContext& ctx, const std::string& domain) {
  if (!ctx.caller.can(service::Action::write, domain))
    return ScimError{403, "", "not allowed to write users of domain " + domain};
  return std::nullopt;
}

}  // namespace

std::optional<ScimError> get_user(const ScimContext& ctx, const std::string& id,
                                  json::object& out) {
  auth::AccountRecord rec;
  if (auto e = scim_user_load(ctx, id, rec)) return e;
  auto overlay = ctx.dir.get_scim_overlay("User", rec.account.id);
  if (!overlay && overlay.code() != core::Code::not_found)
    return scim_error_from_status(overlay.status());
  scim_user_render(ctx, rec, overlay ? &*overlay : nullptr, out);
  return std::nullopt;
}

std::optional<ScimError> create_user(const ScimContext& ctx, json::object& request,
                                     json::object& out) {
  if (auto e = normalize_resource(ResourceKind::user, request, true)) return e;
  ScimUserFields f;
  if (auto e = scim_user_fields(ctx, request, f)) return e;
  if (f.primary.empty())
    return scim_bad_request("invalidValue",
                            "a user needs an address: emails, or a userName that is an address");
  std::string domain = scim_user_domain(f.primary);
  if (!ctx.caller.can_see(domain) || !ctx.caller.can(service::Action::write, domain))
    return ScimError{403, "", "not allowed to create users in domain " + domain};
  auto taken = ctx.dir.find_account_by_login(scim_user_lower(f.login));
  if (taken) return ScimError{409, "uniqueness", "userName " + f.login + " is already taken"};
  if (taken.code() != core::Code::not_found) return scim_error_from_status(taken.status());

  service::NewUser nu;
  nu.address = f.primary;
  nu.login = f.login;
  nu.display_name = f.display_name;
  nu.other_addresses = f.secondary;
  nu.status = f.active.value_or(true) ? auth::AccountStatus::active : auth::AccountStatus::disabled;
  if (f.password) {
    nu.password = *f.password;
  } else {
    nu.password_hash = kScimNoPassword;
  }
  service::Users users(ctx.dir, ctx.change);
  auto added = users.add(nu);
  if (!added) {
    if (added.code() == core::Code::already_exists)
      return ScimError{409, "uniqueness", added.status().client_message()};
    return scim_error_from_status(added.status());
  }
  const std::string id = added->account.id;
  if (auto st = ctx.dir.set_scim_overlay("User", id, f.external_id, f.overlay); !st) {
    // no half-created user: the client retries the whole create
    (void)ctx.dir.remove_account(id);
    return scim_error_from_status(st);
  }
  return get_user(ctx, id, out);
}

std::optional<ScimError> replace_user(const ScimContext& ctx, const std::string& id,
                                      json::object& desired, json::object& out) {
  auth::AccountRecord rec;
  if (auto e = scim_user_load(ctx, id, rec)) return e;
  if (auto e = scim_user_check_write(ctx, scim_user_domain(rec.account.address))) return e;
  if (auto e = normalize_resource(ResourceKind::user, desired, false)) return e;
  ScimUserFields f;
  if (auto e = scim_user_fields(ctx, desired, f)) return e;

  auth::Account a = rec.account;
  if (scim_user_lower(f.login) != scim_user_lower(a.login)) {
    auto taken = ctx.dir.find_account_by_login(scim_user_lower(f.login));
    if (taken && taken->id != a.id)
      return ScimError{409, "uniqueness", "userName " + f.login + " is already taken"};
  }
  a.login = f.login;
  a.display_name = f.display_name;
  if (f.active) a.status = *f.active ? auth::AccountStatus::active : auth::AccountStatus::disabled;
  // Without "emails" the addresses stay as they are: a client that does not manage addresses
  // never removes the primary one by omission.
  if (f.has_emails && !f.primary.empty()) {
    std::string domain = scim_user_domain(f.primary);
    if (domain != scim_user_domain(a.address)) {
      if (!ctx.caller.can_see(domain) || !ctx.caller.can(service::Action::write, domain))
        return ScimError{403, "", "not allowed to move users to domain " + domain};
    }
    a.address = f.primary;
    a.other_addresses = f.secondary;
  }
  std::optional<service::PasswordHash> hashed;
  if (f.password) {
    // hashed before the transaction: argon2 takes tens of milliseconds
    auto h = service::hash_password(*f.password, "ARGON2ID", true);
    if (!h) return scim_error_from_status(h.status());
    hashed = std::move(h).value();
  }
  namespace tracking = service::tracking;
  auto st = tracking::run_tracked(
      ctx.dir, ctx.change, "user.change",
      tracking::fixed_keys({{tracking::ObjectKind::user, a.id}}), [&]() -> core::Status {
        if (auto s = ctx.dir.update_account(a); !s) return s;
        if (hashed) {
          if (auto s = ctx.dir.set_password(a.id, hashed->hash, hashed->scram_secret); !s) return s;
        }
        return ctx.dir.set_scim_overlay("User", a.id, f.external_id, f.overlay);
      });
  if (!st) {
    if (st.code() == core::Code::already_exists)
      return ScimError{409, "uniqueness", st.client_message()};
    return scim_error_from_status(st);
  }
  return get_user(ctx, a.id, out);
}

std::optional<ScimError> delete_user(const ScimContext& ctx, const std::string& id) {
  auth::AccountRecord rec;
  if (auto e = scim_user_load(ctx, id, rec)) return e;
  if (auto e = scim_user_check_write(ctx, scim_user_domain(rec.account.address))) return e;
  service::Users users(ctx.dir, ctx.change);
  // The account goes; its mailbox stays on disk (service/users.h), as with mailroomctl.
  auto removed = users.remove(rec.account.id);
  if (!removed) return scim_error_from_status(removed.status());
  return std::nullopt;
}

namespace {

// The first value a sort path names, lower-cased; "" when none (sorted last).
std::string scim_sort_key(const json::object& r, const AttrPath& path) {
  const json::object* base = &r;
  if (!path.schema.empty() && path.schema != scim_user_lower(kUserSchema) &&
      path.schema != scim_user_lower(kGroupSchema)) {
    base = nullptr;
    for (const auto& kv : r)
      if (scim_user_lower(kv.key()) == path.schema && kv.value().is_object())
        base = &kv.value().get_object();
    if (!base) return {};
  }
  const json::value* v = nullptr;
  for (const auto& kv : *base)
    if (scim_user_lower(kv.key()) == scim_user_lower(path.attr)) v = &kv.value();
  if (!v) return {};
  if (v->is_array()) {
    // multi-valued: the primary value, else the first (RFC 7644 3.4.2.3)
    const json::value* pick = nullptr;
    for (const auto& e : v->get_array()) {
      if (!pick) pick = &e;
      if (e.is_object()) {
        auto* p = e.get_object().if_contains("primary");
        if (p && p->is_bool() && p->get_bool()) pick = &e;
      }
    }
    v = pick;
    if (!v) return {};
  }
  std::string sub = path.sub.empty() && v->is_object() ? "value" : path.sub;
  if (!sub.empty()) {
    if (!v->is_object()) return {};
    const json::value* s = nullptr;
    for (const auto& kv : v->get_object())
      if (scim_user_lower(kv.key()) == scim_user_lower(sub)) s = &kv.value();
    v = s;
    if (!v) return {};
  }
  if (v->is_string()) return scim_user_lower(v->get_string());
  return json::serialize(*v);
}

}  // namespace

// Shared by query_users and query_groups: sorts (key, id) pairs and cuts the page.
void scim_cut_page(std::vector<std::pair<std::string, std::string>>& matches, bool sorted,
                   bool descending, size_t start_index, size_t count, ScimPage& page) {
  if (sorted) {
    std::stable_sort(matches.begin(), matches.end(), [&](const auto& x, const auto& y) {
      // missing values sort last in either order
      if (x.first.empty() != y.first.empty()) return y.first.empty();
      return descending ? y.first < x.first : x.first < y.first;
    });
  }
  page.total = matches.size();
  size_t begin = start_index == 0 ? 0 : start_index - 1;
  for (size_t i = begin; i < matches.size() && page.ids.size() < count; ++i)
    page.ids.push_back(matches[i].second);
}

std::string scim_sort_value(const json::object& resource, const std::string& sort_by) {
  auto path = parse_attr_path(sort_by);
  return path ? scim_sort_key(resource, *path) : std::string();
}

std::optional<ScimError> query_users(const ScimContext& ctx, const FilterNode* filter,
                                     const std::string& sort_by, bool descending,
                                     size_t start_index, size_t count, ScimPage& page) {
  std::optional<AttrPath> sort_path;
  if (!sort_by.empty()) {
    auto p = parse_attr_path(sort_by);
    if (!p) return scim_bad_request("invalidValue", "sortBy: " + p.status().client_message());
    sort_path = *p;
  }
  std::vector<std::pair<std::string, std::string>> matches;  // (sort key, id)
  auto consider = [&](const std::string& id) -> std::optional<ScimError> {
    json::object r;
    if (auto e = get_user(ctx, id, r)) {
      if (e->status == 404) return std::nullopt;  // not visible, or gone meanwhile
      return e;
    }
    if (filter && !filter_matches(*filter, r)) return std::nullopt;
    matches.emplace_back(sort_path ? scim_sort_key(r, *sort_path) : std::string(), id);
    return std::nullopt;
  };

  std::string key, value;
  if (filter &&
      filter_equality_key(*filter, {"username", "externalid", "id", "emails", "emails.value"}, key,
                          value)) {
    // An index answers (200,000 accounts: Entra ID and Okta look users up by userName or
    // externalId before every create).
    std::vector<std::string> ids;
    if (key == "externalid") {
      auto found = ctx.dir.find_scim_external_id("User", value, 1000);
      if (!found) return scim_error_from_status(found.status());
      ids = std::move(found).value();
    } else {
      core::Result<auth::Account> found = core::not_found("");
      if (key == "username") found = ctx.dir.find_account_by_login(scim_user_lower(value));
      if (key == "id") found = ctx.dir.find_account_by_id(value);
      if (key == "emails" || key == "emails.value")
        found = ctx.dir.find_account_by_address(scim_user_lower(value));
      if (found) {
        ids.push_back(found->id);
      } else if (found.code() != core::Code::not_found) {
        return scim_error_from_status(found.status());
      }
    }
    for (const auto& id : ids)
      if (auto e = consider(id)) return e;
    scim_cut_page(matches, sort_path.has_value(), descending, start_index, count, page);
    return std::nullopt;
  }

  // No index applies: every visible account, in address order.
  std::vector<std::string> domains;
  if (auto visible = ctx.caller.visible_domains()) {
    domains = *visible;
    std::sort(domains.begin(), domains.end());
  } else {
    domains.push_back("");
  }
  for (const auto& d : domains) {
    auto accounts = ctx.dir.list_accounts(d);
    if (!accounts) return scim_error_from_status(accounts.status());
    if (!filter && !sort_path) {
      for (const auto& a : *accounts) matches.emplace_back(std::string(), a.id);
      continue;
    }
    for (const auto& a : *accounts)
      if (auto e = consider(a.id)) return e;
  }
  scim_cut_page(matches, sort_path.has_value(), descending, start_index, count, page);
  return std::nullopt;
}

}  // namespace mailroom::api::scim
