#include "src/service/offboarding.h"

#include "auth/local/local_directory.h"
#include "auth/sync/account_policy.h"
#include "src/core/clock.h"
#include "src/service/users.h"

namespace mailroom::service {
namespace {

std::string date(int64_t t) { return core::rfc3339_utc(t); }

std::string days(int64_t s) { return std::to_string(s / 86400) + "d"; }

}  // namespace

OffboardingReport::OffboardingReport(auth::OffboardingOptions options, RetentionSetting retention,
                                     auth::LocalDirectory& replica)
    : options_(std::move(options)), retention_(std::move(retention)), replica_(replica) {
  // Non-owning: the report does not outlive `replica` (its contract).
  std::shared_ptr<auth::LocalDirectory> ref(std::shared_ptr<void>(), &replica_);
  offboarding_ = std::make_shared<auth::Offboarding>(options_, ref, ref);
}

core::Result<OffboardingView> OffboardingReport::plan(const std::string& user, int64_t now) {
  auto r = Users(replica_).show(user);
  if (!r) return r.status();
  return view(r->account, now);
}

core::Result<std::vector<OffboardingView>> OffboardingReport::status(int64_t now) {
  auto accounts = replica_.list_accounts();
  if (!accounts) return accounts.status();
  std::vector<OffboardingView> out;
  for (const auto& a : *accounts) {
    if (a.status != auth::AccountStatus::disabled) continue;
    auto full = replica_.find_account_by_id(a.id);  // list rows may leave fields out
    if (!full) return full.status();
    auto v = view(*full, now);
    if (!v) return v.status();
    if (v->offboarded) out.push_back(std::move(*v));
  }
  return out;
}

core::Result<OffboardingView> OffboardingReport::view(const auth::Account& account, int64_t now) {
  OffboardingView v;
  v.account_id = account.id;
  v.address = account.address;
  v.status = auth::account_status_name(account.status);
  auto state = offboarding_->state(account, now);
  if (!state) return state.status();
  // Not in the workflow: what would happen if the directory disabled the account now.
  auth::OffboardingState st = *state;
  if (!st.offboarded) {
    auth::Account as_disabled = account;
    as_disabled.status = auth::AccountStatus::disabled;
    st = auth::decide_offboarding(options_, as_disabled, now, now);
  } else {
    v.offboarded = true;
    v.since = st.since;
  }
  const bool in = v.offboarded;
  auto add = [&](const char* step, std::string state_name, std::string detail) {
    v.steps.push_back({step, std::move(state_name), std::move(detail)});
  };
  if (!options_.enabled) {
    add("workflow", "off",
        "[offboarding] enabled = false: mail to a disabled account follows "
        "[auth] disabled_recipients; only sessions and app passwords end");
  }
  add("sessions", in ? "done" : "planned",
      "open sessions closed and app passwords revoked by the account sweep when the sync brings "
      "the disabled status (events session_revoked, auth.app_password_revoked)");
  if (!options_.enabled) return v;
  if (options_.auto_reply_s == 0) {
    add("auto_reply", "off", "auto_reply_days = 0");
  } else {
    std::string detail = "Sieve vacation \"" + options_.reply_subject + "\" until " +
                         date(st.auto_reply_until) + ", once per sender per " +
                         days(options_.reply_interval_s) +
                         (options_.contact.empty() ? std::string(", no contact named")
                                                   : ", naming " + options_.contact) +
                         "; never to lists, bulk or auto-submitted mail (RFC 3834)";
    add("auto_reply", !in ? "planned" : st.auto_reply ? "active" : "ended", detail);
  }
  if (!options_.forward_to_manager) {
    add("forward", "off", "forward = \"none\": new mail stays in the mailbox only");
  } else {
    std::string until = st.forward_until ? "until " + date(st.forward_until)
                                         : std::string("until the account is removed");
    auto manager = offboarding_->manager_of(account);
    if (manager) {
      add("forward",
          !in          ? "planned"
          : st.forward ? "active"
                       : "ended",
          "new mail forwarded to the manager " + manager->address + " (id " + manager->id + ") " +
              until + "; a copy stays in the mailbox");
    } else if (manager.code() == core::Code::not_found) {
      add("forward", "failed",
          manager.status().client_message() + ": new mail stays in the mailbox only");
    } else {
      add("forward", "failed",
          "the manager cannot be looked up now (" + manager.status().client_message() +
              "): SMTP answers 451 until it can");
    }
  }
  add("mailbox", in ? "active" : "planned",
      "new mail is delivered to the mailbox (held; nobody can log in to read it); a re-hire "
      "(the same id enabled again) finds it there and ends the auto-reply and forwarding");
  if (retention_.action == "keep" || retention_.retention_s == 0) {
    add("retention", "off",
        "[directory] retention_action = \"" + retention_.action +
            "\", retention = " + days(retention_.retention_s) + ": the mailbox is kept");
  } else {
    const int64_t start = in ? st.since : now;
    add("retention", in && now >= start + retention_.retention_s ? "due" : "planned",
        retention_.action + " after " + days(retention_.retention_s) + ", due " +
            date(start + retention_.retention_s) +
            " (a policy bundle may set another retention; `mailroomctl directory retention`)");
  }
  return v;
}

}  // namespace mailroom::service
