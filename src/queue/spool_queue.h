// The spool-backed Queue (queue.h): group-committed spool (spool.h) + delivery threads
// (local_delivery.cpp). Internal header, for queue.cpp, local_delivery.cpp and unit tests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "src/filter/scanner.h"
#include "src/queue/delivery_filter.h"
#include "src/queue/delivery_log.h"
#include "src/queue/dsn.h"
#include "src/queue/header_facts.h"
#include "src/queue/queue.h"
#include "src/queue/remote.h"
#include "src/queue/spool.h"
#include "src/store/mail_store.h"

namespace mailroom::core {
struct Services;
}

namespace mailroom::queue {

class SpoolQueue final : public Queue, public std::enable_shared_from_this<SpoolQueue> {
 public:
  SpoolQueue(const Options& options, std::shared_ptr<store::MailStore> store,
             std::shared_ptr<DeliveryLog> log,
             std::vector<std::shared_ptr<filter::Scanner>> scanners);
  ~SpoolQueue() override;

  core::Status start() override;
  void stop() override;
  std::string new_queue_id() override;
  void submit(std::string queue_id, Envelope envelope, std::string message, Done done) override;
  std::vector<QueuedMessage> list() override;
  std::vector<core::Status> deliver_now(const std::string& queue_id, const Envelope& envelope,
                                        const std::string& message) override;
  bool wait_idle(int64_t timeout_ms) override;
  void set_remote_transport(std::shared_ptr<RemoteTransport> transport) override;
  void set_delivery_filter(std::shared_ptr<DeliveryFilter> filter) override {
    filter_ = std::move(filter);
  }
  void flush_remote() override;
  StopResult stop_message(const std::string& queue_id, const std::string& why,
                          const std::vector<std::string>& only = {}) override;

  Spool& spool() { return spool_; }
  void set_services(core::Services* services) { services_ = services; }

 private:
  struct Message {
    std::string queue_id;
    Envelope envelope;
    std::string data;
    HeaderFacts facts;
    std::vector<RecipientState> states;
    bool verify_store = false;  // recovered: a lost "delivered" line must not deliver twice
    bool spooled = true;        // false for LMTP deliver_now (no journal)
    int64_t first_attempt = 0;
    // When the spool made it durable (submit's 250), for mailroom_delivery_latency_seconds;
    // unset for messages recovered after a restart (received_at is used, in whole seconds).
    std::chrono::steady_clock::time_point accepted_at{};
    // Parts of the current delivery attempt still running, and whether one deferred.
    std::atomic<size_t> parts_left{0};
    std::atomic<bool> part_deferred{false};
    // Remote delivery (remote_delivery.cpp); guarded by the queue's mu_ unless noted.
    int remote_attempts = 0;
    bool remote_in_flight = false;  // domain attempts running (remote_parts_left of them)
    bool remote_scheduled = false;  // in remote_due_
    size_t remote_parts_left = 0;
    bool local_running = false;  // a local delivery part is queued or running
    bool reporting = false;      // a bounce or delay notice is being spooled
    // While it waits for a remote retry, the message bytes are dropped from memory and read
    // back from the spool when needed (ensure_data): a deferred queue costs little memory.
    bool data_evicted = false;
    uint64_t size = 0;
    // `states` is written by local and remote steps that may run at once (on different
    // recipients); readers of the whole vector and all writers hold state_mu, which also
    // guards `report`: why each recipient failed or is still waiting.
    std::mutex state_mu;
    std::map<size_t, DsnRecipient> report;
    std::vector<size_t> success_due;  // NOTIFY=SUCCESS recipients to report (state_mu)
  };
  using MessagePtr = std::shared_ptr<Message>;
  // A delivery attempt of some recipients of a message. A message with many local recipients
  // (a large group) is split into parts that the delivery threads run in parallel, so its
  // store appends (each with its own fsyncs) overlap instead of running one after the other.
  // All recipients that reach the same mailbox are in the same part (one copy per mailbox).
  struct Work {
    MessagePtr message;
    std::vector<size_t> recipients;  // empty: all of them
  };

