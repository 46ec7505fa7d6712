// SpoolQueue: options, submit (group commit through the spool), recovery and the threads.
#include <algorithm>
#include <chrono>
#include <functional>
#include <random>

#include "src/core/clock.h"
#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/core/metric_catalog.h"
#include "src/core/services.h"
#include "src/queue/control.h"
#include "src/queue/envelope_codec.h"
#include "src/queue/spool_queue.h"

namespace mailroom::queue {

Options parse_options(core::ConfigSection& section, const std::string& data_dir) {
  Options o;
  o.spool_dir = section.get_string("spool_dir", data_dir + "/queue");
  o.delivery_threads = static_cast<size_t>(section.get_int("delivery_threads", 8, 1, 256));
  o.segment_bytes = section.get_size("segment_size", o.segment_bytes);
  o.fsync = section.get_bool("fsync", true);
  o.retry_seconds = section.get_seconds("retry_interval", o.retry_seconds);
  o.retry_min = section.get_seconds("remote_retry_min", o.retry_min);
  o.retry_max = std::max(o.retry_min, section.get_seconds("remote_retry_max", o.retry_max));
  o.max_queue_time = section.get_seconds("max_queue_time", o.max_queue_time);
  o.delay_warning = section.get_seconds("delay_warning", o.delay_warning);
  o.remote_in_flight = static_cast<size_t>(section.get_int("remote_in_flight", 200, 1, 100000));
  o.return_full_message = section.get_bool("bounce_full_message", false);
  section.finish();
  return o;
}

std::shared_ptr<Queue> open_queue(const Options& options, core::Services& services) {
  return open_queue(options, services, {});
}

std::shared_ptr<Queue> open_queue(const Options& options, core::Services& services,
                                  std::vector<std::shared_ptr<filter::Scanner>> scanners) {
  auto q = std::make_shared<SpoolQueue>(options, services.store, services.delivery_log,
                                        std::move(scanners));
  q->set_services(&services);  // store/log may be wired after the queue: read again at start()
  return q;
}

SpoolQueue::SpoolQueue(const Options& options, std::shared_ptr<store::MailStore> store,
                       std::shared_ptr<DeliveryLog> log,
                       std::vector<std::shared_ptr<filter::Scanner>> scanners)
    : options_(options),
      store_(std::move(store)),
      log_(std::move(log)),
      scanners_(std::move(scanners)),
      spool_(SpoolOptions{options.spool_dir, options.segment_bytes, options.fsync, {}}) {}

SpoolQueue::~SpoolQueue() { stop(); }

std::string SpoolQueue::new_queue_id() {
  // 64 bits of microseconds time, 16 bits of counter: unique within this spool and sortable.
  static std::atomic<uint64_t> last_us{0};
  uint64_t us = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  uint64_t prev = last_us.load();
  while (true) {
    uint64_t next = std::max(us, prev + 1);
    if (last_us.compare_exchange_weak(prev, next)) {
      us = next;
      break;
    }
  }
  uint16_t c = static_cast<uint16_t>(id_counter_.fetch_add(1));
  char buf[32];
  std::snprintf(buf, sizeof buf, "MR%016llX%04X", static_cast<unsigned long long>(us), c);
  return buf;
}

core::Status SpoolQueue::start() {
  if (services_) {
    if (!store_) store_ = services_->store;
    if (!log_) log_ = services_->delivery_log;
  }
  if (!store_) return core::internal_error("queue started without a mail store");
  std::vector<SpoolRecord> recovered;
  if (auto s = spool_.open(&recovered); !s) return s;
  int64_t min_time = 0;
  size_t pending = 0;
  std::vector<MessagePtr> to_settle;
  for (auto& r : recovered) {
    auto env = decode_envelope(r.envelope);
    if (!env) {
      MR_LOG_ERROR("event=spool_bad_envelope queue_id={} (kept on disk, not delivered)",
                   r.queue_id);
      continue;
    }
    auto m = std::make_shared<Message>();
    m->queue_id = r.queue_id;
    m->envelope = std::move(*env);
    m->data = std::move(r.message);
    m->size = m->data.size();
    m->facts = extract_header_facts(m->data);
    m->states.assign(m->envelope.recipients.size(), RecipientState::pending);
    for (auto& [idx, st] : r.states) {
      if (idx < m->states.size() && st <= kMaxRecipientState) {
        m->states[idx] = static_cast<RecipientState>(st);
      }
    }
    m->verify_store = true;
    m->first_attempt = m->envelope.received_at;
    bool local_pending = false, open = false;
    for (size_t i = 0; i < m->states.size(); ++i) {
      auto& st = m->states[i];
      if (st == RecipientState::pending &&
          m->envelope.recipients[i].destination.kind == auth::Destination::Kind::remote) {
        st = RecipientState::remote;  // crashed before the first pass marked it
      }
      if (st == RecipientState::pending) local_pending = true;
      if (st == RecipientState::remote || st == RecipientState::remote_warned ||
          st == RecipientState::bounce_due) {
        open = true;
      }
      if (st == RecipientState::bounce_due) {
        // The reason was in memory only; the report says the message failed, not why.
        DsnRecipient d;
        d.status = "5.0.0";
        d.diagnostic = "delivery failed (the reason was lost in a restart)";
        m->report[i] = std::move(d);
      }
    }
    if (!local_pending && !open) {
      spool_.retire(m->queue_id);
      continue;
    }
    if (min_time == 0 || m->envelope.received_at < min_time) min_time = m->envelope.received_at;
    std::lock_guard lock(mu_);
    live_[m->queue_id] = m;
    metrics::queue_messages().set(static_cast<double>(live_.size()));
    if (local_pending) {
      enqueue_locked(m);
      ++pending;
    } else {
      to_settle.push_back(m);
    }
  }
  for (auto& id : held_messages(options_.spool_dir)) {
    std::lock_guard lock(mu_);
    held_.insert(id);
  }
  verify_since_ = min_time - 5;  // internal dates have second resolution; allow clock slack
  MR_LOG_INFO("event=queue_recovered messages={} to_deliver={}", live_.size(), pending);
  {
    std::lock_guard lock(mu_);
    started_ = true;
    for (size_t i = 0; i < options_.delivery_threads; ++i) {
      workers_.emplace_back([this] { worker_loop(); });
    }
  }
  for (auto& m : to_settle) settle(m);
  poll_control();
  return core::Status::ok();
}

void SpoolQueue::stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  spool_.close();
  std::deque<std::function<void()>> not_run;  // destroyed after the lock is released
  std::lock_guard lock(mu_);
  started_ = false;
  not_run.swap(tasks_);
}

