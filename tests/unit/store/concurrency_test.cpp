// Many writers on one mailbox: delivery while others expunge, copy, move and set flags.
// Asserts no lost updates (every count adds up), strictly increasing UIDs, consistent fsck.
#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "src/store/maintenance.h"
#include "src/store/store_options.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

TEST_F(StoreTest, ConcurrentDeliveryExpungeCopyMoveFlags) {
  constexpr int kDeliverers = 3;
  constexpr int kPerDeliverer = 60;
  ASSERT_TRUE(store_->create_mailbox(kUser, "A", SpecialUse::none).is_ok());
  ASSERT_TRUE(store_->create_mailbox(kUser, "B", SpecialUse::none).is_ok());
  std::atomic<bool> done{false};
  std::atomic<uint64_t> expunged_inbox{0}, copied_to_a{0}, moved_a_to_b{0}, flag_errors{0};
  std::mutex uid_mu;
  std::vector<uint32_t> inbox_uids;
  std::atomic<bool> order_violation{false};

  auto pick = [&](const std::string& box, std::mt19937& rng, size_t n) {
    std::vector<uint32_t> out;
    auto snap = store_->snapshot(kUser, box);
    if (!snap.is_ok() || snap->messages.empty()) return out;
    for (size_t i = 0; i < n; ++i) out.push_back(snap->messages[rng() % snap->messages.size()].uid);
    return out;
  };

  std::vector<std::thread> threads;
  for (int d = 0; d < kDeliverers; ++d) {
    threads.emplace_back([&, d] {
      uint32_t last = 0;
      for (int i = 0; i < kPerDeliverer; ++i) {
        std::string msg = message("d" + std::to_string(d) + "-" + std::to_string(i));
        AppendRequest r;
        r.message = msg;
        auto res = store_->append(kUser, r);
        ASSERT_TRUE(res.is_ok()) << res.status().to_string();
        if (res->uid <= last) order_violation = true;
        last = res->uid;
        std::lock_guard<std::mutex> lk(uid_mu);
        inbox_uids.push_back(res->uid);
      }
    });
  }
  threads.emplace_back([&] {  // expunger
    std::mt19937 rng(1);
    while (!done) {
      auto r = store_->expunge(kUser, "INBOX", pick("INBOX", rng, 2));
      ASSERT_TRUE(r.is_ok());
      expunged_inbox += r->size();
    }
  });
  threads.emplace_back([&] {  // copier
    std::mt19937 rng(2);
    while (!done) {
      auto r = store_->copy(kUser, "INBOX", pick("INBOX", rng, 3), "A", Quota{});
      ASSERT_TRUE(r.is_ok());
      copied_to_a += r->dest_uids.size();
    }
  });
  threads.emplace_back([&] {  // mover
    std::mt19937 rng(3);
    while (!done) {
      auto r = store_->move(kUser, "A", pick("A", rng, 2), "B");
      ASSERT_TRUE(r.is_ok());
      moved_a_to_b += r->dest_uids.size();
    }
  });
  threads.emplace_back([&] {  // flagger: every flag it sets must stick
    std::mt19937 rng(4);
    while (!done) {
      auto uids = pick("INBOX", rng, 3);
      StoreFlagsRequest f;
      f.uids = uids;
      f.flags = kFlagged;
      f.keywords = {"$Seen" + std::to_string(rng() % 5)};
      auto r = store_->store_flags(kUser, "INBOX", f);
      ASSERT_TRUE(r.is_ok());
      for (auto& m : r->updated)
        if (!(m.flags & kFlagged)) ++flag_errors;
    }
  });
  for (int d = 0; d < kDeliverers; ++d) threads[d].join();
  done = true;
  for (size_t i = kDeliverers; i < threads.size(); ++i) threads[i].join();

  EXPECT_FALSE(order_violation);
  EXPECT_EQ(flag_errors.load(), 0u);
  std::sort(inbox_uids.begin(), inbox_uids.end());
  EXPECT_EQ(std::adjacent_find(inbox_uids.begin(), inbox_uids.end()), inbox_uids.end())
      << "a UID was handed out twice";
  auto inbox = store_->snapshot(kUser, "INBOX");
  auto a = store_->snapshot(kUser, "A");
  auto b = store_->snapshot(kUser, "B");
  const uint64_t total = kDeliverers * kPerDeliverer;
  EXPECT_EQ(inbox->messages.size(), total - expunged_inbox.load());
  EXPECT_EQ(a->messages.size(), copied_to_a.load() - moved_a_to_b.load());
  EXPECT_EQ(b->messages.size(), moved_a_to_b.load());
  for (auto* s : {&inbox.value(), &a.value(), &b.value()}) {
    for (size_t i = 1; i < s->messages.size(); ++i)
      EXPECT_LT(s->messages[i - 1].uid, s->messages[i].uid);
    for (auto& m : s->messages) {
      EXPECT_LT(m.uid, s->uid_next);
      EXPECT_LE(m.modseq, s->highest_modseq);
    }
  }
  // Every surviving INBOX message that was flagged still carries the flag, and usage is exact.
  uint64_t bytes = 0;
  for (auto* s : {&inbox.value(), &a.value(), &b.value()})
    for (auto& m : s->messages) bytes += m.size;
  EXPECT_EQ(store_->quota_usage(kUser)->bytes, bytes);
  auto report = fsck_user(options_, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->consistent()) << (report->errors.empty() ? "" : report->errors[0]);
  EXPECT_EQ(report->orphan_files, 0u);
}

TEST_F(StoreTest, TwoStoreInstancesShareOneUserSafely) {
  // Two handles (as mailroomd and mailroomctl would have) write the same index.
  auto other = open_file_store(options_);
  std::thread t1([&] {
    for (int i = 0; i < 40; ++i) put("INBOX", message("x"));
  });
  std::thread t2([&] {
    for (int i = 0; i < 40; ++i) {
      AppendRequest r;
      std::string m = message("y");
      r.message = m;
      ASSERT_TRUE(other->append(kUser, r).is_ok());
    }
  });
  t1.join();
  t2.join();
  auto snap = store_->snapshot(kUser, "INBOX");
  EXPECT_EQ(snap->messages.size(), 80u);
  EXPECT_EQ(snap->uid_next, 81u);
}

}  // namespace
}  // namespace mailroom::store::testing
