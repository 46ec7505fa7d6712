// Group commit of appends (store_messages.cpp): appends of one user that wait while its index
// commits are committed together, one savepoint each (seen through StoreOptions' test hooks). A
// failing append in a batch (quota, missing mailbox) must roll back only its own rows and leave no
// message file behind.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "src/store/maintenance.h"
#include "src/store/store_options.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

size_t message_files(const std::string& user_dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(user_dir + "/msg"))
    if (e.is_regular_file()) ++n;
  return n;
}

TEST_F(StoreTest, ConcurrentAppendsWithFailuresInTheSameBatches) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  constexpr uint64_t kQuotaMessages = 200;  // of 320 attempts: 120 refused over quota
  // Real batches, deterministically: the leader of the first batch waits (in the test hook)
  // until every thread has queued its first append. The threads whose append is not in the
  // first batch then wait behind it, and the next leader commits all of them at once.
  std::mutex hook_mu;
  std::condition_variable hook_cv;
  size_t queued = 0;
  std::vector<size_t> batches;
  options_.on_append_queued = [&](size_t waiting) {
    std::lock_guard<std::mutex> lk(hook_mu);
    EXPECT_GE(waiting, 1u);
    ++queued;
    hook_cv.notify_all();
  };
  options_.on_append_batch = [&](size_t batch_size) {
    std::unique_lock<std::mutex> lk(hook_mu);
    batches.push_back(batch_size);
    if (batches.size() == 1) {
      EXPECT_TRUE(hook_cv.wait_for(lk, std::chrono::seconds(30), [&] {
        return queued >= static_cast<size_t>(kThreads);
      })) << "the other threads never queued behind the first leader";
    }
  };
  options_.fsync = true;
  store_ = open_file_store(options_);
  std::atomic<int> ok{0}, over_quota{0}, not_found{0}, other{0};
  std::mutex mu;
  std::set<uint32_t> uids;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string msg = message("t" + std::to_string(t) + "-" + std::to_string(i));
        AppendRequest r;
        r.message = msg;
        r.quota_messages = kQuotaMessages;
        // Every fifth append of odd threads names a mailbox that does not exist.
        if (t % 2 == 1 && i % 5 == 0) r.mailbox = "Missing";
        auto res = store_->append(kUser, r);
        if (res.is_ok()) {
          ++ok;
          std::lock_guard<std::mutex> lk(mu);
          EXPECT_TRUE(uids.insert(res->uid).second) << "UID " << res->uid << " given twice";
        } else if (res.code() == Code::over_quota) {
          ++over_quota;
        } else if (res.code() == Code::not_found) {
          ++not_found;
        } else {
          ++other;
          ADD_FAILURE() << res.status().to_string();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  // Every append went through exactly one batch, and appends shared index commits.
  ASSERT_GE(batches.size(), 2u);
  EXPECT_EQ(std::accumulate(batches.begin(), batches.end(), size_t{0}),
            static_cast<size_t>(kThreads * kPerThread));
  EXPECT_LT(batches.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_GE(batches[1], static_cast<size_t>(kThreads) - batches[0]);
  EXPECT_GE(*std::max_element(batches.begin(), batches.end()), 2u);
  const int missing = (kThreads / 2) * (kPerThread / 5);
  EXPECT_EQ(not_found.load(), missing);
  EXPECT_EQ(ok.load(), static_cast<int>(kQuotaMessages));
  EXPECT_EQ(over_quota.load(), kThreads * kPerThread - missing - static_cast<int>(kQuotaMessages));
  EXPECT_EQ(other.load(), 0);
  // UIDs are 1..200 without holes (a rolled-back append gives its UID back) ...
  ASSERT_EQ(uids.size(), kQuotaMessages);
  EXPECT_EQ(*uids.begin(), 1u);
  EXPECT_EQ(*uids.rbegin(), kQuotaMessages);
  auto snap = store_->snapshot(kUser, "INBOX");
  ASSERT_TRUE(snap.is_ok());
  EXPECT_EQ(snap->messages.size(), kQuotaMessages);
  EXPECT_EQ(snap->uid_next, kQuotaMessages + 1);
  auto usage = store_->quota_usage(kUser);
  ASSERT_TRUE(usage.is_ok());
  EXPECT_EQ(usage->messages, kQuotaMessages);
  // ... and refused appends left no file: the index and the files agree.
  EXPECT_EQ(message_files(options_.root + "/" + kUser), kQuotaMessages);
  auto report = fsck_user(options_, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->consistent());
}

TEST_F(StoreTest, ConcurrentAppendsToSeveralUsersAndMailboxes) {
  const std::vector<std::string> users = {kUser, "1b6c2f1e-1111-4222-8333-944455556666"};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string msg = message("m" + std::to_string(i));
        AppendRequest r;
        r.message = msg;
        r.mailbox = (i % 2) ? "INBOX" : "Lists/Folder" + std::to_string(t % 3);
        r.create_mailbox = true;
        auto res = store_->append(users[t % 2], r);
        EXPECT_TRUE(res.is_ok()) << res.status().to_string();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& u : users) {
    uint64_t total = 0;
    auto boxes = store_->list_mailboxes(u);
    ASSERT_TRUE(boxes.is_ok());
    for (const auto& b : *boxes) {
      total += b.messages;
      EXPECT_EQ(b.uid_next, b.messages + 1) << b.name;
    }
    EXPECT_EQ(total, 3u * 25u) << u;
  }
}

}  // namespace
}  // namespace mailroom::store::testing