void SpoolQueue::submit(std::string queue_id, Envelope envelope, std::string message, Done done) {
  auto m = std::make_shared<Message>();
  m->queue_id = queue_id;
  if (envelope.received_at == 0) envelope.received_at = core::real_clock().unix_seconds();
  m->first_attempt = envelope.received_at;
  std::string encoded = encode_envelope(envelope);
  m->envelope = std::move(envelope);
  m->states.assign(m->envelope.recipients.size(), RecipientState::pending);
  m->facts = extract_header_facts(message);
  m->size = message.size();
  // The spool needs its own copy (it writes asynchronously); the in-memory one is delivered.
  m->data = message;
  auto self = shared_from_this();
  spool_.append(queue_id, std::move(encoded), std::move(message),
                [self, m, done = std::move(done)](core::Status s) {
                  if (!s) {
                    done(s);
                    return;
                  }
                  size_t parts = 0;
                  m->accepted_at = std::chrono::steady_clock::now();
                  {
                    std::lock_guard lock(self->mu_);
                    self->live_[m->queue_id] = m;
                    metrics::queue_messages().set(static_cast<double>(self->live_.size()));
                    parts = self->enqueue_locked(m);
                  }
                  if (parts > 1) {
                    self->cv_.notify_all();
                  } else {
                    self->cv_.notify_one();
                  }
                  done(m->queue_id);
                });
}

