// The in-memory queue::DeliveryLog for unit tests: query() matches like the SQL logs (every
// non-empty field, newest first, at most `limit`), with fault injection and the last query.
//
//   auto log = std::make_shared<mailroom::testing::FakeDeliveryLog>();
//   log->record({record});
//   log->fail_all = true;  // record() and query() answer Code::unavailable
//
// Thread-safe (the queue's delivery threads record concurrently).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "src/queue/delivery_log.h"

namespace mailroom::testing {

class FakeDeliveryLog : public queue::DeliveryLog {
 public:
  std::atomic<bool> fail_all{false};  // "database down"

  queue::DeliveryQuery last_query();  // as the log received it

  std::string name() const override { return "fake"; }
  core::Status record(const std::vector<queue::DeliveryRecord>& records) override;
  core::Result<std::vector<queue::DeliveryRecord>> query(const queue::DeliveryQuery& q) override;

 private:
  std::mutex mu_;
  int64_t next_id_ = 0;
  std::vector<queue::DeliveryRecord> records_;
  queue::DeliveryQuery last_query_;
};

}  // namespace mailroom::testing
