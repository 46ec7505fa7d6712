// The conversion queue: documents wait here for one of `concurrency` converter threads of its
// own (never an I/O thread nor the HTTP worker pool), at most `max_waiting` of them, at most
// `per_user` of one account waiting or running; the same document asked twice is converted
// once. Results go to the PdfCache; a failure is remembered for `failure_ttl` seconds so the
// client's polling sees it (then a new request tries again).
//
// Threading: request() from any thread, never blocks on a conversion. The destructor cancels
// running conversions (Converter's `cancel`) and joins the threads.
// State: per node, in memory (a single-node shortcut: two nodes may convert the same document).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "src/preview/cache.h"

namespace mailroom::preview {

struct Job {
  std::string key;        // PdfCache key: SHA-256 of account, extension and bytes
  std::string account;    // whose request queued it (per-user limit)
  std::string extension;  // "docx", "odt" ... (lower case): the converter's file name
  std::string input;      // the document
};

struct Converted {
  bool ok = false;
  std::string pdf;
  std::string error;  // for the client: "the document could not be converted" ...
};

// Runs one conversion; `cancel` turns true at shutdown.
using Converter = std::function<Converted(const Job&, const std::atomic<bool>& cancel)>;

struct QueueLimits {
  int concurrency = 1;
  int max_waiting = 8;
  int per_user = 2;
  int64_t failure_ttl = 60;  // seconds
};

enum class State {
  ready,       // `pdf` holds it
  pending,     // queued or converting: ask again
  queue_full,  // too many waiting: 503 + Retry-After
  user_limit,  // this account has per_user in progress: 429 + Retry-After
  failed,      // `error` says why (remembered failure_ttl seconds)
};

struct Answer {
  State state = State::pending;
  std::string pdf;
  std::string error;
};

class ConversionQueue {
 public:
  ConversionQueue(QueueLimits limits, std::shared_ptr<PdfCache> cache, Converter convert);
  ~ConversionQueue();
  ConversionQueue(const ConversionQueue&) = delete;
  ConversionQueue& operator=(const ConversionQueue&) = delete;

  // The cached PDF, or the job's state; queues `job` when it is new and fits.
  Answer request(Job job);

  struct Counts {
    int waiting = 0;
    int running = 0;
  };
  Counts counts() const;

 private:
  void work();

  QueueLimits limits_;
  std::shared_ptr<PdfCache> cache_;
  Converter convert_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> waiting_;
  std::set<std::string> in_flight_;         // keys waiting or running
  std::map<std::string, int> per_account_;  // account -> jobs waiting or running
  int running_ = 0;
  struct Failure {
    std::string error;
    std::chrono::steady_clock::time_point until;
  };
  std::map<std::string, Failure> failures_;  // at most kMaxFailures, oldest dropped first
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace mailroom::preview
