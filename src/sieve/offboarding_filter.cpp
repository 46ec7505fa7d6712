#include "src/sieve/offboarding_filter.h"

#include "auth/offboarding.h"
#include "src/core/clock.h"
#include "src/core/log.h"
#include "src/sieve/delivery.h"

namespace mailroom::sieve {

queue::DeliveryPlan OffboardingFilter::plan(const queue::FilterInput& in) {
  auto account = directory_->find_account_by_id(in.account_id);
  if (!account || account->status != auth::AccountStatus::disabled) return sieve_->plan(in);
  auto state = offboarding_->state(*account, core::real_clock().unix_seconds());
  if (!state) {
    MR_LOG_WARN("event=offboarding_state_unreadable account={} error={}", in.account_id,
                core::quote(state.status().log_detail()));
    return sieve_->plan(in);
  }
  if (!state->auto_reply) return sieve_->plan(in);
  auto plan = sieve_->plan_with_script(
      in, "offboarding", auth::offboarding_sieve_script(offboarding_->options(), *account));
  for (const auto& o : plan.outgoing) {
    if (o.kind != "vacation") continue;
    MR_LOG_INFO("event=offboarding_step step=auto_reply account={} to={}", in.account_id,
                core::quote(in.envelope_sender));
  }
  plan.summary = "offboarding: " + plan.summary;
  return plan;
}

}  // namespace mailroom::sieve
