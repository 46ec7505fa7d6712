// The conversion queue (queue.h).
#include "src/preview/queue.h"

#include "src/core/log.h"

namespace mailroom::preview {
namespace {
constexpr std::size_t kMaxFailures = 1024;
}

ConversionQueue::ConversionQueue(QueueLimits limits, std::shared_ptr<PdfCache> cache,
                                 Converter convert)
    : limits_(limits), cache_(std::move(cache)), convert_(std::move(convert)) {
  for (int i = 0; i < limits_.concurrency; ++i) threads_.emplace_back([this] { work(); });
}

ConversionQueue::~ConversionQueue() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

Answer ConversionQueue::request(Job job) {
  if (auto pdf = cache_->get(job.key)) return Answer{State::ready, std::move(*pdf), {}};
  std::lock_guard<std::mutex> lk(mu_);
  if (in_flight_.count(job.key)) return Answer{State::pending, {}, {}};
  auto now = std::chrono::steady_clock::now();
  if (auto f = failures_.find(job.key); f != failures_.end()) {
    if (f->second.until > now) return Answer{State::failed, {}, f->second.error};
    failures_.erase(f);
  }
  if (per_account_[job.account] >= limits_.per_user) {
    return Answer{State::user_limit, {}, {}};
  }
  if (static_cast<int>(waiting_.size()) >= limits_.max_waiting) {
    if (per_account_[job.account] == 0) per_account_.erase(job.account);
    return Answer{State::queue_full, {}, {}};
  }
  in_flight_.insert(job.key);
  ++per_account_[job.account];
  waiting_.push_back(std::move(job));
  cv_.notify_one();
  return Answer{State::pending, {}, {}};
}

ConversionQueue::Counts ConversionQueue::counts() const {
  std::lock_guard<std::mutex> lk(mu_);
  return Counts{static_cast<int>(waiting_.size()), running_};
}

void ConversionQueue::work() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return stop_ || !waiting_.empty(); });
      if (stop_) return;
      job = std::move(waiting_.front());
      waiting_.pop_front();
      ++running_;
    }
    Converted out;
    try {
      out = convert_(job, stop_);
    } catch (const std::exception& e) {
      MR_LOG_ERROR("event=preview.convert_exception key={} detail={}", job.key,
                   core::quote(e.what()));
      out = Converted{false, {}, "internal error"};
    }
    if (out.ok) {
      // The client fetches it from the cache: one not kept there is a failure.
      if (auto st = cache_->put(job.key, out.pdf); !st) {
        MR_LOG_WARN("event=preview.cache_write_failed key={} detail={}", job.key,
                    core::quote(st.log_detail()));
        out = Converted{false, {}, "internal error"};
      }
    }
    std::lock_guard<std::mutex> lk(mu_);
    --running_;
    in_flight_.erase(job.key);
    if (--per_account_[job.account] <= 0) per_account_.erase(job.account);
    if (!out.ok) {
      if (failures_.size() >= kMaxFailures) {
        // Drop the one that expires first (a small map: a linear scan is fine).
        auto oldest = failures_.begin();
        for (auto it = failures_.begin(); it != failures_.end(); ++it) {
          if (it->second.until < oldest->second.until) oldest = it;
        }
        failures_.erase(oldest);
      }
      failures_[job.key] = Failure{
          out.error, std::chrono::steady_clock::now() + std::chrono::seconds(limits_.failure_ttl)};
    }
  }
}

}  // namespace mailroom::preview
