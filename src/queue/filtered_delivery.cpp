// Local delivery through a DeliveryFilter (Sieve): the plan's copies, each into its folder with
// its flags, then the outgoing messages (redirects, vacation replies) and the user notice,
// then the plan's commit. See delivery_filter.h for the contract.
//
// Exactly once after a crash (local_delivery.cpp): a recovered message (verify_store) skips
// every copy whose folder already holds it. A copy that failed for a temporary reason defers
// the recipient; the copies stored before it are then looked up the same way on the retry.
// A copy into a folder that cannot be used for a permanent reason (a name the store refuses)
// goes to INBOX instead (RFC 5228 4.1: "fileinto" failing must not lose the message).
#include "src/core/address.h"
#include "src/core/clock.h"
#include "src/core/log.h"
#include "src/core/services.h"
#include "src/queue/spool_queue.h"

namespace mailroom::queue {
namespace {

bool temporary_failure(core::Code c) {
  return c == core::Code::over_quota || c == core::Code::unavailable || c == core::Code::io_error ||
         c == core::Code::busy || c == core::Code::internal;
}

}  // namespace

SpoolQueue::PlanResult SpoolQueue::deliver_planned(Message& m, size_t i,
                                                   const std::string& folder) {
  const auto& r = m.envelope.recipients[i];
  PlanResult out;
  FilterInput in;
  in.message = m.data;
  in.envelope_sender = m.envelope.sender;
  in.rcpt = r.rcpt;
  in.address = r.destination.address;
  in.account_id = r.destination.account_id;
  in.default_folder = folder;
  in.spooled = m.spooled;
  DeliveryPlan plan = filter_->plan(in);
  if (plan.refuse) {
    out.refused = true;
    out.refuse_reason = plan.refuse_reason;
    return out;
  }
  // RFC 5321 4.4: Return-Path at final delivery.
  std::string stored =
      "Return-Path: <" + m.envelope.sender + ">\r\nDelivered-To: " + r.destination.address + "\r\n";
  stored += plan.message ? *plan.message : m.data;
  out.size = stored.size();
  out.mailbox = plan.copies.empty() ? "" : plan.copies.front().mailbox;
  for (const FolderCopy& c : plan.copies) {
    if (m.verify_store) {
      auth::Destination d = r.destination;
      d.folder = c.mailbox;
      if (already_stored(m, d)) {
        MR_LOG_INFO("event=queue_recovered_copy queue_id={} account={} mailbox={}", m.queue_id,
                    r.destination.account_id, core::quote(c.mailbox));
        continue;
      }
    }
    store::AppendRequest req;
    req.mailbox = c.mailbox;
    req.message = stored;
    req.flags = c.flags;
    req.keywords = c.keywords;
    req.quota_bytes = r.destination.quota_bytes;
    req.quota_messages = r.destination.quota_messages;
    req.create_mailbox = c.create || !core::iequals(c.mailbox, "INBOX");
    auto res = store_->append(r.destination.account_id, req);
    if (!res && !temporary_failure(res.code()) && !core::iequals(c.mailbox, "INBOX")) {
      MR_LOG_WARN("event=sieve_fileinto_failed queue_id={} account={} mailbox={} detail={}",
                  m.queue_id, r.destination.account_id, core::quote(c.mailbox),
                  core::quote(res.status().log_detail()));
      req.mailbox = "INBOX";
      req.create_mailbox = false;
      res = store_->append(r.destination.account_id, req);
    }
    if (!res) {
      if (out.status) out.status = res.status();
      continue;
    }
    if (!out.stored_any) {
      out.first = *res;
      out.mailbox = req.mailbox;
    }
    out.stored_any = true;
  }
  if (!out.status) {
    if (out.stored_any) m.verify_store = true;  // the retry must not store these copies again
    return out;
  }
  if (plan.notice) {
    store::AppendRequest req;
    req.mailbox = "INBOX";
    req.message = *plan.notice;
    if (auto res = store_->append(r.destination.account_id, req); !res) {
      MR_LOG_WARN("event=sieve_notice_failed account={} detail={}", r.destination.account_id,
                  core::quote(res.status().log_detail()));
    }
  }
  const std::string host =
      services_ && !services_->hostname.empty() ? services_->hostname : "localhost";
  for (OutgoingMessage& o : plan.outgoing) {
    const std::string qid = new_queue_id();
    const int64_t now = core::real_clock().unix_seconds();
    // Our own Received: line carries the new queue id (crash recovery looks for it).
    std::string text = "Received: by " + host + " (Mailroom) id " + qid + ";\r\n\t" +
                       core::rfc5322_date(now) + "\r\n" + o.message;
    o.envelope.received_at = now;
    o.envelope.helo = host;
    o.envelope.client_ip = "127.0.0.1";
    MR_LOG_INFO("event=sieve_outgoing queue_id={} new_id={} kind={} account={} recipients={}",
                m.queue_id, qid, o.kind, r.destination.account_id, o.envelope.recipients.size());
    submit(qid, std::move(o.envelope), std::move(text), [qid](core::Result<std::string> res) {
      if (!res) {
        MR_LOG_ERROR("event=sieve_outgoing_spool_failed new_id={} detail={}", qid,
                     core::quote(res.status().log_detail()));
      }
    });
  }
  if (plan.commit) plan.commit();
  if (!plan.summary.empty()) {
    MR_LOG_INFO("event=sieve queue_id={} account={} result={}", m.queue_id,
                r.destination.account_id, core::quote(plan.summary));
  }
  return out;
}

}  // namespace mailroom::queue
