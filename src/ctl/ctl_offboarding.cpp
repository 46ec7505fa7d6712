// mailroomctl offboarding plan|status (service::OffboardingReport; auth/offboarding.h).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "auth/offboarding.h"
#include "auth/policy/policy_directory.h"
#include "src/core/clock.h"
#include "src/ctl/ctl_support.h"
#include "src/service/offboarding.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using namespace detail;

json::object view_json(const service::OffboardingView& v) {
  json::array steps;
  for (const auto& s : v.steps) {
    steps.push_back(json::object{{"step", s.step}, {"state", s.state}, {"detail", s.detail}});
  }
  json::object o{{"account_id", v.account_id},
                 {"address", v.address},
                 {"status", v.status},
                 {"offboarded", v.offboarded},
                 {"steps", steps}};
  if (v.offboarded) o["since"] = iso_time(v.since);
  return o;
}

std::string view_text(const service::OffboardingView& v) {
  std::string text = v.address + " (id " + v.account_id + ", " + v.status + ")";
  text += v.offboarded ? ", offboarded since " + iso_time(v.since)
                       : ", not offboarded: what would happen if the directory disabled it now";
  for (const auto& s : v.steps) text += "\n  " + s.step + " [" + s.state + "]: " + s.detail;
  return text;
}

// The report over directory.db (the embedded directory, or the LDAP / SQL replica).
std::optional<service::OffboardingReport> report(Context& ctx, int* ec) {
  core::Services* s = ctx.services();
  if (!s || !s->policies || !ctx.offboarding_options) {
    *ec = kSystemError;
    return std::nullopt;
  }
  return service::OffboardingReport(*ctx.offboarding_options,
                                    {ctx.retention_s, ctx.retention_action}, s->policies->store());
}

}  // namespace

void register_offboarding_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* group = app.add_subcommand("offboarding", "Departed users: what the workflow does")
                    ->require_subcommand(1);
  auto user = std::make_shared<std::string>();
  auto* plan = group->add_subcommand(
      "plan", "What the workflow does (or would do if disabled now) for a user; changes nothing");
  plan->add_option("user", *user, "Address, login or id")->required();
  plan->add_flag("--dry-run", ctx.dry_run, "Accepted for symmetry: plan never changes anything");
  plan->callback([&ctx, ec, user] {
    auto r = report(ctx, ec);
    if (!r) return;
    auto v = r->plan(*user, core::real_clock().unix_seconds());
    if (!v) {
      *ec = ctx.fail(v.status());
      return;
    }
    ctx.print(view_text(*v), json::serialize(view_json(*v)));
    *ec = kOk;
  });
  auto* status = group->add_subcommand("status", "Every offboarded account and its steps");
  status->callback([&ctx, ec] {
    auto r = report(ctx, ec);
    if (!r) return;
    auto all = r->status(core::real_clock().unix_seconds());
    if (!all) {
      *ec = ctx.fail(all.status());
      return;
    }
    json::array arr;
    std::string text;
    for (const auto& v : *all) {
      arr.push_back(view_json(v));
      text += view_text(v) + "\n";
    }
    if (text.empty()) {
      text = "no offboarded accounts";
    } else {
      text.pop_back();
    }
    ctx.print(text, json::serialize(arr));
    *ec = kOk;
  });
}

}  // namespace mailroom::ctl
