#include "src/api/admin_routes.h"

#include <boost/json.hpp>

#include "src/api/admin_internal.h"
#include "src/core/address.h"

namespace mailroom::api {

namespace json = boost::json;
using service::Action;

namespace {

using AdminHandler = http::Response (*)(AdminCall&);

struct AdminRoute {
  AdminRouteSpec spec;
  AdminHandler handler;
};

// The whole admin API. Paths name objects by address/login/id; {user} is an account.
const std::vector<AdminRoute>& admin_table() {
  using S = ObjectScope;
  static const std::vector<AdminRoute> table = {
      {{"GET", "/api/v1/domains", Action::read, S::listing, "List the domains the caller sees"},
       admin_domains_list},
      {{"POST", "/api/v1/domains", Action::manage_domains, S::server, "Add a domain", true},
       admin_domain_add},
      {{"GET", "/api/v1/domains/{domain}", Action::read, S::domain, "Show a domain"},
       admin_domain_show},
      {{"PATCH", "/api/v1/domains/{domain}", Action::manage_domains, S::domain,
        "Change a domain (alias_of, catch_all)", true},
       admin_domain_change},
      {{"DELETE", "/api/v1/domains/{domain}", Action::manage_domains, S::domain,
        "Remove a domain (?force=true also removes its accounts, aliases and groups)", true},
       admin_domain_remove},

      {{"GET", "/api/v1/users", Action::read, S::listing,
        "List accounts (?domain=, ?offset=, ?limit=)"},
       admin_users_list},
      {{"POST", "/api/v1/users", Action::write, S::body, "Create an account", true},
       admin_user_add},
      {{"GET", "/api/v1/users/{user}", Action::read, S::user, "Show an account"}, admin_user_show},
      {{"PATCH", "/api/v1/users/{user}", Action::write, S::user,
        "Change an account (status, quotas, addresses, forwarding, send-as, login)", true},
       admin_user_change},
      {{"DELETE", "/api/v1/users/{user}", Action::write, S::user,
        "Remove an account (its mailbox stays on disk)", true},
       admin_user_remove},
      {{"PUT", "/api/v1/users/{user}/password", Action::reset_password, S::user,
        "Set the account's password", true},
       admin_user_password},
      {{"POST", "/api/v1/users/{user}/unlock", Action::unlock, S::user,
        "Clear the account's login lock-outs"},
       admin_user_unlock},
      {{"GET", "/api/v1/users/{user}/sessions", Action::read, S::user,
        "The account's open sessions"},
       admin_user_sessions},
      {{"DELETE", "/api/v1/users/{user}/sessions", Action::kick_session, S::user,
        "Close the account's open sessions"},
       admin_user_kick},
      {{"GET", "/api/v1/users/{user}/mailboxes", Action::read, S::user,
        "The account's folders with counts and sizes"},
       admin_user_mailboxes},
      {{"POST", "/api/v1/users/{user}/mailboxes", Action::write, S::user,
        "Create a folder (and its missing parents)"},
       admin_user_mailbox_create},
      {{"PATCH", "/api/v1/users/{user}/mailboxes/{mailbox...}", Action::write, S::user,
        "Rename a folder (its children follow)"},
       admin_user_mailbox_rename},
      {{"DELETE", "/api/v1/users/{user}/mailboxes/{mailbox...}", Action::write, S::user,
        "Delete a folder (?recursive=true with its children)"},
       admin_user_mailbox_delete},
      {{"GET", "/api/v1/users/{user}/quota", Action::read, S::user,
        "The account's quota limits and usage"},
       admin_user_quota},
      {{"GET", "/api/v1/users/{user}/export", Action::write, S::user,
        "Export mailboxes as mboxrd (?mailbox= repeated; all when absent)"},
       admin_user_export},
      {{"GET", "/api/v1/users/{user}/app-passwords", Action::read, S::user,
        "The account's app passwords"},
       admin_app_passwords_list},
      {{"POST", "/api/v1/users/{user}/app-passwords", Action::write, S::user,
        "Create an app password (the secret is in this response only)", true},
       admin_app_password_create},
      {{"DELETE", "/api/v1/users/{user}/app-passwords/{name}", Action::write, S::user,
        "Revoke an app password", true},
       admin_app_password_revoke},
      {{"GET", "/api/v1/users/{user}/personal-lists", Action::read, S::user,
        "The account's personal block list, allow list and their choices"},
       admin_personal_lists_show},
      {{"PATCH", "/api/v1/users/{user}/personal-lists", Action::write, S::user,
        "Where blocked mail (discard, junk) and ads (inbox, folder) go"},
       admin_personal_lists_change},
      {{"POST", "/api/v1/users/{user}/personal-lists/{list}", Action::write, S::user,
        "Add a sender or domain to the blocklist or allowlist"},
       admin_personal_list_add},
      {{"DELETE", "/api/v1/users/{user}/personal-lists/{list}/{entry}", Action::write, S::user,
        "Remove a sender or domain from the blocklist or allowlist"},
       admin_personal_list_remove},

      {{"GET", "/api/v1/aliases", Action::read, S::listing, "List aliases (?domain=)"},
       admin_aliases_list},
      {{"POST", "/api/v1/aliases", Action::write, S::body, "Create an alias", true},
       admin_alias_add},
      {{"GET", "/api/v1/aliases/{address}", Action::read, S::address, "Show an alias"},
       admin_alias_show},
      {{"PUT", "/api/v1/aliases/{address}", Action::write, S::address, "Replace an alias's targets",
        true},
       admin_alias_change},
      {{"DELETE", "/api/v1/aliases/{address}", Action::write, S::address, "Remove an alias", true},
       admin_alias_remove},

      {{"GET", "/api/v1/groups", Action::read, S::listing, "List groups (?domain=)"},
       admin_groups_list},
      {{"POST", "/api/v1/groups", Action::write, S::body, "Create a group", true}, admin_group_add},
      {{"GET", "/api/v1/groups/{address}", Action::read, S::address, "Show a group"},
       admin_group_show},
      {{"PATCH", "/api/v1/groups/{address}", Action::write, S::address,
        "Change a group (display_name, send_policy, allowed_senders)", true},
       admin_group_change},
      {{"DELETE", "/api/v1/groups/{address}", Action::write, S::address, "Remove a group", true},
       admin_group_remove},
      {{"POST", "/api/v1/groups/{address}/members", Action::write, S::address, "Add a member",
        true},
       admin_group_member_add},
      {{"DELETE", "/api/v1/groups/{address}/members/{member}", Action::write, S::address,
        "Remove a member", true},
       admin_group_member_remove},

      {{"GET", "/api/v1/policies", Action::manage_server, S::server,
        "Policy bundles by directory group (issue 22)"},
       admin_policies_list},
      {{"POST", "/api/v1/policies", Action::manage_server, S::server,
        "Define a policy bundle (name, description, priority, quota_bytes, quota_messages, "
        "max_message_bytes, send_outside, receive_outside, pop3, retention_seconds, "
        "login_methods)",
        true},
       admin_policy_add},
      {{"GET", "/api/v1/policies/{name}", Action::manage_server, S::server,
        "Show a bundle and whom it is assigned to"},
       admin_policy_show},
      {{"PATCH", "/api/v1/policies/{name}", Action::manage_server, S::server,
        "Change a bundle (a member set to null is no longer set by it); applies at once", true},
       admin_policy_change},
      {{"DELETE", "/api/v1/policies/{name}", Action::manage_server, S::server,
        "Remove a bundle (?force=true also when assigned)", true},
       admin_policy_remove},
      {{"POST", "/api/v1/policies/{name}/assignments", Action::manage_server, S::server,
        "Assign a bundle (scope: group, user, domain or everyone; target: the group, user or "
        "domain)",
        true},
       admin_policy_assign},
      {{"DELETE", "/api/v1/policies/{name}/assignments", Action::manage_server, S::server,
        "Remove an assignment (?scope=, ?target=)", true},
       admin_policy_unassign},

      {{"GET", "/api/v1/conflicts", Action::read, S::listing,
        "Addresses that are both an account and an alias or group (the account wins)"},
       admin_conflicts},
      {{"GET", "/api/v1/sessions", Action::read, S::listing,
        "Open authenticated sessions (?domain=)"},
       admin_sessions_list},
      {{"GET", "/api/v1/delivery-log", Action::audit, S::listing,
        "Search the delivery log (message_id, queue_id, sender, recipient, domain, "
        "subject_prefix, since, until, limit)"},
       admin_delivery_log},
      {{"GET", "/api/v1/queue", Action::audit, S::listing, "Messages still in the spool"},
       admin_queue_list},
      {{"POST", "/api/v1/queue/{action}", Action::manage_server, S::server,
        "flush (all or ?id=), hold, release or delete (?id=) a queued message"},
       admin_queue_action},
      {{"GET", "/api/v1/quarantine", Action::audit, S::listing,
        "Messages a content scanner quarantined, oldest first"},
       admin_quarantine_list},
      {{"GET", "/api/v1/quarantine/{id}", Action::audit, S::listing,
        "A quarantined message: envelope, scanner, reason and header block"},
       admin_quarantine_show},
      {{"GET", "/api/v1/quarantine/{id}/message", Action::manage_server, S::server,
        "The quarantined message itself (message/rfc822)"},
       admin_quarantine_message},
      {{"POST", "/api/v1/quarantine/{id}/release", Action::manage_server, S::server,
        "Deliver a quarantined message to its recipients"},
       admin_quarantine_release},
      {{"DELETE", "/api/v1/quarantine/{id}", Action::manage_server, S::server,
        "Remove a quarantined message"},
       admin_quarantine_delete},
      {{"GET", "/api/v1/blocklist", Action::manage_server, S::server, "The block list"},
       admin_blocklist_list},
      {{"POST", "/api/v1/blocklist", Action::manage_server, S::server,
        "Block an IP/CIDR, sender or domain", true},
       admin_blocklist_add},
      {{"DELETE", "/api/v1/blocklist/{kind}/{value}", Action::manage_server, S::server, "Unblock",
        true},
       admin_blocklist_remove},
      {{"GET", "/api/v1/journal", Action::audit, S::listing,
        "Changes made through the API, SCIM and mailroomctl (since, until, who, object, "
        "operation, front_end, limit), newest first"},
       admin_journal_list},
      {{"GET", "/api/v1/journal/{change_set}", Action::audit, S::listing,
        "The records of one change set"},
       admin_journal_show},
      {{"POST", "/api/v1/journal/{change_set}/revert", Action::manage_server, S::server,
        "Revert a change set where possible (refused, changing nothing, when something changed "
        "since)",
        true},
       admin_journal_revert},
      {{"GET", "/api/v1/recall/messages", Action::audit, S::listing,
        "Mail recall search with each copy's evidence (reason required; message_id, queue_id, "
        "sender, recipient, sender_domain, recipient_domain, subject_prefix, subject_contains, "
        "group, since, until, limit, format=csv)"},
       admin_recall_find},
      {{"POST", "/api/v1/recalls", Action::recall, S::listing,
        "Recall messages (message_ids, queue_ids, reason, dry_run): every copy in the caller's "
        "domains goes to the users' recall areas; queued copies are stopped",
        true},
       admin_recall_create},
      {{"GET", "/api/v1/recalls", Action::audit, S::listing,
        "Recalls, newest first (a scoped caller sees its own)"},
       admin_recalls_list},
      {{"GET", "/api/v1/recalls/{recall_id}", Action::audit, S::listing,
        "A recall's per-copy report (format=csv)"},
       admin_recall_show},
      {{"POST", "/api/v1/recalls/{recall_id}/undo", Action::recall, S::listing,
        "Put back every copy a recall took (reason)"},
       admin_recall_undo},
      {{"GET", "/api/v1/recall/audit", Action::audit, S::listing,
        "The append-only audit trail of recall searches and recalls (actor, action, text, since, "
        "until, limit)"},
       admin_recall_audit},
      {{"GET", "/api/v1/directory/sync", Action::manage_server, S::server, "Directory sync status"},
       admin_sync_status},
      {{"POST", "/api/v1/directory/sync", Action::manage_server, S::server,
        "Run a directory sync now (?dry_run=true: report only)", true},
       admin_sync_run},
  };
  return table;
}

http::Response admin_not_found() {
  return http::Response::problem(404, "Not Found", "no such object");
}

http::Response admin_forbidden(Action action) {
  return http::Response::problem(
      403, "Forbidden",
      std::string("your role does not allow ") + service::action_name(action) + " here");
}

// Runs one admin route: authenticate, find the object's domain, check scope, call.
http::Response admin_dispatch(const AdminRoute& route, Context& ctx, http::Request& req) {
  auto caller = ctx.authenticate(req, "api");
  if (!caller) return caller.error_response();
  AdminCall call{req, *caller, ctx, route.spec.action, {}, std::nullopt, false, {}, {}};
  if (auto dry = req.query_param("dry_run")) {
    if (*dry != "true" && *dry != "false" && *dry != "1" && *dry != "0") {
      return admin_bad_request("dry_run must be true or false");
    }
    call.dry_run = *dry == "true" || *dry == "1";
    if (call.dry_run && !route.spec.dry_run) {
      return admin_bad_request("this endpoint has no dry run");
    }
  }
  switch (route.spec.scope) {
    case ObjectScope::server:
      call.domain = "";
      break;
    case ObjectScope::domain:
      call.domain = core::ascii_lower(req.params.at(0));
      break;
    case ObjectScope::address:
      call.domain = admin_domain_of(req.params.at(0));
      break;
    case ObjectScope::user: {
      auto account = admin_find_account(ctx, req.params.at(0));
      if (!account) {
        if (account.code() == core::Code::not_found) return admin_not_found();
        return problem_from_status(account.status());
      }
      call.domain = admin_domain_of(account->address);
      call.account = std::move(*account);
      break;
    }
    case ObjectScope::listing: {
      // A listing shows the caller's domains; one that names a domain is checked like an
      // object of that domain.
      if (auto d = req.query_param("domain"); d && !d->empty()) {
        if (auto refused = call.authorize(core::ascii_lower(*d))) return *refused;
        return route.handler(call);
      }
      // Allowed when the role allows the action in at least one domain, or to some group's
      // members (the handler filters to what the caller may see: a grant limited to members
      // sees no domain object).
      if (!call.caller.can_anywhere(route.spec.action)) return admin_forbidden(route.spec.action);
      return route.handler(call);
    }
    case ObjectScope::body:
      return route.handler(call);  // the handler authorizes the domain of the new object
  }
  if (auto refused = call.authorize(call.domain)) return *refused;
  return route.handler(call);
}

}  // namespace

service::ChangeContext AdminCall::change() {
  if (change_set.empty()) change_set = service::ChangeJournal::new_change_set_id();
  return service::ChangeContext{&caller, ctx.journal.get(), dry_run, change_set, &changes};
}

http::Response admin_write_done(AdminCall& c, int status, const json::value& result) {
  if (!c.dry_run) {
    if (status == 204) {
      http::Response r;
      r.status = 204;
      return r;
    }
    return admin_json(status, result);
  }
  json::array changes;
  for (const auto& ch : c.changes) {
    boost::system::error_code ec;
    auto before = json::parse(ch.before, ec);
    if (ec) before = nullptr;
    auto after = json::parse(ch.after, ec);
    if (ec) after = nullptr;
    changes.push_back(json::object{
        {"operation", ch.operation}, {"object", ch.object}, {"before", before}, {"after", after}});
  }
  return admin_json(
      200, json::object{{"dry_run", true}, {"result", result}, {"changes", std::move(changes)}});
}

std::optional<http::Response> AdminCall::authorize(std::string_view d) const {
  if (!caller.can_see(d)) return admin_not_found();
  if (!caller.can(action, d)) return admin_forbidden(action);
  return std::nullopt;
}

std::string admin_domain_of(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  return core::ascii_lower(address.substr(at + 1));
}

core::Result<auth::Account> admin_find_account(Context& ctx, const std::string& name) {
  auto& dir = *ctx.services->directory;
  std::string lower = core::ascii_lower(name);
  if (lower.find('@') != std::string::npos) {
    auto a = dir.find_account_by_address(lower);
    if (a || a.code() != core::Code::not_found) return a;
  }
  auto a = dir.find_account_by_login(lower);
  if (a || a.code() != core::Code::not_found) return a;
  a = dir.find_account_by_id(name);
  if (a || a.code() != core::Code::not_found) return a;
  return core::not_found("user " + name + " not found");
}

http::Response admin_bad_request(std::string_view detail) {
  return http::Response::problem(400, "Bad Request", detail);
}

http::Response admin_json(int status, const json::value& v) {
  auto r = http::Response::json(status, json::serialize(v));
  r.set_header("Cache-Control", "no-store");
  return r;
}

std::optional<http::Response> admin_parse_object(const http::Request& request, json::object& out,
                                                 std::initializer_list<std::string_view> allowed) {
  auto type = request.header("content-type").value_or("");
  auto semi = type.find(';');
  std::string media = core::ascii_lower(std::string_view(type).substr(0, semi));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  if (media != "application/json" && !(media.size() > 5 && media.ends_with("+json"))) {
    return http::Response::problem(415, "Unsupported Media Type",
                                   "send the body as application/json");
  }
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 16;
  auto v = json::parse(request.body, ec, {}, options);
  if (ec) return admin_bad_request("the body is not valid JSON: " + ec.message());
  if (!v.is_object()) return admin_bad_request("the body must be a JSON object");
  out = std::move(v.as_object());
  for (const auto& member : out) {
    bool known = false;
    for (auto name : allowed) known = known || member.key() == name;
    if (!known) return admin_bad_request("unknown member \"" + std::string(member.key()) + "\"");
  }
  return std::nullopt;
}

const std::vector<AdminRouteSpec>& admin_route_specs() {
  static const std::vector<AdminRouteSpec> specs = [] {
    std::vector<AdminRouteSpec> out;
    for (const auto& r : admin_table()) out.push_back(r.spec);
    return out;
  }();
  return specs;
}

void add_admin_routes(http::Router& router, std::shared_ptr<Context> ctx) {
  for (const auto& route : admin_table()) {
    const AdminRoute* r = &route;
    router.add(route.spec.method, route.spec.pattern,
               [r, ctx](http::Request& req) { return admin_dispatch(*r, *ctx, req); });
  }
  // Not an admin route: the sender authenticates as themselves (admin_recall.cpp).
  router.add("POST", "/api/v1/self/recall",
             [ctx](http::Request& req) { return self_recall(*ctx, req); });
}

}  // namespace mailroom::api
