// When retrieval marks are fsync'd (mark_batch.h): by count, by age, never with none pending.
#include "src/pop3/mark_batch.h"

#include <gtest/gtest.h>

namespace mailroom::pop3 {
namespace {

using std::chrono::milliseconds;
using Clock = MarkBatch::Clock;

TEST(MarkBatch, SyncsEveryNthMark) {
  MarkBatch b(3, std::chrono::hours(1));
  Clock::time_point t{};
  std::vector<bool> syncs;
  for (int i = 0; i < 7; ++i) {
    bool s = b.next_needs_sync(t);
    syncs.push_back(s);
    b.written(s, t);
  }
  EXPECT_EQ(syncs, (std::vector<bool>{false, false, true, false, false, true, false}));
  EXPECT_EQ(b.unsynced(), 1u);
  b.synced();
  EXPECT_EQ(b.unsynced(), 0u);
}

TEST(MarkBatch, SyncsTheFirstMarkAfterTheOldestUnsyncedOneAged) {
  MarkBatch b(100, milliseconds(1000));
  Clock::time_point t0{};
  EXPECT_FALSE(b.next_needs_sync(t0 + milliseconds(5000)));  // nothing pending: no age
  b.written(false, t0);
  b.written(false, t0 + milliseconds(900));
  EXPECT_FALSE(b.next_needs_sync(t0 + milliseconds(999)));
  EXPECT_TRUE(b.next_needs_sync(t0 + milliseconds(1000)));
  b.written(true, t0 + milliseconds(1000));
  EXPECT_EQ(b.unsynced(), 0u);
  // The age counts from the oldest mark after the sync, not from the first ever.
  b.written(false, t0 + milliseconds(1500));
  EXPECT_FALSE(b.next_needs_sync(t0 + milliseconds(2400)));
  EXPECT_TRUE(b.next_needs_sync(t0 + milliseconds(2500)));
}

TEST(MarkBatch, OneMeansEveryMark) {
  MarkBatch b(1, std::chrono::hours(1));
  EXPECT_TRUE(b.next_needs_sync(Clock::time_point{}));
  MarkBatch zero(0, std::chrono::hours(1));  // treated as 1
  EXPECT_TRUE(zero.next_needs_sync(Clock::time_point{}));
}

}  // namespace
}  // namespace mailroom::pop3
