// Remote delivery scheduling and delivery status reports (see queue.h for the contract).
//
// A message with remote recipients is tried one domain at a time through the RemoteTransport;
// replies come back on the transport's thread and are handed to a queue thread (post_task),
// which journals each recipient's new state. When every domain of an attempt has answered the
// message is settled: recipients that failed for good are bounced (RFC 3464), a delay notice
// goes out once after delay_warning, the rest is retried after a growing interval until
// max_queue_time, when it is bounced as expired (4.4.7).
#include <algorithm>

#include "auth/resolver.h"
#include "src/core/address.h"
#include "src/core/clock.h"
#include "src/core/log.h"
#include "src/core/metric_catalog.h"
#include "src/core/services.h"
#include "src/queue/control.h"
#include "src/queue/spool_queue.h"

namespace mailroom::queue {
namespace {

bool is_open_remote(RecipientState st) {
  return st == RecipientState::remote || st == RecipientState::remote_warned;
}

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return core::ascii_lower(at == std::string::npos ? std::string() : address.substr(at + 1));
}

// The peer's reply as it sent it (its text carries its enhanced status code, if any).
std::string reply_line(const RemoteReply& r) {
  if (r.code == 0) return r.text;
  return std::to_string(r.code) + " " + r.text;
}

}  // namespace

void SpoolQueue::set_remote_transport(std::shared_ptr<RemoteTransport> transport) {
  std::lock_guard lock(mu_);
  transport_ = std::move(transport);
}

void SpoolQueue::flush_remote() {
  {
    std::lock_guard lock(mu_);
    std::multimap<int64_t, MessagePtr> now;
    for (auto& [due, m] : remote_due_) now.emplace(0, m);
    remote_due_ = std::move(now);
    std::multimap<int64_t, MessagePtr> local;
    for (auto& [due, m] : deferred_) local.emplace(0, m);
    deferred_ = std::move(local);
  }
  cv_.notify_all();
}

void SpoolQueue::unschedule_remote_locked(const MessagePtr& m) {
  for (auto it = remote_due_.begin(); it != remote_due_.end(); ++it) {
    if (it->second == m) {
      remote_due_.erase(it);
      break;
    }
  }
  m->remote_scheduled = false;
}

void SpoolQueue::poll_control() {
  for (const auto& r : take_control_requests(options_.spool_dir)) {
    MR_LOG_INFO("event=queue_control verb={} queue_id={}", r.verb, r.queue_id);
    if (r.verb == "flush" && r.queue_id.empty()) {
      flush_remote();
      continue;
    }
    MessagePtr m;
    {
      std::lock_guard lock(mu_);
      auto it = live_.find(r.queue_id);
      if (it != live_.end()) m = it->second;
    }
    if (r.verb == "hold" || r.verb == "release") {
      if (auto s = set_held(options_.spool_dir, r.queue_id, r.verb == "hold"); !s) {
        MR_LOG_ERROR("event=queue_control_failed verb={} queue_id={} detail={}", r.verb, r.queue_id,
                     core::quote(s.log_detail()));
      }
    }
    if (!m) {
      MR_LOG_WARN("event=queue_control_unknown verb={} queue_id={}", r.verb, r.queue_id);
      continue;
    }
    if (r.verb == "hold") {
      std::lock_guard lock(mu_);
      held_.insert(m->queue_id);
      unschedule_remote_locked(m);
    } else if (r.verb == "release") {
      {
        std::lock_guard lock(mu_);
        held_.erase(m->queue_id);
      }
      settle(m);
    } else if (r.verb == "flush") {
      std::lock_guard lock(mu_);
      if (m->remote_scheduled) {
        unschedule_remote_locked(m);
        schedule_remote_locked(m, 0);
      }
    } else if (r.verb == "delete") {
      drop_open_recipients(m, "deleted from the queue by the administrator");
    }
  }
}

Queue::StopResult SpoolQueue::stop_message(const std::string& queue_id, const std::string& why,
                                           const std::vector<std::string>& only) {
  MessagePtr m;
  {
    std::lock_guard lock(mu_);
    auto it = live_.find(queue_id);
    if (it == live_.end()) return {};
    m = it->second;
  }
  MR_LOG_INFO("event=queue_stop queue_id={} detail={}", queue_id, core::quote(why));
  return drop_open_recipients(m, why, only);
}

