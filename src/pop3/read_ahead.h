// Read-ahead for POP3 downloads. Clients download a maildrop in order (RETR 1, RETR 2, ...):
// while one message is sent, the next ones are read on the worker pool in a batch, so the next
// RETR usually finds its message in memory and the I/O thread does not make a worker-pool
// round trip per message (that round trip, not the disk, bounded a download of small
// messages). Reads stay off the I/O thread (STYLE.md example 10).
//
// At most two batches are held: the one being consumed and the one after it, started when the
// first is half consumed. A batch stops at `batch_bytes` or `batch_messages`; messages larger
// than `max_message` are not read ahead (RETR reads them itself). A request out of sequence
// drops what was read ahead and read-ahead resumes only once the client goes on in order.
// Message files are immutable, so read-ahead content is never stale; a message expunged
// meanwhile (by IMAP) reads as not_found, as RETR would have.
//
// Threading: a session calls it from its own strand; the worker's result is posted back to
// that strand.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "src/core/status.h"
#include "src/pop3/maildrop.h"

namespace mailroom::net {
class WorkerPool;
}

namespace mailroom::pop3 {

class ReadAhead {
 public:
  struct Limits {
    std::size_t batch_bytes = 256 * 1024;
    std::size_t batch_messages = 32;
    uint64_t max_message = 1024 * 1024;
  };

  ReadAhead(store::MailStore& store, net::WorkerPool& workers, Limits limits);
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The content of message `number` (1-based) if it was read ahead, waiting for its batch if
  // still being read; nullopt if it was not (then everything read ahead is dropped).
  boost::asio::awaitable<std::optional<core::Result<std::string>>> take(uint32_t number);

  // Called once message `number` was asked for: when the download is sequential (the first
  // request, or the one after the previous), starts reading the following messages of
  // `maildrop` (not deleted) unless enough are read or being read already.
  void advance(const Maildrop& maildrop, const std::string& account_id, uint32_t number,
               const boost::asio::any_io_executor& strand);

  // Messages held in memory or being read (for tests).
  std::size_t held() const;

 private:
  struct Batch;
  struct Waiter;
  void start(const Maildrop& maildrop, const std::string& account_id, uint32_t from,
             const boost::asio::any_io_executor& strand);

  store::MailStore& store_;
  net::WorkerPool& workers_;
  Limits limits_;
  std::deque<std::shared_ptr<Batch>> batches_;  // ascending message numbers
  std::unique_ptr<Waiter> waiter_;
  uint32_t last_number_ = 0;  // the previous request (0: none yet)
};

}  // namespace mailroom::pop3
