// Email/changes (RFC 8621 4.3) and Thread/changes (RFC 8621 3.2) from the store's MODSEQs
// (views.h: the state is each mailbox's UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ).
//
// Per mailbox, MailStore::changes_since(old HIGHESTMODSEQ) gives the rows changed since (new
// ones have a UID at or above the old UIDNEXT) and the UIDs expunged with the message each
// referenced. A new row of a message that already had a copy before is an update (mailboxIds
// changed), else a creation; an expunged copy the client knew (UID below the old UIDNEXT) is
// an update when the message has copies left (a move), else its destruction. A tombstone that
// does not name its message (older than the store's index version 5), or a deleted mailbox
// that held messages, answers cannotCalculateChanges and the client resynchronises (RFC 8620
// 5.2).
#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "src/jmap/methods.h"
#include "src/jmap/threads.h"
#include "src/jmap/views.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

struct ChangeSet {
  std::vector<std::string> created, updated, destroyed;  // guids
  std::string new_state;
};

MethodResult compute(CallContext& ctx, const json::object& args, json::object& response,
                     ChangeSet& out) {
  if (auto e = check_known(args, {"accountId", "sinceState", "maxChanges"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  const auto* since = args.if_contains("sinceState");
  if (!since || !since->is_string())
    return MethodError{"invalidArguments", "sinceState is required"};
  uint64_t max_changes = 0;
  if (auto e = read_uint(args, "maxChanges", ctx.options.max_changes, &max_changes)) return e;
  if (max_changes == 0) return MethodError{"invalidArguments", "maxChanges must be positive"};
  max_changes = std::min(max_changes, ctx.options.max_changes);
  auto old = decode_email_state(since->as_string());
  if (!old) return MethodError{"cannotCalculateChanges", "unknown state"};
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  auto cannot = [] {
    return MethodError{"cannotCalculateChanges",
                       "the store cannot tell what was removed since that state: fetch again"};
  };
  auto old_of = [&](uint32_t uidv) -> const EmailStateEntry* {
    for (const auto& e : *old)
      if (e.uid_validity == uidv) return &e;
    return nullptr;
  };
  for (const auto& e : *old) {
    bool exists = std::any_of(all->begin(), all->end(), [&](const MailboxView& m) {
      return m.info.uid_validity == e.uid_validity;
    });
    if (!exists) return cannot();  // a mailbox that held messages is gone
  }
  std::set<std::string> created, updated, gone;
  for (const auto& m : *all) {
    const EmailStateEntry* o = old_of(m.info.uid_validity);
    if (o && o->modseq == m.info.highest_modseq) continue;
    std::vector<store::MessageMeta> rows;
    if (o) {
      auto ch = ctx.store.changes_since(ctx.account_id, m.info.name, o->modseq);
      if (!ch) return store_error(ch.status());
      for (size_t i = 0; i < ch->expunged.size(); ++i) {
        if (ch->expunged[i] >= o->uid_next) continue;  // created and removed since: unknown
        if (i >= ch->expunged_guids.size() || ch->expunged_guids[i].empty()) return cannot();
        gone.insert(ch->expunged_guids[i]);
      }
      rows = std::move(ch->changed);
    } else {
      if (m.info.messages == 0) continue;
      auto snap = ctx.store.snapshot(ctx.account_id, m.info.name);
      if (!snap) return store_error(snap.status());
      rows = std::move(snap->messages);
    }
    for (const auto& r : rows) {
      if (o && r.uid < o->uid_next)
        updated.insert(r.guid);
      else
        created.insert(r.guid);
    }
    if (created.size() + updated.size() > 4 * max_changes + 1000) break;  // bounded work
  }
  // A new copy of a message that had a copy before the old state: an update.
  for (auto it = created.begin(); it != created.end();) {
    bool existed = gone.count(*it) > 0;  // moved here from where the client saw it
    auto copies = ctx.store.find_copies(ctx.account_id, *it);
    if (!copies) return store_error(copies.status());
    for (const auto& c : *copies) {
      const MailboxView* m = find_mailbox_by_name(*all, c.mailbox);
      const EmailStateEntry* o = m ? old_of(m->info.uid_validity) : nullptr;
      existed = existed || (o && c.meta.uid < o->uid_next);
    }
    if (existed || copies->empty()) {
      if (!copies->empty()) updated.insert(*it);
      it = created.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& g : created) updated.erase(g);
  std::set<std::string> destroyed;
  for (const auto& g : gone) {
    if (updated.count(g)) continue;
    auto copies = ctx.store.find_copies(ctx.account_id, g);
    if (!copies) return store_error(copies.status());
    if (copies->empty())
      destroyed.insert(g);
    else
      updated.insert(g);  // one copy of several removed: its mailboxIds changed
  }
  // No intermediate states: more changes than maxChanges cannot be split.
  if (created.size() + updated.size() + destroyed.size() > max_changes)
    return MethodError{"cannotCalculateChanges", "more changes than maxChanges"};
  out.created.assign(created.begin(), created.end());
  out.updated.assign(updated.begin(), updated.end());
  out.destroyed.assign(destroyed.begin(), destroyed.end());
  out.new_state = email_state(*all);
  response["oldState"] = since->as_string();
  response["newState"] = out.new_state;
  response["hasMoreChanges"] = false;
  return std::nullopt;
}

json::array ids(const std::vector<std::string>& guids, char prefix) {
  json::array a;
  for (const auto& g : guids) a.push_back(json::value(prefix == 'M' ? email_id(g) : thread_id(g)));
  return a;
}

}  // namespace

MethodResult email_changes(CallContext& ctx, const json::object& args, json::object& response) {
  ChangeSet cs;
  if (auto e = compute(ctx, args, response, cs)) return e;
  response["created"] = ids(cs.created, 'M');
  response["updated"] = ids(cs.updated, 'M');
  response["destroyed"] = ids(cs.destroyed, 'M');
  return std::nullopt;
}

MethodResult thread_changes(CallContext& ctx, const json::object& args, json::object& response) {
  ChangeSet cs;
  if (auto e = compute(ctx, args, response, cs)) return e;
  // A thread changes when an Email joins or leaves it (threads.h); keywords or mailboxes of
  // its Emails are not the thread's. A thread whose first Email is new was created; one
  // whose Emails all left was destroyed; any other was updated (its emailIds).
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  auto threads = all ? thread_index(ctx, *all) : nullptr;
  if (!threads) {  // one thread per Email
    response["created"] = ids(cs.created, 'T');
    response["updated"] = json::array{};
    response["destroyed"] = ids(cs.destroyed, 'T');
    return std::nullopt;
  }
  std::set<std::string> created, updated, destroyed;
  std::set<std::string> new_guids(cs.created.begin(), cs.created.end());
  for (const auto& g : cs.created) {
    std::string t = threads->thread(g);
    auto it = threads->members.find(t);
    bool all_new = it != threads->members.end() &&
                   std::all_of(it->second.begin(), it->second.end(),
                               [&](const std::string& m) { return new_guids.count(m) > 0; });
    (all_new ? created : updated).insert(t);
  }
  for (const auto& g : cs.destroyed) {
    auto gone = threads->gone.find(g);
    std::string t = gone != threads->gone.end() ? gone->second : thread_id(g);
    (threads->members.count(t) ? updated : destroyed).insert(t);
  }
  for (const auto& t : created) updated.erase(t);
  auto array = [](const std::set<std::string>& s) {
    json::array a;
    for (const auto& x : s) a.push_back(json::value(x));
    return a;
  };
  response["created"] = array(created);
  response["updated"] = array(updated);
  response["destroyed"] = array(destroyed);
  return std::nullopt;
}

}  // namespace mailroom::jmap
