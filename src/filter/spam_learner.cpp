// Spam/ham learning from IMAP moves (spam_learner.h).
#include "src/filter/spam_learner.h"

#include <chrono>

#include "src/core/address.h"
#include "src/core/log.h"
#include "src/http/client.h"

namespace mailroom::filter {

SpamLearner::SpamLearner(std::string controller_url, std::string password, Reader reader,
                         int64_t timeout_ms)
    : url_(std::move(controller_url)), password_(std::move(password)), reader_(std::move(reader)) {
  http::ClientOptions o;
  o.timeout = std::chrono::milliseconds(timeout_ms);
  o.max_body = 64 << 10;
  o.max_idle = 1;
  if (url_.rfind("https://", 0) == 0) o.tls_context = http::make_client_tls_context("");
  client_ = std::make_unique<http::Client>(std::move(o));
  thread_ = std::thread([this] { run(); });
}

SpamLearner::~SpamLearner() { stop(); }

void SpamLearner::copied(const std::string& account_id, const std::string& from,
                         const std::string& to, const std::vector<uint32_t>& to_uids) {
  const bool into_junk = core::iequals(to, "Junk") && !core::iequals(from, "Junk");
  const bool out_of_junk =
      core::iequals(from, "Junk") && !core::iequals(to, "Junk") && !core::iequals(to, "Trash");
  if (!into_junk && !out_of_junk) return;
  std::lock_guard lock(mu_);
  if (stopping_) return;
  for (uint32_t uid : to_uids) {
    if (jobs_.size() >= kMaxPending) {
      MR_LOG_WARN("event=spam_learn_dropped account={} mailbox={} reason=queue_full", account_id,
                  core::quote(to));
      break;
    }
    jobs_.push_back(Job{account_id, to, uid, into_junk});
  }
  cv_.notify_one();
}

void SpamLearner::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

uint64_t SpamLearner::learned() const {
  std::lock_guard lock(mu_);
  return learned_;
}

void SpamLearner::run() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    learn(job);
  }
}

void SpamLearner::learn(const Job& job) {
  const char* what = job.spam ? "spam" : "ham";
  auto text = reader_(job.account_id, job.mailbox, job.uid);
  if (!text) {
    MR_LOG_WARN("event=spam_learn_failed account={} mailbox={} uid={} as={} detail={}",
                job.account_id, core::quote(job.mailbox), job.uid, what,
                core::quote(text.status().log_detail()));
    return;
  }
  http::ClientRequest req;
  req.method = "POST";
  req.url = url_ + (job.spam ? "/learnspam" : "/learnham");
  req.content_type = "message/rfc822";
  req.body = *text;
  if (!password_.empty()) req.headers.emplace_back("Password", password_);
  auto answer = client_->fetch(req);
  // 208: rspamd had learned this message already (its answer says so); nothing to do.
  if (answer.error.empty() && (answer.status == 200 || answer.status == 208)) {
    MR_LOG_INFO("event=spam_learned account={} mailbox={} uid={} as={} status={}", job.account_id,
                core::quote(job.mailbox), job.uid, what, answer.status);
    std::lock_guard lock(mu_);
    ++learned_;
    return;
  }
  std::string detail = !answer.error.empty()
                           ? answer.error
                           : "HTTP " + std::to_string(answer.status) + " " +
                                 answer.body.substr(0, std::min<size_t>(answer.body.size(), 200));
  MR_LOG_WARN("event=spam_learn_failed account={} mailbox={} uid={} as={} detail={}",
              job.account_id, core::quote(job.mailbox), job.uid, what, core::quote(detail));
}

}  // namespace mailroom::filter