Queue::StopResult SpoolQueue::drop_open_recipients(const MessagePtr& m, const std::string& why,
                                                   const std::vector<std::string>& only) {
  StopResult out;
  out.found = true;
  std::vector<DeliveryRecord> records;
  {
    std::lock_guard lock(mu_);
    out.in_flight = m->remote_in_flight;
  }
  for (size_t i = 0; i < m->envelope.recipients.size(); ++i) {
    RecipientState st;
    {
      std::lock_guard lock(m->state_mu);
      st = m->states[i];
    }
    if (st == RecipientState::delivered || st == RecipientState::failed) continue;
    const auto& r = m->envelope.recipients[i];
    if (!only.empty() && std::none_of(only.begin(), only.end(), [&](const std::string& a) {
          return core::iequals(a, r.destination.address);
        }))
      continue;
    set_state(*m, i, RecipientState::failed);
    DeliveryRecord rec = record_for(*m, i);
    rec.result = DeliveryResult::failed;
    rec.detail = why;
    out.stopped.push_back(
        {r.rcpt, r.destination.address, r.destination.kind == auth::Destination::Kind::remote});
    records.push_back(std::move(rec));
  }
  if (log_ && !records.empty()) {
    if (auto s = log_->record(records); !s) {
      MR_LOG_ERROR("event=delivery_log_failed queue_id={} detail={}", m->queue_id,
                   core::quote(s.log_detail()));
    }
  }
  {
    std::lock_guard lock(mu_);
    held_.erase(m->queue_id);
    unschedule_remote_locked(m);
    for (auto it = deferred_.begin(); it != deferred_.end();) {
      it = it->second == m ? deferred_.erase(it) : std::next(it);
    }
  }
  if (auto s = set_held(options_.spool_dir, m->queue_id, false); !s) {
    MR_LOG_ERROR("event=queue_control_failed verb=delete queue_id={} detail={}", m->queue_id,
                 core::quote(s.log_detail()));
  }
  settle(m);
  return out;
}

int64_t SpoolQueue::remote_backoff(int attempts) const {
  // retry_min, 2x, 4x, ... capped at retry_max (Postfix's schedule).
  int64_t delay = options_.retry_min;
  for (int i = 1; i < attempts && delay < options_.retry_max; ++i) delay *= 2;
  return std::min(delay, options_.retry_max);
}

void SpoolQueue::schedule_remote_locked(const MessagePtr& m, int64_t due) {
  if (m->remote_scheduled || m->remote_in_flight || held_.count(m->queue_id)) return;
  m->remote_scheduled = true;
  remote_due_.emplace(due, m);
  cv_.notify_one();
}

void SpoolQueue::settle(const MessagePtr& m) {
  bool local_left = false, remote_left = false;
  std::vector<size_t> bounce;
  std::vector<size_t> success;
  {
    std::lock_guard state_lock(m->state_mu);
    success = m->success_due;
    for (size_t i = 0; i < m->states.size(); ++i) {
      auto st = m->states[i];
      if (st == RecipientState::pending) local_left = true;
      if (is_open_remote(st)) remote_left = true;
      if (st == RecipientState::bounce_due) bounce.push_back(i);
    }
  }
  std::unique_lock lock(mu_);
  if (stopping_) return;
  if (!bounce.empty() && !m->reporting) {
    m->reporting = true;
    lock.unlock();
    send_report(m, bounce, DsnAction::failed, [this, m, bounce](bool spooled) {
      if (spooled) {
        for (size_t i : bounce) set_state(*m, i, RecipientState::failed);
        metrics::recipients_bounced().inc(bounce.size());
      }
      {
        std::lock_guard relock(mu_);
        m->reporting = false;
        // Not spooled (the sender's directory could not be asked, or the disk failed): the
        // message comes back through the local retry, which settles it again.
        if (!spooled)
          deferred_.emplace(core::real_clock().unix_seconds() + options_.retry_seconds, m);
      }
      if (spooled) settle(m);
    });
    return;
  }
  if (!success.empty() && !m->reporting) {
    // NOTIFY=SUCCESS reports are best effort: a crash before they are spooled loses them.
    m->reporting = true;
    lock.unlock();
    {
      std::lock_guard state_lock(m->state_mu);
      m->success_due.clear();
    }
    send_report(m, success, DsnAction::delivered, [this, m](bool) {
      {
        std::lock_guard relock(mu_);
        m->reporting = false;
      }
      settle(m);
    });
    return;
  }
  if (remote_left && transport_ && !m->reporting) {
    int64_t due = core::real_clock().unix_seconds();
    if (m->remote_attempts > 0) due += remote_backoff(m->remote_attempts);
    schedule_remote_locked(m, due);
    if (m->remote_attempts > 0 && m->remote_scheduled && !local_left && !m->local_running &&
        m->spooled && !m->data_evicted) {
      std::string().swap(m->data);  // read back from the spool at the next attempt
      m->data_evicted = true;
    }
  }
  if (!local_left && !remote_left && bounce.empty() && success.empty() && !m->local_running &&
      !m->remote_in_flight && !m->remote_scheduled && !m->reporting) {
    live_.erase(m->queue_id);
    metrics::queue_messages().set(static_cast<double>(live_.size()));
    spool_.retire(m->queue_id);
  }
}

