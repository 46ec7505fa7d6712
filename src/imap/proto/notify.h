// Internal: the grammar of NOTIFY (RFC 5465 8) that command.cpp calls:
//   notify          = "NOTIFY" SP (notify-set / notify-none)
//   notify-none     = "NONE"
//   notify-set      = "SET" [status-indicator] SP event-groups
//   status-indicator = SP "STATUS"
//   event-groups    = event-group *(SP event-group)
//   event-group     = "(" filter-mailboxes SP events ")"
//   filter-mailboxes = "selected" / "selected-delayed" / "inboxes" / "personal" /
//                     "subscribed" / ("subtree" SP one-or-more-mailbox) /
//                     ("mailboxes" SP one-or-more-mailbox)
//   one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"
//   events          = ("(" event *(SP event) ")") / "NONE"
//   event           = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) / "MessageExpunge" /
//                     "FlagChange" / "AnnotationChange" / "MailboxName" / "SubscriptionChange" /
//                     "MailboxMetadataChange" / "ServerMetadataChange" / event-ext
// An unknown event (event-ext) is no syntax error: it is kept in NotifyArgs::unknown_events
// and the session answers NO [BADEVENT] (RFC 5465 3.1). The combination rules of 5 (a BAD)
// are checked here too.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "src/imap/proto/lexer.h"

namespace mailroom::imap::proto {

struct FetchAtt;

// Bounds of one NOTIFY command: event groups and mailbox names in them.
constexpr size_t kMaxNotifyGroups = 32;
constexpr size_t kMaxNotifyNames = 256;

enum class NotifyFilter : uint8_t {
  selected,
  selected_delayed,
  inboxes,
  personal,
  subscribed,
  subtree,
  mailboxes,
};

// Event bits (RFC 5465 5).
enum NotifyEvent : uint32_t {
  kMessageNew = 1u << 0,
  kMessageExpunge = 1u << 1,
  kFlagChange = 1u << 2,
  kAnnotationChange = 1u << 3,
  kMailboxName = 1u << 4,
  kSubscriptionChange = 1u << 5,
  kMailboxMetadataChange = 1u << 6,
  kServerMetadataChange = 1u << 7,
};
constexpr uint32_t kMessageEvents = kMessageNew | kMessageExpunge | kFlagChange | kAnnotationChange;

struct NotifyGroup {
  NotifyFilter filter = NotifyFilter::selected;
  std::vector<std::string> mailboxes;  // subtree / mailboxes (still modified UTF-7)
  uint32_t events = 0;                 // 0 = NONE
};

struct NotifyArgs {
  bool none = false;    // NOTIFY NONE
  bool status = false;  // SET STATUS
  std::vector<NotifyGroup> groups;
  std::vector<std::string> unknown_events;  // event-ext names, for [BADEVENT]
};

// After "NOTIFY": the arguments into `out`; MessageNew's fetch attributes (only allowed for
// selected / selected-delayed) into `fetch`, each parsed by `fetch_att` (command.cpp's FETCH
// grammar).
bool notify_args(Lexer& lx, NotifyArgs& out, std::vector<FetchAtt>& fetch,
                 const std::function<bool(std::vector<FetchAtt>&)>& fetch_att);

// The events this server supports, as "(MessageNew ...)" for [BADEVENT] (RFC 5465 3.1).
const char* notify_supported_events();

}  // namespace mailroom::imap::proto
