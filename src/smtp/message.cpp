// The end of a transaction: trace header (RFC 5321 4.4, "with" keywords of RFC 3848 and
// RFC 6531 3.7.3), submission fixes (RFC 6409 8: Message-ID, Date), From: send-as check, then
// the durable queue (SMTP: 250 only after the spool fsync) or immediate delivery with one
// reply per recipient (LMTP, RFC 2033 4.2).
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>
#include <optional>

#include "src/core/clock.h"
#include "src/core/log.h"
#include "src/core/metric_catalog.h"
#include "src/mailauth/dmarc.h"
#include "src/mailauth/inbound.h"
#include "src/mime/originators.h"
#include "src/net/worker_pool.h"
#include "src/queue/header_facts.h"
#include "src/smtp/policy_stage.h"
#include "src/smtp/session.h"

namespace mailroom::smtp {

namespace {

// Waits for Queue::submit's callback (which runs on a queue thread) on this session's
// executor.
// Parameters are references: GCC 12 mis-copies non-trivial by-value coroutine parameters
// (observed as an ASan bad free of a std::string), and the caller's objects outlive the await.
asio::awaitable<std::tuple<std::string, core::Status>> submit_to_queue(queue::Queue& q,
                                                                       const std::string& queue_id,
                                                                       queue::Envelope& envelope,
                                                                       std::string& message) {
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable),
                                          void(std::string, core::Status)>(
      [&](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        q.submit(queue_id, std::move(envelope), std::move(message),
                 [h, ex](core::Result<std::string> r) {
                   std::string id = r.is_ok() ? r.value() : std::string();
                   core::Status s = r.status();
                   asio::post(ex, [h, id = std::move(id), s = std::move(s)]() mutable {
                     (*h)(std::move(id), std::move(s));
                   });
                 });
      },
      asio::use_awaitable);
}

// Waits for the inbound verifier's callback (on its own thread) on this session's executor.
asio::awaitable<mailauth::InboundVerdict> verify_inbound(
    mailauth::InboundVerifier& verifier, const std::string& ip, const std::string& helo,
    const std::string& mail_from, const std::shared_ptr<const std::string>& message) {
  auto ex = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable),
                                          void(mailauth::InboundVerdict)>(
      [&](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        verifier.verify(ip, helo, mail_from, message, [h, ex](mailauth::InboundVerdict v) {
          asio::post(ex, [h, v = std::move(v)]() mutable { (*h)(std::move(v)); });
        });
      },
      asio::use_awaitable);
}

// The client a trusted gateway received the message from: the HELO name and IP of the first
// Received: field ("from helo (... [192.0.2.1]) by gateway ..."), which the gateway wrote.
std::optional<std::pair<std::string, std::string>> gateway_client(const std::string& message) {
  for (const auto& [name, value] : queue::parse_header_block(message)) {
    if (!core::iequals(name, "Received")) continue;
    std::string v = value;
    if (v.compare(0, 5, "from ") != 0) return std::nullopt;
    size_t helo_end = v.find_first_of(" \t\r\n", 5);
    std::string helo =
        v.substr(5, helo_end == std::string::npos ? std::string::npos : helo_end - 5);
    size_t by = v.find(" by ");
    size_t open = v.find('[');
    size_t close = open == std::string::npos ? std::string::npos : v.find(']', open);
    if (open == std::string::npos || close == std::string::npos ||
        (by != std::string::npos && open > by)) {
      return std::nullopt;
    }
    std::string ip = v.substr(open + 1, close - open - 1);
    if (ip.rfind("IPv6:", 0) == 0) ip = ip.substr(5);
    return std::make_pair(helo, ip);
  }
  return std::nullopt;
}

proto::Reply delivery_reply(const core::Status& s) {
  switch (s.code()) {
    case core::Code::ok:
      return proto::make_reply(250, "2.1.5", "Delivered");
    case core::Code::over_quota:
      return proto::make_reply(452, "4.2.2", "Mailbox full");
    case core::Code::too_large:
      return proto::make_reply(552, "5.2.2", "Message exceeds the recipient's quota");
    case core::Code::not_found:
      return proto::make_reply(550, "5.1.1", "Mailbox unavailable");
    case core::Code::permission_denied:
      // A scanner's or Sieve reject's client-safe reason (RFC 5429 2.2: LMTP gives it).
      return proto::make_reply(
          550, "5.7.1",
          s.client_message().empty() ? "Message refused by content filter" : s.client_message());
    default:
      return proto::make_reply(451, "4.3.0", "Temporary delivery failure, try again");
  }
}

}  // namespace

