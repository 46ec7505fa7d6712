// Local delivery: Scanner hook, MailStore append with Return-Path/Delivered-To, per-recipient
// journal and delivery log.
//
// Exactly once after a crash: a recipient's "delivered" journal line is written after the
// store append returned. If the process dies between the two, the message comes back from the
// spool with verify_store set, and already_stored() looks for its queue id (in our Received:
// header) among the messages stored in that folder since the spooled time; found = delivered.
// Limits: the check covers the destination folder (scanner-chosen folders are not searched;
// there are no scanners yet) and assumes the clock did not step back more than 5 s. Sieve's
// copies are checked folder by folder (filtered_delivery.cpp), so a replayed fileinto does
// not store a second copy; a redirect of a replayed message may go out twice.
#include <chrono>

#include "src/core/address.h"
#include "src/core/clock.h"
#include "src/core/log.h"
#include "src/core/metric_catalog.h"
#include "src/queue/spool_queue.h"

namespace mailroom::queue {
namespace {

// Over quota and unreachable storage are temporary; the message alone larger than the quota,
// or a vanished account, are permanent.
bool temporary(core::Code c) {
  return c == core::Code::over_quota || c == core::Code::unavailable || c == core::Code::io_error ||
         c == core::Code::busy || c == core::Code::internal;
}

constexpr int64_t kMaxQueueSeconds = 5 * 24 * 3600;  // RFC 5321 4.5.4.1: give up after days

}  // namespace

void SpoolQueue::set_state(Message& m, size_t index, RecipientState state) {
  {
    std::lock_guard lock(m.state_mu);
    m.states[index] = state;
  }
  if (!m.spooled) return;
  if (auto s =
          spool_.set_state(m.queue_id, static_cast<uint32_t>(index), static_cast<uint8_t>(state));
      !s) {
    MR_LOG_ERROR("event=queue_journal_failed queue_id={} detail={}", m.queue_id,
                 core::quote(s.log_detail()));
  }
}

DeliveryRecord SpoolQueue::record_for(const Message& m, size_t index) {
  const auto& r = m.envelope.recipients[index];
  DeliveryRecord rec;
  rec.queue_id = m.queue_id;
  rec.message_id = m.facts.message_id;
  rec.envelope_sender = core::ascii_lower(m.envelope.sender);
  rec.header_from = m.facts.from;
  rec.subject = m.facts.subject;
  rec.recipient = core::ascii_lower(r.rcpt);
  rec.final_address = r.destination.address;
  rec.forwarded_by = r.destination.forwarded_by;
  rec.time = core::real_clock().unix_seconds();
  return rec;
}

bool SpoolQueue::already_stored(const Message& m, const auth::Destination& d) {
  std::string key = d.account_id + "\n" + d.folder;
  std::lock_guard lock(verify_mu_);
  auto it = stored_ids_.find(key);
  if (it == stored_ids_.end()) {
    std::set<std::string> ids;
    auto snap = store_->snapshot(d.account_id, d.folder.empty() ? "INBOX" : d.folder);
    if (snap) {
      for (const auto& meta : snap->messages) {
        if (meta.internal_date < verify_since_) continue;
        auto text =
            store_->read_message(d.account_id, d.folder.empty() ? "INBOX" : d.folder, meta.uid);
        if (!text) continue;
        for (auto& id : queue_ids_in_headers(*text)) ids.insert(id);
      }
    }
    it = stored_ids_.emplace(key, std::move(ids)).first;
  }
  return it->second.count(m.queue_id) > 0;
}

std::vector<core::Status> SpoolQueue::deliver_now(const std::string& queue_id,
                                                  const Envelope& envelope,
                                                  const std::string& message) {
  Message m;
  m.queue_id = queue_id;
  m.envelope = envelope;
  if (m.envelope.received_at == 0) m.envelope.received_at = core::real_clock().unix_seconds();
  m.first_attempt = m.envelope.received_at;
  m.data = message;
  m.facts = extract_header_facts(message);
  m.states.assign(envelope.recipients.size(), RecipientState::pending);
  m.spooled = false;
  std::vector<core::Status> results;
  deliver(m, nullptr, &results);
  return results;
}

bool SpoolQueue::deliver(Message& m, const std::vector<size_t>* only,
                         std::vector<core::Status>* results) {
  if (results) results->assign(m.states.size(), core::Status::ok());
  std::vector<DeliveryRecord> records;
  std::set<std::string> done_here;  // one copy per mailbox even if several RCPTs reach it
  bool deferred = false;
  const size_t count = only ? only->size() : m.states.size();
  for (size_t n = 0; n < count; ++n) {
    const size_t i = only ? (*only)[n] : n;
    const auto& r = m.envelope.recipients[i];
    RecipientState current;
    {
      std::lock_guard lock(m.state_mu);  // remote steps may be writing other recipients
      current = m.states[i];
    }
    if (current != RecipientState::pending) {
      if (current == RecipientState::delivered) {
        done_here.insert(r.destination.account_id + "\n" + r.destination.folder);
      }
      continue;
    }
    DeliveryRecord rec = record_for(m, i);
    rec.account_id = r.destination.account_id;
    rec.mailbox = r.destination.folder.empty() ? "INBOX" : r.destination.folder;
    auto set_state = [&](RecipientState st) { SpoolQueue::set_state(m, i, st); };
    // A permanent failure after the 250: spooled mail is reported to the sender (bounce);
    // LMTP's caller reports it in its reply instead.
    auto fail = [&](const std::string& status, const std::string& why) {
      if (!m.spooled) {
        set_state(RecipientState::failed);
        return;
      }
      DsnRecipient d;
      d.recipient = r.rcpt;
      d.original_recipient = r.orcpt;
      d.action = DsnAction::failed;
      d.status = status;
      d.diagnostic = why;
      d.last_attempt = core::real_clock().unix_seconds();
      {
        std::lock_guard lock(m.state_mu);
        m.report[i] = std::move(d);
      }
      set_state(RecipientState::bounce_due);
    };
    if (r.destination.kind == auth::Destination::Kind::remote) {
      set_state(RecipientState::remote);
      rec.result = DeliveryResult::queued_remote;
      rec.detail = "queued for remote delivery";
      records.push_back(std::move(rec));
      continue;
    }
    std::string key = r.destination.account_id + "\n" + r.destination.folder;
    if (done_here.count(key)) {
      set_state(RecipientState::delivered);  // duplicate of a copy already stored
      continue;
    }
    // With a filter, every folder of the plan is checked on its own (filtered_delivery.cpp):
    // INBOX holding the message says nothing about the plan's other folders.
    if (m.verify_store && !filter_ && already_stored(m, r.destination)) {
      MR_LOG_INFO("event=queue_recovered_delivered queue_id={} account={}", m.queue_id,
                  r.destination.account_id);
      set_state(RecipientState::delivered);
      done_here.insert(key);
      continue;
    }

    // Scanner hook: the first verdict other than accept decides.
    std::string folder = rec.mailbox;
    filter::Verdict verdict;
    for (const auto& scanner : scanners_) {
      filter::ScanInput in{m.data,
                           m.envelope.sender,
                           r.destination.address,
                           r.destination.account_id,
                           m.envelope.client_ip,
                           rec.mailbox};
      verdict = scanner->scan(in);
      if (verdict.kind != filter::VerdictKind::accept) break;
    }
    auto refuse = [&](const std::string& reason) {
      fail("5.7.1", reason);
      if (results) (*results)[i] = core::Status::error(core::Code::permission_denied, reason);
      rec.result = DeliveryResult::rejected;
      rec.detail = reason;
      records.push_back(std::move(rec));
    };
    if (verdict.kind == filter::VerdictKind::reject) {
      refuse(verdict.reason);
      continue;
    }
    if (verdict.kind == filter::VerdictKind::discard) {
      set_state(RecipientState::delivered);  // the recipient's choice: no copy, no bounce
      done_here.insert(key);
      rec.result = DeliveryResult::rejected;
      rec.detail = verdict.reason;
      records.push_back(std::move(rec));
      continue;
    }
    if (verdict.kind == filter::VerdictKind::tempfail) {
      deferred = true;
      if (m.spooled) metrics::recipients_deferred("local").inc();
      if (results) (*results)[i] = core::unavailable(verdict.reason);
      continue;
    }
    if (verdict.kind == filter::VerdictKind::folder && !verdict.folder.empty()) {
      folder = verdict.folder;
    }

    // RFC 5321 4.4: Return-Path at final delivery.
    std::string stored = "Return-Path: <" + m.envelope.sender +
                         ">\r\nDelivered-To: " + r.destination.address + "\r\n";
    stored += m.data;
    core::Result<store::AppendResult> res = store::AppendResult{};
    size_t stored_size = stored.size();
    if (filter_) {
      // Sieve (delivery_filter.h): the plan's copies, refusal and outgoing messages.
      PlanResult planned = deliver_planned(m, i, folder);
      if (planned.refused) {
        refuse(planned.refuse_reason);
        continue;
      }
      if (!planned.status) {
        res = planned.status;
      } else if (planned.stored_any) {
        res = planned.first;
      }
      folder = planned.mailbox;
      stored_size = planned.size;
    } else {
      store::AppendRequest req;
      req.mailbox = folder;
      req.message = stored;
      req.quota_bytes = r.destination.quota_bytes;
      req.quota_messages = r.destination.quota_messages;
      req.create_mailbox = !core::iequals(folder, "INBOX");
      res = store_->append(r.destination.account_id, req);
    }
    rec.mailbox = folder;
    if (res) {
      set_state(RecipientState::delivered);
      done_here.insert(key);
      rec.result = DeliveryResult::delivered;
      metrics::recipients_delivered_local().inc();
      if (m.spooled) {
        // Accepted -> stored; a recovered message has only its whole-second receive time.
        double seconds =
            m.accepted_at != std::chrono::steady_clock::time_point{}
                ? std::chrono::duration<double>(std::chrono::steady_clock::now() - m.accepted_at)
                      .count()
                : static_cast<double>(core::real_clock().unix_seconds() - m.envelope.received_at);
        metrics::delivery_latency().observe(seconds);
      }
      if (m.spooled && notify_requests(r.notify, "SUCCESS")) {
        DsnRecipient d;  // RFC 3461 6.2.2: "delivered" report when the sender asked for it
        d.recipient = r.rcpt;
        d.original_recipient = r.orcpt;
        d.action = DsnAction::delivered;
        d.status = "2.0.0";
        d.last_attempt = core::real_clock().unix_seconds();
        std::lock_guard lock(m.state_mu);
        m.report[i] = std::move(d);
        m.success_due.push_back(i);
      }
      rec.uid_validity = res->uid_validity;
      rec.uid = res->uid;
      rec.guid = res->guid;  // mail recall follows the copy through MOVE/COPY by it
      rec.size = stored_size;
      records.push_back(std::move(rec));
      continue;
    }
    auto code = res.code();
    if (results) (*results)[i] = res.status();
    bool expired = core::real_clock().unix_seconds() - m.first_attempt > kMaxQueueSeconds;
    MR_LOG_WARN("event=delivery_failed queue_id={} account={} code={} detail={}", m.queue_id,
                r.destination.account_id, core::code_name(code),
                core::quote(res.status().log_detail()));
    if (temporary(code) && !expired) {
      deferred = true;
      rec.result = DeliveryResult::deferred;
      if (m.spooled) metrics::recipients_deferred("local").inc();
    } else {
      fail(code == core::Code::over_quota  ? "5.2.2"
           : code == core::Code::too_large ? "5.2.3"
                                           : "5.0.0",
           res.status().client_message());
      rec.result = DeliveryResult::failed;
    }
    rec.detail = res.status().client_message();
    records.push_back(std::move(rec));
  }
  if (log_ && !records.empty()) {
    if (auto s = log_->record(records); !s) {
      MR_LOG_ERROR("event=delivery_log_failed queue_id={} records={} detail={}", m.queue_id,
                   records.size(), core::quote(s.log_detail()));
    }
  }
  for (auto& rec : records) {
    MR_LOG_INFO("event=delivery queue_id={} rcpt={} account={} mailbox={} uid={} result={}",
                rec.queue_id, core::quote(rec.recipient), rec.account_id, core::quote(rec.mailbox),
                rec.uid, delivery_result_name(rec.result));
  }
  return deferred;
}

}  // namespace mailroom::queue
