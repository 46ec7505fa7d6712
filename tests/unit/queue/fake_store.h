// A small in-memory MailStore for queue tests: append, snapshot and read_message work;
// everything else answers "not supported". fail_next lets a test inject append failures.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>

#include "src/store/mail_store.h"

namespace mailroom::queue::testing {

class FakeStore : public store::MailStore {
 public:
  struct Stored {
    uint32_t uid;
    std::string text;
    int64_t date;
  };
  std::mutex mu;
  std::map<std::string, std::vector<Stored>> boxes;  // "account/mailbox"
  core::Code fail_code = core::Code::ok;
  int fail_count = 0;
  int appends = 0;

  // Overlap detection for parallel delivery: with wait_for_company set, the first append
  // waits (up to 30 s) until a second append is running at the same time. most_in_flight
  // is the largest number of appends that ever ran at once.
  bool wait_for_company = false;
  int most_in_flight = 0;

  size_t count(const std::string& account, const std::string& box = "INBOX") {
    std::lock_guard l(mu);
    return boxes[account + "/" + box].size();
  }

  store::Result<std::vector<store::MailboxInfo>> list_mailboxes(const std::string&) override {
    return no();
  }
  store::Result<store::MailboxInfo> mailbox_status(const std::string&,
                                                   const std::string&) override {
    return no();
  }
  store::Status create_mailbox(const std::string&, const std::string&, store::SpecialUse) override {
    return no();
  }
  store::Status delete_mailbox(const std::string&, const std::string&, bool) override {
    return no();
  }
  store::Status rename_mailbox(const std::string&, const std::string&,
                               const std::string&) override {
    return no();
  }
  store::Status set_subscribed(const std::string&, const std::string&, bool) override {
    return no();
  }
  store::Result<std::vector<std::string>> subscriptions(const std::string&) override {
    return no();
  }
  store::Result<store::AppendResult> append(const std::string& account,
                                            const store::AppendRequest& r) override {
    InFlight guard(*this);
    std::lock_guard l(mu);
    ++appends;
    if (fail_count > 0) {
      --fail_count;
      return store::Status::error(fail_code, "injected", "injected failure");
    }
    auto& box = boxes[account + "/" + r.mailbox];
    uint32_t uid = static_cast<uint32_t>(box.size() + 1);
    box.push_back({uid, std::string(r.message), static_cast<int64_t>(std::time(nullptr))});
    return store::AppendResult{1, uid, uid};
  }
  store::Result<store::Snapshot> snapshot(const std::string& account,
                                          const std::string& mailbox) override {
    std::lock_guard l(mu);
    store::Snapshot s;
    s.uid_validity = 1;
    for (auto& m : boxes[account + "/" + mailbox]) {
      store::MessageMeta meta;
      meta.uid = m.uid;
      meta.internal_date = m.date;
      meta.size = m.text.size();
      s.messages.push_back(meta);
    }
    return s;
  }
  store::Result<store::Changes> changes_since(const std::string&, const std::string&,
                                              uint64_t) override {
    return no();
  }
  store::Result<store::StoreFlagsResult> store_flags(const std::string&, const std::string&,
                                                     const store::StoreFlagsRequest&) override {
    return no();
  }
  store::Result<std::vector<uint32_t>> expunge(const std::string&, const std::string&,
                                               const std::vector<uint32_t>&) override {
    return no();
  }
  store::Result<store::CopyResult> copy(const std::string&, const std::string&,
                                        const std::vector<uint32_t>&, const std::string&,
                                        const store::Quota&) override {
    return no();
  }
  store::Result<store::CopyResult> move(const std::string&, const std::string&,
                                        const std::vector<uint32_t>&, const std::string&) override {
    return no();
  }
  store::Result<std::string> read_message(const std::string& account, const std::string& mailbox,
                                          uint32_t uid) override {
    std::lock_guard l(mu);
    for (auto& m : boxes[account + "/" + mailbox]) {
      if (m.uid == uid) return m.text;
    }
    return core::not_found("no such message");
  }
  store::Result<std::string> facts(const std::string&, const std::string&, uint32_t) override {
    return no();
  }
  store::Status mark_retrieved(const std::string&, const std::string&, uint32_t, int64_t,
                               const std::string&) override {
    return no();
  }
  store::Result<store::QuotaUsage> quota_usage(const std::string&) override {
    return store::QuotaUsage{};
  }
  std::unique_ptr<store::WatchHandle> watch(
      const std::string&, const std::string&,
      std::function<void(const store::ChangeEvent&)>) override {
    return nullptr;
  }

 private:
  static store::Status no() { return core::Status::error(core::Code::internal, "unsupported"); }

  struct InFlight {
    explicit InFlight(FakeStore& s) : s(s) {
      std::unique_lock l(s.flight_mu_);
      s.most_in_flight = std::max(s.most_in_flight, ++s.in_flight_);
      s.flight_cv_.notify_all();
      if (s.wait_for_company && !s.waited_) {
        s.waited_ = true;
        s.flight_cv_.wait_for(l, std::chrono::seconds(30), [&] { return s.in_flight_ >= 2; });
      }
    }
    ~InFlight() {
      std::lock_guard l(s.flight_mu_);
      --s.in_flight_;
    }
    FakeStore& s;
  };
  std::mutex flight_mu_;
  std::condition_variable flight_cv_;
  int in_flight_ = 0;
  bool waited_ = false;
};

}  // namespace mailroom::queue::testing
