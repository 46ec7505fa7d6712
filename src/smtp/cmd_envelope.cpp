// MAIL FROM and RCPT TO: sender policy (block list, send-as), recipient policy (directory,
// relay, quota), limits. Every directory question goes to the worker pool.
#include "src/core/log.h"
#include "src/net/worker_pool.h"
#include "src/smtp/policy_stage.h"
#include "src/smtp/session.h"
#include "src/store/mail_store.h"

namespace mailroom::smtp {

namespace {

bool has_non_ascii(const core::Address& a) { return a.has_utf8(); }

}  // namespace

asio::awaitable<void> Session::cmd_mail(const proto::Command& cmd) {
  if (!greeted_) {
    reply(503, "5.5.1", ctx_.mode == Mode::lmtp ? "Send LHLO first" : "Send EHLO/HELO first");
    co_return;
  }
  if (tx_.active) {
    reply(503, "5.5.1", "Nested MAIL command");
    co_return;
  }
  if (ctx_.mode == Mode::submission && !authenticated()) {
    reply(530, "5.7.0", "Authentication required");  // RFC 4954 6
    co_return;
  }
  if (cmd.size && *cmd.size > ctx_.options.max_message_size) {
    reply(552, "5.3.4", "Message size exceeds fixed maximum message size");  // RFC 1870
    co_return;
  }
  if (!cmd.null_path && has_non_ascii(cmd.address) && !cmd.smtputf8) {
    reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");  // RFC 6531 3.5
    co_return;
  }
  std::string sender = cmd.null_path ? std::string() : cmd.address.str();
  if (!sender.empty() && ctx_.mode != Mode::lmtp && ctx_.blocklist->blocks_sender(sender)) {
    MR_LOG_INFO("event=smtp_sender_blocked session={} sender={}", session_id_, core::quote(sender));
    reply(550, "5.7.1", "Sender address rejected: access denied");
    co_return;
  }
  if (authenticated() && !sender.empty() &&
      !send_as_exempt(ctx_.options.send_as_exempt_domains, principal_->address)) {
    auto resolver = ctx_.services.resolver;
    std::string account_id = principal_->account_id;
    auto allowed = co_await net::blocking(*ctx_.services.workers, [&]() -> core::Result<bool> {
      return may_send_as_all(*resolver, account_id, {sender});
    });
    if (!allowed) {
      if (allowed.code() == core::Code::unavailable) {
        reply(451, "4.4.3", "Directory unavailable, try again later");
      } else {
        reply(553, "5.7.1", "Sender address not owned by user " + principal_->address);
      }
      co_return;
    }
    if (!*allowed) {
      reply(553, "5.7.1", "Sender address not owned by user " + principal_->address);
      co_return;
    }
  }
  if (!authenticated() && ctx_.mode == Mode::mx && ctx_.options.mx_reject_local_senders &&
      !sender.empty() && !from_trusted_network()) {
    auto resolver = ctx_.services.resolver;
    std::string domain = core::ascii_lower(cmd.address.domain);
    auto local = co_await net::blocking(*ctx_.services.workers,
                                        [&] { return resolver->local_domain(domain); });
    if (local) {
      reply(550, "5.7.1", "Local sender requires authentication");
      co_return;
    }
    if (local.code() == core::Code::unavailable) {
      reply(451, "4.4.3", "Directory unavailable, try again later");
      co_return;
    }
  }
  Transaction fresh;
  if (!co_await sender_policy(cmd, fresh)) co_return;  // policy_stage.cpp
  tx_ = std::move(fresh);
  tx_.active = true;
  tx_.sender = sender;
  tx_.mail = cmd;
  reply(250, "2.1.0", "Ok");
}

asio::awaitable<void> Session::cmd_rcpt(const proto::Command& cmd) {
  if (!tx_.active) {
    reply(503, "5.5.1", "Need MAIL command first");
    co_return;
  }
  if (tx_.bdat) {
    reply(503, "5.5.1", "RCPT not allowed during BDAT");
    co_return;
  }
  if (tx_.rcpts.size() >= ctx_.options.max_recipients) {
    reply(452, "4.5.3", "Too many recipients");  // RFC 5321 4.5.3.1.10
    co_return;
  }
  if (has_non_ascii(cmd.address) && !tx_.mail.smtputf8) {
    reply(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
    co_return;
  }
  std::string address = cmd.address.str();
  if (cmd.postmaster_only) {
    // RFC 5321 4.5.1: <Postmaster> without a domain is ours: the configured postmaster, else
    // postmaster@ our host name's domain.
    const std::string& configured = ctx_.services.resolver->options().postmaster;
    std::string host = ctx_.services.hostname;
    size_t dot = host.find('.');
    address = !configured.empty()
                  ? configured
                  : "postmaster@" + (dot == std::string::npos ? host : host.substr(dot + 1));
  }
  auto resolver = ctx_.services.resolver;
  auto store = ctx_.services.store;
  std::string sender = tx_.sender;
  std::string account_id = principal_ ? principal_->account_id : std::string();
  const bool sender_verified = authenticated() || from_trusted_network();
  uint64_t declared = tx_.mail.size.value_or(0);
  auto* policies = ctx_.services.policies.get();
  const std::optional<bool> sender_outside = tx_.sender_outside;
  RecipientAnswer ans = co_await net::blocking(*ctx_.services.workers, [&]() {
    return check_recipient(*resolver, store.get(), policies, address, sender, account_id,
                           sender_verified, declared, sender_outside);
  });
  RcptEntry entry;
  entry.rcpt = address;
  entry.orcpt = cmd.orcpt;
  entry.notify = cmd.notify;
  switch (ans.res.outcome) {
    case auth::RecipientOutcome::deliver:
      if (!ans.dropped.empty())
        MR_LOG_INFO("event=smtp_policy_dropped session={} rcpt={} dropped={}", session_id_,
                    core::quote(address), core::quote(ans.dropped));
      switch (ans.policy) {
        case RcptPolicy::ok:
          break;
        case RcptPolicy::outside_refused:
          reply(550, "5.7.1", "Recipient does not accept mail from outside the company");
          co_return;
        case RcptPolicy::too_large:
          reply(552, "5.3.4", "Message too big for this recipient");  // RFC 1870 section 6
          co_return;
        case RcptPolicy::unavailable:
          reply(451, "4.4.3", "Directory unavailable, try again later");
          co_return;
      }
      if (ans.quota == 1) {
        reply(452, "4.2.2", "Mailbox full");
        co_return;
      }
      if (ans.quota == 2) {
        reply(552, "5.2.2", "Message exceeds the recipient's quota");
        co_return;
      }
      entry.destinations = std::move(ans.res.destinations);
      break;
    case auth::RecipientOutcome::not_local:
      if (ctx_.mode == Mode::lmtp || (!authenticated() && !from_relay_network())) {
        MR_LOG_INFO("event=smtp_relay_denied session={} rcpt={}", session_id_,
                    core::quote(address));
        reply(554, "5.7.1", "Relay access denied");
        co_return;
      }
      if (!tx_.may_send_outside) {  // the sender's policy bundle (policy_stage.cpp)
        MR_LOG_INFO("event=smtp_policy_send_outside_refused session={} rcpt={}", session_id_,
                    core::quote(address));
        reply(550, "5.7.1", "Sending outside the company is not allowed for this account");
        co_return;
      }
      {
        auth::Destination d;
        d.kind = auth::Destination::Kind::remote;
        d.address = address;
        entry.destinations.push_back(d);
      }
      break;
    case auth::RecipientOutcome::unknown:
      reply(550, "5.1.1", "Recipient address rejected: user unknown");
      co_return;
    case auth::RecipientOutcome::disabled:
      reply(550, "5.2.1", "Recipient mailbox disabled");
      co_return;
    case auth::RecipientOutcome::unavailable:
      MR_LOG_WARN("event=smtp_directory_unavailable session={} detail={}", session_id_,
                  core::quote(ans.res.detail));
      reply(451, "4.4.3", "Directory unavailable, try again later");
      co_return;
    case auth::RecipientOutcome::too_many:
      reply(452, "4.5.3", "Recipient expands to too many addresses");
      co_return;
    case auth::RecipientOutcome::not_allowed:
      reply(550, "5.7.1", "Sender not allowed to send to this group");
      co_return;
  }
  tx_.rcpts.push_back(std::move(entry));
  reply(250, "2.1.5", "Ok");
}

}  // namespace mailroom::smtp
