// DATA (RFC 5321 4.1.1.4, dot-stuffing 4.5.2) and BDAT (RFC 3030 section 2).
//
// DATA lines are read with the line-length limit (RFC 5321 4.5.3.1.6: 1000 octets with CRLF);
// a violation is remembered and the whole message refused at the final dot (554 5.6.0), so
// the session stays in sync.
//
// The content rules (where the data ends, bare LF, size, NUL) are the pure DataReader's
// (proto/data.h), which explains the SMTP smuggling defence; here only the I/O.
#include "src/core/log.h"
#include "src/smtp/proto/data.h"
#include "src/smtp/session.h"

namespace mailroom::smtp {

asio::awaitable<void> Session::cmd_data(const proto::Command&) {
  if (!tx_.active) {
    reply(503, "5.5.1", "Need MAIL command first");
    co_return;
  }
  if (tx_.bdat) {
    reply(503, "5.5.1", "DATA not allowed after BDAT");
    co_return;
  }
  if (tx_.rcpts.empty()) {
    reply(554, "5.5.1", "No valid recipients");
    co_return;
  }
  if (tx_.mail.body == proto::Body::binary_mime) {
    reply(503, "5.5.1", "BODY=BINARYMIME requires BDAT");  // RFC 3030 3
    co_return;
  }
  conn_.queue(proto::make_reply(354, "", "End data with <CR><LF>.<CR><LF>").wire());
  if (!co_await conn_.flush()) {
    quit_ = true;
    co_return;
  }
  proto::DataLimits limits;
  limits.max_size = ctx_.options.max_message_size;
  limits.reject_bare_lf = ctx_.options.bare_lf == BareLf::reject;
  proto::DataReader data(limits);
  const size_t max_line = ctx_.options.max_line_length - 2;
  std::string line;
  while (true) {
    bool bare_lf = false;
    auto st = co_await conn_.read_line(line, max_line, &bare_lf);
    if (st == net::ReadStatus::timeout) {
      MR_LOG_INFO("event=smtp_data_timeout session={}", session_id_);
      const std::string timeout_reply =
          proto::make_reply(421, "4.4.2", ctx_.services.hostname + " Timeout during DATA").wire();
      co_await conn_.write(timeout_reply);
      quit_ = true;
      co_return;
    }
    if (st != net::ReadStatus::ok && st != net::ReadStatus::too_long) {
      // Disconnect mid-DATA: nothing was queued.
      MR_LOG_INFO("event=smtp_data_aborted session={} reason={} bytes={}", session_id_,
                  net::read_status_name(st), data.size());
      quit_ = true;
      co_return;
    }
    const bool had_bare_lf = data.bare_lf_seen();
    if (data.add_line(line, bare_lf, st == net::ReadStatus::too_long)) break;
    if (!had_bare_lf && data.bare_lf_seen()) {
      MR_LOG_INFO("event=smtp_bare_lf session={} bytes={}", session_id_, data.size());
    }
  }
  if (auto r = data.refusal()) {
    refuse_message(r->code, r->enhanced, r->text);
    co_return;
  }
  std::string body = data.take_body();
  co_await finish_message(std::move(body));
}

asio::awaitable<void> Session::cmd_bdat(const proto::Command& cmd) {
  // RFC 3030 2: the chunk must be read even when the command is refused.
  std::string chunk;
  bool keep = tx_.active && !tx_.rcpts.empty() && !tx_.oversize &&
              tx_.chunk_bytes + cmd.chunk_size <= ctx_.options.max_message_size;
  uint64_t left = cmd.chunk_size;
  while (left > 0) {
    size_t piece = static_cast<size_t>(std::min<uint64_t>(left, 1 << 16));
    std::string buf;
    auto st = co_await conn_.read_exact(keep ? chunk : buf, piece);
    if (st != net::ReadStatus::ok) {
      MR_LOG_INFO("event=smtp_bdat_aborted session={} reason={}", session_id_,
                  net::read_status_name(st));
      quit_ = true;
      co_return;
    }
    left -= piece;
  }
  if (!tx_.active) {
    reply(503, "5.5.1", "Need MAIL command first");
    co_return;
  }
  if (tx_.rcpts.empty()) {
    reply(554, "5.5.1", "No valid recipients");
    co_return;
  }
  tx_.bdat = true;
  tx_.chunk_bytes += cmd.chunk_size;
  if (!keep) tx_.oversize = true;
  if (!tx_.oversize) tx_.chunks.append(chunk);
  if (!cmd.last) {
    reply(250, "2.0.0", std::to_string(cmd.chunk_size) + " octets received");
    co_return;
  }
  if (tx_.oversize) {
    refuse_message(552, "5.3.4", "Message size exceeds fixed maximum message size");
    co_return;
  }
  std::string body = std::move(tx_.chunks);
  // BODY=BINARYMIME (RFC 3030 3) may carry any octets; other bodies are lines ending in CRLF.
  if (tx_.mail.body != proto::Body::binary_mime && proto::has_bare_lf(body)) {
    if (ctx_.options.bare_lf == BareLf::reject) {
      MR_LOG_INFO("event=smtp_bare_lf session={} bdat=true bytes={}", session_id_, body.size());
      refuse_message(554, "5.6.0", "Message contains bare LF line endings");
      co_return;
    }
    body = proto::crlf_line_ends(body);
  }
  co_await finish_message(std::move(body));
}

}  // namespace mailroom::smtp
