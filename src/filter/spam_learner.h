// Spam/ham learning: a message an IMAP client moves or copies into "Junk" is sent to rspamd's
// controller as spam (POST /learnspam), one moved out of "Junk" into any folder but "Trash" as
// ham (POST /learnham). rspamd's Bayes classifier keeps what it learned in redis.
//
// Asynchronous: copied() queues the job (at most kMaxPending messages; more are dropped with a
// log line) and returns; one thread of the learner reads each message from the store and talks
// to rspamd. A failure is logged (event=spam_learn_failed) and never reaches the IMAP client.
//
// Config: [spam] controller_url ("" : no learning) and controller_password (rspamd's
// "Password" header; empty for a controller that trusts loopback through secure_ip).
//
// State: the queue is per node and in memory (a single-node shortcut): jobs queued when the
// process stops are lost, which costs one lesson, not mail.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/core/status.h"
#include "src/filter/move_observer.h"

namespace mailroom::http {
class Client;
}

namespace mailroom::filter {

class SpamLearner : public MoveObserver {
 public:
  static constexpr size_t kMaxPending = 10000;

  // Reads one stored message (the store's read_message), called on the learner's thread.
  using Reader = std::function<core::Result<std::string>(const std::string& account_id,
                                                         const std::string& mailbox, uint32_t uid)>;

  SpamLearner(std::string controller_url, std::string password, Reader reader,
              int64_t timeout_ms = 15000);
  ~SpamLearner() override;  // stop()

  void copied(const std::string& account_id, const std::string& from, const std::string& to,
              const std::vector<uint32_t>& to_uids) override;

  // Waits until every queued job is done (tests); then stops the thread.
  void stop();
  uint64_t learned() const;  // messages rspamd accepted to learn (or had learned already)

 private:
  struct Job {
    std::string account_id, mailbox;
    uint32_t uid = 0;
    bool spam = false;
  };
  void run();
  void learn(const Job& job);

  std::string url_;
  std::string password_;
  Reader reader_;
  std::unique_ptr<http::Client> client_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  uint64_t learned_ = 0;
  std::thread thread_;
};

}  // namespace mailroom::filter
