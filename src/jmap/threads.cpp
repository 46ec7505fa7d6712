#include "src/jmap/threads.h"

#include <algorithm>
#include <cstdio>

#include "src/core/log.h"
#include "src/jmap/methods.h"
#include "src/mime/facts.h"

namespace mailroom::jmap {

namespace {

constexpr size_t kMaxGone = 10000;
// A hash node beyond its value: the next pointer, the cached hash, its bucket slot and the
// allocator's header.
constexpr size_t kNodeBytes = 32;

size_t string_bytes(const std::string& s) {
  return sizeof(std::string) + (s.capacity() > 15 ? s.capacity() + 1 : 0);
}

size_t map_bytes(const std::unordered_map<std::string, std::string>& m) {
  size_t n = m.bucket_count() * sizeof(void*);
  for (const auto& [k, v] : m) n += kNodeBytes + string_bytes(k) + string_bytes(v);
  return n;
}

std::string membership_of(const std::vector<MailboxView>& all) {
  std::string key;
  for (const auto& m : all) {
    key += m.info.object_id + ':' + std::to_string(m.info.uid_validity) + '.' +
           std::to_string(m.info.uid_next) + '.' + std::to_string(m.info.messages) + ',';
  }
  return key;
}

}  // namespace

std::string ThreadIndex::thread(const std::string& guid) const {
  auto it = thread_of.find(guid);
  return it == thread_of.end() ? thread_id(guid) : it->second;
}

core::Result<std::shared_ptr<const ThreadIndex>> ThreadCache::get(
    store::MailStore& store, const std::string& account_id, const std::vector<MailboxView>& all) {
  std::string membership = membership_of(all);
  std::shared_ptr<const ThreadIndex> old;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = entries_.find(account_id);
    if (it != entries_.end()) {
      old = it->second.index;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      if (old->membership == membership) return old;
    }
  }
  auto index = std::make_shared<ThreadIndex>();
  index->membership = membership;
  struct Member {
    int64_t date;
    std::string guid;
  };
  std::unordered_map<std::string, int64_t> dates;  // guid -> internal date
  for (const auto& m : all) {
    auto snap = store.snapshot(account_id, m.info.name);
    if (!snap) {
      if (snap.code() == core::Code::not_found) continue;  // deleted meanwhile
      return snap.status();
    }
    std::vector<uint32_t> unknown;
    std::vector<const store::MessageMeta*> unknown_meta;
    for (const auto& meta : snap->messages) {
      if (!dates.emplace(meta.guid, meta.internal_date).second) continue;  // a copy
      if (index->thread_of.count(meta.guid)) continue;
      if (old) {
        if (auto it = old->thread_of.find(meta.guid); it != old->thread_of.end()) {
          index->thread_of.emplace(meta.guid, it->second);
          continue;
        }
      }
      unknown.push_back(meta.uid);
      unknown_meta.push_back(&meta);
    }
    if (unknown.empty()) continue;
    auto facts = store.facts_batch(account_id, m.info.name, unknown);
    for (size_t i = 0; i < unknown.size(); ++i) {
      std::string root;
      if (i < facts.size() && facts[i] && !facts[i]->empty()) {
        if (auto f = mime::decode_facts(*facts[i]))
          root = thread_root(f->message_id, f->in_reply_to, f->references);
      }
      const std::string& guid = unknown_meta[i]->guid;
      index->thread_of.emplace(guid, thread_id_of(root, guid));
    }
  }
  std::unordered_map<std::string, std::vector<Member>> members;
  for (const auto& [guid, thread] : index->thread_of)
    members[thread].push_back({dates[guid], guid});
  for (auto& [thread, list] : members) {
    std::sort(list.begin(), list.end(), [](const Member& a, const Member& b) {
      return a.date != b.date ? a.date < b.date : a.guid < b.guid;
    });
    auto& out = index->members[thread];
    out.reserve(list.size());
    for (auto& m : list) out.push_back(std::move(m.guid));
  }
  if (old) {
    for (const auto& [guid, thread] : old->gone)
      if (index->gone.size() < kMaxGone && !index->thread_of.count(guid))
        index->gone.emplace(guid, thread);
    for (const auto& [guid, thread] : old->thread_of)
      if (index->gone.size() < kMaxGone && !index->thread_of.count(guid))
        index->gone.emplace(guid, thread);
  }
  index->bytes = estimate_bytes(*index);
  std::lock_guard<std::mutex> lk(mu_);
  ++builds_;
  if (auto it = entries_.find(account_id); it != entries_.end()) {
    bytes_ -= it->second.index->bytes;
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  if (index->bytes > max_bytes_) {
    MR_LOG_INFO("event=jmap.threads_not_cached account={} bytes={} max_bytes={}", account_id,
                index->bytes, max_bytes_);
    return std::shared_ptr<const ThreadIndex>(index);
  }
  lru_.push_front(account_id);
  entries_.emplace(account_id, Entry{index, lru_.begin()});
  bytes_ += index->bytes;
  while (bytes_ > max_bytes_ || entries_.size() > kMaxThreadAccounts) {
    auto victim = entries_.find(lru_.back());
    bytes_ -= victim->second.index->bytes;
    entries_.erase(victim);
    lru_.pop_back();
  }
  return std::shared_ptr<const ThreadIndex>(index);
}

std::shared_ptr<const ThreadIndex> thread_index(CallContext& ctx,
                                                const std::vector<MailboxView>& all) {
  if (!ctx.threads) return nullptr;
  auto index = ctx.threads->get(ctx.store, ctx.account_id, all);
  if (!index) {
    MR_LOG_WARN("event=jmap.threads_failed account={} error={}", ctx.account_id,
                core::quote(index.status().log_detail()));
    return nullptr;
  }
  return *index;
}

size_t ThreadCache::builds() const {
  std::lock_guard<std::mutex> lk(mu_);
  return builds_;
}

size_t ThreadCache::bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return bytes_;
}

size_t ThreadCache::entries() const {
  std::lock_guard<std::mutex> lk(mu_);
  return entries_.size();
}

size_t estimate_bytes(const ThreadIndex& index) {
  size_t n = sizeof(ThreadIndex) + string_bytes(index.membership) + map_bytes(index.thread_of) +
             map_bytes(index.gone);
  n += index.members.bucket_count() * sizeof(void*);
  for (const auto& [thread, guids] : index.members) {
    n += kNodeBytes + string_bytes(thread) + sizeof(guids) +
         (guids.capacity() - guids.size()) * sizeof(std::string);
    for (const auto& g : guids) n += string_bytes(g);
  }
  return n;
}

}  // namespace mailroom::jmap
