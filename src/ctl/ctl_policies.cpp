// mailroomctl policy ... (service::Policies): bundles by directory group (issue 22, G6).
// They live in directory.db — the local directory or the LDAP / SQL replica — so these
// commands work whatever the directory backend.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "auth/policy/policy_directory.h"
#include "src/ctl/ctl_support.h"
#include "src/service/policies.h"
#include "src/service/users.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using auth::LocalDirectory;
using core::Status;
using namespace detail;

struct PolicyOpts {
  std::string name, description, target, quota_bytes, quota_messages, max_message_size,
      send_outside, receive_outside, pop3, retention;
  std::vector<std::string> login_methods, unset;
  int priority = 0;
  bool force = false, group = false, user = false, domain = false, everyone = false;
};

// directory.db, whatever the backend (bundles are never synced from upstream).
void run_policies(Context& ctx, int* ec, const std::function<int(LocalDirectory&)>& body) {
  core::Services* s = ctx.services();
  if (!s || !s->policies) {
    *ec = kSystemError;
    return;
  }
  *ec = body(s->policies->store());
}

// "90d", "12h", "30m", "45s", "3600", "0" (forever).
core::Result<int64_t> parse_policy_duration(const std::string& text, const std::string& what) {
  if (text.empty()) return core::invalid_argument(what + ": empty");
  int64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 'd':
      unit = 86400;
      digits.pop_back();
      break;
    case 'h':
      unit = 3600;
      digits.pop_back();
      break;
    case 'm':
      unit = 60;
      digits.pop_back();
      break;
    case 's':
      digits.pop_back();
      break;
    default:
      break;
  }
  if (digits.empty() || digits.size() > 12 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return core::invalid_argument(what + ": '" + text + "' is not a duration (e.g. 90d, 12h)");
  return std::stoll(digits) * unit;
}

core::Result<bool> parse_policy_flag(const std::string& text, const std::string& what) {
  if (text == "yes" || text == "true" || text == "allow") return true;
  if (text == "no" || text == "false" || text == "deny") return false;
  return core::invalid_argument(what + ": '" + text + "' is not yes or no");
}

// The value options given on the command line.
Status parse_policy_values(const PolicyOpts& o, auth::PolicyValues* v) {
  auto size = [&](const std::string& text, const char* what, std::optional<uint64_t>* out) {
    if (text.empty()) return Status::ok();
    auto s = service::parse_size(text, what);
    if (!s) return s.status();
    *out = *s;
    return Status::ok();
  };
  auto flag = [&](const std::string& text, const char* what, std::optional<bool>* out) {
    if (text.empty()) return Status::ok();
    auto b = parse_policy_flag(text, what);
    if (!b) return b.status();
    *out = *b;
    return Status::ok();
  };
  for (auto st : {size(o.quota_bytes, "--quota-bytes", &v->quota_bytes),
                  size(o.quota_messages, "--quota-messages", &v->quota_messages),
                  size(o.max_message_size, "--max-message-size", &v->max_message_bytes),
                  flag(o.send_outside, "--send-outside", &v->send_outside),
                  flag(o.receive_outside, "--receive-outside", &v->receive_outside),
                  flag(o.pop3, "--pop3", &v->pop3)})
    if (!st) return st;
  if (!o.retention.empty()) {
    auto r = parse_policy_duration(o.retention, "--retention");
    if (!r) return r.status();
    v->retention_seconds = *r;
  }
  if (!o.login_methods.empty()) {
    std::vector<std::string> methods;
    for (const auto& m : o.login_methods) {
      if (m == "none") continue;  // "--login-method none": no login at all
      auto p = auth::parse_login_method(m);
      if (!p) return core::invalid_argument("--login-method: " + p.status().client_message());
      methods.push_back(*p);
    }
    v->login_methods = methods;
  }
  return Status::ok();
}

void add_policy_value_options(CLI::App* cmd, PolicyOpts* o) {
  cmd->add_option("--quota-bytes", o->quota_bytes, "Mailbox quota, e.g. 1G (0 = unlimited)");
  cmd->add_option("--quota-messages", o->quota_messages, "Message count quota (0 = unlimited)");
  cmd->add_option("--max-message-size", o->max_message_size,
                  "Largest message sent or received, e.g. 25M (0 = unlimited)");
  cmd->add_option("--send-outside", o->send_outside, "yes/no: may send to other domains");
  cmd->add_option("--receive-outside", o->receive_outside,
                  "yes/no: may receive mail from other domains");
  cmd->add_option("--pop3", o->pop3, "yes/no: may use POP3");
  cmd->add_option("--retention", o->retention,
                  "How long the mailbox is kept after the account goes, e.g. 90d (0 = forever)");
  cmd->add_option("--login-method", o->login_methods,
                  "Allowed: password, app-password, sso, kerberos, or none (repeat)");
  cmd->add_option("--priority", o->priority, "Higher wins among bundles of one scope");
  cmd->add_option("--description", o->description, "Free text");
}

