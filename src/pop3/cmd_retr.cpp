// RETR and TOP (RFC 1939 sections 5, 7). The message goes out with CRLF line endings and
// dot-stuffing (proto/reply.h). A RETR, or a TOP that sends the whole message, records the
// retrieval in the store (time, client IP) for mail recall. The mark is committed in the same
// worker call that reads the message, before it is sent ("may have left the server" is the
// safe answer for recall if the connection breaks mid-transfer); when it is fsync'd is
// mark_batch.h's business. No mark, no message: a store that cannot record gets -ERR.
#include <ctime>

#include "src/core/log.h"
#include "src/net/worker_pool.h"
#include "src/pop3/session.h"

namespace mailroom::pop3 {

namespace {

struct Fetched {
  core::Result<std::string> message = core::Status();
  bool whole = true;
  core::Status mark;
};

// `top_lines` empty: RETR; else TOP with that many body lines. `sync`: fsync the mark.
Fetched fetch(store::MailStore& store, const std::string& account, uint32_t uid,
              std::optional<uint32_t> top_lines, const std::string& client_ip, bool sync) {
  Fetched f;
  f.message = store.read_message(account, "INBOX", uid);
  if (!f.message) return f;
  if (top_lines) {
    std::string_view part = proto::top_of(*f.message, *top_lines, &f.whole);
    if (!f.whole) f.message = std::string(part);
  }
  if (f.whole) {
    std::vector<std::pair<uint32_t, int64_t>> marks{
        {uid, static_cast<int64_t>(std::time(nullptr))}};
    f.mark = store.mark_retrieved_batch(account, "INBOX", marks, client_ip, sync);
  }
  return f;
}

}  // namespace

Awaitable Session::send_message(const store::MessageMeta& meta, std::optional<uint32_t> lines) {
  store::MailStore& store = *services_.store;
  uint32_t uid = meta.uid;
  const std::string& ip = transport_.info().remote_ip;
  MarkBatch::Clock::time_point now = MarkBatch::Clock::now();
  bool sync = marks_.next_needs_sync(now);
  auto read = [&] { return fetch(store, principal_.account_id, uid, lines, ip, sync); };
  Fetched f = co_await blocking(read);
  if (!f.message) {
    store_error("read_message", f.message.status());
    co_return;
  }
  if (f.whole) {
    if (!f.mark) {
      store_error("mark_retrieved", f.mark);
      co_return;
    }
    marks_.written(sync, now);
  }
  // The status line and the body are queued apart: the octet count comes out of the one pass
  // that converts and dot-stuffs the message.
  std::string body;
  std::size_t octets = proto::append_multiline_body(body, *f.message);
  send(proto::ok(lines ? std::string("Top of message follows")
                       : std::to_string(octets) + " octets"));
  send(body);
}

Awaitable Session::sync_marks() {
  if (marks_.unsynced() == 0) co_return;
  store::MailStore& store = *services_.store;
  const std::string& account = principal_.account_id;
  const std::string& ip = transport_.info().remote_ip;
  std::vector<std::pair<uint32_t, int64_t>> none;
  auto sync = [&] { return store.mark_retrieved_batch(account, "INBOX", none, ip, true); };
  core::Status s = co_await blocking(sync);
  if (!s) {
    MR_LOG_WARN("event=pop3_mark_sync_failed session={} account={} unsynced={} status={}",
                transport_.info().session_id, account, marks_.unsynced(),
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
  co_await send_message(*meta, whole);
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
  co_await send_message(*meta, lines);
}

}  // namespace mailroom::pop3
