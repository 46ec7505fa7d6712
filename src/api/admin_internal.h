// Inside the admin API (admin_routes.cpp, admin_directory.cpp, admin_ops.cpp): what a handler
// is given after the wrapper authenticated the caller and checked the scope.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/directory.h"
#include "src/api/context.h"
#include "src/http/http.h"
#include "src/service/journal.h"

namespace boost::json {
class object;
class value;
}  // namespace boost::json

namespace mailroom::api {

struct AdminCall {
  http::Request& request;
  service::Caller& caller;
  Context& ctx;
  service::Action action;
  std::string domain;                    // of the object (ObjectScope user/domain/address)
  std::optional<auth::Account> account;  // ObjectScope::user: the account named in the path
  bool dry_run = false;
  std::string change_set;                      // one per request
  std::vector<service::ChangeRecord> changes;  // what the request changed (or would)

  // For the service objects: this caller, the journal, dry run, this request's change set.
  service::ChangeContext change();

  // ObjectScope::body and listings: 404 when the caller cannot see `domain`, 403 when it may
  // not do the route's action there; nullopt when allowed.
  std::optional<http::Response> authorize(std::string_view domain) const;
  // Whether the caller sees objects of this domain (listings filter with it).
  bool sees(std::string_view domain) const { return caller.can_see(domain); }
};

// Lower-case domain of an address ("" when none).
std::string admin_domain_of(std::string_view address);
// Finds an account by address, login or immutable id (as mailroomctl does).
core::Result<auth::Account> admin_find_account(Context& ctx, const std::string& name);

// ?since= / ?until=: Unix seconds (0 when absent); a malformed value sets `error`.
int64_t admin_time_param(const http::Request& req, const char* name, std::string& error);
// 400 problem naming the member.
http::Response admin_bad_request(std::string_view detail);
// The request body as a JSON object whose members are all in `allowed` (415 for another
// media type, 400 for malformed JSON, not an object, or an unknown member).
std::optional<http::Response> admin_parse_object(const http::Request& request,
                                                 boost::json::object& out,
                                                 std::initializer_list<std::string_view> allowed);
// The answer of a write: `result` with `status`, or for a dry run 200 with
// {"dry_run":true,"result":...,"changes":[{operation, object, before, after}...]}.
http::Response admin_write_done(AdminCall& c, int status, const boost::json::value& result);
// JSON responses.
http::Response admin_json(int status, const boost::json::value& v);

// Handlers (admin_policies.cpp): policy bundles (issue 22, G6).
http::Response admin_policies_list(AdminCall& c);
http::Response admin_policy_add(AdminCall& c);
http::Response admin_policy_show(AdminCall& c);
http::Response admin_policy_change(AdminCall& c);
http::Response admin_policy_remove(AdminCall& c);
http::Response admin_policy_assign(AdminCall& c);
http::Response admin_policy_unassign(AdminCall& c);
// Handlers (admin_directory.cpp).
http::Response admin_domains_list(AdminCall& c);
http::Response admin_domain_add(AdminCall& c);
http::Response admin_domain_show(AdminCall& c);
http::Response admin_domain_change(AdminCall& c);
http::Response admin_domain_remove(AdminCall& c);
http::Response admin_users_list(AdminCall& c);
http::Response admin_user_add(AdminCall& c);
http::Response admin_user_show(AdminCall& c);
http::Response admin_user_change(AdminCall& c);
http::Response admin_user_remove(AdminCall& c);
http::Response admin_user_password(AdminCall& c);
http::Response admin_user_unlock(AdminCall& c);
http::Response admin_aliases_list(AdminCall& c);
http::Response admin_alias_add(AdminCall& c);
http::Response admin_alias_show(AdminCall& c);
http::Response admin_alias_change(AdminCall& c);
http::Response admin_alias_remove(AdminCall& c);
http::Response admin_groups_list(AdminCall& c);
http::Response admin_group_add(AdminCall& c);
http::Response admin_group_show(AdminCall& c);
http::Response admin_group_change(AdminCall& c);
http::Response admin_group_remove(AdminCall& c);
http::Response admin_group_member_add(AdminCall& c);
http::Response admin_group_member_remove(AdminCall& c);
http::Response admin_app_passwords_list(AdminCall& c);
// admin_personal_lists.cpp
http::Response admin_personal_lists_show(AdminCall& c);
http::Response admin_personal_lists_change(AdminCall& c);
http::Response admin_personal_list_add(AdminCall& c);
http::Response admin_personal_list_remove(AdminCall& c);
http::Response admin_app_password_create(AdminCall& c);
http::Response admin_app_password_revoke(AdminCall& c);

// Handlers (admin_ops.cpp).
http::Response admin_user_sessions(AdminCall& c);
http::Response admin_user_kick(AdminCall& c);
http::Response admin_sessions_list(AdminCall& c);
http::Response admin_user_mailboxes(AdminCall& c);
http::Response admin_user_quota(AdminCall& c);
http::Response admin_user_mailbox_create(AdminCall& c);
http::Response admin_user_mailbox_rename(AdminCall& c);
http::Response admin_user_mailbox_delete(AdminCall& c);
http::Response admin_conflicts(AdminCall& c);
http::Response admin_user_export(AdminCall& c);
http::Response admin_blocklist_list(AdminCall& c);
http::Response admin_blocklist_add(AdminCall& c);
http::Response admin_blocklist_remove(AdminCall& c);
http::Response admin_queue_list(AdminCall& c);
http::Response admin_queue_action(AdminCall& c);
http::Response admin_delivery_log(AdminCall& c);
http::Response admin_sync_status(AdminCall& c);
http::Response admin_sync_run(AdminCall& c);
http::Response admin_journal_list(AdminCall& c);
http::Response admin_journal_show(AdminCall& c);
http::Response admin_journal_revert(AdminCall& c);

// Handlers (admin_quarantine.cpp).
http::Response admin_quarantine_list(AdminCall& c);
http::Response admin_quarantine_show(AdminCall& c);
http::Response admin_quarantine_message(AdminCall& c);
http::Response admin_quarantine_release(AdminCall& c);
http::Response admin_quarantine_delete(AdminCall& c);

// Handlers (admin_recall.cpp): mail recall.
http::Response admin_recall_find(AdminCall& c);
http::Response admin_recall_create(AdminCall& c);
http::Response admin_recalls_list(AdminCall& c);
http::Response admin_recall_show(AdminCall& c);
http::Response admin_recall_undo(AdminCall& c);
http::Response admin_recall_audit(AdminCall& c);
// POST /api/v1/self/recall: the sender's own HTTP Basic credentials, not an admin caller.
http::Response self_recall(Context& ctx, http::Request& request);

}  // namespace mailroom::api
