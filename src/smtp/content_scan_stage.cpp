// The content scan before the 250 (issue 21; src/filter/content_scan.h): antivirus, then spam,
// on the worker pool. A refusal is the reply to this transaction, so nothing is bounced later
// (no backscatter): reject is 554 5.7.1 (RFC 5321 4.2.3, RFC 3463 X.7.1 "delivery not
// authorized, message refused"), tempfail 451 4.7.1; LMTP repeats the reply once per accepted
// recipient (RFC 2033 4.2). Quarantined mail is kept durably (src/queue/quarantine.h) and
// acknowledged with 250, as the sender has nothing to fix.
#include <string_view>

#include "src/core/log.h"
#include "src/core/metric_catalog.h"
#include "src/filter/content_scan.h"
#include "src/net/worker_pool.h"
#include "src/queue/quarantine.h"
#include "src/smtp/session.h"

namespace mailroom::smtp {

namespace {

// "Authentication-Results: v\r\n" -> "v".
std::string header_value(const std::string& field) {
  size_t colon = field.find(':');
  if (colon == std::string::npos) return {};
  size_t b = field.find_first_not_of(" \t", colon + 1);
  if (b == std::string::npos) return {};
  size_t e = field.find_last_not_of("\r\n");
  return e == std::string::npos || e < b ? std::string() : field.substr(b, e - b + 1);
}

}  // namespace

asio::awaitable<bool> Session::scan_content(const std::string& queue_id, queue::Envelope& env,
                                            std::string& prefix, std::string& body,
                                            const std::string& authentication_results) {
  // The verdict fields of a message are ours alone, with or without scanners (Sieve reads
  // them); a trusted gateway's (it scanned before us) and LMTP's front end's stay.
  if (ctx_.mode != Mode::lmtp && !from_trusted_network() && filter::strip_verdict_fields(body)) {
    MR_LOG_INFO("event=smtp_verdict_fields_removed session={} queue_id={}", session_id_, queue_id);
  }
  auto chain = ctx_.services.content_scan;
  if (!chain || chain->empty()) co_return true;

  filter::ContentScanInput in;
  in.message = std::make_shared<const std::string>(body);
  in.queue_id = queue_id;
  in.client_ip = conn_.info().remote_ip;
  in.helo = helo_;
  in.envelope_sender = tx_.sender;
  for (const auto& r : env.recipients) in.recipients.push_back(r.destination.address);
  in.auth_account_id = env.auth_account_id;
  in.trusted_hop = from_trusted_network();
  in.authentication_results = header_value(authentication_results);

  auto result =
      co_await net::blocking(*ctx_.services.workers, [&] { return chain->run(std::move(in)); });

  std::string action(filter::content_action_name(result.action));
  if (result.action != filter::ContentAction::accept || !result.add_headers.empty()) {
    MR_LOG_INFO("event=content_scan session={} queue_id={} action={} scanner={} reason={}",
                session_id_, queue_id, action, result.decided_by, core::quote(result.reason));
  }
  switch (result.action) {
    case filter::ContentAction::reject:
      refuse_message(554, "5.7.1", "Message rejected: " + result.reason);
      co_return false;
    case filter::ContentAction::tempfail:
      refuse_message(451, "4.7.1", "Message not accepted now, try again later: " + result.reason);
      co_return false;
    case filter::ContentAction::quarantine:
      co_return co_await quarantine(
          queue_id, env, filter::format_added_headers(result.add_headers) + prefix + body,
          result.decided_by, result.reason);
    case filter::ContentAction::junk:
    case filter::ContentAction::ads:
      for (auto& r : env.recipients) {
        if (r.destination.kind == auth::Destination::Kind::mailbox) {
          r.destination.folder = result.action == filter::ContentAction::junk ? "Junk" : "Ads";
        }
      }
      break;
    case filter::ContentAction::accept:
      break;
  }
  prefix = filter::format_added_headers(result.add_headers) + prefix;
  if (result.replacement) body = *result.replacement;
  co_return true;
}

asio::awaitable<bool> Session::quarantine(const std::string& queue_id, const queue::Envelope& env,
                                          const std::string& message, const std::string& scanner,
                                          const std::string& reason) {
  auto store = ctx_.services.quarantine;
  if (!store) {
    // No quarantine store: keep the mail with its sender rather than lose it.
    MR_LOG_ERROR("event=content_scan_no_quarantine session={} queue_id={} scanner={}", session_id_,
                 queue_id, scanner);
    refuse_message(451, "4.7.1", "Message not accepted now, try again later: " + reason);
    co_return false;
  }
  auto st = co_await net::blocking(
      *ctx_.services.workers, [&] { return store->put(queue_id, env, message, scanner, reason); });
  if (!st) {
    MR_LOG_ERROR("event=quarantine_failed session={} queue_id={} detail={}", session_id_, queue_id,
                 core::quote(st.to_string()));
    refuse_message(451, "4.3.0", "Temporary failure writing the message, try again later");
    co_return false;
  }
  MR_LOG_INFO("event=content_quarantined session={} queue_id={} scanner={} rcpts={} reason={}",
              session_id_, queue_id, scanner, env.recipients.size(), core::quote(reason));
  // The sender has nothing to fix: the message is accepted (RFC 2033 4.2: one reply per
  // recipient in LMTP).
  size_t replies = ctx_.mode == Mode::lmtp ? tx_.rcpts.size() : 1;
  for (size_t i = 0; i < replies; ++i) {
    std::string text = ctx_.mode == Mode::lmtp
                           ? "<" + tx_.rcpts[i].rcpt + "> accepted as " + queue_id
                           : "Ok: queued as " + queue_id;
    conn_.queue(proto::make_reply(250, "2.0.0", text).wire());
  }
  metrics::messages_accepted(ctx_.protocol).inc();
  reset_transaction();
  junk_commands_ = 0;
  co_return false;
}

}  // namespace mailroom::smtp
