// The admin API's personal block and allow lists of a user (service::PersonalListsService):
//   GET    /api/v1/users/{user}/personal-lists                 lists and choices
//   PATCH  /api/v1/users/{user}/personal-lists                 {"ads":"inbox|folder",
//                                                              "blocked":"discard|junk"}
//   POST   /api/v1/users/{user}/personal-lists/{list}          {"entry":"spam@bad.example"}
//   DELETE /api/v1/users/{user}/personal-lists/{list}/{entry}
// {list} is "blocklist" or "allowlist". The wrapper (admin_routes.cpp) has authenticated the
// caller and found the account before these run.
#include <boost/json.hpp>

#include "src/api/admin_internal.h"
#include "src/service/personal_lists.h"

namespace mailroom::api {
namespace json = boost::json;

namespace {

json::value personal_lists_json(const service::UserLists& u) {
  json::value v = json::parse(service::PersonalListsService::to_json(u.lists));
  v.as_object()["address"] = u.account.address;
  return v;
}

service::PersonalListsService personal_lists_service(AdminCall& c) {
  auto& s = *c.ctx.services;
  return service::PersonalListsService(s.directory.get(), s.store.get(), s.mail_root);
}

std::optional<std::string> personal_string(json::object& o, std::string_view key,
                                           std::string& error) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    error = "\"" + std::string(key) + "\" must be a string";
    return std::nullopt;
  }
  return std::string(v->as_string());
}

}  // namespace

http::Response admin_personal_lists_show(AdminCall& c) {
  auto r = personal_lists_service(c).get(c.account->id);
  if (!r) return problem_from_status(r.status());
  return admin_json(200, personal_lists_json(*r));
}

http::Response admin_personal_lists_change(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"ads", "blocked"})) return *bad;
  std::string error;
  auto ads = personal_string(o, "ads", error);
  auto blocked = personal_string(o, "blocked", error);
  if (!error.empty()) return admin_bad_request(error);
  auto r = personal_lists_service(c).set_options(c.account->id, ads, blocked);
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 200, personal_lists_json(*r));
}

http::Response admin_personal_list_add(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"entry"})) return *bad;
  std::string error;
  auto entry = personal_string(o, "entry", error);
  if (!error.empty()) return admin_bad_request(error);
  if (!entry) return admin_bad_request("\"entry\" is required");
  auto r = personal_lists_service(c).add(c.account->id, c.request.params.at(1), *entry);
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 201, personal_lists_json(*r));
}

http::Response admin_personal_list_remove(AdminCall& c) {
  auto r = personal_lists_service(c).remove(c.account->id, c.request.params.at(1),
                                            c.request.params.at(2));
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 200, personal_lists_json(*r));
}

}  // namespace mailroom::api