bool SpoolQueue::ensure_data(Message& m) {
  if (!m.data_evicted) return true;
  auto data = spool_.read_message(m.queue_id);
  if (!data) {
    MR_LOG_ERROR("event=spool_read_failed queue_id={} detail={}", m.queue_id,
                 core::quote(data.status().log_detail()));
    return false;
  }
  m.data = std::move(*data);
  m.data_evicted = false;
  return true;
}

void SpoolQueue::dispatch_remote(const MessagePtr& m) {
  if (!ensure_data(*m)) {
    std::lock_guard lock(mu_);
    schedule_remote_locked(m, core::real_clock().unix_seconds() + options_.retry_seconds);
    return;
  }
  std::map<std::string, std::vector<size_t>> by_domain;
  {
    std::lock_guard state_lock(m->state_mu);
    for (size_t i = 0; i < m->states.size(); ++i) {
      if (!is_open_remote(m->states[i])) continue;
      by_domain[domain_of(m->envelope.recipients[i].destination.address)].push_back(i);
    }
  }
  std::shared_ptr<RemoteTransport> transport;
  {
    std::lock_guard lock(mu_);
    transport = transport_;
    if (by_domain.empty() || !transport) return;
    m->remote_in_flight = true;
    m->remote_parts_left = by_domain.size();
    ++m->remote_attempts;
    remote_running_ += by_domain.size();
  }
  // The envelope and data live as long as the message (aliasing pointers keep it alive).
  std::shared_ptr<const Envelope> envelope(m, &m->envelope);
  std::shared_ptr<const std::string> data(m, &m->data);
  for (auto& [domain, indexes] : by_domain) {
    RemoteAttempt a;
    a.queue_id = m->queue_id;
    a.domain = domain;
    a.envelope = envelope;
    a.message = data;
    a.attempt = m->remote_attempts;
    for (size_t i : indexes) {
      const auto& r = m->envelope.recipients[i];
      a.recipients.push_back(RemoteRecipient{i, r.destination.address, r.notify, r.orcpt});
    }
    // Weak: the queue owns the transport (transport_), and the transport keeps `done` as long
    // as the attempt, which outlives stop() when it is abandoned (until the transport is
    // destroyed). A strong reference was a cycle that kept both, and all they hold, alive
    // past exit. The task needs none: tasks_ is the queue's own.
    std::weak_ptr<SpoolQueue> weak = weak_from_this();
    transport->deliver(std::move(a), [weak, m, indexes](std::vector<RemoteReply> replies) {
      auto self = weak.lock();
      if (!self) return;  // the recipients are still open in the spool: tried after a restart
      self->post_task([q = self.get(), m, indexes, replies = std::move(replies)]() mutable {
        q->complete_remote(RemoteDone{m, indexes, std::move(replies)});
      });
    });
  }
}

