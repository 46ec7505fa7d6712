// The NOTIFY engine (RFC 5465; notify.h has the contract).
#include "src/imap/notify.h"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/core/log.h"
#include "src/imap/idle_signal.h"
#include "src/imap/session.h"

namespace mailroom::imap {
namespace {

using proto::NotifyFilter;

bool is_selected(NotifyFilter f) {
  return f == NotifyFilter::selected || f == NotifyFilter::selected_delayed;
}

// The key of a mailbox in Notifier::known: its object id survives a rename, so a rename is
// told as one (RFC 5465 5.4: LIST with OLDNAME), not as a deletion and a creation.
std::string known_key(const store::MailboxInfo& m) {
  return m.object_id.empty() ? "name:" + m.name : m.object_id;
}

// RFC 5465 5.4: a LIST response for a mailbox name event, "/" being our separator.
std::string list_line(const std::string& attrs, const std::string& name, bool utf8,
                      const std::string& old_name = {}) {
  std::string line = "LIST (" + attrs + ") \"/\" " + Session::mailbox_string(name, utf8);
  if (!old_name.empty()) line += " (\"OLDNAME\" (" + Session::mailbox_string(old_name, utf8) + "))";
  return line;
}

void watch_one(Session& s, Notifier& n, const std::string& name, Notifier::Watched& w) {
  std::weak_ptr<NotifyInbox> inbox = n.inbox;
  std::weak_ptr<IdleSignal> wake = s.wake_;
  auto ex = s.executor();
  w.handle = s.services.store->watch(w.owner, w.mailbox,
                                     [inbox, wake, ex, name](const store::ChangeEvent&) {
                                       // Any thread: only post (MailStore contract).
                                       asio::post(ex, [inbox, wake, name] {
                                         auto i = inbox.lock();
                                         if (!i) return;
                                         i->mark(name);
                                         if (auto w = wake.lock()) w->notify();
                                       });
                                     });
}

// The user's own mailboxes (worker pool).
asio::awaitable<core::Result<std::vector<store::MailboxInfo>>> own_mailboxes(Session& s) {
  std::string account = s.principal.account_id;
  auto fn = [&s, &account] { return s.services.store->list_mailboxes(account); };
  co_return co_await net::blocking(*s.services.workers, fn);
}

bool is_selected_mailbox(const Session& s, const Notifier::Watched& w) {
  return s.view && s.view->name == w.mailbox && s.box_account() == w.owner;
}

// Adds the user's own mailboxes of `list` that a group asks message events of and that are
// not watched yet; drops watched own ones no group (or no mailbox) matches any more.
void update_own_watches(Session& s, Notifier& n, const std::vector<store::MailboxInfo>& list) {
  std::set<std::string> present;
  for (const auto& m : list) {
    uint32_t ev = n.own_events(s, m.name, m.subscribed) & proto::kMessageEvents;
    if (!ev) continue;
    present.insert(m.name);
    auto it = n.watched.find(m.name);
    if (it != n.watched.end() && it->second.own) {
      it->second.events = ev;
      continue;
    }
    if (it != n.watched.end()) continue;  // a shared folder's name; cannot be the user's own
    Notifier::Watched w;
    w.owner = s.principal.account_id;
    w.mailbox = m.name;
    w.events = ev;
    w.last_status = status_text(Notifier::status_items(ev, s.condstore), m);
    auto& slot = n.watched[m.name];
    slot = std::move(w);
    watch_one(s, n, m.name, slot);
  }
  std::erase_if(n.watched, [&](const auto& e) { return e.second.own && !present.count(e.first); });
}

}  // namespace

uint32_t Notifier::own_events(const Session& /*s*/, const std::string& name,
                              bool subscribed) const {
  for (size_t i = 0; i < args.groups.size(); ++i) {
    const auto& g = args.groups[i];
    bool match = false;
    switch (g.filter) {
      case NotifyFilter::selected:
      case NotifyFilter::selected_delayed:
        continue;
      case NotifyFilter::inboxes:  // mail is delivered to INBOX only (no Sieve fileinto yet)
        match = name == "INBOX";
        break;
      case NotifyFilter::personal:
        match = true;
        break;
      case NotifyFilter::subscribed:
        match = subscribed;
        break;
      case NotifyFilter::subtree:
      case NotifyFilter::mailboxes:
        for (const auto& m : g.mailboxes) {
          if (m == name || (g.filter == NotifyFilter::subtree && name.size() > m.size() &&
                            name.compare(0, m.size(), m) == 0 && name[m.size()] == '/'))
            match = true;
        }
        break;
    }
    // RFC 5465 6: the first group that names a mailbox decides its events.
    if (match) return g.events;
  }
  return 0;
}

std::vector<std::string> Notifier::status_items(uint32_t events, bool condstore) {
  // RFC 5465 5.1, 5.2: MESSAGES and UIDNEXT tell new and expunged messages; UNSEEN the flag
  // changes that matter to a non-selected mailbox; HIGHESTMODSEQ under CONDSTORE (RFC 7162).
  std::vector<std::string> items = {"MESSAGES", "UIDNEXT", "UIDVALIDITY"};
  if (events & proto::kFlagChange) items.push_back("UNSEEN");
  if (condstore) items.push_back("HIGHESTMODSEQ");
  return items;
}

asio::awaitable<bool> notify_start(Session& s, Notifier& n, std::string* why) {
  n.inbox->max_pending = s.options.notify_max_pending;
  for (const auto& g : n.args.groups) {
    if (is_selected(g.filter)) {
      n.selected_events = g.events;
      n.selected_delayed = g.filter == NotifyFilter::selected_delayed;
    }
  }
  auto list = co_await own_mailboxes(s);
  if (!list) {
    *why = "[UNAVAILABLE] Cannot read the mailbox list, try again later";
    co_return false;
  }
  for (const auto& m : *list) n.known[known_key(m)] = {m.name, m.subscribed};
  // Another account's folders, named by "mailboxes" or "subtree" (a subtree there is the
  // folder itself: its subfolders are not looked for). RFC 4314: "l" and "r" needed.
  for (const auto& g : n.args.groups) {
    if ((g.filter != NotifyFilter::subtree && g.filter != NotifyFilter::mailboxes) ||
        !(g.events & proto::kMessageEvents))
      continue;
    for (const auto& name : g.mailboxes) {  // UTF-8 already (cmd_notify)
      if (!acl::in_shared_namespace(name) || n.watched.count(name)) continue;
      auto target = co_await resolve_target(s, name);
      // RFC 5465 6: a mailbox that does not exist (or that the user may not see) is ignored.
      if (!target || target->own || !(target->rights & acl::kRead)) continue;
      auto items = Notifier::status_items(g.events, s.condstore);
      auto data = co_await status_data(s, name, items);
      if (!data) continue;
      Notifier::Watched w;
      w.owner = target->owner;
      w.mailbox = target->mailbox;
      w.own = false;
      w.events = g.events & proto::kMessageEvents;
      w.last_status = *data;
      n.watched[name] = std::move(w);
    }
  }
  // RFC 5465 5.6: another account's folders named for MailboxMetadataChange; their
  // annotations are readable with "l" and "r" (RFC 5464 3.3), read again before each event.
  for (const auto& g : n.args.groups) {
    if ((g.filter != NotifyFilter::subtree && g.filter != NotifyFilter::mailboxes) ||
        !(g.events & proto::kMailboxMetadataChange))
      continue;
    for (const auto& name : g.mailboxes) {
      if (!acl::in_shared_namespace(name) || n.metadata_shared.count(name)) continue;
      if (n.metadata_shared.size() >= Notifier::kMaxWatched) break;
      auto target = co_await resolve_target(s, name);
      if (!target || target->own || !metadata_allowed(&*target, true, false)) continue;
      n.metadata_shared[name] = {target->owner, target->mailbox};
    }
  }
  for (const auto& g : n.args.groups) n.all_events |= g.events;
  if (n.all_events & (proto::kMailboxMetadataChange | proto::kServerMetadataChange)) {
    n.inbox->account = s.principal.account_id;
    std::set<std::string> owners = {s.principal.account_id};
    for (const auto& [name, where] : n.metadata_shared) owners.insert(where.first);
    std::weak_ptr<NotifyInbox> inbox = n.inbox;
    std::weak_ptr<IdleSignal> wake = s.wake_;
    auto ex = s.executor();
    for (const auto& owner : owners) {
      n.metadata_subscriptions.push_back(
          MetadataEvents::instance().subscribe(owner, [inbox, wake, ex](const MetadataEvent& e) {
            // Any thread: only post (MetadataEvents contract).
            asio::post(ex, [inbox, wake, e] {
              auto i = inbox.lock();
              if (!i) return;
              i->mark_metadata(e);
              if (auto w = wake.lock()) w->notify();
            });
          }));
    }
  }
  for (auto& [name, w] : n.watched) watch_one(s, n, name, w);
  update_own_watches(s, n, *list);
  if (n.watched.size() > Notifier::kMaxWatched) {
    *why = "[LIMIT] NOTIFY would watch more than " + std::to_string(Notifier::kMaxWatched) +
           " mailboxes";
    co_return false;
  }
  std::weak_ptr<NotifyInbox> inbox = n.inbox;
  std::weak_ptr<IdleSignal> wake = s.wake_;
  auto ex = s.executor();
  n.list_handle = s.services.store->watch_mailbox_list(s.principal.account_id, [inbox, wake, ex] {
    asio::post(ex, [inbox, wake] {
      auto i = inbox.lock();
      if (!i) return;
      i->list_changed = true;
      if (auto w = wake.lock()) w->notify();
    });
  });
  // RFC 5465 3.1: SET STATUS sends the STATUS of each mailbox now (not the selected one).
  if (n.args.status) {
    for (const auto& [name, w] : n.watched) {
      if (!is_selected_mailbox(s, w))
        s.untagged("STATUS " + Session::mailbox_string(name, s.utf8_names()) + " " + w.last_status);
    }
  }
  co_return true;
}

namespace {

// RFC 5465 5.1: MessageNew's fetch attributes for the messages the client has not seen yet.
asio::awaitable<void> fetch_new(Session& s, Notifier& n) {
  if (!(n.selected_events & proto::kMessageNew) || n.fetch.empty() || !s.view) co_return;
  if (n.fetched_box != s.view->name || n.fetched_validity != s.view->uid_validity()) {
    n.fetched_box = s.view->name;
    n.fetched_validity = s.view->uid_validity();
    n.fetched_upto = s.view->max_uid();
    co_return;
  }
  if (s.view->max_uid() <= n.fetched_upto) co_return;
  proto::Command c;
  c.tag = "*";
  c.name = "FETCH";
  c.uid = true;
  c.set.ranges.emplace_back(n.fetched_upto + 1, 0);
  c.fetch = n.fetch;
  n.fetched_upto = s.view->max_uid();
  bool was_uid = s.current_uid;
  s.current_uid = true;
  (void)co_await cmd_fetch(s, c);
  s.current_uid = was_uid;
}

// RFC 5465 5.4, 5.5: LIST responses for mailboxes created, deleted, renamed, (un)subscribed,
// and the watches brought in line with the new list.
void mailbox_list_changed(Session& s, Notifier& n, const std::vector<store::MailboxInfo>& list) {
  std::map<std::string, Notifier::Known> now;
  for (const auto& m : list) now[known_key(m)] = {m.name, m.subscribed};
  bool utf8 = s.utf8_names();
  for (const auto& [key, old] : n.known) {
    if (now.count(key)) continue;
    if (n.own_events(s, old.name, old.subscribed) & proto::kMailboxName)
      s.untagged(list_line("\\NonExistent", old.name, utf8));
  }
  for (const auto& [key, cur] : now) {
    uint32_t ev = n.own_events(s, cur.name, cur.subscribed);
    std::string attrs = cur.subscribed ? "\\Subscribed" : "";
    auto it = n.known.find(key);
    if (it == n.known.end()) {
      if (ev & proto::kMailboxName) s.untagged(list_line(attrs, cur.name, utf8));
      continue;
    }
    if (it->second.name != cur.name) {
      if (ev & proto::kMailboxName) s.untagged(list_line(attrs, cur.name, utf8, it->second.name));
    } else if (it->second.subscribed != cur.subscribed) {
      // A subscription is asked for by the new state's group or by the old one's (the
      // "subscribed" filter stops matching when the mailbox is unsubscribed).
      uint32_t before = n.own_events(s, cur.name, it->second.subscribed);
      if ((ev | before) & proto::kSubscriptionChange) s.untagged(list_line(attrs, cur.name, utf8));
    }
  }
  n.known = std::move(now);
  update_own_watches(s, n, list);
}

void overflow(Session& s) {
  // RFC 5465 5.8: the client is told, and the session goes on as after NOTIFY NONE.
  MR_LOG_INFO("event=imap_notify_overflow session={}", s.session_id());
  s.untagged("OK [NOTIFICATIONOVERFLOW] Too many changes at once, NOTIFY is now off");
  s.notifier.reset();
}

void send_status(Session& s, const std::string& name, Notifier::Watched& w, std::string data) {
  if (data == w.last_status) return;
  w.last_status = std::move(data);
  // The selected mailbox is told about with EXISTS / EXPUNGE / FETCH instead.
  if (is_selected_mailbox(s, w)) return;
  s.untagged("STATUS " + Session::mailbox_string(name, s.utf8_names()) + " " + w.last_status);
}

// RFC 5465 5.6, 5.7: an unsolicited METADATA response with the entry names (RFC 5464 4.4.2)
// for each mailbox (or the server, "") whose annotations changed, where a group asks for it
// and the user may read them (RFC 5464 3.3).
asio::awaitable<void> send_metadata(
    Session& s, Notifier& n, std::map<NotifyInbox::MetadataKey, std::set<std::string>> changes) {
  const std::string& me = s.principal.account_id;
  std::map<std::string, std::set<std::string>> lines;  // by the name the session shows
  for (const auto& [key, entries] : changes) {
    if (!s.notifier) co_return;
    const auto& [owner, mailbox, private_to] = key;
    std::string name;       // as the session shows it
    if (mailbox.empty()) {  // the user's server entries
      if (owner != me || !(n.all_events & proto::kServerMetadataChange)) continue;
    } else if (owner == me) {
      bool subscribed = false;
      for (const auto& [k, known] : n.known)
        if (known.name == mailbox) subscribed = known.subscribed;
      // The selected mailbox too goes by the other groups: selected ones take message events
      // only (RFC 5465 6).
      if (!(n.own_events(s, mailbox, subscribed) & proto::kMailboxMetadataChange)) continue;
      name = mailbox;
    } else {
      for (const auto& [shown, where] : n.metadata_shared)
        if (where.first == owner && where.second == mailbox) name = shown;
      if (name.empty()) continue;
      // The rights now: a folder whose "l" or "r" was taken away tells nothing more.
      auto target = co_await resolve_target(s, name);
      if (!s.notifier) co_return;
      if (!target || !metadata_allowed(&*target, private_to.empty(), false)) continue;
    }
    lines[name].insert(entries.begin(), entries.end());
  }
  for (const auto& [name, entries] : lines) {
    std::string line = "METADATA " + (name.empty() ? std::string("\"\"")
                                                   : Session::mailbox_string(name, s.utf8_names()));
    for (const auto& e : entries) line += " " + e;
    s.untagged(line);
  }
}

}  // namespace

asio::awaitable<void> notify_drain(Session& s, bool between) {
  if (!s.notifier) co_return;
  // Store callbacks posted before this point land first (they only mark names).
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  if (!s.notifier) co_return;
  Notifier& n = *s.notifier;
  auto inbox = n.inbox;
  if (inbox->overflow) {
    overflow(s);
    co_return;
  }
  if (s.state == State::selected && s.view) {
    // RFC 5465 5.1-5.3: between commands only for a selected / selected-delayed group, and
    // EXPUNGE not with selected-delayed (RFC 3501 7.4.1 then waits for a command allowing it).
    if (between && (n.selected_events & proto::kMessageNew)) co_await s.sync(!n.selected_delayed);
    if (!s.notifier || s.closing) co_return;
    co_await fetch_new(s, n);
  }
  if (!inbox->metadata.empty()) {
    auto changes = std::move(inbox->metadata);
    inbox->metadata.clear();
    co_await send_metadata(s, n, std::move(changes));
    if (!s.notifier) co_return;
  }
  std::set<std::string> pending = std::move(inbox->pending);
  inbox->pending.clear();
  bool list_changed = inbox->list_changed;
  inbox->list_changed = false;
  bool own_pending = false;
  for (const auto& name : pending) {
    auto it = n.watched.find(name);
    own_pending = own_pending || (it != n.watched.end() && it->second.own);
  }
  if (list_changed || own_pending) {
    auto list = co_await own_mailboxes(s);
    if (!s.notifier) co_return;
    if (!list) {
      MR_LOG_WARN("event=imap_notify_list_failed session={} detail={}", s.session_id(),
                  core::quote(list.status().to_string()));
      inbox->list_changed = inbox->list_changed || list_changed;
      for (const auto& p : pending) inbox->mark(p);
      co_return;
    }
    if (list_changed) mailbox_list_changed(s, n, *list);
    if (n.watched.size() > Notifier::kMaxWatched) {
      overflow(s);
      co_return;
    }
    for (const auto& m : *list) {
      auto it = n.watched.find(m.name);
      if (!pending.count(m.name) || it == n.watched.end() || !it->second.own) continue;
      auto& w = it->second;
      send_status(s, m.name, w, status_text(Notifier::status_items(w.events, s.condstore), m));
    }
  }
  // Other accounts' folders: STATUS reads the rights again (resolve_target), so a folder
  // whose "l" or "r" was taken away, or that was deleted, stops being watched.
  for (const auto& name : pending) {
    if (!s.notifier) co_return;
    auto it = n.watched.find(name);
    if (it == n.watched.end() || it->second.own) continue;
    auto data =
        co_await status_data(s, name, Notifier::status_items(it->second.events, s.condstore));
    if (!s.notifier) co_return;
    it = n.watched.find(name);
    if (it == n.watched.end()) continue;
    if (!data) {
      n.watched.erase(it);
      continue;
    }
    send_status(s, name, it->second, std::move(*data));
  }
}

asio::awaitable<void> notify_loop(Session& s, std::shared_ptr<NotifyLoop> st,
                                  std::function<void()> done) {
  auto wake = s.wake_;
  try {
    while (!st->stop && s.notifier) {
      if (!wake->pending) {
        boost::system::error_code ec;
        wake->timer.expires_at(asio::steady_timer::time_point::max());
        co_await wake->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (st->stop) break;
      wake->pending = false;
      co_await notify_drain(s, true);
      if (!co_await s.flush() || s.closing) {
        st->write_failed = true;
        break;
      }
    }
  } catch (const std::exception& e) {
    MR_LOG_ERROR("event=imap_notify_exception session={} what={}", s.session_id(),
                 core::quote(e.what()));
    st->write_failed = true;
  }
  st->finished = true;
  done();
}

}  // namespace mailroom::imap
