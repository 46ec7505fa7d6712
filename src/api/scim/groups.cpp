// SCIM Groups on the groups of the local directory (resources.h has the mapping).
#include "src/service/groups.h"

#include <algorithm>
#include <boost/json.hpp>

#include "src/api/scim/resources.h"
#include "src/core/address.h"
#include "src/http/http.h"
#include "src/service/change_tracking.h"

namespace mailroom::api::scim {

namespace json = boost::json;

namespace {

std::string scim_group_lower(std::string_view s) { return core::ascii_lower(std::string(s)); }

std::string scim_group_domain(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? std::string() : scim_group_lower(address.substr(at + 1));
}

std::optional<ScimError> scim_group_load(const ScimContext& ctx, const std::string& id,
                                         auth::Group& group) {
  auto g = ctx.dir.find_group(scim_group_lower(id));
  if (!g) {
    if (g.code() == core::Code::not_found) return ScimError{404, "", "group " + id + " not found"};
    return scim_error_from_status(g.status());
  }
  if (!ctx.caller.can_see(scim_group_domain(g->address)))
    return ScimError{404, "", "group " + id + " not found"};
  group = std::move(g).value();
  return std::nullopt;
}

void scim_group_render(const ScimContext& ctx, const auth::Group& g,
                       const auth::ScimOverlay* overlay, bool with_members, json::object& out) {
  out = json::object();
  out["schemas"] = json::array{kGroupSchema};
  out["id"] = g.address;
  if (overlay && !overlay->external_id.empty()) out["externalId"] = overlay->external_id;
  out["displayName"] = g.display_name.empty() ? g.address : g.display_name;
  if (with_members && !g.members.empty()) {
    json::array members;
    for (const auto& m : g.members) {
      auto account = ctx.dir.find_account_by_address(m);
      if (account) {
        members.push_back(
            json::object{{"value", account->id},
                         {"display", account->address},
                         {"type", "User"},
                         {"$ref", ctx.base_url + "/Users/" + http::percent_encode(account->id)}});
        continue;
      }
      auto group = ctx.dir.find_group(m);
      if (group) {
        members.push_back(json::object{
            {"value", group->address},
            {"display", group->display_name.empty() ? group->address : group->display_name},
            {"type", "Group"},
            {"$ref", ctx.base_url + "/Groups/" + http::percent_encode(group->address)}});
        continue;
      }
      // an alias or a remote address: no SCIM resource, its address is its value
      members.push_back(json::object{{"value", m}, {"display", m}});
    }
    out["members"] = std::move(members);
  }
  json::object meta{{"resourceType", "Group"},
                    {"location", ctx.base_url + "/Groups/" + http::percent_encode(g.address)}};
  if (overlay) {
    meta["created"] = scim_time(overlay->created_at);
    meta["lastModified"] = scim_time(overlay->updated_at);
  }
  out["meta"] = std::move(meta);
  scim_set_version(out);
}

// members[].value -> directory addresses: a User id, a Group id (its address), or an address
// that already is a member (aliases, remote addresses).
std::optional<ScimError> scim_group_member_addresses(const ScimContext& ctx,
                                                     const std::string& self,
                                                     const json::object& desired,
                                                     const std::vector<std::string>& current,
                                                     std::vector<std::string>& out) {
  auto* members = desired.if_contains("members");
  if (!members || !members->is_array()) return std::nullopt;
  if (members->get_array().size() > 100000)
    return ScimError{413, "", "a group takes at most 100000 members"};
  for (const auto& m : members->get_array()) {
    auto* v = m.is_object() ? m.get_object().if_contains("value") : nullptr;
    if (!v || !v->is_string() || v->get_string().empty())
      return scim_bad_request("invalidValue", "members need a value");
    std::string value(v->get_string());
    std::string address;
    auto account = ctx.dir.find_account_by_id(value);
    if (account && ctx.caller.can_see(scim_group_domain(account->address))) {
      address = account->address;
    } else if (!account && account.code() != core::Code::not_found) {
      return scim_error_from_status(account.status());
    } else {
      std::string lower = scim_group_lower(value);
      auto group = ctx.dir.find_group(lower);
      if (group && ctx.caller.can_see(scim_group_domain(group->address))) {
        if (group->address == self)
          return scim_bad_request("invalidValue", "a group cannot be its own member");
        address = group->address;
      } else if (std::find(current.begin(), current.end(), lower) != current.end()) {
        address = lower;
      } else {
        return scim_bad_request("invalidValue",
                                "member " + value + " is not a known User or Group");
      }
    }
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  }
  return std::nullopt;
}

std::string scim_group_string(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A group's address from its displayName: the name itself when it is an address, else a
// local part made of it in the caller's only domain (Entra ID and Okta send names).
std::optional<ScimError> scim_group_address(const ScimContext& ctx, const std::string& name,
                                            std::string& address) {
  if (name.find('@') != std::string::npos) {
    address = scim_group_lower(name);
    return std::nullopt;
  }
  std::string local;
  for (char c : scim_group_lower(name)) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.') {
      local += c;
    } else if ((c == ' ' || c == '\t') && !local.empty() && local.back() != '-') {
      local += '-';
    }
  }
  while (!local.empty() && (local.back() == '-' || local.back() == '.')) local.pop_back();
  while (!local.empty() && local.front() == '.') local.erase(local.begin());
  if (local.empty() || local.size() > 64)
    return scim_bad_request("invalidValue", "displayName '" + name + "' gives no address");
  auto domains = ctx.dir.list_domains();
  if (!domains) return scim_error_from_status(domains.status());
  std::vector<std::string> writable;
  for (const auto& d : *domains)
    if (d.kind == auth::DomainKind::local && ctx.caller.can(service::Action::write, d.name))
      writable.push_back(d.name);
  if (writable.size() != 1)
    return scim_bad_request("invalidValue",
                            "displayName must be the group's address (local@domain) when "
                            "several domains exist");
  address = local + "@" + writable.front();
  return std::nullopt;
}

}  // namespace

