// core::Clock: the manual clock moves only when told, both readings together, and a wait on
// it ends when the clock passes the deadline or the waiter is told to stop.
#include "src/core/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace mailroom::core {
namespace {

using namespace std::chrono_literals;

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  ManualClock clock(1000);
  EXPECT_EQ(clock.unix_seconds(), 1000);
  EXPECT_EQ(clock.steady_seconds(), 0);
  clock.advance(2500ms);
  EXPECT_EQ(clock.unix_seconds(), 1002);
  EXPECT_EQ(clock.steady_seconds(), 2);
  // A step of the wall clock leaves the steady reading alone.
  clock.set_unix_seconds(500);
  EXPECT_EQ(clock.unix_seconds(), 500);
  EXPECT_EQ(clock.steady_seconds(), 2);
}

TEST(ManualClock, WaitEndsWhenTheClockPassesTheDeadline) {
  ManualClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool waiting = false;
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    waiting = true;
    cv.notify_all();
    woke = !clock.wait_for(lock, cv, 10s, [] { return false; });
  });
  {
    // mu is free again only once the waiter waits (its deadline taken: now + 10 s).
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return waiting; });
  }
  clock.advance(9s);
  std::this_thread::sleep_for(20ms);  // (only to give the waiter a chance to be wrong)
  EXPECT_FALSE(woke);
  clock.advance(1s);
  waiter.join();
  EXPECT_TRUE(woke);
}

TEST(ManualClock, WaitEndsWhenDone) {
  ManualClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread waiter([&] {
    std::unique_lock lock(mu);
    EXPECT_TRUE(clock.wait_for(lock, cv, 3600s, [&] { return stop; }));
  });
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  cv.notify_all();
  waiter.join();
}

TEST(RealClock, ReadsTheSystemClocks) {
  const Clock& clock = real_clock();
  auto before = std::chrono::system_clock::now();
  auto t = clock.now();
  EXPECT_LE(before, t);
  EXPECT_LE(t, std::chrono::system_clock::now());
  EXPECT_GT(clock.unix_seconds(), 1'600'000'000);
  // Named first: the order in which a call's arguments are evaluated is unspecified (GCC goes
  // right to left, and so read the system's steady clock before ours).
  auto steady = clock.steady_now();
  EXPECT_LE(steady, std::chrono::steady_clock::now());
}

}  // namespace
}  // namespace mailroom::core
