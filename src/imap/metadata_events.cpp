#include "src/imap/metadata_events.h"

namespace mailroom::imap {

MetadataEvents& MetadataEvents::instance() {
  static MetadataEvents events;
  return events;
}

MetadataEvents::Subscription::~Subscription() { events_.unsubscribe(account_, id_); }

std::unique_ptr<MetadataEvents::Subscription> MetadataEvents::subscribe(const std::string& account,
                                                                        Callback callback) {
  std::lock_guard<std::mutex> lk(mu_);
  uint64_t id = next_id_++;
  by_account_[account][id] = std::make_shared<const Callback>(std::move(callback));
  return std::make_unique<Subscription>(*this, account, id);
}

void MetadataEvents::unsubscribe(const std::string& account, uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = by_account_.find(account);
  if (it == by_account_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) by_account_.erase(it);
}

void MetadataEvents::publish(const MetadataEvent& event) {
  std::vector<std::shared_ptr<const Callback>> callbacks;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = by_account_.find(event.owner);
    if (it == by_account_.end()) return;
    callbacks.reserve(it->second.size());
    for (const auto& [id, cb] : it->second) callbacks.push_back(cb);
  }
  for (const auto& cb : callbacks) (*cb)(event);
}

}  // namespace mailroom::imap
