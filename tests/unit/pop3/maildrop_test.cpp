#include "src/pop3/maildrop.h"

#include <gtest/gtest.h>

#include <thread>

#include "src/pop3/maildrop_lock.h"

namespace mailroom::pop3 {
namespace {

store::Snapshot three() {
  store::Snapshot s;
  s.uid_validity = 42;
  for (uint32_t uid : {3u, 7u, 9u}) {
    store::MessageMeta m;
    m.uid = uid;
    m.size = uid * 100;
    s.messages.push_back(m);
  }
  return s;
}

TEST(Maildrop, NumbersSizesAndDeletion) {
  Maildrop d(three());
  EXPECT_EQ(d.total(), 3u);
  EXPECT_EQ(d.count(), 3u);
  EXPECT_EQ(d.octets(), 1900u);
  EXPECT_EQ(d.unique_id(2), "42.7");
  EXPECT_EQ(d.find(0), nullptr);
  EXPECT_EQ(d.find(4), nullptr);
  ASSERT_NE(d.find(2), nullptr);
  EXPECT_TRUE(d.mark_deleted(2));
  EXPECT_FALSE(d.mark_deleted(2));
  EXPECT_FALSE(d.mark_deleted(5));
  EXPECT_EQ(d.find(2), nullptr);
  EXPECT_TRUE(d.is_deleted(2));
  EXPECT_EQ(d.count(), 2u);
  EXPECT_EQ(d.octets(), 1200u);
  EXPECT_TRUE(d.mark_deleted(3));
  EXPECT_EQ(d.deleted_uids(), (std::vector<uint32_t>{7, 9}));
  d.reset();
  EXPECT_EQ(d.count(), 3u);
  EXPECT_TRUE(d.deleted_uids().empty());
}

TEST(MaildropLocks, ExclusivePerAccount) {
  auto locks = std::make_shared<MaildropLocks>();
  auto a = locks->try_lock("a");
  ASSERT_TRUE(a);
  EXPECT_FALSE(locks->try_lock("a"));
  auto b = locks->try_lock("b");
  EXPECT_TRUE(b);
  a.reset();
  EXPECT_FALSE(locks->is_locked("a"));
  EXPECT_TRUE(locks->try_lock("a"));
}

TEST(MaildropLocks, OneWinnerAcrossThreads) {
  auto locks = std::make_shared<MaildropLocks>();
  std::atomic<int> winners{0};
  std::vector<std::unique_ptr<MaildropLock>> held(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      held[i] = locks->try_lock("same");
      if (held[i]) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

}  // namespace
}  // namespace mailroom::pop3
