// Step (b) of offboarding (auth/offboarding.h) at local delivery: a DeliveryFilter decorator
// around the Sieve filter. For an account in its auto-reply period it runs the offboarding
// script (a vacation naming the contact, then keep) in place of the user's own script, so
// the auto-reply follows RFC 5230 / RFC 3834 exactly as a user's vacation does: no reply to
// the null sender, lists, bulk or auto-submitted mail, one reply per sender and period.
// Every reply is audited: event=offboarding_step step=auto_reply account=<id> to=<sender>.
// Any other account (or a state that cannot be read: the mail is delivered, no reply) goes
// to the Sieve filter unchanged.
//
// Threading: as SieveFilter (queue delivery threads; blocks on directory.db and files).
#pragma once

#include <memory>

#include "src/queue/delivery_filter.h"

namespace mailroom::auth {
class Directory;
class Offboarding;
}  // namespace mailroom::auth

namespace mailroom::sieve {

class SieveFilter;

class OffboardingFilter final : public queue::DeliveryFilter {
 public:
  // `directory`: finds the recipient's account by id (its status and display name).
  OffboardingFilter(std::shared_ptr<SieveFilter> sieve,
                    std::shared_ptr<auth::Offboarding> offboarding,
                    std::shared_ptr<auth::Directory> directory)
      : sieve_(std::move(sieve)),
        offboarding_(std::move(offboarding)),
        directory_(std::move(directory)) {}
  queue::DeliveryPlan plan(const queue::FilterInput& input) override;

 private:
  std::shared_ptr<SieveFilter> sieve_;
  std::shared_ptr<auth::Offboarding> offboarding_;
  std::shared_ptr<auth::Directory> directory_;
};

}  // namespace mailroom::sieve
