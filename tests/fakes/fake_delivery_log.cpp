#include "tests/fakes/fake_delivery_log.h"

namespace mailroom::testing {
namespace {

bool matches(const queue::DeliveryRecord& r, const queue::DeliveryQuery& q) {
  if (!q.message_id.empty() && r.message_id != q.message_id) return false;
  if (!q.queue_id.empty() && r.queue_id != q.queue_id) return false;
  if (!q.envelope_sender.empty() && r.envelope_sender != q.envelope_sender) return false;
  if (!q.recipient.empty() && r.recipient != q.recipient) return false;
  if (!q.account_id.empty() && r.account_id != q.account_id) return false;
  auto domain_of = [](const std::string& a) { return a.substr(a.rfind('@') + 1); };
  if (!q.recipient_domain.empty() && domain_of(r.recipient) != q.recipient_domain) return false;
  if (!q.sender_domain.empty() && domain_of(r.envelope_sender) != q.sender_domain) return false;
  if (!q.subject_prefix.empty() && r.subject.rfind(q.subject_prefix, 0) != 0) return false;
  if (q.since != 0 && r.time < q.since) return false;
  if (q.until != 0 && r.time > q.until) return false;
  return true;
}

core::Status log_down() { return core::unavailable("delivery log unavailable", "injected fault"); }

}  // namespace

queue::DeliveryQuery FakeDeliveryLog::last_query() {
  std::lock_guard l(mu_);
  return last_query_;
}

core::Status FakeDeliveryLog::record(const std::vector<queue::DeliveryRecord>& records) {
  if (fail_all) return log_down();
  std::lock_guard l(mu_);
  for (auto r : records) {
    r.id = ++next_id_;
    records_.push_back(std::move(r));
  }
  return core::Status::ok();
}

core::Result<std::vector<queue::DeliveryRecord>> FakeDeliveryLog::query(
    const queue::DeliveryQuery& q) {
  std::lock_guard l(mu_);
  last_query_ = q;
  if (fail_all) return log_down();
  std::vector<queue::DeliveryRecord> out;
  for (auto it = records_.rbegin(); it != records_.rend() && out.size() < q.limit; ++it) {
    if (matches(*it, q)) out.push_back(*it);
  }
  return out;
}

}  // namespace mailroom::testing