std::optional<ScimError> get_group(const ScimContext& ctx, const std::string& id, bool with_members,
                                   json::object& out) {
  auth::Group g;
  if (auto e = scim_group_load(ctx, id, g)) return e;
  auto overlay = ctx.dir.get_scim_overlay("Group", g.address);
  if (!overlay && overlay.code() != core::Code::not_found)
    return scim_error_from_status(overlay.status());
  scim_group_render(ctx, g, overlay ? &*overlay : nullptr, with_members, out);
  return std::nullopt;
}

std::optional<ScimError> create_group(const ScimContext& ctx, json::object& request,
                                      json::object& out) {
  if (auto e = normalize_resource(ResourceKind::group, request, true)) return e;
  std::string name = scim_group_string(request, "displayName");
  if (name.empty()) return scim_bad_request("invalidValue", "displayName is required");
  std::string address;
  if (auto e = scim_group_address(ctx, name, address)) return e;
  std::string domain = scim_group_domain(address);
  if (!ctx.caller.can_see(domain) || !ctx.caller.can(service::Action::write, domain))
    return ScimError{403, "", "not allowed to create groups in domain " + domain};
  auth::Group g;
  g.address = address;
  g.display_name = name;
  if (auto e = scim_group_member_addresses(ctx, address, request, {}, g.members)) return e;
  std::string external_id = scim_group_string(request, "externalId");
  auto st = ctx.dir.transaction([&]() -> core::Status {
    service::Groups groups(ctx.dir, ctx.change);
    auto added = groups.add(g);
    if (!added) return added.status();
    return ctx.dir.set_scim_overlay("Group", address, external_id, "{}");
  });
  if (!st) {
    if (st.code() == core::Code::already_exists)
      return ScimError{409, "uniqueness", "group " + address + " already exists"};
    return scim_error_from_status(st);
  }
  return get_group(ctx, address, true, out);
}

std::optional<ScimError> replace_group(const ScimContext& ctx, const std::string& id,
                                       json::object& desired, json::object& out) {
  auth::Group g;
  if (auto e = scim_group_load(ctx, id, g)) return e;
  if (!ctx.caller.can(service::Action::write, scim_group_domain(g.address)))
    return ScimError{403, "",
                     "not allowed to write groups of domain " + scim_group_domain(g.address)};
  if (auto e = normalize_resource(ResourceKind::group, desired, false)) return e;
  std::string name = scim_group_string(desired, "displayName");
  if (name.empty()) return scim_bad_request("invalidValue", "displayName is required");
  std::vector<std::string> members;
  if (auto e = scim_group_member_addresses(ctx, g.address, desired, g.members, members)) return e;
  // The address is the id and never changes; displayName is only the display name then.
  g.display_name = name;
  g.members = members;
  std::string external_id = scim_group_string(desired, "externalId");
  namespace tracking = service::tracking;
  auto st = tracking::run_tracked(
      ctx.dir, ctx.change, "group.change",
      tracking::fixed_keys({{tracking::ObjectKind::group, g.address}}), [&]() -> core::Status {
        if (auto s = ctx.dir.update_group(g); !s) return s;
        return ctx.dir.set_scim_overlay("Group", g.address, external_id, "{}");
      });
  if (!st) return scim_error_from_status(st);
  return get_group(ctx, g.address, true, out);
}

