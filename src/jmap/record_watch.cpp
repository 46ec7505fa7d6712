#include "src/jmap/record_watch.h"

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "src/core/services.h"
#include "src/jmap/records.h"
#include "src/jmap/submission.h"

namespace mailroom::jmap {

namespace {

struct Registry {
  std::mutex mu;
  uint64_t next_id = 1;
  // account id -> watcher id -> callback; an account's entry goes with its last watcher.
  std::unordered_map<std::string, std::map<uint64_t, std::function<void()>>> watchers;
};

Registry& registry() {
  static Registry r;
  return r;
}

class Handle final : public RecordWatch {
 public:
  Handle(std::string account, uint64_t id) : account_(std::move(account)), id_(id) {}
  ~Handle() override {
    auto& r = registry();
    std::lock_guard<std::mutex> lk(r.mu);
    auto it = r.watchers.find(account_);
    if (it == r.watchers.end()) return;
    it->second.erase(id_);
    if (it->second.empty()) r.watchers.erase(it);
  }

 private:
  std::string account_;
  uint64_t id_;
};

}  // namespace

std::unique_ptr<RecordWatch> watch_records(const std::string& account_id,
                                           std::function<void()> on_change) {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  uint64_t id = r.next_id++;
  r.watchers[account_id].emplace(id, std::move(on_change));
  return std::make_unique<Handle>(account_id, id);
}

void records_changed(const std::string& account_id) {
  std::vector<std::function<void()>> calls;
  {
    auto& r = registry();
    std::lock_guard<std::mutex> lk(r.mu);
    auto it = r.watchers.find(account_id);
    if (it == r.watchers.end()) return;
    for (const auto& [id, fn] : it->second) calls.push_back(fn);
  }
  for (const auto& fn : calls) fn();
}

std::optional<std::string> record_type_state(core::Services& services,
                                             const std::string& account_id, std::string_view type) {
  if (type == "VacationResponse") return vacation_state(services, account_id);
  // identity_methods.cpp's and submission.h's documents; Identity/get's state is "seq".
  const char* kind = type == "Identity" ? "identities" : kSubmissionRecord;
  boost::json::object doc;
  if (!load_record(services.mail_root, account_id, kind, &doc)) return std::nullopt;
  return record_state(doc);
}

}  // namespace mailroom::jmap