core::Result<auth::PolicyScope> policy_scope_of(const PolicyOpts& o) {
  int n = o.group + o.user + o.domain + o.everyone;
  if (n != 1)
    return core::invalid_argument("give exactly one of --group, --user, --domain, --everyone");
  if (o.group) return auth::PolicyScope::group;
  if (o.user) return auth::PolicyScope::user;
  if (o.domain) return auth::PolicyScope::domain;
  return auth::PolicyScope::everyone;
}

void add_policy_target_options(CLI::App* cmd, PolicyOpts* o) {
  cmd->add_option("name", o->name, "Policy name")->required();
  cmd->add_option("target", o->target, "Group address or id, user address, or domain");
  cmd->add_flag("--group", o->group, "Target is a group (nested members included)");
  cmd->add_flag("--user", o->user, "Target is one account");
  cmd->add_flag("--domain", o->domain, "Target is a domain (its default)");
  cmd->add_flag("--everyone", o->everyone, "Every account (the installation's default)");
}

std::string policy_bundle_text(const auth::PolicyBundle& b) {
  return human(service::policy_json(b));
}

int show_policy(Context& ctx, LocalDirectory& d, const std::string& name) {
  auto v = service::Policies(d).show(name);
  if (!v) return ctx.fail(v.status());
  std::string text = policy_bundle_text(v->bundle) + "\nassigned to:";
  for (const auto& a : v->assignments) {
    const auth::PolicyAssignment& as = a.assignment;
    text += "\n  " + std::string(auth::policy_scope_name(as.scope));
    if (as.scope == auth::PolicyScope::everyone) continue;
    text += " " + (a.current.empty() ? as.label : a.current);
    if (a.current.empty())
      text += " (gone; id " + as.target + ")";
    else if (as.scope == auth::PolicyScope::group && a.current != as.label)
      text += " (was " + as.label + ")";
  }
  if (v->assignments.empty()) text += " nobody";
  return done(ctx, Status::ok(), text, service::policy_view_json(*v));
}

}  // namespace

namespace detail {
json::value effective_policy_for(LocalDirectory& d, const auth::Account& account,
                                 std::string* text) {
  auto e = service::effective_policy(d, account);
  if (!e) {
    if (text) *text += "\npolicy: cannot be read (" + e.status().client_message() + ")";
    return json::value(nullptr);
  }
  json::value j = service::effective_policy_json(*e);
  if (text) {
    for (const auto& [k, v] : j.as_object()) {
      if (k == "bundles") continue;
      const auto& o = v.as_object();
      const json::value& val = o.at("value");
      std::string shown;
      if (val.is_string()) {
        shown = std::string(val.as_string());
      } else if (val.is_array()) {
        for (const auto& m : val.as_array())
          shown += (shown.empty() ? "" : ",") + std::string(m.as_string());
      } else {
        shown = json::serialize(val);
      }
      *text += "\npolicy." + std::string(k) + ": " + shown + " (" +
               std::string(o.at("from").as_string()) + ")";
    }
  }
  return j;
}
}  // namespace detail

