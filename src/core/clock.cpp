#include "src/core/clock.h"

#include <ctime>

namespace mailroom::core {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

class RealClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  bool wait_for(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                milliseconds timeout, const std::function<bool()>& done) const override {
    return cv.wait_for(lock, timeout, done);
  }
};

}  // namespace

int64_t Clock::unix_seconds() const {
  return duration_cast<seconds>(now().time_since_epoch()).count();
}

int64_t Clock::steady_seconds() const {
  return duration_cast<seconds>(steady_now().time_since_epoch()).count();
}

const Clock& real_clock() {
  static const RealClock clock;
  return clock;
}

ManualClock::ManualClock(int64_t unix_seconds) : system_ms_(unix_seconds * 1000) {}

Clock::SystemTime ManualClock::now() const {
  return SystemTime(duration_cast<SystemTime::duration>(milliseconds(system_ms_.load())));
}

Clock::SteadyTime ManualClock::steady_now() const {
  return SteadyTime(duration_cast<SteadyTime::duration>(milliseconds(steady_ms_.load())));
}

bool ManualClock::wait_for(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                           milliseconds timeout, const std::function<bool()>& done) const {
  // advance() cannot reach the waiter's condition variable, so the wait looks again at the
  // manual time every few real milliseconds; a notify (stop) still ends it at once.
  const int64_t deadline = steady_ms_.load() + timeout.count();
  while (!done()) {
    if (steady_ms_.load() >= deadline) return false;
    cv.wait_for(lock, milliseconds(2));
  }
  return true;
}

void ManualClock::advance(milliseconds by) {
  system_ms_ += by.count();
  steady_ms_ += by.count();
}

void ManualClock::set_unix_seconds(int64_t unix_seconds) { system_ms_ = unix_seconds * 1000; }

std::string rfc5322_date(int64_t unix_seconds) {
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

}  // namespace mailroom::core
