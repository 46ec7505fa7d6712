// DATA (RFC 5321 4.1.1.4, dot-stuffing 4.5.2) and BDAT (RFC 3030 section 2).
//
// DATA lines are read with the line-length limit (RFC 5321 4.5.3.1.6: 1000 octets with CRLF);
// a violation is remembered and the whole message refused at the final dot (554 5.6.0), so
// the session stays in sync. Bare LF: with bare_lf = "reject" a line ending in LF alone is
// never an end of data (SMTP smuggling defence) and the message is refused at the end. A "."
// line ending in a bare LF is where a broken client thinks the data ends, or where a
// smuggler's next commands begin: we cannot tell, so (like Postfix's
// smtpd_forbid_bare_newline) we answer 550 5.5.2 at once and close the connection, neither
// waiting for a CRLF.CRLF that may never come nor reading what follows as commands
// (RFC 5321 2.3.8: lines end in CRLF; 4.1.1.4: the end of data is CRLF.CRLF).
#include "src/core/log.h"
#include "src/smtp/session.h"

namespace mailroom::smtp {

asio::awaitable<void> Session::cmd_data() {
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
  const bool reject_bare_lf = ctx_.options.bare_lf == BareLf::reject;
  const size_t max_line = ctx_.options.max_line_length - 2;
  const uint64_t max_size = ctx_.options.max_message_size;
  std::string body;
  std::string line;
  bool too_long = false, bare_lf_seen = false, nul = false, oversize = false;
  uint64_t size = 0;
  while (true) {
    bool bare_lf = false;
    auto st = co_await conn_.read_line(line, max_line, &bare_lf);
    if (st == net::ReadStatus::too_long) {
      too_long = true;
      continue;
    }
    if (st == net::ReadStatus::timeout) {
      MR_LOG_INFO("event=smtp_data_timeout session={}", session_id_);
      const std::string timeout_reply =
          proto::make_reply(421, "4.4.2", ctx_.services.hostname + " Timeout during DATA").wire();
      co_await conn_.write(timeout_reply);
      quit_ = true;
      co_return;
    }
    if (st != net::ReadStatus::ok) {
      // Disconnect mid-DATA: nothing was queued.
      MR_LOG_INFO("event=smtp_data_aborted session={} reason={} bytes={}", session_id_,
                  net::read_status_name(st), size);
      quit_ = true;
      co_return;
    }
    if (bare_lf) {
      bare_lf_seen = true;
      if (reject_bare_lf && line.size() == 1 && line[0] == '.') {
        MR_LOG_INFO("event=smtp_bare_lf_end_of_data session={} bytes={}", session_id_, size);
        const std::string refusal =
            proto::make_reply(550, "5.5.2", "Error: bare <LF> received").wire();
        co_await conn_.write(refusal);
        quit_ = true;
        co_return;
      }
      if (reject_bare_lf) continue;  // never counts as content or as the end
    }
    if (line.size() == 1 && line[0] == '.') break;
    std::string_view content = line;
    if (!content.empty() && content.front() == '.') content.remove_prefix(1);  // RFC 5321 4.5.2
    if (content.find('\0') != std::string_view::npos) nul = true;
    size += content.size() + 2;
    if (size > max_size) {
      oversize = true;
      continue;
    }
    body.append(content);
    body.append("\r\n");
  }
  if (oversize) {
    reset_transaction();
    reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    co_return;
  }
  if (too_long) {
    reset_transaction();
    reply(554, "5.6.0", "Message contains lines longer than 998 characters");
    co_return;
  }
  if (bare_lf_seen && reject_bare_lf) {
    reset_transaction();
    reply(554, "5.6.0", "Message contains bare LF line endings");
    co_return;
  }
  if (nul) {
    reset_transaction();
    reply(554, "5.6.0", "Message contains NUL characters");
    co_return;
  }
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
    reset_transaction();
    reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    co_return;
  }
  std::string body = std::move(tx_.chunks);
  co_await finish_message(std::move(body));
}

}  // namespace mailroom::smtp
