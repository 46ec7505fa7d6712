#include "src/jmap/list_order.h"

#include <algorithm>
#include <unordered_set>

namespace mailroom::jmap {

std::shared_ptr<ListOrder> build_list_order(const store::Snapshot& snap, bool ascending) {
  struct Item {
    int64_t date;
    const std::string* guid;
  };
  std::vector<Item> items;
  items.reserve(snap.messages.size());
  std::unordered_set<std::string_view> seen;
  seen.reserve(snap.messages.size());
  // A message copied within the mailbox is one Email (one guid): its first copy counts, as in
  // email_query's general path.
  for (const auto& m : snap.messages)
    if (seen.insert(m.guid).second) items.push_back({m.internal_date, &m.guid});
  std::sort(items.begin(), items.end(), [ascending](const Item& a, const Item& b) {
    if (a.date != b.date) return ascending ? a.date < b.date : a.date > b.date;
    return *a.guid < *b.guid;
  });
  auto order = std::make_shared<ListOrder>();
  order->uid_validity = snap.uid_validity;
  order->uid_next = snap.uid_next;
  order->messages = static_cast<uint32_t>(snap.messages.size());
  order->guids.reserve(items.size());
  size_t bytes = sizeof(ListOrder);
  for (const auto& i : items) {
    order->guids.push_back(*i.guid);
    bytes += sizeof(std::string) + i.guid->capacity();
  }
  order->bytes = bytes;
  return order;
}

core::Result<std::shared_ptr<const ListOrder>> ListOrderCache::get(
    store::MailStore& store, const std::string& account_id, const store::MailboxInfo& mailbox,
    bool ascending) {
  std::string key = account_id + '\0' + mailbox.name + '\0' + (ascending ? "a" : "d");
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      const auto& o = *it->second.order;
      if (o.uid_validity == mailbox.uid_validity && o.uid_next == mailbox.uid_next &&
          o.messages == mailbox.messages) {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
        return it->second.order;
      }
    }
  }
  auto snap = store.snapshot(account_id, mailbox.name);
  if (!snap) return snap.status();
  std::shared_ptr<const ListOrder> order = build_list_order(*snap, ascending);
  std::lock_guard<std::mutex> lk(mu_);
  ++builds_;
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    bytes_ -= it->second.order->bytes;
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  if (order->bytes <= max_bytes_) {
    lru_.push_front(key);
    entries_.emplace(key, Entry{order, lru_.begin()});
    bytes_ += order->bytes;
    while (bytes_ > max_bytes_ && !lru_.empty()) {
      auto old = entries_.find(lru_.back());
      bytes_ -= old->second.order->bytes;
      entries_.erase(old);
      lru_.pop_back();
    }
  }
  // The snapshot may be newer than `mailbox` (mail arrived in between): it is what the caller
  // gets, and the next request with the newer counts finds it valid.
  return order;
}

size_t ListOrderCache::bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return bytes_;
}

size_t ListOrderCache::builds() const {
  std::lock_guard<std::mutex> lk(mu_);
  return builds_;
}

}  // namespace mailroom::jmap
