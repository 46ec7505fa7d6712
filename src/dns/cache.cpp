#include "src/dns/cache.h"

namespace mailroom::dns {

std::optional<Answer> AnswerCache::get(const std::string& key, Time now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  if (it->second.expires <= now) {
    erase(it);
    return std::nullopt;
  }
  uses_.splice(uses_.begin(), uses_, it->second.use);
  return it->second.answer;
}

void AnswerCache::put(const std::string& key, const Answer& answer, Time now) {
  if (max_entries_ == 0 || answer.ttl == 0 || answer.outcome == Outcome::temporary) {
    return;
  }
  if (auto old = entries_.find(key); old != entries_.end()) {
    erase(old);
  }
  while (entries_.size() >= max_entries_) {
    erase(entries_.find(uses_.back()));
  }
  uses_.push_front(key);
  entries_.emplace(key, Entry{answer, now + std::chrono::seconds(answer.ttl), uses_.begin()});
}

void AnswerCache::erase(std::unordered_map<std::string, Entry>::iterator it) {
  uses_.erase(it->second.use);
  entries_.erase(it);
}

}  // namespace mailroom::dns