void register_policy_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* policy =
      app.add_subcommand("policy", "Policy bundles by directory group")->require_subcommand(1);
  auto o = std::make_shared<PolicyOpts>();

  auto* add = policy->add_subcommand("add", "Define a policy bundle");
  add->add_option("name", o->name, "Policy name")->required();
  add_policy_value_options(add, o.get());
  add->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  add->callback([&ctx, ec, o] {
    run_policies(ctx, ec, [&](LocalDirectory& d) {
      auth::PolicyBundle b;
      b.name = o->name;
      b.description = o->description;
      b.priority = o->priority;
      if (auto st = parse_policy_values(*o, &b.values); !st) return ctx.fail(st);
      auto r = service::Policies(d, change_context(ctx)).add(b);
      if (!r) return ctx.fail(r.status());
      return done(ctx, Status::ok(), "policy " + r->name + " added", service::policy_json(*r));
    });
  });

  auto* change = policy->add_subcommand("change", "Change a policy bundle (applies at once)");
  change->add_option("name", o->name, "Policy name")->required();
  add_policy_value_options(change, o.get());
  change->add_option("--unset", o->unset,
                     "Stop setting an attribute: quota_bytes, quota_messages, max_message_bytes, "
                     "send_outside, receive_outside, pop3, retention_seconds, login_methods");
  change->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  change->callback([&ctx, ec, o, change] {
    run_policies(ctx, ec, [&](LocalDirectory& d) {
      service::PolicyChange c;
      c.name = o->name;
      if (change->count("--description")) c.description = o->description;
      if (change->count("--priority")) c.priority = o->priority;
      c.unset = o->unset;
      if (auto st = parse_policy_values(*o, &c.values); !st) return ctx.fail(st);
      auto r = service::Policies(d, change_context(ctx)).change(c);
      if (!r) return ctx.fail(r.status());
      return done(ctx, Status::ok(), "policy " + r->name + " changed", service::policy_json(*r));
    });
  });

  auto* remove = policy->add_subcommand("remove", "Remove a policy bundle");
  remove->add_option("name", o->name, "Policy name")->required();
  remove->add_flag("--force", o->force, "Also when assigned (the assignments go with it)");
  remove->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  remove->callback([&ctx, ec, o] {
    run_policies(ctx, ec, [&](LocalDirectory& d) {
      auto st = service::Policies(d, change_context(ctx)).remove(o->name, o->force);
      return done(ctx, st, "policy " + o->name + " removed", json::object{{"removed", o->name}});
    });
  });

  auto* list = policy->add_subcommand("list", "List policy bundles");
  list->callback([&ctx, ec] {
    run_policies(ctx, ec, [&](LocalDirectory& d) {
      auto all = service::Policies(d).list();
      if (!all) return ctx.fail(all.status());
      json::array arr;
      std::string text;
      for (const auto& b : *all) {
        arr.push_back(service::policy_json(b));
        text += b.name + "\tpriority " + std::to_string(b.priority) + "\t" + b.description + "\n";
      }
      if (!text.empty()) text.pop_back();
      return done(ctx, Status::ok(), text, arr);
    });
  });

  auto* show = policy->add_subcommand("show", "Show a bundle and whom it is assigned to");
  show->add_option("name", o->name, "Policy name")->required();
  show->callback([&ctx, ec, o] {
    run_policies(ctx, ec, [&](LocalDirectory& d) { return show_policy(ctx, d, o->name); });
  });

  auto* assign = policy->add_subcommand("assign", "Assign a bundle to a group, user or domain");
  add_policy_target_options(assign, o.get());
  assign->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  assign->callback([&ctx, ec, o] {
    run_policies(ctx, ec, [&](LocalDirectory& d) {
      auto scope = policy_scope_of(*o);
      if (!scope) return ctx.fail(scope.status());
      auto a = service::Policies(d, change_context(ctx)).assign(o->name, *scope, o->target);
      if (!a) return ctx.fail(a.status());
      return done(ctx, Status::ok(),
                  "policy " + a->policy + " assigned to " + auth::policy_scope_name(a->scope) +
                      (a->scope == auth::PolicyScope::everyone ? "" : " " + a->label),
                  json::object{{"policy", a->policy},
                               {"scope", auth::policy_scope_name(a->scope)},
                               {"target", a->target},
                               {"label", a->label}});
    });
  });

  auto* unassign = policy->add_subcommand("unassign", "Remove an assignment");
  add_policy_target_options(unassign, o.get());
  unassign->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  unassign->callback([&ctx, ec, o] {
    run_policies(ctx, ec, [&](LocalDirectory& d) {
      auto scope = policy_scope_of(*o);
      if (!scope) return ctx.fail(scope.status());
      auto st = service::Policies(d, change_context(ctx)).unassign(o->name, *scope, o->target);
      return done(ctx, st, "policy " + o->name + " unassigned",
                  json::object{{"policy", o->name}, {"unassigned", o->target}});
    });
  });

  auto* effective = policy->add_subcommand(
      "effective", "An account's effective policy and where each value comes from");
  effective->add_option("target", o->target, "Address, login or id")->required();
  effective->callback([&ctx, ec, o] {
    run_policies(ctx, ec, [&](LocalDirectory& d) {
      auto r = service::Users(d).show(o->target);
      if (!r) return ctx.fail(r.status());
      std::string text = "user: " + r->account.address;
      json::value j = effective_policy_for(d, r->account, &text);
      return done(ctx, Status::ok(), text,
                  json::object{{"address", r->account.address}, {"effective_policy", j}});
    });
  });
}

}  // namespace mailroom::ctl