void SpoolQueue::complete_remote(RemoteDone done) {
  Message& m = *done.message;
  const int64_t now = core::real_clock().unix_seconds();
  std::vector<DeliveryRecord> records;
  for (size_t n = 0; n < done.recipients.size(); ++n) {
    size_t i = done.recipients[n];
    RemoteReply reply = n < done.replies.size() ? done.replies[n]
                                                : RemoteReply{RemoteReply::Kind::temporary,
                                                              0,
                                                              "4.3.0",
                                                              "no reply from the remote transport",
                                                              "",
                                                              "",
                                                              false,
                                                              ""};
    const auto& r = m.envelope.recipients[i];
    DeliveryRecord rec = record_for(m, i);
    rec.time = now;
    rec.size = m.size;
    rec.detail = "peer=" + (reply.peer.empty() ? std::string("none") : reply.peer) +
                 " tls=" + (reply.tls.empty() ? std::string("none") : reply.tls) +
                 " reply=" + core::quote(reply_line(reply)) +
                 (reply.policy.empty() ? std::string() : " " + reply.policy);
    DsnRecipient d;
    d.recipient = r.rcpt;
    d.original_recipient = r.orcpt;
    d.status = reply.status.empty()
                   ? (reply.kind == RemoteReply::Kind::permanent ? "5.0.0" : "4.0.0")
                   : reply.status;
    d.remote_mta = reply.peer.substr(0, reply.peer.find('['));
    d.diagnostic = reply_line(reply);
    d.last_attempt = now;
    switch (reply.kind) {
      case RemoteReply::Kind::delivered:
        rec.result = DeliveryResult::sent;
        set_state(m, i, RecipientState::delivered);
        metrics::recipients_sent_remote().inc();
        // RFC 3461 5.2.2: a peer that offers DSN takes NOTIFY=SUCCESS over; one that does not
        // gets the message and the sender hears "relayed" from us.
        if (reply.relayed_without_dsn && notify_requests(r.notify, "SUCCESS") &&
            !r.notify.empty()) {
          d.action = DsnAction::relayed;
          d.status = "2.0.0";
          std::lock_guard lock(m.state_mu);
          m.report[i] = d;
          m.success_due.push_back(i);
        }
        break;
      case RemoteReply::Kind::permanent:
        rec.result = DeliveryResult::failed;
        d.action = DsnAction::failed;
        {
          std::lock_guard lock(m.state_mu);
          m.report[i] = d;
        }
        set_state(m, i, RecipientState::bounce_due);
        break;
      case RemoteReply::Kind::temporary:
        rec.result = DeliveryResult::deferred;
        d.action = DsnAction::delayed;
        metrics::recipients_deferred("remote").inc();
        {
          std::lock_guard lock(m.state_mu);
          m.report[i] = d;
        }
        break;
    }
    MR_LOG_INFO("event=remote_delivery queue_id={} rcpt={} result={} attempt={} {}", m.queue_id,
                core::quote(rec.recipient), delivery_result_name(rec.result), m.remote_attempts,
                rec.detail);
    records.push_back(std::move(rec));
  }
  if (log_ && !records.empty()) {
    if (auto s = log_->record(records); !s) {
      MR_LOG_ERROR("event=delivery_log_failed queue_id={} records={} detail={}", m.queue_id,
                   records.size(), core::quote(s.log_detail()));
    }
  }
  {
    std::lock_guard lock(mu_);
    --remote_running_;
    if (--m.remote_parts_left > 0) return;
    m.remote_in_flight = false;
  }
  // Every domain answered: give up on what waited too long, warn once about delays.
  std::vector<size_t> warn;
  const bool expired = now - m.envelope.received_at >= options_.max_queue_time;
  const bool late =
      options_.delay_warning > 0 && now - m.envelope.received_at >= options_.delay_warning;
  {
    std::vector<std::pair<size_t, RecipientState>> changes;
    {
      std::lock_guard lock(m.state_mu);
      for (size_t i = 0; i < m.states.size(); ++i) {
        if (expired && is_open_remote(m.states[i])) {
          auto& d = m.report[i];
          d.recipient = m.envelope.recipients[i].rcpt;
          d.original_recipient = m.envelope.recipients[i].orcpt;
          d.action = DsnAction::failed;
          d.status = "4.4.7";  // RFC 3463: delivery time expired
          if (d.diagnostic.empty()) d.diagnostic = "delivery time expired";
          changes.emplace_back(i, RecipientState::bounce_due);
        } else if (late && m.states[i] == RecipientState::remote) {
          if (notify_requests(m.envelope.recipients[i].notify, "DELAY")) {
            warn.push_back(i);
          } else {
            changes.emplace_back(i, RecipientState::remote_warned);  // nobody to tell
          }
        }
      }
    }
    for (auto& [i, st] : changes) set_state(m, i, st);
  }
  if (!warn.empty()) {
    {
      std::lock_guard lock(mu_);
      done.message->reporting = true;
    }
    auto mp = done.message;
    send_report(mp, warn, DsnAction::delayed, [this, mp, warn](bool spooled) {
      if (spooled) {
        for (size_t i : warn) set_state(*mp, i, RecipientState::remote_warned);
      }
      {
        std::lock_guard lock(mu_);
        mp->reporting = false;
      }
      settle(mp);
    });
    return;
  }
  settle(done.message);
}

