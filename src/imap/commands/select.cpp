// SELECT / EXAMINE (RFC 3501 6.3.1-2, RFC 7162 CONDSTORE/QRESYNC), CHECK, CLOSE, UNSELECT
// (RFC 3691) and EXPUNGE / UID EXPUNGE (RFC 3501 6.4.3, RFC 4315 2.1).
#include <algorithm>

#include "src/imap/idle_signal.h"
#include "src/imap/session.h"

namespace mailroom::imap {

asio::awaitable<Reply> cmd_select(Session& s, const proto::Command& cmd) {
  bool examine = cmd.name == "EXAMINE";
  if (cmd.qresync && !s.qresync) co_return Reply::bad("QRESYNC is not enabled");
  auto name = s.mailbox_from_wire(cmd.args[0]);
  // RFC 4314 4: a shared folder needs "r"; without "l" it is a mailbox that does not exist.
  core::Result<acl::Target> target = core::not_found("no such mailbox");
  if (name) target = co_await resolve_target(s, *name);
  // SELECT of the mailbox already selected, with no change reported since the last sync:
  // its shared version is the mailbox now (Session::selected_is_current).
  std::shared_ptr<const Version> current;
  std::unique_ptr<Selected> kept;
  std::shared_ptr<SharedMailbox> kept_box;
  if (target && s.view && s.view->name == target->mailbox && s.box_account() == target->owner &&
      s.selected_is_current())
    current = s.box->current();
  if (current) {
    kept = s.take_watch();
    kept_box = s.take_box();
  }
  if (s.state == State::selected) {
    s.unselect();
    // RFC 7162 3.2.11; RFC 9051 7.1 makes CLOSED part of IMAP4rev2.
    if (s.qresync || s.condstore || s.rev2) s.untagged("OK [CLOSED] Previous mailbox closed");
  }
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  if (!target) co_return Session::store_error(target.status());
  if (auto no = missing_rights(*target, acl::kRead)) co_return *no;
  if (cmd.condstore) s.enable_condstore();  // not selected now: HIGHESTMODSEQ comes below
  std::string account = target->owner;
  std::string mailbox = target->mailbox;
  s.selected_owner = target->own ? "" : target->owner;  // before watch(): its account
  s.selected_rights = target->rights;
  // RFC 4314 4: read-only without any right to change the mailbox.
  if (!(target->rights & (acl::kSeen | acl::kWrite | acl::kDeleteMsg | acl::kExpunge)))
    examine = true;
  // The shared view of the mailbox (built by the first session, brought up to date by each
  // refresh; shared_mailbox.h).
  std::shared_ptr<SharedMailbox> box =
      kept_box ? std::move(kept_box) : s.views.acquire(account, mailbox, s.seen_reader(*target));
  // Watching first: a change after the read below is then reported by the next sync.
  std::unique_ptr<Selected> watching = kept ? std::move(kept) : s.watch(mailbox);
  // One worker round trip: the view, then the \Recent claim (the tracker may read and write
  // its file). None for a re-SELECT of an unchanged mailbox whose claim needs no disk.
  // IMAP4rev2 has no \Recent (RFC 9051 Appendix E): nothing is \Recent and nothing claimed.
  bool track_recent = !s.rev2;
  uint32_t recent_after = track_recent ? 0 : UINT32_MAX;
  std::optional<uint32_t> in_memory;
  if (current && !track_recent) {
    in_memory = UINT32_MAX;
  } else if (current) {
    uint32_t max_uid = current->rows.empty() ? 0 : current->rows.back().uid;
    auto& tracker = RecentTracker::instance();
    in_memory = examine ? std::nullopt
                        : tracker.claim_in_memory(account, mailbox, current->uid_validity, max_uid);
  }
  auto fn1 = [&s, &box, examine, &account, &mailbox, &recent_after, track_recent] {
    auto v = box->refresh(*s.services.store);
    if (!v || !track_recent) return v;
    uint32_t max_uid = (*v)->rows.empty() ? 0 : (*v)->rows.back().uid;
    auto& tracker = RecentTracker::instance();
    recent_after = examine ? tracker.peek(account, mailbox, (*v)->uid_validity)
                           : tracker.claim(account, mailbox, (*v)->uid_validity, max_uid);
    return v;
  };
  core::Result<std::shared_ptr<const Version>> version = current;
  if (in_memory)
    recent_after = *in_memory;  // a re-SELECT with nothing new: no worker round trip
  else
    version = co_await net::blocking(*s.services.workers, fn1);
  if (!version) {
    s.views.release(std::move(box));
    co_return Session::store_error(version.status());
  }
  MailboxView view;
  view.name = mailbox;
  view.read_only = examine;
  view.load(std::move(*version), recent_after);

  s.untagged("FLAGS " + view.mailbox_flags());
  s.untagged(view.permanent_flags_line());
  s.untagged(std::to_string(view.exists()) + " EXISTS");
  if (!s.rev2) {
    s.untagged(std::to_string(view.recent_count()) + " RECENT");
    // Counted when the shared version was built (a fresh view has no private rows). RFC 9051
    // dropped it (Appendix E): a rev2 client asks SEARCH UNSEEN.
    if (uint32_t first = view.version()->first_unseen)
      s.untagged("OK [UNSEEN " + std::to_string(first) + "] First unseen");
  }
  s.untagged("OK [UIDVALIDITY " + std::to_string(view.uid_validity()) + "] UIDs valid");
  s.untagged("OK [UIDNEXT " + std::to_string(view.uid_next()) + "] Predicted next UID");
  s.untagged("OK [HIGHESTMODSEQ " + std::to_string(view.highest_modseq()) + "] Highest");
  // RFC 8474 4.2: the mailbox's immutable id.
  if (!view.version()->object_id.empty())
    s.untagged("OK [MAILBOXID (F" + view.version()->object_id + ")] Ok");
  // RFC 9051 6.3.2: a rev2 SELECT/EXAMINE answers a LIST of the mailbox with its attributes
  // (commands/list.cpp). Names are never normalized here, so there is no OLDNAME to add.
  if (s.rev2) s.untagged(co_await select_list_line(s, *name));

  if (cmd.qresync && cmd.qr_uidvalidity == view.uid_validity()) {
    // RFC 7162 3.2.5.2: what changed since the client's MODSEQ.
    uint64_t since = cmd.qr_modseq;
    auto fn2 = [&s, &account, &mailbox, since] {
      return s.services.store->changes_since(account, mailbox, since);
    };
    auto changes = co_await net::blocking(*s.services.workers, fn2);
    if (changes) {
      std::vector<uint32_t> vanished;
      for (uint32_t uid : changes->expunged) {
        if (!cmd.qr_known_uids || cmd.qr_known_uids->contains(uid, UINT32_MAX))
          vanished.push_back(uid);
      }
      std::sort(vanished.begin(), vanished.end());
      if (!vanished.empty()) s.untagged("VANISHED (EARLIER) " + compact_set(vanished));
      SyncOptions o;
      o.with_uid = true;
      o.with_modseq = true;
      for (const auto& m : changes->changed) {
        const MessageRow* known = view.by_uid(m.uid);
        if (known) s.untagged(view.fetch_flags_line(*known, o));
      }
    }
  }
  s.select(std::move(view), std::move(box), std::move(watching));
  co_return Reply::ok(examine ? "[READ-ONLY] " + cmd.name + " completed"
                              : "[READ-WRITE] SELECT completed");
}

asio::awaitable<Reply> cmd_check(Session&, const proto::Command&) {
  co_return Reply::ok("CHECK completed");  // every change is already durable (MailStore)
}

asio::awaitable<Reply> cmd_close(Session& s, const proto::Command& cmd) {
  // RFC 4314 4: CLOSE expunges only with "e" (silently skipped without it).
  if (cmd.name == "CLOSE" && s.view && !s.view->read_only && (s.selected_rights & acl::kExpunge)) {
    // RFC 3501 6.4.2: expunge silently, no untagged EXPUNGE.
    std::vector<uint32_t> uids;
    for (const MessageRow& m : s.view->rows()) {
      if (m.flags & store::kDeleted) uids.push_back(m.uid);
    }
    if (!uids.empty()) {
      std::string account = s.box_account();
      std::string mailbox = s.view->name;
      auto fn3 = [&s, &account, &mailbox, &uids] {
        return s.services.store->expunge(account, mailbox, uids);
      };
      auto r = co_await net::blocking(*s.services.workers, fn3);
      if (!r) {
        s.unselect();
        Reply e = Session::store_error(r.status());
        e.no_sync = true;
        co_return e;
      }
    }
  }
  s.unselect();
  Reply r = Reply::ok(cmd.name + " completed");
  r.no_sync = true;
  co_return r;
}

asio::awaitable<Reply> cmd_expunge(Session& s, const proto::Command& cmd) {
  if (s.view->read_only) co_return Reply::no("[READ-ONLY] Mailbox is read-only");
  if (!(s.selected_rights & acl::kExpunge))  // RFC 4314 4: EXPUNGE needs "e"
    co_return Reply::no("[NOPERM] You lack the right \"e\" on this mailbox");
  std::vector<uint32_t> candidates;
  if (cmd.uid) {
    if (auto err = s.resolve_set(cmd.set, true, candidates)) co_return Reply::bad(*err);
  } else {
    for (const MessageRow& m : s.view->rows()) candidates.push_back(m.uid);
  }
  std::vector<uint32_t> uids;
  for (uint32_t uid : candidates) {
    const MessageRow* m = s.view->by_uid(uid);
    if (m && (m->flags & store::kDeleted)) uids.push_back(uid);
  }
  if (!uids.empty()) {
    std::string account = s.box_account();
    std::string mailbox = s.view->name;
    auto fn4 = [&s, &account, &mailbox, &uids] {
      return s.services.store->expunge(account, mailbox, uids);
    };
    auto removed = co_await net::blocking(*s.services.workers, fn4);
    if (!removed) co_return Session::store_error(removed.status());
    std::vector<std::string> out;
    s.view->expunge_now(*removed, s.sync_options(true), out);
    s.untagged_lines(out);
  }
  co_return Reply::ok("EXPUNGE completed");
}

}  // namespace mailroom::imap
