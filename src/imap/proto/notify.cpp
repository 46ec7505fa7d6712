// NOTIFY (RFC 5465 8, Formal Syntax; the grammar is in notify.h) and the rules of RFC 5465 5
// on which events go together.
#include "src/imap/proto/notify.h"

#include <algorithm>
#include <cctype>

namespace mailroom::imap::proto {
namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

struct EventName {
  const char* upper;
  uint32_t bit;
};
constexpr EventName kEvents[] = {
    {"MESSAGENEW", kMessageNew},
    {"MESSAGEEXPUNGE", kMessageExpunge},
    {"FLAGCHANGE", kFlagChange},
    {"ANNOTATIONCHANGE", kAnnotationChange},
    {"MAILBOXNAME", kMailboxName},
    {"SUBSCRIPTIONCHANGE", kSubscriptionChange},
    {"MAILBOXMETADATACHANGE", kMailboxMetadataChange},
    {"SERVERMETADATACHANGE", kServerMetadataChange},
};

// one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"
bool mailbox_names(Lexer& lx, std::vector<std::string>& out, size_t& total) {
  bool list = lx.consume('(');
  for (;;) {
    auto name = lx.astring();
    if (!name) return false;
    if (++total > kMaxNotifyNames) return lx.fail("Too many mailboxes in NOTIFY");
    if (std::find(out.begin(), out.end(), *name) == out.end()) out.push_back(std::move(*name));
    if (!list || lx.consume(')')) return true;
    if (!lx.sp()) return false;
  }
}

bool filter(Lexer& lx, NotifyGroup& g, size_t& names) {
  auto a = lx.atom();
  if (!a) return lx.fail("Expected a mailbox filter");
  std::string f = upper(*a);
  if (f == "SELECTED") {
    g.filter = NotifyFilter::selected;
  } else if (f == "SELECTED-DELAYED") {
    g.filter = NotifyFilter::selected_delayed;
  } else if (f == "INBOXES") {
    g.filter = NotifyFilter::inboxes;
  } else if (f == "PERSONAL") {
    g.filter = NotifyFilter::personal;
  } else if (f == "SUBSCRIBED") {
    g.filter = NotifyFilter::subscribed;
  } else if (f == "SUBTREE" || f == "MAILBOXES") {
    g.filter = f == "SUBTREE" ? NotifyFilter::subtree : NotifyFilter::mailboxes;
    return lx.sp() && mailbox_names(lx, g.mailboxes, names);
  } else {
    return lx.fail("Unknown mailbox filter " + *a);
  }
  return true;
}

bool is_selected(NotifyFilter f) {
  return f == NotifyFilter::selected || f == NotifyFilter::selected_delayed;
}

// events = ("(" event *(SP event) ")") / "NONE"
bool events(Lexer& lx, NotifyGroup& g, NotifyArgs& out, std::vector<FetchAtt>& fetch,
            const std::function<bool(std::vector<FetchAtt>&)>& fetch_att) {
  if (!lx.consume('(')) {
    if (!lx.keyword("NONE")) return lx.fail("Expected an event list or NONE");
    g.events = 0;
    return true;
  }
  for (;;) {
    auto a = lx.atom();
    if (!a) return lx.fail("Expected an event");
    std::string e = upper(*a);
    uint32_t bit = 0;
    for (const auto& k : kEvents) {
      if (e == k.upper) bit = k.bit;
    }
    if (bit == 0) {
      // RFC 5465 3.1: an event the server does not know is answered NO [BADEVENT].
      if (out.unknown_events.size() < kMaxNotifyGroups) out.unknown_events.push_back(*a);
    } else if (g.events & bit) {
      return lx.fail("Event " + *a + " given twice");
    }
    g.events |= bit;
    if (bit == kMessageNew && lx.peek() == ' ') {
      // MessageNew [SP "(" fetch-att *(SP fetch-att) ")"]
      size_t at = lx.pos();
      lx.consume(' ');
      if (!lx.consume('(')) {
        lx.set_pos(at);
      } else {
        // RFC 5465 5.1: fetch attributes only where the selected mailbox is meant.
        if (!is_selected(g.filter))
          return lx.fail("MessageNew fetch attributes are only allowed for the selected mailbox");
        for (;;) {
          if (!fetch_att(fetch)) return false;
          if (lx.consume(')')) break;
          if (!lx.sp()) return false;
        }
      }
    }
    if (lx.consume(')')) break;
    if (!lx.sp()) return false;
  }
  // RFC 5465 5: MessageNew and MessageExpunge go together; FlagChange and AnnotationChange
  // need both.
  uint32_t ne = g.events & (kMessageNew | kMessageExpunge);
  if (ne != 0 && ne != (kMessageNew | kMessageExpunge))
    return lx.fail("MessageNew and MessageExpunge must be given together");
  if ((g.events & (kFlagChange | kAnnotationChange)) && ne == 0)
    return lx.fail("FlagChange and AnnotationChange need MessageNew and MessageExpunge");
  // RFC 5465 6: the selected mailbox takes message events only.
  if (is_selected(g.filter) && (g.events & ~kMessageEvents))
    return lx.fail("Only message events are allowed for the selected mailbox");
  return true;
}

}  // namespace

bool notify_args(Lexer& lx, NotifyArgs& out, std::vector<FetchAtt>& fetch,
                 const std::function<bool(std::vector<FetchAtt>&)>& fetch_att) {
  if (!lx.sp()) return false;
  auto verb = lx.atom();
  if (!verb) return lx.fail("Expected SET or NONE");
  std::string v = upper(*verb);
  if (v == "NONE") {
    out.none = true;
    return true;
  }
  if (v != "SET") return lx.fail("Expected SET or NONE");
  if (!lx.sp()) return false;
  if (lx.keyword("STATUS")) {
    out.status = true;
    if (!lx.sp()) return false;
  }
  size_t names = 0;
  bool selected_seen = false;
  do {
    if (out.groups.size() >= kMaxNotifyGroups) return lx.fail("Too many event groups");
    NotifyGroup g;
    if (!lx.expect('(') || !filter(lx, g, names) || !lx.sp() ||
        !events(lx, g, out, fetch, fetch_att) || !lx.expect(')'))
      return false;
    if (is_selected(g.filter)) {
      if (selected_seen) return lx.fail("The selected mailbox is named twice");
      selected_seen = true;
    }
    out.groups.push_back(std::move(g));
  } while (lx.consume(' '));
  return true;
}

const char* notify_supported_events() {
  return "(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange "
         "MailboxMetadataChange ServerMetadataChange)";
}

}  // namespace mailroom::imap::proto
