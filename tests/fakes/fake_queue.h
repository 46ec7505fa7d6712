// The in-memory queue::Queue for session unit tests (SMTP, LMTP): accepts every message at
// once and records it; nothing is delivered.
//
//   auto queue = std::make_shared<mailroom::testing::FakeQueue>();
//   queue->fail_recipients["full@example.com"] = core::Code::over_quota;  // LMTP answer
//   ... run a session ...
//   queue->submitted[0].envelope.sender
//
// One session thread at a time: submit() calls `done` before it returns (a real queue calls
// it on a queue thread), and the records are not synchronized.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "src/queue/queue.h"

namespace mailroom::testing {

class FakeQueue : public queue::Queue {
 public:
  struct Submitted {
    std::string id;
    queue::Envelope envelope;
    std::string message;
  };
  // submit() and deliver_now() calls, in order.
  std::vector<Submitted> submitted;
  // deliver_now() answers these codes for recipients with this destination address, ok for
  // the others.
  std::map<std::string, core::Code> fail_recipients;

  core::Status start() override { return core::Status::ok(); }
  void stop() override {}
  // "MR1", "MR2", ...
  std::string new_queue_id() override { return "MR" + std::to_string(++ids_); }
  void submit(std::string queue_id, queue::Envelope envelope, std::string message,
              Done done) override;
  std::vector<core::Status> deliver_now(const std::string& queue_id,
                                        const queue::Envelope& envelope,
                                        const std::string& message) override;
  std::vector<queue::QueuedMessage> list() override { return {}; }
  bool wait_idle(int64_t) override { return true; }
  void set_remote_transport(std::shared_ptr<queue::RemoteTransport>) override {}
  void flush_remote() override {}

 private:
  int ids_ = 0;
};

}  // namespace mailroom::testing
