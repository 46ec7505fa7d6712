// See submission_rules.h. Moved out of the SMTP session (cmd_envelope.cpp, policy_stage.cpp)
// so JMAP EmailSubmission applies the same checks (issue 19).
#include "src/queue/submission_rules.h"

#include "auth/policy/policy_directory.h"
#include "src/core/address.h"
#include "src/store/mail_store.h"

namespace mailroom::queue {

RcptPolicy recipient_policy(auth::PolicySource* policies, std::vector<auth::Destination>& dests,
                            uint64_t declared_size, std::optional<bool> sender_outside,
                            std::string* dropped) {
  if (!policies) return RcptPolicy::ok;
  std::vector<auth::Destination> kept;
  size_t outside = 0, too_large = 0;
  for (auto& d : dests) {
    if (d.kind != auth::Destination::Kind::mailbox) {
      kept.push_back(std::move(d));
      continue;
    }
    auth::Account who;
    who.id = d.account_id;
    auto e = policies->effective(who);
    if (!e) return RcptPolicy::unavailable;
    if (!e->receive_outside && !sender_outside) return RcptPolicy::unavailable;  // cannot tell
    if (*sender_outside && !e->receive_outside) {
      ++outside;
      if (dropped) *dropped += (dropped->empty() ? "" : ",") + d.address;
      continue;
    }
    if (declared_size != 0 && e->max_message_bytes != 0 && declared_size > e->max_message_bytes) {
      ++too_large;
      if (dropped) *dropped += (dropped->empty() ? "" : ",") + d.address;
      continue;
    }
    d.max_message_bytes = e->max_message_bytes;
    kept.push_back(std::move(d));
  }
  dests = std::move(kept);
  if (dests.empty() && (outside != 0 || too_large != 0))
    return outside >= too_large ? RcptPolicy::outside_refused : RcptPolicy::too_large;
  return RcptPolicy::ok;
}

bool send_as_exempt(const std::vector<std::string>& exempt_domains, const std::string& address) {
  size_t at = address.rfind('@');
  if (at == std::string::npos) return false;
  std::string d = core::ascii_lower(address.substr(at + 1));
  for (const auto& e : exempt_domains) {
    if (core::ascii_lower(e) == d) return true;
  }
  return false;
}

core::Result<bool> may_send_as_all(auth::Resolver& resolver, const std::string& account_id,
                                   const std::vector<std::string>& addresses) {
  auto account = resolver.directory().find_account_by_id(account_id);
  if (!account) return account.status();
  for (const auto& a : addresses) {
    auto ok = resolver.may_send_as(*account, a);
    if (!ok) return ok.status();
    if (!*ok) return false;
  }
  return true;
}

core::Result<SenderLimits> sender_limits(auth::PolicySource* policies,
                                         const std::string& account_id) {
  SenderLimits out;
  if (!policies || account_id.empty()) return out;
  auth::Account who;
  who.id = account_id;
  auto e = policies->effective(who);
  if (!e) return e.status();
  out.may_send_outside = e->send_outside;
  out.max_message_bytes = e->max_message_bytes;
  return out;
}

RecipientAnswer check_recipient(auth::Resolver& resolver, store::MailStore* store,
                                auth::PolicySource* policies, const std::string& address,
                                const std::string& sender, const std::string& account_id,
                                bool sender_verified, uint64_t declared_size,
                                std::optional<bool> sender_outside) {
  RecipientAnswer a;
  a.res = resolver.resolve_recipient(address, sender, account_id, sender_verified);
  if (a.res.outcome != auth::RecipientOutcome::deliver) return a;
  a.policy =
      recipient_policy(policies, a.res.destinations, declared_size, sender_outside, &a.dropped);
  if (a.policy != RcptPolicy::ok || !store) return a;
  for (const auto& d : a.res.destinations) {
    if (d.kind != auth::Destination::Kind::mailbox) continue;
    if (d.quota_bytes == 0 && d.quota_messages == 0) continue;
    if (d.quota_bytes != 0 && declared_size > d.quota_bytes) {
      a.quota = 2;
      break;
    }
    auto usage = store->quota_usage(d.account_id);
    if (!usage) continue;  // the store decides at delivery
    if ((d.quota_bytes != 0 && usage->bytes + declared_size >= d.quota_bytes) ||
        (d.quota_messages != 0 && usage->messages >= d.quota_messages)) {
      a.quota = 1;
      break;
    }
  }
  return a;
}

}  // namespace mailroom::queue
