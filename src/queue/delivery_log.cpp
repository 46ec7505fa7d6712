// Delivery log registry (explicit backend list, STYLE.md example 1) and the in-memory log.
#include "src/queue/delivery_log.h"

#include <algorithm>
#include <mutex>

#include "src/core/config_section.h"
#include "src/core/log.h"

namespace mailroom::queue {

const char* delivery_result_name(DeliveryResult r) {
  switch (r) {
    case DeliveryResult::delivered:
      return "delivered";
    case DeliveryResult::failed:
      return "failed";
    case DeliveryResult::deferred:
      return "deferred";
    case DeliveryResult::queued_remote:
      return "queued_remote";
    case DeliveryResult::rejected:
      return "rejected";
  }
  return "unknown";
}

bool parse_delivery_result(const std::string& name, DeliveryResult* out) {
  for (auto r : {DeliveryResult::delivered, DeliveryResult::failed, DeliveryResult::deferred,
                 DeliveryResult::queued_remote, DeliveryResult::rejected}) {
    if (name == delivery_result_name(r)) {
      *out = r;
      return true;
    }
  }
  return false;
}

#ifndef MAILROOM_HAVE_MARIADB_DELIVERY_LOG
core::Result<std::shared_ptr<DeliveryLog>> open_mariadb_delivery_log(core::ConfigSection& section) {
  section.finish();
  return core::invalid_argument("delivery_log backend mariadb is not built in");
}
#endif

std::shared_ptr<DeliveryLog> open_delivery_log(core::ConfigSection& section,
                                               const std::string& data_dir) {
  std::string backend = section.get_choice("backend", "sqlite", {"sqlite", "mariadb"});
  core::Result<std::shared_ptr<DeliveryLog>> log = core::internal_error("unset");
  if (backend == "mariadb") {
    log = open_mariadb_delivery_log(section);
  } else {
    std::string path = section.get_string("path", data_dir + "/delivery_log.db");
    section.finish();
    log = open_sqlite_delivery_log(path);
  }
  if (!log) {
    section.error("backend", log.status().client_message() + " " + log.status().log_detail());
    return nullptr;
  }
  return std::move(log).value();
}

namespace {

bool matches(const DeliveryRecord& r, const DeliveryQuery& q) {
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

class MemoryDeliveryLog final : public DeliveryLog {
 public:
  std::string name() const override { return "memory"; }
  core::Status record(const std::vector<DeliveryRecord>& records) override {
    std::lock_guard lock(mu_);
    for (auto r : records) {
      r.id = ++next_id_;
      records_.push_back(std::move(r));
    }
    return core::Status::ok();
  }
  core::Result<std::vector<DeliveryRecord>> query(const DeliveryQuery& q) override {
    std::lock_guard lock(mu_);
    std::vector<DeliveryRecord> out;
    for (auto it = records_.rbegin(); it != records_.rend() && out.size() < q.limit; ++it) {
      if (matches(*it, q)) out.push_back(*it);
    }
    return out;
  }

 private:
  std::mutex mu_;
  int64_t next_id_ = 0;
  std::vector<DeliveryRecord> records_;
};

}  // namespace

std::shared_ptr<DeliveryLog> make_memory_delivery_log() {
  return std::make_shared<MemoryDeliveryLog>();
}

}  // namespace mailroom::queue