size_t SpoolQueue::enqueue_locked(const MessagePtr& m) {
  // Parts of at least kPartSize pending local recipients, at most one per delivery thread.
  constexpr size_t kPartSize = 32;
  auto is_remote = [&](size_t i) {
    return m->envelope.recipients[i].destination.kind == auth::Destination::Kind::remote;
  };
  size_t local_pending = 0;
  for (size_t i = 0; i < m->states.size(); ++i) {
    if (m->states[i] == RecipientState::pending && !is_remote(i)) ++local_pending;
  }
  size_t parts = std::min(options_.delivery_threads, (local_pending + kPartSize - 1) / kPartSize);
  m->part_deferred = false;
  m->local_running = true;
  if (parts <= 1) {
    m->parts_left = 1;
    ready_.push_back(Work{m, {}});
    return 1;
  }
  // Every recipient of a mailbox goes to that mailbox's part, delivered or not (deliver()
  // skips a mailbox already delivered to); remote recipients go to the first part.
  std::vector<std::vector<size_t>> split(parts);
  std::hash<std::string> hash;
  for (size_t i = 0; i < m->states.size(); ++i) {
    const auto& d = m->envelope.recipients[i].destination;
    split[is_remote(i) ? 0 : hash(d.account_id + "\n" + d.folder) % parts].push_back(i);
  }
  size_t used = 0;
  for (auto& p : split) used += p.empty() ? 0 : 1;
  m->parts_left = used;
  for (auto& p : split) {
    if (!p.empty()) ready_.push_back(Work{m, std::move(p)});
  }
  return used;
}

void SpoolQueue::worker_loop() {
  std::unique_lock lock(mu_);
  while (true) {
    if (stopping_) return;
    int64_t now = core::real_clock().unix_seconds();
    if (now != last_control_) {
      last_control_ = now;
      ++busy_;
      lock.unlock();
      poll_control();
      lock.lock();
      --busy_;
      continue;
    }
    if (!deferred_.empty() && deferred_.begin()->first <= now) {
      if (enqueue_locked(deferred_.begin()->second) > 1) cv_.notify_all();
      deferred_.erase(deferred_.begin());
    }
    if (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      ++busy_;
      lock.unlock();
      task();
      lock.lock();
      --busy_;
      continue;
    }
    if (!remote_due_.empty() && remote_due_.begin()->first <= now &&
        remote_running_ < options_.remote_in_flight) {
      MessagePtr m = remote_due_.begin()->second;
      remote_due_.erase(remote_due_.begin());
      m->remote_scheduled = false;
      ++busy_;
      lock.unlock();
      dispatch_remote(m);
      lock.lock();
      --busy_;
      continue;
    }
    if (ready_.empty()) {
      if (busy_ == 0) idle_cv_.notify_all();
      // Timed: deferred work falls due and control requests arrive without a notify.
      cv_.wait_for(lock, std::chrono::seconds(1));
      continue;
    }
    Work w = std::move(ready_.front());
    ready_.pop_front();
    ++busy_;
    lock.unlock();
    const MessagePtr& m = w.message;
    bool deferred = deliver(*m, w.recipients.empty() ? nullptr : &w.recipients);
    if (deferred) m->part_deferred = true;
    // The last part to finish decides for the whole message (acq_rel: it sees every part's
    // recipient states).
    if (m->parts_left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      finish(m, m->part_deferred.load());
    }
    lock.lock();
    --busy_;
  }
}

void SpoolQueue::finish(const MessagePtr& m, bool deferred) {
  bool local_left = false;
  {
    std::lock_guard state_lock(m->state_mu);
    for (auto st : m->states) {
      if (st == RecipientState::pending) local_left = true;
    }
  }
  {
    std::lock_guard lock(mu_);
    m->local_running = false;
    if (deferred && local_left) {
      deferred_.emplace(core::real_clock().unix_seconds() + options_.retry_seconds, m);
    }
  }
  settle(m);
}

void SpoolQueue::post_task(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    // Stopped: no thread would run it, so it is dropped, like the tasks stop() found. What it
    // would have journaled is not; after a restart the spool's states are acted on again (a
    // remote attempt or a report may be repeated), as after a crash.
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

std::vector<QueuedMessage> SpoolQueue::list() {
  std::lock_guard lock(mu_);
  std::vector<QueuedMessage> out;
  for (auto& [id, m] : live_) {
    QueuedMessage q;
    q.queue_id = id;
    q.envelope = m->envelope;
    q.size = m->size;
    q.held = held_.count(id) > 0;
    std::lock_guard state_lock(m->state_mu);
    q.states = m->states;
    out.push_back(std::move(q));
  }
  return out;
}

bool SpoolQueue::wait_idle(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return ready_.empty() && tasks_.empty() && busy_ == 0; });
}

}  // namespace mailroom::queue
