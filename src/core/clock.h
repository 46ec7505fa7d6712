// Time, for code whose behaviour depends on it: the directory sync (intervals, full
// compares, dates it records), login lockouts (auth/sasl/throttle.h), mailbox retention and
// the credential cache. Production code is given real_clock(); unit tests a ManualClock they
// advance instead of sleeping (STYLE.md example 12: a fake clock).
//
// Two readings, as in <chrono>: now() is wall-clock time (what is stored and compared with
// stored dates: sync_state, cache entries); steady_now() never goes back (durations,
// deadlines, lockouts) and means nothing outside this process.
//
// Ownership: whoever is given a Clock& keeps a reference; the clock must outlive it.
// Threading: every method is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace mailroom::core {

class Clock {
 public:
  using SystemTime = std::chrono::system_clock::time_point;
  using SteadyTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;

  virtual SystemTime now() const = 0;
  virtual SteadyTime steady_now() const = 0;

  // Waits on `cv` (`lock` held, as std::condition_variable::wait_for) until `done()` holds or
  // `timeout` of this clock's steady time has passed; returns done(). A ManualClock's wait
  // ends when the test advances it past the deadline.
  virtual bool wait_for(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                        std::chrono::milliseconds timeout,
                        const std::function<bool()>& done) const = 0;

  // now() in whole Unix seconds; steady_now() in whole seconds since its epoch.
  int64_t unix_seconds() const;
  int64_t steady_seconds() const;
};

// The system's clocks (std::chrono::system_clock and steady_clock); one for the process.
const Clock& real_clock();

// RFC 5322 3.3 date-time in UTC: "Fri, 04 Dec 2026 22:25:54 +0000".
std::string rfc5322_date(int64_t unix_seconds);
// RFC 3339 date-time in UTC: "2026-12-04T22:25:54Z".
std::string rfc3339_utc(int64_t unix_seconds);

// A clock that moves only when told to (tests). Both readings advance together; the steady
// reading starts at its epoch (steady_seconds() == 0). A wait's deadline is taken when the
// wait starts: a test that advances before another thread waits moves that deadline too, so
// it waits for the waiter first or advances in small steps until the effect shows.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t unix_seconds = 1'700'000'000);

  SystemTime now() const override;
  SteadyTime steady_now() const override;
  bool wait_for(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                std::chrono::milliseconds timeout,
                const std::function<bool()>& done) const override;

  void advance(std::chrono::milliseconds by);
  // Sets the wall clock only (a step of the system clock); the steady reading stays.
  void set_unix_seconds(int64_t unix_seconds);

 private:
  std::atomic<int64_t> system_ms_;
  std::atomic<int64_t> steady_ms_{0};
};

}  // namespace mailroom::core
