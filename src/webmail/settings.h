// The web client's settings screens (issue 19): a signed-in user's own personal block and allow
// lists with their choices, and app passwords. Routes under /webmail/api/, answered for the
// account of the session cookie only (no user in the URL: another account's lists or app
// passwords cannot be named), on the same service objects as mailroomctl and the admin API
// (service::PersonalListsService, service::AppPasswords), so validation and limits are theirs.
//
//   GET    /webmail/api/personal-lists                   {"ads","blocked","blocklist","allowlist"}
//   PATCH  /webmail/api/personal-lists {"ads":"inbox|folder","blocked":"discard|junk"} POST
//   /webmail/api/personal-lists/{list}            {"entry":"spam@bad.example"}  201 DELETE
//   /webmail/api/personal-lists/{list}/{entry}    list: blocklist | allowlist GET
//   /webmail/api/app-passwords                    {"items":[...],"max":20,"reauth":bool} POST
//   /webmail/api/app-passwords                    {"name","protocols"}: 201, with "secret" DELETE
//   /webmail/api/app-passwords/{id}
//
// Why not a JMAP capability: these are not mail objects with states and /changes, and the
// admin API's shapes and errors (problem details) can be reused as they are; the routes sit
// behind the same cookie + CSRF checks as every other state-changing web client request
// (webmail.cpp does those before calling in here).
//
// Creating an app password needs a recent sign-in (Options::app_password_reauth, 10 minutes
// by default): a forgotten open browser must not mint a password for another device. A
// re-typed password would not do: SSO-only accounts, who need app passwords most, have none.
// Answers 403 {"reauth":true} past it; the client offers to sign in again.
//
// The account's policy is respected: when its bundles leave out the login method
// "app-password", creating one answers 403 ("allowed": false in the list). An SSO-only policy
// (login methods ["sso","app-password"]) is the case app passwords exist for.
//
// Threading: blocks (directory, disk, SQLite): called on the worker pool.
#pragma once

#include <cstdint>
#include <string>

#include "src/http/http.h"

namespace mailroom::core {
struct Services;
}

namespace mailroom::webmail {

// Who asks: the session's account, and how long ago that session signed in.
struct SettingsCaller {
  std::string account_id;
  int64_t signed_in_seconds_ago = 0;
  std::string session_id;  // the HTTP session, for log lines
};

http::Response personal_lists_show(core::Services& s, const SettingsCaller& c);
http::Response personal_lists_options(core::Services& s, const SettingsCaller& c,
                                      const http::Request& req);
http::Response personal_list_add(core::Services& s, const SettingsCaller& c,
                                 const http::Request& req);
http::Response personal_list_remove(core::Services& s, const SettingsCaller& c,
                                    const http::Request& req);

http::Response app_passwords_list(core::Services& s, const SettingsCaller& c, int64_t reauth);
http::Response app_password_create(core::Services& s, const SettingsCaller& c,
                                   const http::Request& req, int64_t reauth);
http::Response app_password_revoke(core::Services& s, const SettingsCaller& c,
                                   const http::Request& req);

}  // namespace mailroom::webmail