std::string Session::received_header(const std::string& queue_id) const {
  // RFC 3848 / RFC 6531 3.7.3 protocol keywords.
  std::string with;
  if (ctx_.mode == Mode::lmtp) {
    with = "LMTP";
  } else if (tx_.mail.smtputf8) {
    with = "UTF8SMTP";
  } else {
    with = esmtp_ ? "ESMTP" : "SMTP";
  }
  if (conn_.is_tls()) with += "S";
  if (authenticated()) with += "A";
  std::string h = "Received: from " + helo_ + " ([" + conn_.info().remote_ip + "])\r\n\tby " +
                  ctx_.services.hostname + " (Mailroom) with " + with + " id " + queue_id;
  if (conn_.is_tls()) {
    h += "\r\n\t(using " + conn_.tls_version() + " with cipher " + conn_.tls_cipher() + ")";
  }
  if (authenticated()) h += "\r\n\t(authenticated user " + principal_->address + ")";
  if (tx_.rcpts.size() == 1) h += "\r\n\tfor <" + tx_.rcpts[0].rcpt + ">";
  h += "; " + core::rfc5322_date(std::time(nullptr)) + "\r\n";
  return h;
}

asio::awaitable<void> Session::finish_message(std::string body) {
  auto& services = ctx_.services;
  std::string queue_id = services.queue->new_queue_id();
  std::string prefix = received_header(queue_id);

  if (ctx_.mode == Mode::submission || (authenticated() && ctx_.mode == Mode::mx)) {
    // What is checked is what is stored: a bare CR or LF in the header block becomes CRLF, so
    // a field hidden behind a bare CR is a field for the check and for every client.
    body = mime::normalize_header_line_ends(body);
    auto headers = queue::parse_header_block(body);
    bool has_id = false, has_date = false;
    for (const auto& [name, value] : headers) {
      if (core::iequals(name, "Message-ID")) has_id = true;
      if (core::iequals(name, "Date")) has_date = true;
    }
    if (ctx_.options.submission_add_headers && ctx_.mode == Mode::submission) {
      if (!has_date) prefix += "Date: " + core::rfc5322_date(std::time(nullptr)) + "\r\n";
      if (!has_id) prefix += "Message-ID: <" + queue_id + "@" + services.hostname + ">\r\n";
    }
    // Send-as applies to every From: and Sender: address (RFC 6409 8.1 lets the MSA enforce
    // it), parsed as IMAP's ENVELOPE and mail clients read them.
    mime::Originators originators = mime::originator_addresses(body);
    if (authenticated() && (!originators.addresses.empty() || originators.unparseable)) {
      auto resolver = services.resolver;
      std::string account_id = principal_->account_id;
      if (!send_as_exempt(ctx_.options.send_as_exempt_domains, principal_->address)) {
        const auto& froms = originators.addresses;
        const bool unparseable = originators.unparseable;
        auto verdict = co_await net::blocking(*services.workers, [&]() -> core::Result<bool> {
          if (unparseable) return false;
          return may_send_as_all(*resolver, account_id, froms);
        });
        if (!verdict || !*verdict) {
          bool temp = !verdict && verdict.code() == core::Code::unavailable;
          reset_transaction();
          if (temp) {
            reply(451, "4.4.3", "Directory unavailable, try again later");
          } else if (unparseable) {
            reply(553, "5.7.1", "From: or Sender: header has no address that can be checked");
          } else {
            reply(553, "5.7.1",
                  "From: or Sender: header address not owned by user " + principal_->address);
          }
          co_return;
        }
      }
    }
  }

  // Inbound authentication (SPF, DKIM, DMARC) of mail from other servers; a trusted gateway in
  // front of us ([smtp] trusted_networks) is looked through to the client it received from.
  bool to_junk = false;
  std::string authentication_results;  // for the content scanners
  if (ctx_.mode == Mode::mx && !authenticated() && services.mail_auth) {
    std::string ip = conn_.info().remote_ip;
    std::string helo = helo_;
    if (from_trusted_network()) {
      if (auto hop = gateway_client(body)) {
        helo = hop->first;
        ip = hop->second;
      }
    }
    const std::string& authserv_id = services.mail_auth->options().authserv_id;
    body = mailauth::remove_forged_results(body, authserv_id);
    auto shared = std::make_shared<const std::string>(body);
    auto verdict = co_await verify_inbound(*services.mail_auth, ip, helo, tx_.sender, shared);
    MR_LOG_INFO("event=smtp_mailauth session={} ip={} {}", session_id_, ip, verdict.summary);
    if (verdict.action == mailauth::Action::reject) {
      reset_transaction();
      reply(550, "5.7.1", "Message rejected: " + verdict.reason);
      co_return;
    }
    to_junk = verdict.action == mailauth::Action::junk;
    authentication_results = verdict.authentication_results;
    prefix = verdict.authentication_results + prefix;
  }

  queue::Envelope env;
  env.sender = tx_.sender;
  switch (tx_.mail.body) {
    case proto::Body::eight_bit_mime:
      env.body = "8BITMIME";
      break;
    case proto::Body::binary_mime:
      env.body = "BINARYMIME";
      break;
    case proto::Body::seven_bit:
      env.body = "7BIT";
      break;
    default:
      break;
  }
  env.smtputf8 = tx_.mail.smtputf8;
  env.ret = tx_.mail.ret;
  env.envid = tx_.mail.envid;
  env.auth_account_id = principal_ ? principal_->account_id : std::string();
  env.client_ip = conn_.info().remote_ip;
  env.helo = helo_;
  env.received_at = std::time(nullptr);
  std::vector<size_t> first_of_rcpt;  // envelope index range per RCPT (for LMTP replies)
  bool all_too_large = true;
  uint64_t size = prefix.size() + body.size();
  for (const auto& r : tx_.rcpts) {
    first_of_rcpt.push_back(env.recipients.size());
    for (const auto& d : r.destinations) {
      env.recipients.push_back({r.rcpt, r.orcpt, r.notify, d});
      if (to_junk && d.kind == auth::Destination::Kind::mailbox) {
        env.recipients.back().destination.folder = "Junk";
      }
      if (d.kind != auth::Destination::Kind::mailbox || d.quota_bytes == 0 ||
          size <= d.quota_bytes) {
        all_too_large = false;
      }
    }
  }
  first_of_rcpt.push_back(env.recipients.size());
  if (!message_size_allowed(size)) co_return;  // policy bundles (policy_stage.cpp)
  // Antivirus and spam before the 250 (content_scan_stage.cpp); false: already answered.
  if (!co_await scan_content(queue_id, env, prefix, body, authentication_results)) co_return;
  std::string message = prefix + body;
  body.clear();

  if (ctx_.mode == Mode::lmtp) {
    auto q = services.queue;
    auto results = co_await net::blocking(*services.workers,
                                          [&] { return q->deliver_now(queue_id, env, message); });
    bool any_delivered = false;
    for (size_t i = 0; i + 1 < first_of_rcpt.size(); ++i) {
      core::Status worst;
      for (size_t j = first_of_rcpt[i]; j < first_of_rcpt[i + 1] && j < results.size(); ++j) {
        if (!results[j] && worst.is_ok()) worst = results[j];
      }
      auto r = delivery_reply(worst);
      if (worst.is_ok()) {
        r.text = "<" + tx_.rcpts[i].rcpt + "> delivered as " + queue_id;
        any_delivered = true;
      }
      conn_.queue(r.wire());
      if (r.code >= 400) ++errors_;
    }
    MR_LOG_INFO("event=lmtp_delivered session={} queue_id={} rcpts={} size={}", session_id_,
                queue_id, tx_.rcpts.size(), size);
    if (any_delivered) metrics::messages_accepted("lmtp").inc();
    reset_transaction();
    junk_commands_ = 0;
    co_return;
  }

  if (all_too_large) {
    reset_transaction();
    reply(552, "5.2.2", "Message exceeds the recipient's quota");
    co_return;
  }
  auto [id, status] = co_await submit_to_queue(*services.queue, queue_id, env, message);
  size_t nrcpt = tx_.rcpts.size();
  reset_transaction();
  if (!status) {
    MR_LOG_ERROR("event=smtp_queue_failed session={} detail={}", session_id_,
                 core::quote(status.log_detail()));
    reply(451, "4.3.0", "Temporary failure writing the message, try again later");
    co_return;
  }
  junk_commands_ = 0;
  metrics::messages_accepted(ctx_.mode == Mode::submission ? "submission" : "smtp").inc();
  MR_LOG_INFO("event=smtp_queued session={} queue_id={} rcpts={} size={}", session_id_, id, nrcpt,
              size);
  reply(250, "2.0.0", "Ok: queued as " + id);
}

}  // namespace mailroom::smtp
