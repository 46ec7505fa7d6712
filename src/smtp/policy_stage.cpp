// Policy bundles by directory group (auth/policy/policy.h) in the SMTP dialogue:
//  - MAIL (authenticated): the sender's maximum message size against SIZE= (RFC 1870 section 6:
//    552 5.3.4) and whether it may send outside the company;
//  - MAIL (MX, no AUTH): is the sender outside the company (its domain not hosted here; the
//    null sender counts as outside)? Local senders without AUTH are the business of
//    mx_reject_local_senders, SPF and DMARC, not of this stage;
//  - RCPT (recipient_policy, on a worker): per local mailbox, may it receive from outside
//    (550 5.7.1) and is the declared size within its limit (RFC 1870 section 6: a permanent
//    per-recipient limit is 552 5.3.4; the 452 4.2.2 of a full mailbox stays the quota's).
//    A group keeps the members that accept and drops (and logs) those that refuse; it is
//    refused only when none is left;
//  - RCPT to an address of a domain not hosted here (cmd_envelope.cpp), from a sender who may
//    not send outside: 550 5.7.1. Only addresses the sender names count: a local alias or
//    group with outside members, or a recipient's own forwarding, is the administrator's or
//    the recipient's decision and still delivers;
//  - end of DATA / BDAT: a client that declared no SIZE is refused 552 5.3.4 as a whole when
//    the message is larger than the sender's or any local recipient's limit (one reply after
//    DATA cannot refuse only some recipients, RFC 5321 4.2.5).
#include "src/smtp/policy_stage.h"

#include "auth/policy/policy_directory.h"
#include "auth/resolver.h"
#include "src/core/log.h"
#include "src/net/worker_pool.h"
#include "src/smtp/session.h"

namespace mailroom::smtp {

asio::awaitable<bool> Session::sender_policy(const proto::Command& cmd, Transaction& tx) {
  auto policies = ctx_.services.policies;
  const bool check_outside = policies && ctx_.mode == Mode::mx && !authenticated();
  if (!check_outside && !(authenticated() && policies)) co_return true;
  auto resolver = ctx_.services.resolver;
  std::string account_id = principal_ ? principal_->account_id : std::string();
  std::string domain = cmd.null_path ? std::string() : core::ascii_lower(cmd.address.domain);
  struct Verdict {
    bool unavailable = false;
    std::optional<bool> outside = false;
    bool may_send_outside = true;
    uint64_t max_size = 0;
  };
  Verdict v = co_await net::blocking(*ctx_.services.workers, [&]() {
    Verdict out;
    if (!account_id.empty() && policies) {
      auto e = sender_limits(policies.get(), account_id);  // submission_rules.h
      if (!e) {
        out.unavailable = true;
        return out;
      }
      out.may_send_outside = e->may_send_outside;
      out.max_size = e->max_message_bytes;
    }
    if (check_outside) {
      out.outside.reset();
      if (domain.empty()) {
        out.outside = true;  // the null sender: a bounce from somewhere else
      } else {
        // Could not tell: only a recipient who refuses outside mail needs to know (451 then).
        auto local = resolver->local_domain(domain);
        if (local)
          out.outside = false;
        else if (local.code() == core::Code::not_found)
          out.outside = true;
      }
    }
    return out;
  });
  if (v.unavailable) {
    reply(451, "4.4.3", "Directory unavailable, try again later");
    co_return false;
  }
  if (cmd.size && v.max_size != 0 && *cmd.size > v.max_size) {
    // RFC 1870 section 6: the size declared at MAIL exceeds what this sender may send.
    reply(552, "5.3.4", "Message size exceeds the maximum allowed for this account");
    co_return false;
  }
  tx.may_send_outside = v.may_send_outside;
  tx.sender_max_size = v.max_size;
  tx.sender_outside = v.outside;
  co_return true;
}

bool Session::message_size_allowed(uint64_t size) {
  bool over = tx_.sender_max_size != 0 && size > tx_.sender_max_size;
  for (const auto& r : tx_.rcpts)
    for (const auto& d : r.destinations)
      if (d.max_message_bytes != 0 && size > d.max_message_bytes) over = true;
  if (!over) return true;
  MR_LOG_INFO("event=smtp_policy_too_large session={} size={}", session_id_, size);
  refuse_message(552, "5.3.4", "Message too big for the sender's or a recipient's policy");
  return false;
}

}  // namespace mailroom::smtp
