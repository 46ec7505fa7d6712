// NOTIFY (RFC 5465 3): SET replaces what the session is told about, NONE ends it. The
// grammar and its BAD rules are proto/notify.cpp's, the engine notify.cpp's.
#include "src/imap/notify.h"

#include "src/imap/session.h"

namespace mailroom::imap {

asio::awaitable<Reply> cmd_notify(Session& s, const proto::Command& cmd) {
  const auto& a = cmd.notify;
  // RFC 5465 3.1: an unknown event, or one this server does not send, is NO [BADEVENT] with
  // the events it supports; the NOTIFY in effect stays.
  std::string bad = "[BADEVENT " + std::string(proto::notify_supported_events()) + "] ";
  if (!a.unknown_events.empty()) co_return Reply::no(bad + "Unknown event " + a.unknown_events[0]);
  // AnnotationChange (RFC 5465 5.3) is about per-message annotations (RFC 5257), which this
  // server does not keep; METADATA's events (5.6, 5.7) are sent (notify.cpp).
  for (const auto& g : a.groups) {
    if (g.events & proto::kAnnotationChange)
      co_return Reply::no(bad + "Per-message annotations (RFC 5257) are not kept here");
  }
  for (const auto& f : cmd.fetch) {
    // MessageNew's FETCH must not set \Seen (it is not the user reading the message).
    if (f.item == proto::FetchItem::rfc822 || f.item == proto::FetchItem::rfc822_text)
      co_return Reply::bad("Use BODY.PEEK[] or BODY.PEEK[TEXT] with MessageNew");
  }
  if (a.none) {
    s.notifier.reset();
    co_return Reply::ok("NOTIFY completed");
  }
  auto n = std::make_unique<Notifier>();
  n->args = a;
  // The names as the store knows them, decoded once (modified UTF-7, or UTF-8 after ENABLE
  // UTF8=ACCEPT); one that cannot be a mailbox name matches nothing (RFC 5465 6: ignored).
  for (auto& g : n->args.groups) {
    std::vector<std::string> utf8;
    for (const auto& wire : g.mailboxes) {
      if (auto name = s.mailbox_from_wire(wire)) utf8.push_back(std::move(*name));
    }
    g.mailboxes = std::move(utf8);
  }
  n->fetch = cmd.fetch;
  for (auto& f : n->fetch) f.peek = true;
  std::string why;
  // A SET that fails leaves the NOTIFY in effect as it was.
  if (!co_await notify_start(s, *n, &why)) co_return Reply::no(why);
  s.notifier = std::move(n);
  co_return Reply::ok("NOTIFY completed");
}

}  // namespace mailroom::imap
