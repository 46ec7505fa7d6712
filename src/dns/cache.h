// Inside src/dns: the answer cache, per (type, name), bounded, each entry kept for its TTL.
// Per node and disposable (DESIGN.md: caches); single-threaded (the resolver's io thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "src/dns/answers.h"

namespace mailroom::dns {

class AnswerCache {
 public:
  using Time = std::chrono::steady_clock::time_point;

  // 0 entries: nothing is ever kept.
  explicit AnswerCache(size_t max_entries) : max_entries_(max_entries) {}

  // The answer stored under `key` if it has not expired at `now`; a hit counts as a use.
  std::optional<Answer> get(const std::string& key, Time now);
  // Keeps `answer` until now + answer.ttl; a ttl of 0 or a temporary outcome keeps nothing.
  // When full, the least recently used entry goes (expired ones also go when next asked for).
  void put(const std::string& key, const Answer& answer, Time now);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Answer answer;
    Time expires;
    std::list<std::string>::iterator use;  // position in uses_
  };
  void erase(std::unordered_map<std::string, Entry>::iterator it);

  size_t max_entries_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> uses_;  // most recently used first
};

}  // namespace mailroom::dns
