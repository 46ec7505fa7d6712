#include "src/pop3/read_ahead.h"

#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>
#include <vector>

#include "src/net/worker_pool.h"

namespace mailroom::pop3 {

// One worker read. `numbers`/`uids` are fixed before the worker starts; `contents` is written
// by the worker and read on the strand only once `done` (set by a handler posted to the strand
// after the worker finished: that post orders the two).
struct ReadAhead::Batch {
  std::vector<uint32_t> numbers;  // ascending message numbers
  std::vector<uint32_t> uids;
  std::vector<core::Result<std::string>> contents;
  std::size_t consumed = 0;  // entries before this one were handed out (moved from)
  bool done = false;
  boost::asio::steady_timer* waiter = nullptr;  // the session waiting for it, if any
};

// The timer a session waits on for a batch; its only wake-up is the batch's completion.
struct ReadAhead::Waiter {
  explicit Waiter(const boost::asio::any_io_executor& ex) : timer(ex) {}
  boost::asio::steady_timer timer;
};

ReadAhead::ReadAhead(store::MailStore& store, net::WorkerPool& workers, Limits limits)
    : store_(store), workers_(workers), limits_(limits) {}

ReadAhead::~ReadAhead() {
  // A batch still being read outlives the session (its worker holds it): forget the timer.
  for (auto& b : batches_) b->waiter = nullptr;
}

std::size_t ReadAhead::held() const {
  std::size_t n = 0;
  for (const auto& b : batches_) n += b->numbers.size();
  return n;
}

boost::asio::awaitable<std::optional<core::Result<std::string>>> ReadAhead::take(uint32_t number) {
  std::shared_ptr<Batch> batch;
  std::size_t index = 0;
  while (!batches_.empty()) {
    const std::vector<uint32_t>& ns = batches_.front()->numbers;
    if (number > ns.back()) {  // consumed or skipped by the client
      batches_.front()->waiter = nullptr;
      batches_.pop_front();
      continue;
    }
    for (std::size_t i = batches_.front()->consumed; i < ns.size(); ++i) {
      if (ns[i] == number) {
        batch = batches_.front();
        index = i;
      }
    }
    break;  // a message asked for again was handed out already: read it afresh
  }
  if (!batch) {
    for (auto& b : batches_) b->waiter = nullptr;
    batches_.clear();
    co_return std::nullopt;
  }
  if (!batch->done) {
    boost::asio::any_io_executor ex = co_await boost::asio::this_coro::executor;
    if (!waiter_) waiter_ = std::make_unique<Waiter>(ex);
    while (!batch->done) {
      batch->waiter = &waiter_->timer;
      waiter_->timer.expires_at(boost::asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      auto token = boost::asio::redirect_error(boost::asio::use_awaitable, ec);
      co_await waiter_->timer.async_wait(token);
      batch->waiter = nullptr;
    }
  }
  core::Result<std::string> content = std::move(batch->contents[index]);
  batch->consumed = index + 1;
  if (index + 1 == batch->numbers.size() && !batches_.empty() && batches_.front() == batch) {
    batches_.pop_front();
  }
  co_return std::optional<core::Result<std::string>>(std::move(content));
}

void ReadAhead::advance(const Maildrop& maildrop, const std::string& account_id, uint32_t number,
                        const boost::asio::any_io_executor& strand) {
  bool sequential = last_number_ == 0 || number == last_number_ + 1;
  last_number_ = number;
  if (!sequential) return;
  // What is read or being read after `number`; the next batch starts when less than half a
  // batch is left, and only one batch is ever being read.
  std::size_t ahead = 0;
  uint32_t next = number + 1;
  for (const auto& b : batches_) {
    if (!b->done) return;
    for (uint32_t n : b->numbers) {
      if (n > number) ++ahead;
    }
    next = std::max(next, b->numbers.back() + 1);
  }
  if (ahead > 0 && ahead * 2 >= batches_.back()->numbers.size()) return;
  start(maildrop, account_id, next, strand);
}

void ReadAhead::start(const Maildrop& maildrop, const std::string& account_id, uint32_t from,
                      const boost::asio::any_io_executor& strand) {
  auto batch = std::make_shared<Batch>();
  std::size_t bytes = 0;
  for (uint32_t n = from; n <= maildrop.total(); ++n) {
    const store::MessageMeta* meta = maildrop.find(n);
    if (!meta) continue;  // marked deleted
    if (meta->size > limits_.max_message) break;
    if (!batch->numbers.empty() && bytes + meta->size > limits_.batch_bytes) break;
    batch->numbers.push_back(n);
    batch->uids.push_back(meta->uid);
    bytes += meta->size;
    if (batch->numbers.size() >= limits_.batch_messages) break;
  }
  if (batch->numbers.empty()) return;
  batches_.push_back(batch);
  // A plain posted function, not a coroutine: it holds only the batch, the store (which
  // outlives the worker pool) and the strand's executor, which counts the read as outstanding
  // work so its io_context does not run out of work (and get destroyed) before the result is
  // posted back.
  store::MailStore* store = &store_;
  boost::asio::any_io_executor back =
      boost::asio::prefer(strand, boost::asio::execution::outstanding_work.tracked);
  boost::asio::post(workers_.executor(), [batch, store, account_id, back]() {
    batch->contents = store->read_messages(account_id, "INBOX", batch->uids);
    boost::asio::post(back, [batch]() {
      batch->done = true;
      if (batch->waiter) batch->waiter->cancel();
    });
  });
}

}  // namespace mailroom::pop3
