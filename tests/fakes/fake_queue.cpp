#include "tests/fakes/fake_queue.h"

namespace mailroom::testing {

void FakeQueue::submit(std::string queue_id, queue::Envelope envelope, std::string message,
                       Done done) {
  submitted.push_back({queue_id, std::move(envelope), std::move(message)});
  done(queue_id);
}

std::vector<core::Status> FakeQueue::deliver_now(const std::string& queue_id,
                                                 const queue::Envelope& envelope,
                                                 const std::string& message) {
  submitted.push_back({queue_id, envelope, message});
  std::vector<core::Status> out;
  for (const auto& r : envelope.recipients) {
    auto it = fail_recipients.find(r.destination.address);
    out.push_back(it == fail_recipients.end()
                      ? core::Status::ok()
                      : core::Status::error(it->second, "injected fault", "FakeQueue"));
  }
  return out;
}

}  // namespace mailroom::testing
