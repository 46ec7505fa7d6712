#include "src/core/clock.h"

#include <cstdio>
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

// Day and month names spelled out rather than strftime's %a %b, which follow the locale.
std::string rfc5322_date(int64_t unix_seconds) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
                tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string rfc3339_utc(int64_t unix_seconds) {
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace mailroom::core
