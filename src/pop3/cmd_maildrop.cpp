// TRANSACTION state listing and marking: STAT, LIST, UIDL, DELE, RSET, NOOP (RFC 1939
// section 5, UIDL section 7). Sizes are the store's CRLF octet counts (MessageMeta::size).
#include "src/pop3/session.h"

namespace mailroom::pop3 {

namespace {
std::string drop_summary(const Maildrop& m) {
  return std::to_string(m.count()) + " messages (" + std::to_string(m.octets()) + " octets)";
}
}  // namespace

Awaitable Session::cmd_stat(const proto::Command&) {
  send(proto::ok(std::to_string(maildrop_.count()) + " " + std::to_string(maildrop_.octets())));
  co_return;
}

Awaitable Session::cmd_list(const proto::Command& c) {
  if (!c.args.empty()) {
    uint32_t n = 0;
    const store::MessageMeta* meta = message_arg(c.args[0], &n);
    if (meta) send(proto::ok(std::to_string(n) + " " + std::to_string(meta->size)));
    co_return;
  }
  std::string out = proto::ok(drop_summary(maildrop_));
  for (uint32_t n = 1; n <= maildrop_.total(); ++n) {
    if (const store::MessageMeta* meta = maildrop_.find(n)) {
      out += std::to_string(n) + " " + std::to_string(meta->size) + "\r\n";
    }
  }
  out += ".\r\n";
  send(out);
  co_return;
}

Awaitable Session::cmd_uidl(const proto::Command& c) {
  if (!c.args.empty()) {
    uint32_t n = 0;
    if (message_arg(c.args[0], &n)) {
      send(proto::ok(std::to_string(n) + " " + maildrop_.unique_id(n)));
    }
    co_return;
  }
  std::string out = proto::ok("Unique-id listing follows");
  for (uint32_t n = 1; n <= maildrop_.total(); ++n) {
    if (maildrop_.find(n)) out += std::to_string(n) + " " + maildrop_.unique_id(n) + "\r\n";
  }
  out += ".\r\n";
  send(out);
  co_return;
}

Awaitable Session::cmd_dele(const proto::Command& c) {
  uint32_t n = 0;
  if (message_arg(c.args[0], &n)) {
    maildrop_.mark_deleted(n);
    send(proto::ok("Message " + std::to_string(n) + " deleted"));
  }
  co_return;
}

Awaitable Session::cmd_rset(const proto::Command&) {
  maildrop_.reset();
  send(proto::ok("Maildrop has " + drop_summary(maildrop_)));
  co_return;
}

Awaitable Session::cmd_noop(const proto::Command&) {
  send(proto::ok(""));
  co_return;
}

}  // namespace mailroom::pop3