std::optional<ScimError> delete_group(const ScimContext& ctx, const std::string& id) {
  auth::Group g;
  if (auto e = scim_group_load(ctx, id, g)) return e;
  if (!ctx.caller.can(service::Action::write, scim_group_domain(g.address)))
    return ScimError{403, "",
                     "not allowed to write groups of domain " + scim_group_domain(g.address)};
  service::Groups groups(ctx.dir, ctx.change);
  if (auto st = groups.remove(g.address); !st) return scim_error_from_status(st);
  return std::nullopt;
}

std::optional<ScimError> patch_group_members(const ScimContext& ctx, const std::string& id,
                                             const std::vector<std::string>& add,
                                             const std::vector<std::string>& remove) {
  auth::Group g;
  if (auto e = scim_group_load(ctx, id, g)) return e;
  if (!ctx.caller.can(service::Action::write, scim_group_domain(g.address)))
    return ScimError{403, "",
                     "not allowed to write groups of domain " + scim_group_domain(g.address)};
  auto values = [](const std::vector<std::string>& list) {
    json::array members;
    for (const auto& v : list) members.push_back(json::object{{"value", v}});
    return json::object{{"members", std::move(members)}};
  };
  std::vector<std::string> to_add, to_remove;
  if (auto e = scim_group_member_addresses(ctx, g.address, values(add), g.members, to_add))
    return e;
  for (const auto& v : remove) {
    // a value that names nothing (any more) is simply not a member
    std::vector<std::string> one;
    if (scim_group_member_addresses(ctx, g.address, values({v}), g.members, one)) continue;
    to_remove.insert(to_remove.end(), one.begin(), one.end());
  }
  namespace tracking = service::tracking;
  auto st = tracking::run_tracked(
      ctx.dir, ctx.change, "group.change",
      tracking::fixed_keys({{tracking::ObjectKind::group, g.address}}), [&]() -> core::Status {
        for (const auto& a : to_remove) {
          if (std::find(g.members.begin(), g.members.end(), a) == g.members.end()) continue;
          if (auto s = ctx.dir.remove_group_member(g.address, a); !s) return s;
          std::erase(g.members, a);
        }
        for (const auto& a : to_add) {
          if (std::find(g.members.begin(), g.members.end(), a) != g.members.end()) continue;
          if (auto s = ctx.dir.add_group_member(g.address, a); !s) return s;
          g.members.push_back(a);
        }
        return core::Status::ok();
      });
  if (!st) return scim_error_from_status(st);
  return std::nullopt;
}

namespace {

bool scim_group_filter_needs_members(const FilterNode& n) {
  if (n.left && scim_group_filter_needs_members(*n.left)) return true;
  if (n.right && scim_group_filter_needs_members(*n.right)) return true;
  return (n.kind == FilterNode::Kind::compare || n.kind == FilterNode::Kind::value_path) &&
         scim_group_lower(n.path.attr) == "members";
}

}  // namespace

std::optional<ScimError> query_groups(const ScimContext& ctx, const FilterNode* filter,
                                      const std::string& sort_by, bool descending,
                                      size_t start_index, size_t count, ScimPage& page) {
  bool with_members = filter && scim_group_filter_needs_members(*filter);
  std::vector<std::pair<std::string, std::string>> matches;
  auto consider = [&](const auth::Group& g) -> std::optional<ScimError> {
    if (!ctx.caller.can_see(scim_group_domain(g.address))) return std::nullopt;
    auto overlay = ctx.dir.get_scim_overlay("Group", g.address);
    if (!overlay && overlay.code() != core::Code::not_found)
      return scim_error_from_status(overlay.status());
    json::object r;
    scim_group_render(ctx, g, overlay ? &*overlay : nullptr, with_members, r);
    if (filter && !filter_matches(*filter, r)) return std::nullopt;
    matches.emplace_back(sort_by.empty() ? std::string() : scim_sort_value(r, sort_by), g.address);
    return std::nullopt;
  };
  std::string key, value;
  if (filter && filter_equality_key(*filter, {"id", "externalid"}, key, value)) {
    std::vector<std::string> addresses;
    if (key == "id") {
      addresses.push_back(scim_group_lower(value));
    } else {
      auto found = ctx.dir.find_scim_external_id("Group", value, 1000);
      if (!found) return scim_error_from_status(found.status());
      addresses = std::move(found).value();
    }
    for (const auto& a : addresses) {
      auto g = ctx.dir.find_group(a);
      if (!g) {
        if (g.code() == core::Code::not_found) continue;
        return scim_error_from_status(g.status());
      }
      if (auto e = consider(*g)) return e;
    }
  } else {
    // Groups are few next to accounts: a scan (displayName eq "..." included).
    auto groups = ctx.dir.list_groups();
    if (!groups) return scim_error_from_status(groups.status());
    for (const auto& g : *groups)
      if (auto e = consider(g)) return e;
  }
  scim_cut_page(matches, !sort_by.empty(), descending, start_index, count, page);
  return std::nullopt;
}

}  // namespace mailroom::api::scim