void SpoolQueue::send_report(const MessagePtr& m, const std::vector<size_t>& indexes,
                             DsnAction action, std::function<void(bool spooled)> then) {
  const auto& env = m->envelope;
  // RFC 3461 5.2/RFC 5321 4.5.5: nothing is ever reported to the null sender (no loops).
  std::vector<DsnRecipient> told;
  {
    std::lock_guard lock(m->state_mu);
    for (size_t i : indexes) {
      const auto& r = env.recipients[i];
      const bool success = action == DsnAction::delivered || action == DsnAction::relayed;
      const char* kind = action == DsnAction::failed ? "FAILURE" : success ? "SUCCESS" : "DELAY";
      if (!notify_requests(r.notify, kind)) continue;
      DsnRecipient d = m->report.count(i) ? m->report[i] : DsnRecipient{};
      d.recipient = r.rcpt;
      d.original_recipient = r.orcpt;
      // Success reports keep each recipient's own action (delivered here, or relayed).
      if (!success || (d.action != DsnAction::delivered && d.action != DsnAction::relayed)) {
        d.action = action;
      }
      if (action == DsnAction::delayed) {
        d.will_retry_until = env.received_at + options_.max_queue_time;
      }
      told.push_back(std::move(d));
    }
  }
  if (env.sender.empty() || told.empty()) {
    then(true);
    return;
  }
  if (!ensure_data(*m)) {
    then(false);
    return;
  }
  auth::Resolver* resolver = services_ ? services_->resolver.get() : nullptr;
  if (!resolver) {
    MR_LOG_ERROR("event=report_not_sent queue_id={} reason=no_resolver", m->queue_id);
    then(true);
    return;
  }
  auto res = resolver->resolve_recipient(env.sender, "", "");
  std::vector<auth::Destination> destinations;
  switch (res.outcome) {
    case auth::RecipientOutcome::deliver:
      destinations = res.destinations;
      break;
    case auth::RecipientOutcome::not_local: {
      auth::Destination d;
      d.kind = auth::Destination::Kind::remote;
      d.address = env.sender;
      destinations.push_back(std::move(d));
      break;
    }
    case auth::RecipientOutcome::unavailable:
    case auth::RecipientOutcome::too_many:
      MR_LOG_WARN("event=report_deferred queue_id={} sender={} detail={}", m->queue_id,
                  core::quote(env.sender), core::quote(res.detail));
      then(false);
      return;
    default:
      // The sender does not exist (any more): a report would have nowhere to go.
      MR_LOG_WARN("event=report_dropped queue_id={} sender={} detail={}", m->queue_id,
                  core::quote(env.sender), core::quote(res.detail));
      then(true);
      return;
  }
  const std::string host = services_->hostname.empty() ? "localhost" : services_->hostname;
  const int64_t now = core::real_clock().unix_seconds();
  const std::string qid = new_queue_id();
  DsnInput in;
  in.reporting_mta = host;
  in.postmaster = "MAILER-DAEMON@" + host;
  in.to = env.sender;
  in.envid = env.envid;
  in.queue_id = m->queue_id;
  in.arrival_date = env.received_at;
  in.now = now;
  in.message_id = "<" + qid + "@" + host + ">";
  in.full_message =
      core::iequals(env.ret, "FULL") || (env.ret.empty() && options_.return_full_message);
  in.recipients = std::move(told);
  // Our own Received: line carries the report's queue id (crash recovery looks for it).
  std::string report = "Received: by " + host + " (Mailroom) id " + qid + ";\r\n\t" +
                       core::rfc5322_date(now) + "\r\n" + build_dsn(in, m->data);
  Envelope out;
  out.sender = "";
  out.body = "8BITMIME";
  out.received_at = now;
  out.helo = host;
  out.client_ip = "127.0.0.1";
  for (auto& d : destinations) {
    EnvelopeRecipient r;
    r.rcpt = env.sender;
    r.destination = std::move(d);
    out.recipients.push_back(std::move(r));
  }
  MR_LOG_INFO("event=report queue_id={} report_id={} action={} to={} recipients={}", m->queue_id,
              qid, dsn_action_name(action), core::quote(env.sender), in.recipients.size());
  auto self = shared_from_this();
  submit(qid, std::move(out), std::move(report),
         [self, then = std::move(then), qid](core::Result<std::string> r) mutable {
           if (!r) {
             MR_LOG_ERROR("event=report_spool_failed report_id={} detail={}", qid,
                          core::quote(r.status().log_detail()));
           }
           bool ok = static_cast<bool>(r);
           self->post_task([then = std::move(then), ok] { then(ok); });
         });
}

}  // namespace mailroom::queue
