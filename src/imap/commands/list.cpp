// LIST / LSUB (RFC 3501 6.3.8-9) with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
// SPECIAL-USE (RFC 6154) and CHILDREN (RFC 3348); NAMESPACE (RFC 2342); STATUS (6.3.10).
#include <algorithm>
#include <map>
#include <set>

#include "src/core/address.h"
#include "src/imap/proto/utf7.h"
#include "src/imap/session.h"
#include "src/mime/structure.h"

namespace mailroom::imap {
namespace {

// RFC 3501 6.3.8: "*" matches anything, "%" anything but the hierarchy separator.
bool wildcard_match(std::string_view pattern, std::string_view name) {
  if (pattern.empty()) return name.empty();
  if (pattern[0] == '*') {
    for (size_t i = 0; i <= name.size(); ++i) {
      if (wildcard_match(pattern.substr(1), name.substr(i))) return true;
    }
    return false;
  }
  if (pattern[0] == '%') {
    for (size_t i = 0; i <= name.size(); ++i) {
      if (wildcard_match(pattern.substr(1), name.substr(i))) return true;
      if (i < name.size() && name[i] == '/') return false;
    }
    return false;
  }
  return !name.empty() && pattern[0] == name[0] && wildcard_match(pattern.substr(1), name.substr(1));
}

bool matches(const std::string& pattern, const std::string& name) {
  // INBOX is case-insensitive (RFC 3501 5.1); compare with it normalized on both sides.
  std::string p = pattern;
  if (core::iequals(p.substr(0, 5), "INBOX") && (p.size() == 5 || p[5] == '/' ))
    p.replace(0, 5, "INBOX");
  return wildcard_match(p, name);
}

std::string quoted_name(const std::string& utf8) {
  return mime::imap_string(Session::mailbox_to_wire(utf8));
}

struct Entry {
  bool exists = false;
  bool subscribed = false;
  store::SpecialUse use = store::SpecialUse::none;
  bool has_children = false;
  bool child_subscribed = false;
};

}  // namespace

asio::awaitable<Reply> cmd_list(Session& s, const proto::Command& cmd) {
  bool lsub = cmd.name == "LSUB";
  auto has = [](const std::vector<std::string>& v, const char* x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  bool sel_subscribed = has(cmd.list_select, "SUBSCRIBED");
  bool sel_special = has(cmd.list_select, "SPECIAL-USE");
  bool recursive = has(cmd.list_select, "RECURSIVEMATCH");
  for (const auto& o : cmd.list_select) {
    if (o != "SUBSCRIBED" && o != "SPECIAL-USE" && o != "RECURSIVEMATCH" && o != "REMOTE")
      co_return Reply::bad("Unknown LIST selection option " + o);
  }
  if (recursive && !sel_subscribed) co_return Reply::bad("RECURSIVEMATCH needs another option");
  bool ret_subscribed = has(cmd.list_return, "SUBSCRIBED");
  bool ret_status = has(cmd.list_return, "STATUS");
  for (const auto& o : cmd.list_return) {
    if (o != "SUBSCRIBED" && o != "CHILDREN" && o != "SPECIAL-USE" && o != "STATUS")
      co_return Reply::bad("Unknown LIST return option " + o);
  }

  auto ref = proto::mutf7_to_utf8(cmd.args[0]);
  if (!ref) co_return Reply::bad("Reference is not valid modified UTF-7");
  if (!lsub && cmd.patterns.size() == 1 && cmd.patterns[0].empty() && !cmd.list_extended) {
    // RFC 3501 6.3.8: the hierarchy delimiter and root name.
    s.untagged("LIST (\\Noselect) \"/\" \"\"");
    co_return Reply::ok("LIST completed");
  }
  std::vector<std::string> patterns;
  for (const auto& p : cmd.patterns) {
    auto u = proto::mutf7_to_utf8(p);
    if (!u) co_return Reply::bad("Pattern is not valid modified UTF-7");
    if (u->empty()) continue;
    std::string full = (*u)[0] == '/' || ref->empty() ? *u
                       : (ref->back() == '/' ? *ref + *u : *ref + "/" + *u);
    if (!ref->empty() && (*u)[0] == '/') full = *u;
    patterns.push_back(full);
  }

  std::string account = s.principal.account_id;
  auto fn1 = [&s, &account] { return s.services.store->list_mailboxes(account); };
  auto boxes = co_await s.blocking(fn1);
  if (!boxes) co_return Session::store_error(boxes.status());
  auto fn2 = [&s, &account] { return s.services.store->subscriptions(account); };
  auto subs = co_await s.blocking(fn2);
  if (!subs) co_return Session::store_error(subs.status());

  std::map<std::string, Entry> entries;
  for (const auto& b : *boxes) {
    Entry& e = entries[b.name];
    e.exists = true;
    e.use = b.special_use;
  }
  for (const auto& n : *subs) entries[n].subscribed = true;
  // Parents of every name, for \HasChildren and implied \Noselect levels.
  std::vector<std::string> names;
  for (const auto& [n, e] : entries) names.push_back(n);
  for (const auto& n : names) {
    bool sub = entries[n].subscribed;
    bool ex = entries[n].exists;
    for (size_t p = n.find('/'); p != std::string::npos; p = n.find('/', p + 1)) {
      Entry& parent = entries[n.substr(0, p)];
      if (ex) parent.has_children = true;
      if (sub) parent.child_subscribed = true;
    }
  }

  std::vector<std::string> status_lines;
  for (const auto& [name, e] : entries) {
    bool match = false;
    for (const auto& p : patterns) match = match || matches(p, name);
    if (!match) continue;
    bool subscribed_view = lsub || sel_subscribed;
    if (subscribed_view && !e.subscribed && !(lsub && e.child_subscribed) &&
        !(recursive && e.child_subscribed))
      continue;
    if (!subscribed_view && !e.exists && !e.has_children) continue;
    if (sel_special && e.use == store::SpecialUse::none) continue;
    std::string attrs;
    auto add = [&attrs](const std::string& a) {
      if (!a.empty()) attrs += (attrs.empty() ? "" : " ") + a;
    };
    if (!e.exists) {
      if (lsub) add("\\Noselect");
      else if (subscribed_view) add("\\NonExistent");
      else add("\\Noselect");
    }
    if (!lsub) add(e.has_children ? "\\HasChildren" : "\\HasNoChildren");
    if ((subscribed_view || ret_subscribed) && e.subscribed && !lsub) add("\\Subscribed");
    if (e.use != store::SpecialUse::none && e.use != store::SpecialUse::inbox)
      add(store::special_use_attribute(e.use));
    if (lsub && !e.subscribed) {
      attrs = "\\Noselect";  // RFC 3501 6.3.9: a parent of subscribed names
    }
    std::string line = (lsub ? "LSUB (" : "LIST (") + attrs + ") \"/\" " + quoted_name(name);
    if (recursive && e.child_subscribed && !e.subscribed)
      line += " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
    s.untagged(line);
    if (ret_status && e.exists) {
      std::string mailbox = name;
      auto data = co_await status_data(s, mailbox, cmd.status_items);
      if (data) s.untagged("STATUS " + quoted_name(name) + " " + *data);
    }
  }
  co_return Reply::ok(cmd.name + " completed");
}

asio::awaitable<Reply> cmd_namespace(Session& s, const proto::Command&) {
  s.untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
  co_return Reply::ok("NAMESPACE completed");
}

asio::awaitable<std::optional<std::string>> status_data(Session& s, const std::string& mailbox,
                                                        const std::vector<std::string>& items) {
  std::string account = s.principal.account_id;
  bool want_recent = std::find(items.begin(), items.end(), "RECENT") != items.end();
  auto fn3 = [&s, &account, &mailbox] { return s.services.store->mailbox_status(account, mailbox); };
  auto info = co_await s.blocking(fn3);
  if (!info) co_return std::nullopt;
  uint32_t recent = 0;
  if (want_recent) {
    uint32_t uid_validity = info->uid_validity;
    auto count_recent = [&s, &account, &mailbox, uid_validity] {
      uint32_t after = RecentTracker::instance().peek(account, mailbox, uid_validity);
      uint32_t n = 0;
      auto snap = s.services.store->snapshot(account, mailbox);
      if (snap) {
        for (const auto& m : snap->messages) n += m.uid > after ? 1 : 0;
      }
      return n;
    };
    recent = co_await s.blocking(count_recent);
  }
  std::string out = "(";
  for (const auto& it : items) {
    if (out.size() > 1) out += " ";
    if (it == "MESSAGES") out += "MESSAGES " + std::to_string(info->messages);
    else if (it == "RECENT") out += "RECENT " + std::to_string(recent);
    else if (it == "UIDNEXT") out += "UIDNEXT " + std::to_string(info->uid_next);
    else if (it == "UIDVALIDITY") out += "UIDVALIDITY " + std::to_string(info->uid_validity);
    else if (it == "UNSEEN") out += "UNSEEN " + std::to_string(info->unseen);
    else if (it == "HIGHESTMODSEQ") out += "HIGHESTMODSEQ " + std::to_string(info->highest_modseq);
    else if (it == "SIZE") out += "SIZE " + std::to_string(info->size);
    else out.pop_back();
  }
  co_return out + ")";
}

asio::awaitable<Reply> cmd_status(Session& s, const proto::Command& cmd) {
  for (const auto& it : cmd.status_items) {
    if (it != "MESSAGES" && it != "RECENT" && it != "UIDNEXT" && it != "UIDVALIDITY" &&
        it != "UNSEEN" && it != "HIGHESTMODSEQ" && it != "SIZE")
      co_return Reply::bad("Unknown STATUS item " + it);
  }
  if (cmd.status_items.empty()) co_return Reply::bad("STATUS needs at least one item");
  auto name = s.mailbox_from_wire(cmd.args[0]);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  std::string mailbox = *name;
  std::string account = s.principal.account_id;
  auto fn5 = [&s, &account, &mailbox] { return s.services.store->mailbox_status(account, mailbox); };
  auto info = co_await s.blocking(fn5);
  if (!info) co_return Session::store_error(info.status());
  auto data = co_await status_data(s, mailbox, cmd.status_items);
  if (!data) co_return Reply::no("[NONEXISTENT] Mailbox does not exist");
  s.untagged("STATUS " + mime::imap_string(cmd.args[0]) + " " + *data);
  co_return Reply::ok("STATUS completed");
}

}  // namespace mailroom::imap
