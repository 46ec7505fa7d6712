// COMPRESS (RFC 4978): raw deflate in both directions after the tagged OK, once per
// connection, over TLS when it is active (net::Transport::start_compress).
#include "src/core/log.h"
#include "src/imap/session.h"
#include "src/net/transport.h"

namespace mailroom::imap {

asio::awaitable<Reply> cmd_compress(Session& s, const proto::Command& cmd) {
  // RFC 4978 3 and RFC 5530 3: a second COMPRESS is refused with COMPRESSIONACTIVE.
  if (s.conn.compressed()) co_return Reply::no("[COMPRESSIONACTIVE] DEFLATE is already active");
  if (cmd.atoms.size() != 1 || cmd.atoms[0] != "DEFLATE")
    co_return Reply::bad("Unknown compression mechanism, DEFLATE is supported");
  // The OK goes out uncompressed; everything after it is compressed (RFC 4978 3). Nothing is
  // queued but it: the mailbox sync of this command is skipped (no_sync), so untagged
  // responses wait for the next command, compressed.
  std::string line = cmd.tag + " OK DEFLATE active\r\n";
  s.queue(line);
  bool ok = co_await s.flush();
  if (ok) ok = s.conn.start_compress();
  Reply r = Reply::ok("");
  r.no_sync = true;
  r.sent = true;
  if (!ok) {
    // The OK is out, so the client compresses now; without the layer we cannot follow.
    MR_LOG_WARN("event=imap_compress_failed session={}", s.session_id());
    r.close = true;
  }
  co_return r;
}

}  // namespace mailroom::imap
