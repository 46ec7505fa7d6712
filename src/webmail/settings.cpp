#include "src/webmail/settings.h"

#include <boost/json.hpp>

#include "auth/app_passwords.h"
#include "auth/directory.h"
#include "auth/policy/policy_directory.h"
#include "src/core/log.h"
#include "src/core/services.h"
#include "src/service/app_passwords.h"
#include "src/service/personal_lists.h"
#include "src/webmail/settings_request.h"

namespace mailroom::webmail {
namespace json = boost::json;

namespace {

http::Response answer(int status, std::string body) {
  auto r = http::Response::json(status, std::move(body));
  r.set_header("Cache-Control", "no-store");
  return r;
}

http::Response refuse(const core::Status& st) {
  auto r = http::problem_from_status(st);
  r.set_header("Cache-Control", "no-store");
  return r;
}

service::PersonalListsService lists(core::Services& s) {
  return service::PersonalListsService(s.directory.get(), s.store.get(), s.mail_root);
}

bool app_passwords_configured(core::Services& s) { return s.resolver && s.app_passwords; }

// Whether the account's policy bundles let app passwords log in (login method "app-password",
// auth/policy/policy.h): a user is not offered one that could never be used. Administrators
// (mailroomctl, the admin API) may still create one. No policies configured: allowed.
core::Result<bool> policy_allows_app_passwords(core::Services& s, const std::string& account_id) {
  if (!s.policies) return true;
  auto account = s.directory->find_account_by_id(account_id);
  if (!account) return account.status();
  auto effective = s.policies->effective(*account);
  if (!effective) return effective.status();
  return effective->allows_login_method("app-password");
}

}  // namespace

http::Response personal_lists_show(core::Services& s, const SettingsCaller& c) {
  auto r = lists(s).get(c.account_id);
  if (!r) return refuse(r.status());
  return answer(200, service::PersonalListsService::to_json(r->lists));
}

http::Response personal_lists_options(core::Services& s, const SettingsCaller& c,
                                      const http::Request& req) {
  auto body = parse_settings_body(req.body, {"ads", "blocked"});
  if (!body) return refuse(body.status());
  auto r = lists(s).set_options(c.account_id, body->ads, body->blocked);
  if (!r) return refuse(r.status());
  MR_LOG_INFO("event=webmail.personal_lists_changed session={} account={} ads={} blocked={}",
              c.session_id, c.account_id, core::quote(body->ads.value_or("-")),
              core::quote(body->blocked.value_or("-")));
  return answer(200, service::PersonalListsService::to_json(r->lists));
}

http::Response personal_list_add(core::Services& s, const SettingsCaller& c,
                                 const http::Request& req) {
  auto body = parse_settings_body(req.body, {"entry"});
  if (!body) return refuse(body.status());
  if (!body->entry) return refuse(core::invalid_argument("\"entry\" is required"));
  auto r = lists(s).add(c.account_id, req.params.at(0), *body->entry);
  if (!r) return refuse(r.status());
  MR_LOG_INFO("event=webmail.personal_list_added session={} account={} list={} entry={}",
              c.session_id, c.account_id, req.params.at(0), core::quote(*body->entry));
  return answer(201, service::PersonalListsService::to_json(r->lists));
}

http::Response personal_list_remove(core::Services& s, const SettingsCaller& c,
                                    const http::Request& req) {
  auto r = lists(s).remove(c.account_id, req.params.at(0), req.params.at(1));
  if (!r) return refuse(r.status());
  MR_LOG_INFO("event=webmail.personal_list_removed session={} account={} list={} entry={}",
              c.session_id, c.account_id, req.params.at(0), core::quote(req.params.at(1)));
  return answer(200, service::PersonalListsService::to_json(r->lists));
}

http::Response app_passwords_list(core::Services& s, const SettingsCaller& c, int64_t reauth) {
  if (!app_passwords_configured(s)) {
    return refuse(core::unavailable("app passwords are not configured"));
  }
  auto allowed = policy_allows_app_passwords(s, c.account_id);
  if (!allowed) return refuse(allowed.status());
  auto r = service::AppPasswords(*s.resolver, *s.app_passwords).list(c.account_id, false);
  if (!r) return refuse(r.status());
  json::array items;
  for (const auto& p : r->app_passwords) {
    items.push_back(json::parse(service::AppPasswords::public_json(p)));
  }
  json::object o{{"items", std::move(items)},
                 {"max", auth::kMaxActivePerAccount},
                 {"reauth", c.signed_in_seconds_ago > reauth},
                 {"allowed", *allowed}};
  return answer(200, json::serialize(o));
}

http::Response app_password_create(core::Services& s, const SettingsCaller& c,
                                   const http::Request& req, int64_t reauth) {
  auto body = parse_settings_body(req.body, {"name", "protocols"});
  if (!body) return refuse(body.status());
  if (c.signed_in_seconds_ago > reauth) {
    MR_LOG_INFO("event=webmail.app_password_refused session={} account={} reason=reauth",
                c.session_id, c.account_id);
    auto r = http::Response::problem(403, "Forbidden", "sign in again to create an app password",
                                     "about:blank", "\"reauth\":true");
    r.set_header("Cache-Control", "no-store");
    return r;
  }
  if (!app_passwords_configured(s)) {
    return refuse(core::unavailable("app passwords are not configured"));
  }
  auto allowed = policy_allows_app_passwords(s, c.account_id);
  if (!allowed) return refuse(allowed.status());
  if (!*allowed) {
    MR_LOG_INFO("event=webmail.app_password_refused session={} account={} reason=policy",
                c.session_id, c.account_id);
    return refuse(core::Status::error(core::Code::permission_denied,
                                      "your account's policy does not allow app passwords"));
  }
  // The store logs event=auth.app_password_created, as for mailroomctl and the admin API.
  auto r = service::AppPasswords(*s.resolver, *s.app_passwords)
               .create(c.account_id, body->name.value_or(""),
                       body->protocols.value_or(std::vector<std::string>{}));
  if (!r) return refuse(r.status());
  auto v = json::parse(service::AppPasswords::public_json(r->record));
  v.as_object()["secret"] = r->secret;
  return answer(201, json::serialize(v));
}

http::Response app_password_revoke(core::Services& s, const SettingsCaller& c,
                                   const http::Request& req) {
  if (!app_passwords_configured(s)) {
    return refuse(core::unavailable("app passwords are not configured"));
  }
  // {id}: the app password's id (or name), looked up in the caller's account only. The store
  // logs event=auth.app_password_revoked reason=revoked_by_user; the account sweep closes
  // sessions that logged in with it.
  auto r = service::AppPasswords(*s.resolver, *s.app_passwords)
               .revoke(c.account_id, req.params.at(0), service::Actor::user);
  if (!r) return refuse(r.status());
  return answer(200, service::AppPasswords::public_json(*r));
}

}  // namespace mailroom::webmail
