// IMAP NOTIFY (RFC 5465): what one session asked to be told about, and the unsolicited
// responses it is sent (commands/notify.cpp is the command; this is the engine).
//
// How changes travel: the store's watch callbacks (one per watched mailbox, one on the
// account's mailbox list) post to the session's executor, where they only mark a mailbox name
// in a bounded set (Inbox) and wake the session. The session then reads what changed on the
// worker pool and sends STATUS / LIST / FETCH lines: after every command, while IDLE, and
// between commands (notify_between_commands) — coalesced, so a mailbox changing a thousand
// times before the session gets to it costs one STATUS. When more mailboxes are marked than
// Options::notify_max_pending, the session is told [NOTIFICATIONOVERFLOW] and NOTIFY ends
// (RFC 5465 5.8); nothing grows without bound on the I/O thread.
//
// ACL (RFC 4314): another account's folder is watched only with "l" and "r"; the rights are
// read again before each STATUS, so a folder whose rights were taken away falls silent.
//
// Annotation changes (RFC 5465 5.6 MailboxMetadataChange, 5.7 ServerMetadataChange) come
// from SETMETADATA through MetadataEvents (metadata_events.h) into the same inbox, and go out
// as unsolicited METADATA responses with the entry names (RFC 5464 4.4.2). AnnotationChange
// (per-message annotations, RFC 5257) is refused with [BADEVENT]: this server keeps none.
//
// State: per session, in memory (per node and disposable, DESIGN.md): a client that
// reconnects sets NOTIFY again. The mailbox-list watch sees changes made through this
// process only (MailStore::watch_mailbox_list).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "src/imap/metadata_events.h"
#include "src/imap/proto/command.h"
#include "src/store/mail_store.h"

namespace mailroom::imap {

namespace asio = boost::asio;
class Session;

// Written by the store callbacks (posted to the session's executor), read by the session.
struct NotifyInbox {
  std::set<std::string> pending;  // names (as the session shows them) that changed
  bool list_changed = false;
  bool overflow = false;
  size_t max_pending = 0;
  // Annotation changes (MetadataEvents) not yet sent: the entry names by (owner, mailbox in
  // the owner's store, private_to), each counted against max_pending like a mailbox.
  using MetadataKey = std::tuple<std::string, std::string, std::string>;
  static constexpr size_t kMaxEntriesPerMailbox = 256;
  std::map<MetadataKey, std::set<std::string>> metadata;
  std::string account;  // the user's: another user's /private changes are not kept
  void mark(const std::string& name) {
    if (overflow || pending.count(name)) return;
    if (pending.size() + metadata.size() >= max_pending) {
      overflow_now();
      return;
    }
    pending.insert(name);
  }
  void mark_metadata(const MetadataEvent& e) {
    if (overflow || (!e.private_to.empty() && e.private_to != account)) return;
    MetadataKey key{e.owner, e.mailbox, e.private_to};
    auto it = metadata.find(key);
    if (it == metadata.end() && pending.size() + metadata.size() >= max_pending) {
      overflow_now();
      return;
    }
    auto& names = metadata[key];
    for (const auto& n : e.entries) {
      if (names.size() >= kMaxEntriesPerMailbox && !names.count(n)) {
        overflow_now();
        return;
      }
      names.insert(n);
    }
  }
  void overflow_now() {
    overflow = true;
    pending.clear();
    metadata.clear();
  }
};

class Notifier {
 public:
  // Mailboxes watched: at most this many (more: NOTIFY SET answers NO [LIMIT]).
  static constexpr size_t kMaxWatched = 1000;

  struct Watched {
    std::string owner;    // account whose store holds it
    std::string mailbox;  // its name there
    bool own = true;
    uint32_t events = 0;      // proto::NotifyEvent bits of the group that matched
    std::string last_status;  // the last STATUS data sent or seen ("" = none yet)
    std::unique_ptr<store::WatchHandle> handle;
  };
  struct Known {  // one of the user's mailboxes, for MailboxName / SubscriptionChange
    std::string name;
    bool subscribed = false;
  };

  proto::NotifyArgs args;  // the groups of NOTIFY SET, their names decoded to UTF-8 once
  std::vector<proto::FetchAtt> fetch;      // MessageNew's fetch attributes (selected)
  uint32_t selected_events = 0;            // of the selected / selected-delayed group
  bool selected_delayed = false;           // no EXPUNGE outside commands that allow it
  std::map<std::string, Watched> watched;  // by the name the session shows
  std::map<std::string, Known> known;      // the user's mailboxes by object id (or name)
  std::shared_ptr<NotifyInbox> inbox = std::make_shared<NotifyInbox>();
  std::unique_ptr<store::WatchHandle> list_handle;
  // RFC 5465 5.6, 5.7: the metadata events of every group, and the other accounts' folders
  // named for MailboxMetadataChange (name the session shows -> owner, mailbox there); the
  // subscriptions to the annotation changes of the user's account and of those owners.
  uint32_t all_events = 0;
  std::map<std::string, std::pair<std::string, std::string>> metadata_shared;
  std::vector<std::unique_ptr<MetadataEvents::Subscription>> metadata_subscriptions;
  // MessageNew fetch attributes: the selected mailbox (name, UIDVALIDITY) and the highest UID
  // whose FETCH was sent or that the client knew of when it was selected.
  std::string fetched_box;
  uint32_t fetched_validity = 0;
  uint32_t fetched_upto = 0;

  // The events of the first non-selected group that matches `name` of the user's own
  // mailboxes (`subscribed`: it is), 0 when none does. No allocation: it runs for every
  // mailbox of the account when the mailbox list changes.
  uint32_t own_events(const Session& s, const std::string& name, bool subscribed) const;
  // STATUS items for a group's events.
  static std::vector<std::string> status_items(uint32_t events, bool condstore);
};

// NOTIFY SET: resolves the groups' mailboxes (worker pool, ACL) into `n` and starts watching
// them; false (with *why for NO [LIMIT]) when there are too many.
asio::awaitable<bool> notify_start(Session& s, Notifier& n, std::string* why);
// Sends what changed since the last call: the selected mailbox's news (when `between`
// commands, only for a selected / selected-delayed group, EXPUNGE only without
// selected-delayed) with MessageNew's FETCH, then STATUS and LIST lines for the others.
// Queues the lines; the caller flushes.
asio::awaitable<void> notify_drain(Session& s, bool between);
// Between commands (Session::run, while it waits for the client's next command): waits for
// changes and sends them until `stop` is set and the session's wake-up timer cancelled, then
// sets `finished` and calls `done`.
struct NotifyLoop {
  bool stop = false;
  bool finished = false;
  bool write_failed = false;
};
asio::awaitable<void> notify_loop(Session& s, std::shared_ptr<NotifyLoop> st,
                                  std::function<void()> done);

}  // namespace mailroom::imap
