// RETR and TOP (RFC 1939 sections 5, 7). The message goes out with CRLF line endings and
// dot-stuffing (proto/reply.h). A RETR, or a TOP that sends the whole message, records the
// retrieval in the store (time, client IP) for mail recall. The mark is written in the same
// worker call that reads the message, before it is sent: "may have left the server" is the
// safe answer for recall if the connection breaks mid-transfer.
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

}  // namespace

// `top_lines` empty: RETR; else TOP with that many body lines.
static Fetched fetch(store::MailStore& store, const std::string& account, uint32_t uid,
                     std::optional<uint32_t> top_lines, const std::string& client_ip) {
  Fetched f;
  f.message = store.read_message(account, "INBOX", uid);
  if (!f.message) return f;
  if (top_lines) {
    std::string_view part = proto::top_of(*f.message, *top_lines, &f.whole);
    if (!f.whole) f.message = std::string(part);
  }
  if (f.whole) {
    f.mark = store.mark_retrieved(account, "INBOX", uid, static_cast<int64_t>(std::time(nullptr)),
                                  client_ip);
  }
  return f;
}

Awaitable Session::cmd_retr(const proto::Command& c) {
  uint32_t n = 0;
  const store::MessageMeta* meta = message_arg(c.args[0], &n);
  if (!meta) co_return;
  store::MailStore& store = *services_.store;
  uint32_t uid = meta->uid;
  const std::string& ip = transport_.info().remote_ip;
  auto read = [&] { return fetch(store, principal_.account_id, uid, std::nullopt, ip); };
  Fetched f = co_await blocking(read);
  if (!f.message) {
    store_error("read_message", f.message.status());
    co_return;
  }
  if (!f.mark) {
    MR_LOG_WARN("event=pop3_mark_failed session={} uid={} status={}",
                transport_.info().session_id, uid, core::quote(f.mark.to_string()));
  }
  std::string out = proto::ok(std::to_string(proto::crlf_size(*f.message)) + " octets");
  proto::append_multiline_body(out, *f.message);
  send(out);
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
  store::MailStore& store = *services_.store;
  uint32_t uid = meta->uid;
  const std::string& ip = transport_.info().remote_ip;
  auto read = [&] { return fetch(store, principal_.account_id, uid, lines, ip); };
  Fetched f = co_await blocking(read);
  if (!f.message) {
    store_error("read_message", f.message.status());
    co_return;
  }
  if (f.whole && !f.mark) {
    MR_LOG_WARN("event=pop3_mark_failed session={} uid={} status={}",
                transport_.info().session_id, uid, core::quote(f.mark.to_string()));
  }
  std::string out = proto::ok("Top of message follows");
  proto::append_multiline_body(out, *f.message);
  send(out);
}

}  // namespace mailroom::pop3