  void worker_loop();
  // Queues a delivery attempt of every pending recipient of `m` (mu_ held); returns the
  // number of parts queued.
  size_t enqueue_locked(const MessagePtr& m);
  // Delivers the pending local recipients among `only` (null: all); returns true when some
  // were deferred. `results` (optional) receives one Status per recipient.
  bool deliver(Message& m, const std::vector<size_t>* only,
               std::vector<core::Status>* results = nullptr);
  bool already_stored(const Message& m, const auth::Destination& d);
  // Applies a DeliveryFilter's plan for recipient `i` (filtered_delivery.cpp); returns the
  // store result of the copies (the first failure) and fills `rec`.
  struct PlanResult {
    core::Status status;
    bool refused = false;
    std::string refuse_reason;
    bool stored_any = false;
    store::AppendResult first;
    std::string mailbox;
    uint64_t size = 0;
  };
  PlanResult deliver_planned(Message& m, size_t i, const std::string& folder);
  void finish(const MessagePtr& m, bool deferred);

  // Remote delivery and reports (remote_delivery.cpp). settle() decides what a message needs
  // next once a local or remote step ended: retry, remote attempt, bounce, or retirement.
  struct RemoteDone {
    MessagePtr message;
    std::vector<size_t> recipients;
    std::vector<RemoteReply> replies;
  };
  void settle(const MessagePtr& m);
  void post_task(std::function<void()> task);
  // Applies `mailroomctl queue` requests (control.h).
  void poll_control();
  // Marks every open recipient of `m` failed without a bounce (delivery log detail `why`),
  // unschedules it and settles it: `queue delete` and stop_message.
  StopResult drop_open_recipients(const MessagePtr& m, const std::string& why,
                                  const std::vector<std::string>& only = {});
  void unschedule_remote_locked(const MessagePtr& m);
  void dispatch_remote(const MessagePtr& m);
  void complete_remote(RemoteDone done);
  void schedule_remote_locked(const MessagePtr& m, int64_t due);
  // Spools a DSN for `indexes` (action failed or delayed) to the envelope sender; `then` runs
  // on a queue thread once it is durable (or was not needed).
  void send_report(const MessagePtr& m, const std::vector<size_t>& indexes, DsnAction action,
                   std::function<void(bool spooled)> then);
  void set_state(Message& m, size_t index, RecipientState state);
  // A delivery log record of recipient `index` with the message's fields filled in.
  static DeliveryRecord record_for(const Message& m, size_t index);
  int64_t remote_backoff(int attempts) const;
  // Reads evicted message bytes back from the spool; false (logged) when that failed.
  bool ensure_data(Message& m);
  Options options_;
  core::Services* services_ = nullptr;
  std::shared_ptr<store::MailStore> store_;
  std::shared_ptr<DeliveryLog> log_;
  std::vector<std::shared_ptr<filter::Scanner>> scanners_;
  std::shared_ptr<DeliveryFilter> filter_;  // Sieve (delivery_filter.h); null: keep
  Spool spool_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Work> ready_;
  std::multimap<int64_t, MessagePtr> deferred_;    // due time (s) -> message
  std::multimap<int64_t, MessagePtr> remote_due_;  // next remote attempt (s) -> message
  std::deque<std::function<void()>> tasks_;        // work handed to the queue threads (post_task)
  std::shared_ptr<RemoteTransport> transport_;
  size_t remote_running_ = 0;   // domain attempts in flight
  std::set<std::string> held_;  // held by the administrator (control.h)
  int64_t last_control_ = 0;    // when control requests were last read
  std::map<std::string, MessagePtr> live_;
  size_t busy_ = 0;
  bool stopping_ = false;
  bool started_ = false;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> id_counter_{0};

  // Recovery: queue ids found in stored messages, per "account\nfolder".
  std::mutex verify_mu_;
  std::map<std::string, std::set<std::string>> stored_ids_;
  int64_t verify_since_ = 0;
};

}  // namespace mailroom::queue
