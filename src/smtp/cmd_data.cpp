// DATA (RFC 5321 4.1.1.4, dot-stuffing 4.5.2) and BDAT (RFC 3030 section 2).
//
// DATA lines are read with the line-length limit (RFC 5321 4.5.3.1.6: 1000 octets with CRLF);
// a violation is remembered and the whole message refused at the final dot (554 5.6.0), so
// the session stays in sync.
//
// SMTP smuggling (RFC 5321 2.3.8: lines end in CRLF; 4.1.1.4: the end of data is
// CRLF.CRLF): only a "." line that ends in CRLF *and* follows a line that ended in CRLF ends
// the data. "<LF>.<CR><LF>", ".<LF>" and the like are content, whatever bare_lf says, so the
// bytes a smuggler puts after them are read as part of the message, never as commands. With
// bare_lf = "reject" (the default) a message with any bare LF is refused at its real end
// (554 5.6.0); with "accept" bare LF counts as a line end inside the content and is stored as
// CRLF (what Postfix calls "normalize"). BDAT has no end line, but a chunk may carry the same
// bare LF that would smuggle at the next hop: the same rule applies to the assembled message.
#include "src/core/log.h"
#include "src/smtp/session.h"

namespace mailroom::smtp {

namespace {

bool has_bare_lf(std::string_view s) {
  for (std::size_t i = s.find('\n'); i != std::string_view::npos; i = s.find('\n', i + 1)) {
    if (i == 0 || s[i - 1] != '\r') return true;
  }
  return false;
}

// bare_lf = "accept": every LF not preceded by CR becomes CRLF (what DATA stores).
std::string crlf_line_ends(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 50);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
    out += s[i];
  }
  return out;
}

}  // namespace

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
  bool after_crlf = true;  // the 354 reply's command line ended in CRLF
  uint64_t size = 0;
  while (true) {
    bool bare_lf = false;
    auto st = co_await conn_.read_line(line, max_line, &bare_lf);
    if (st == net::ReadStatus::too_long) {
      too_long = true;
      after_crlf = !bare_lf;
      bare_lf_seen = bare_lf_seen || bare_lf;
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
    const bool is_dot = line.size() == 1 && line[0] == '.';
    if (is_dot && !bare_lf && after_crlf) break;  // CRLF.CRLF
    after_crlf = !bare_lf;
    if (bare_lf) {
      if (!bare_lf_seen) {
        MR_LOG_INFO("event=smtp_bare_lf session={} dot_line={} bytes={}", session_id_, is_dot,
                    size);
      }
      bare_lf_seen = true;
    }
    std::string_view content = line;
    if (!content.empty() && content.front() == '.') content.remove_prefix(1);  // RFC 5321 4.5.2
    if (content.find('\0') != std::string_view::npos) nul = true;
    size += content.size() + 2;
    if (size > max_size || (bare_lf_seen && reject_bare_lf)) {
      oversize = oversize || size > max_size;
      continue;  // refused at the end: keep reading, store nothing more
    }
    body.append(content);
    body.append("\r\n");
  }
  if (oversize) {
    refuse_message(552, "5.3.4", "Message size exceeds fixed maximum message size");
    co_return;
  }
  if (too_long) {
    refuse_message(554, "5.6.0", "Message contains lines longer than 998 characters");
    co_return;
  }
  if (bare_lf_seen && reject_bare_lf) {
    refuse_message(554, "5.6.0", "Message contains bare LF line endings");
    co_return;
  }
  if (nul) {
    refuse_message(554, "5.6.0", "Message contains NUL characters");
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
    refuse_message(552, "5.3.4", "Message size exceeds fixed maximum message size");
    co_return;
  }
  std::string body = std::move(tx_.chunks);
  // BODY=BINARYMIME (RFC 3030 3) may carry any octets; other bodies are lines ending in CRLF.
  if (tx_.mail.body != proto::Body::binary_mime && has_bare_lf(body)) {
    if (ctx_.options.bare_lf == BareLf::reject) {
      MR_LOG_INFO("event=smtp_bare_lf session={} bdat=true bytes={}", session_id_, body.size());
      refuse_message(554, "5.6.0", "Message contains bare LF line endings");
      co_return;
    }
    body = crlf_line_ends(body);
  }
  co_await finish_message(std::move(body));
}

}  // namespace mailroom::smtp
