// RETR and TOP (RFC 1939 sections 5, 7). The message goes out with CRLF line endings and
// dot-stuffing (proto/reply.h). A RETR, or a TOP that sends the whole message, records the
// retrieval (time, client IP) for mail recall in the session's retrieval journal before the
// message is sent ("may have left the server" is the safe answer for recall if the connection
// breaks mid-transfer); when marks are made durable is mark_batch.h's business. No mark, no
// message: a store that cannot record gets -ERR. Messages come from the read-ahead
// (read_ahead.h) when the client downloads in order, else from one worker-pool read.
#include <boost/asio/this_coro.hpp>
#include <ctime>

#include "src/core/log.h"
#include "src/net/worker_pool.h"
#include "src/pop3/session.h"

namespace mailroom::pop3 {

Awaitable Session::send_message(uint32_t number, std::optional<uint32_t> lines) {
  store::MailStore& store = *services_.store;
  const store::MessageMeta& meta = *maildrop_.find(number);
  uint32_t uid = meta.uid;
  const std::string& account = principal_.account_id;
  std::optional<core::Result<std::string>> ahead = co_await read_ahead_.take(number);
  boost::asio::any_io_executor strand = co_await boost::asio::this_coro::executor;
  read_ahead_.advance(maildrop_, account, number, strand);
  core::Result<std::string> message = core::Status();
  if (ahead) {
    message = std::move(*ahead);
  } else {
    auto read = [&] { return store.read_message(account, "INBOX", uid); };
    message = co_await net::blocking(*services_.workers, read);
  }
  if (!message) {
    store_error("read_message", message.status());
    co_return;
  }
  std::string_view text = *message;
  bool whole = true;
  if (lines) text = proto::top_of(*message, *lines, &whole);
  if (whole) {
    MarkBatch::Clock::time_point now = MarkBatch::Clock::now();
    bool sync = marks_.next_needs_sync(now);
    core::Status mark = journal_->append(uid, static_cast<int64_t>(std::time(nullptr)));
    if (mark && sync) {
      auto durable = [this] { return journal_->sync(); };
      mark = co_await net::blocking(*services_.workers, durable);
    }
    if (!mark) {
      store_error("mark_retrieved", mark);
      co_return;
    }
    marks_.written(sync, now);
  }
  // The status line and the body are queued apart: the octet count comes out of the one pass
  // that converts and dot-stuffs the message.
  std::string body;
  std::size_t octets = proto::append_multiline_body(body, text);
  send(proto::ok(lines ? std::string("Top of message follows")
                       : std::to_string(octets) + " octets"));
  send(body);
}

Awaitable Session::sync_marks(bool close) {
  if (!journal_) co_return;
  if (!close && marks_.unsynced() == 0) co_return;
  std::unique_ptr<store::RetrievalJournal>& journal = journal_;
  auto sync = [&journal, close] { return close ? journal->close() : journal->sync(); };
  core::Status s = co_await net::blocking(*services_.workers, sync);
  if (close) journal_.reset();
  if (!s) {
    MR_LOG_WARN("event=pop3_mark_sync_failed session={} account={} unsynced={} status={}",
                transport_.info().session_id, principal_.account_id, marks_.unsynced(),
                core::quote(s.to_string()));
    co_return;
  }
  marks_.synced();
}

Awaitable Session::cmd_retr(const proto::Command& c) {
  uint32_t n = 0;
  const store::MessageMeta* meta = message_arg(c.args[0], &n);
  if (!meta) co_return;
  std::optional<uint32_t> whole;
  co_await send_message(n, whole);
}

Awaitable Session::cmd_top(const proto::Command& c) {
  uint32_t n = 0;
  const store::MessageMeta* meta = message_arg(c.args[0], &n);
  if (!meta) co_return;
  std::optional<uint32_t> lines = proto::parse_number(c.args[1]);
  if (!lines) {
    client_error("Invalid number of lines");
    co_return;
  }
  co_await send_message(n, lines);
}

}  // namespace mailroom::pop3
