// LIST / LSUB (RFC 3501 6.3.8-9) with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
// SPECIAL-USE (RFC 6154) and CHILDREN (RFC 3348); NAMESPACE (RFC 2342); STATUS (6.3.10).
#include <algorithm>
#include <map>
#include <set>

#include "src/core/address.h"
#include "src/imap/proto/list_pattern.h"
#include "src/imap/session.h"
#include "src/mime/structure.h"

namespace mailroom::imap {
namespace {

// LIST-EXTENDED (RFC 5258) takes several patterns; together with ListPattern::kMaxLength this
// bounds the matching work of one command per mailbox name.
constexpr size_t kMaxPatterns = 64;

std::string quoted_name(const std::string& utf8, bool utf8_accept) {
  return Session::mailbox_string(utf8, utf8_accept);
}

struct Entry {
  bool exists = false;
  bool subscribed = false;
  store::SpecialUse use = store::SpecialUse::none;
  bool has_children = false;
  bool child_subscribed = false;
};

struct ListQuery {
  bool lsub = false;
  bool sel_subscribed = false;
  bool sel_special = false;
  bool recursive = false;
  bool ret_subscribed = false;
  bool ret_status = false;
  bool ret_metadata = false;  // RFC 9590
  bool utf8 = false;          // UTF8=ACCEPT: names and patterns in UTF-8 (RFC 6855 3)
  std::vector<proto::ListPattern> patterns;
  std::string exact;  // this one name (UTF-8) instead of the patterns (SELECT in IMAP4rev2)
};

struct ListRow {
  std::string line;      // the LIST/LSUB response without "* "
  std::string status;    // LIST-STATUS: the mailbox to send STATUS for, else empty
  std::string metadata;  // LIST-METADATA: the mailbox to send METADATA for, else empty
};

// The whole per-user computation (every mailbox and subscription against every pattern):
// runs on the worker pool, not on the session's I/O thread.
core::Result<std::vector<ListRow>> list_rows(core::Services& services, const std::string& account,
                                             const ListQuery& q) {
  store::MailStore& store = *services.store;
  auto boxes = store.list_mailboxes(account);
  if (!boxes) return boxes.status();
  auto subs = store.subscriptions(account);
  if (!subs) return subs.status();
  // RFC 4314 / RFC 2342: other accounts' folders the user has "l" on, under "Other Users/"
  // and "Shared/" (their parents come out \Noselect below). The user's groups are read now.
  // One name of the user's own (SELECT's LIST): no other account's folder is near it.
  bool own_only = !q.exact.empty() && !acl::in_shared_namespace(q.exact);
  auto shared = own_only
                    ? core::Result<std::vector<acl::SharedFolder>>(std::vector<acl::SharedFolder>{})
                    : acl::visible_shared_folders(services, account);
  if (!shared) return shared.status();

  std::map<std::string, Entry> entries;
  for (const auto& b : *boxes) {
    if (acl::in_shared_namespace(b.name)) continue;  // hidden by the shared namespaces
    Entry& e = entries[b.name];
    e.exists = true;
    e.use = b.special_use;
  }
  for (const auto& f : *shared) entries[f.name].exists = true;
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

  std::vector<ListRow> rows;
  bool lsub = q.lsub;
  bool subscribed_view = lsub || q.sel_subscribed;
  for (const auto& [name, e] : entries) {
    std::string wire = Session::mailbox_to_wire(name, q.utf8);
    bool match = !q.exact.empty() && name == q.exact;
    for (const auto& p : q.patterns) match = match || p.matches(wire);
    if (!match) continue;
    if (subscribed_view && !e.subscribed && !(lsub && e.child_subscribed) &&
        !(q.recursive && e.child_subscribed))
      continue;
    if (!subscribed_view && !e.exists && !e.has_children) continue;
    // RFC 6154 2.3: only mailboxes with a special-use attribute (not INBOX, not Ads).
    if (q.sel_special && *store::special_use_attribute(e.use) == '\0') continue;
    std::string attrs;
    auto add = [&attrs](const std::string& a) {
      if (!a.empty()) attrs += (attrs.empty() ? "" : " ") + a;
    };
    if (!e.exists) {
      if (lsub)
        add("\\Noselect");
      else if (subscribed_view)
        add("\\NonExistent");
      else
        add("\\Noselect");
    }
    if (!lsub) add(e.has_children ? "\\HasChildren" : "\\HasNoChildren");
    if ((subscribed_view || q.ret_subscribed) && e.subscribed && !lsub) add("\\Subscribed");
    // RFC 6154 2: special-use attributes are returned in LIST responses, not LSUB.
    if (!lsub && e.use != store::SpecialUse::none && e.use != store::SpecialUse::inbox)
      add(store::special_use_attribute(e.use));
    if (lsub && !e.subscribed) {
      attrs = "\\Noselect";  // RFC 3501 6.3.9: a parent of subscribed names
    }
    ListRow row;
    row.line = (lsub ? "LSUB (" : "LIST (") + attrs + ") \"/\" " + quoted_name(name, q.utf8);
    if (q.recursive && e.child_subscribed && !e.subscribed)
      row.line += " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
    if (q.ret_status && e.exists) row.status = name;
    if (q.ret_metadata && e.exists) row.metadata = name;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

asio::awaitable<Reply> cmd_list(Session& s, const proto::Command& cmd) {
  ListQuery q;
  q.lsub = cmd.name == "LSUB";
  q.utf8 = s.utf8_names();
  auto has = [](const std::vector<std::string>& v, const char* x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  q.sel_subscribed = has(cmd.list_select, "SUBSCRIBED");
  q.sel_special = has(cmd.list_select, "SPECIAL-USE");
  q.recursive = has(cmd.list_select, "RECURSIVEMATCH");
  for (const auto& o : cmd.list_select) {
    if (o != "SUBSCRIBED" && o != "SPECIAL-USE" && o != "RECURSIVEMATCH" && o != "REMOTE")
      co_return Reply::bad("Unknown LIST selection option " + o);
  }
  if (q.recursive && !q.sel_subscribed) co_return Reply::bad("RECURSIVEMATCH needs another option");
  q.ret_subscribed = has(cmd.list_return, "SUBSCRIBED");
  q.ret_status = has(cmd.list_return, "STATUS");
  q.ret_metadata = has(cmd.list_return, "METADATA");
  for (const auto& o : cmd.list_return) {
    if (o != "SUBSCRIBED" && o != "CHILDREN" && o != "SPECIAL-USE" && o != "STATUS" &&
        o != "METADATA" && o != "MAXSIZE")
      co_return Reply::bad("Unknown LIST return option " + o);
  }
  if (has(cmd.list_return, "MAXSIZE") && !q.ret_metadata)
    co_return Reply::bad("MAXSIZE needs the METADATA return option");

  // RFC 3501 9: list-mailbox is any string, so reference and patterns are matched as sent,
  // against the names in their wire form (modified UTF-7, which Mailroom writes canonically):
  // one that is not valid modified UTF-7 simply matches nothing.
  const std::string& ref = cmd.args[0];
  if (!q.lsub && cmd.patterns.size() == 1 && cmd.patterns[0].empty() && !cmd.list_extended) {
    // RFC 3501 6.3.8: the hierarchy delimiter and root name.
    s.untagged("LIST (\\Noselect) \"/\" \"\"");
    co_return Reply::ok("LIST completed");
  }
  if (cmd.patterns.size() > kMaxPatterns)
    co_return Reply::bad("Too many LIST patterns (at most " + std::to_string(kMaxPatterns) + ")");
  for (const auto& p : cmd.patterns) {
    if (p.empty()) continue;
    std::string full = p[0] == '/' || ref.empty() ? p : (ref.back() == '/' ? ref : ref + "/") + p;
    if (full.size() > proto::ListPattern::kMaxLength)
      co_return Reply::bad("LIST pattern too long (at most " +
                           std::to_string(proto::ListPattern::kMaxLength) + " octets)");
    q.patterns.emplace_back(full);
  }

  std::string account = s.principal.account_id;
  auto compute = [&s, &account, &q] { return list_rows(s.services, account, q); };
  auto rows = co_await net::blocking(*s.services.workers, compute);
  if (!rows) co_return Session::store_error(rows.status());
  if (q.ret_status && std::find(cmd.status_items.begin(), cmd.status_items.end(),
                                "HIGHESTMODSEQ") != cmd.status_items.end())
    s.enable_condstore();  // RFC 7162 3.1 (STATUS), RFC 5819 (LIST-STATUS)
  MetadataLines meta;
  if (q.ret_metadata) {  // RFC 9590: one store round trip for every listed mailbox
    std::vector<std::string> names;
    for (const auto& row : *rows)
      if (!row.metadata.empty()) names.push_back(row.metadata);
    meta = co_await list_metadata(s, cmd, names);
  }
  size_t meta_at = 0;
  for (const auto& row : *rows) {
    s.untagged(row.line);
    if (!row.metadata.empty() && meta_at < meta.lines.size()) {
      const std::string& line = meta.lines[meta_at++];
      if (!line.empty()) s.untagged(line);
    }
    if (row.status.empty()) continue;
    std::string mailbox = row.status;
    auto data = co_await status_data(s, mailbox, cmd.status_items);
    if (data) s.untagged("STATUS " + quoted_name(mailbox, s.utf8_names()) + " " + *data);
  }
  if (meta.longest)  // RFC 9590 with RFC 5464 4.2.1
    co_return Reply::ok("[METADATA LONGENTRIES " + std::to_string(meta.longest) + "] " + cmd.name +
                        " completed");
  co_return Reply::ok(cmd.name + " completed");
}

asio::awaitable<std::string> select_list_line(Session& s, const std::string& name) {
  // RFC 9051 6.3.2 (7.3.1): the LIST response of a SELECT carries the mailbox's attributes as
  // LIST "" <name> would (children, special use); names are sent in UTF-8 (rev2).
  ListQuery q;
  q.utf8 = true;
  q.exact = name;
  std::string account = s.principal.account_id;
  auto compute = [&s, &account, &q] { return list_rows(s.services, account, q); };
  auto rows = co_await net::blocking(*s.services.workers, compute);
  if (rows && rows->size() == 1) co_return rows->front().line;
  co_return "LIST () \"/\" " + quoted_name(name, true);  // the store could not tell
}

asio::awaitable<Reply> cmd_namespace(Session& s, const proto::Command&) {
  // RFC 2342 5: personal, other users' and shared namespaces (RFC 4314 shared folders).
  s.untagged(std::string("NAMESPACE ((\"\" \"/\")) ((\"") + acl::kOtherUsersPrefix +
             "/\" \"/\")) ((\"" + acl::kSharedPrefix + "/\" \"/\"))");
  co_return Reply::ok("NAMESPACE completed");
}

namespace {

// What STATUS counts beyond store::MailboxInfo, only when asked.
struct StatusCounts {
  uint32_t recent = 0;
  uint32_t deleted = 0;          // RFC 9051 6.3.11 DELETED: messages with \Deleted
  uint64_t deleted_storage = 0;  // RFC 9208 DELETED-STORAGE: their RFC822.SIZE (KiB on the wire)
};

// "(MESSAGES n UNSEEN m ...)": the items asked for, in their order (RFC 3501 7.2.4).
std::string format_status(const std::vector<std::string>& items, const store::MailboxInfo& info,
                          const StatusCounts& counts) {
  std::string out = "(";
  for (const auto& it : items) {
    if (out.size() > 1) out += " ";
    if (it == "MESSAGES")
      out += "MESSAGES " + std::to_string(info.messages);
    else if (it == "RECENT")
      out += "RECENT " + std::to_string(counts.recent);
    else if (it == "DELETED")
      out += "DELETED " + std::to_string(counts.deleted);
    else if (it == "DELETED-STORAGE")
      out += "DELETED-STORAGE " + std::to_string((counts.deleted_storage + 1023) / 1024);
    else if (it == "UIDNEXT")
      out += "UIDNEXT " + std::to_string(info.uid_next);
    else if (it == "UIDVALIDITY")
      out += "UIDVALIDITY " + std::to_string(info.uid_validity);
    else if (it == "UNSEEN")
      out += "UNSEEN " + std::to_string(info.unseen);
    else if (it == "HIGHESTMODSEQ")
      out += "HIGHESTMODSEQ " + std::to_string(info.highest_modseq);
    else if (it == "SIZE")  // RFC 8438: the sum of the messages' RFC822.SIZE
      out += "SIZE " + std::to_string(info.size);
    else if (it == "MAILBOXID" && !info.object_id.empty())  // RFC 8474 4.3
      out += "MAILBOXID (F" + info.object_id + ")";
    else
      out.pop_back();
  }
  return out + ")";
}

}  // namespace

std::string status_text(const std::vector<std::string>& items, const store::MailboxInfo& info) {
  return format_status(items, info, StatusCounts{});
}

asio::awaitable<core::Result<std::string>> status_data(Session& s, const std::string& name,
                                                       const std::vector<std::string>& items) {
  // RFC 4314 4: STATUS of another account's folder needs "r" (and "l" to know it exists).
  auto target = co_await resolve_target(s, name);
  if (!target) co_return target.status();
  if ((target->rights & acl::kRead) == 0)
    co_return core::Status::error(core::Code::permission_denied, "You lack the right \"r\"");
  std::string account = target->owner;
  std::string mailbox = target->mailbox;
  auto wants = [&items](const char* item) {
    return std::find(items.begin(), items.end(), item) != items.end();
  };
  bool want_recent = wants("RECENT");
  bool want_deleted = wants("DELETED") || wants("DELETED-STORAGE");
  std::shared_ptr<SharedMailbox> box =
      s.view && s.view->name == mailbox && s.box_account() == account ? s.box : nullptr;
  StatusCounts counts;
  auto count_deleted = [&counts](uint8_t flags, uint64_t size) {
    if (!(flags & store::kDeleted)) return;
    ++counts.deleted;
    counts.deleted_storage += size;
  };
  auto counted = [](const Version& v) {
    store::MailboxInfo info;
    info.uid_validity = v.uid_validity;
    info.uid_next = v.uid_next;
    info.highest_modseq = v.highest_modseq;
    info.messages = static_cast<uint32_t>(v.rows.size());
    info.unseen = v.unseen;
    info.size = v.total_size;
    info.object_id = v.object_id;
    return info;
  };
  // The selected mailbox with no change reported since the session's last sync: its shared
  // version is the mailbox now, so no worker round trip (RECENT reads the tracker, which
  // may read its file: that goes to the worker).
  if (box && !want_recent && s.selected_is_current()) {
    if (auto v = box->current()) {
      store::MailboxInfo info = counted(*v);
      if (want_deleted) {
        for (const MessageRow& r : v->rows) count_deleted(r.flags, r.size);
      }
      co_return format_status(items, info, counts);
    }
  }
  std::string reader = s.seen_reader(*target);
  auto fn3 = [&s, &account, &mailbox, &box, &counts, &counted, &count_deleted, &reader, want_recent,
              want_deleted]() -> core::Result<store::MailboxInfo> {
    if (!box) {
      auto info = s.services.store->mailbox_status(account, mailbox);
      if (!info) return info;
      if (!reader.empty()) {
        // Per-user \Seen (FORMAT.md "Per-reader \Seen"): UNSEEN counts the reader's marks.
        auto marks = s.services.store->reader_seen(account, mailbox, reader, 0, {});
        if (!marks) return marks.status();
        auto seen = static_cast<uint32_t>(
            std::count_if(marks->begin(), marks->end(), [](const auto& m) { return m.seen; }));
        info->unseen = info->messages - std::min(seen, info->messages);
      }
      if (want_deleted) {
        auto scanned = s.services.store->scan(account, mailbox, [&](const store::MessageMeta& m) {
          count_deleted(static_cast<uint8_t>(m.flags), m.size);
        });
        if (!scanned) return scanned.status();
      }
      return info;
    }
    // The selected mailbox: counted from its shared view, brought up to date first (one
    // indexed query for what changed, usually nothing), not from the index's rows.
    auto v = box->refresh(*s.services.store);
    if (!v) return v.status();
    store::MailboxInfo info = counted(**v);
    if (want_deleted) {
      for (const MessageRow& r : (*v)->rows) count_deleted(r.flags, r.size);
    }
    if (want_recent) {
      uint32_t after = RecentTracker::instance().peek(account, mailbox, info.uid_validity);
      const auto& rows = (*v)->rows;
      auto first = std::upper_bound(rows.begin(), rows.end(), after,
                                    [](uint32_t u, const MessageRow& r) { return u < r.uid; });
      counts.recent = static_cast<uint32_t>(rows.end() - first);
    }
    return info;
  };
  auto info = co_await net::blocking(*s.services.workers, fn3);
  if (!info) co_return info.status();
  if (want_recent && !box) {
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
    counts.recent = co_await net::blocking(*s.services.workers, count_recent);
  }
  co_return format_status(items, *info, counts);
}

asio::awaitable<Reply> cmd_status(Session& s, const proto::Command& cmd) {
  for (const auto& it : cmd.status_items) {
    if (it != "MESSAGES" && it != "RECENT" && it != "UIDNEXT" && it != "UIDVALIDITY" &&
        it != "UNSEEN" && it != "HIGHESTMODSEQ" && it != "SIZE" && it != "MAILBOXID" &&
        it != "DELETED" && it != "DELETED-STORAGE")  // RFC 9051 6.3.11, RFC 9208
      co_return Reply::bad("Unknown STATUS item " + it);
  }
  if (cmd.status_items.empty()) co_return Reply::bad("STATUS needs at least one item");
  auto name = s.mailbox_from_wire(cmd.args[0]);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  std::string mailbox = *name;
  auto data = co_await status_data(s, mailbox, cmd.status_items);
  if (!data) co_return Session::store_error(data.status());
  if (std::find(cmd.status_items.begin(), cmd.status_items.end(), "HIGHESTMODSEQ") !=
      cmd.status_items.end())
    s.enable_condstore();  // RFC 7162 3.1: STATUS (HIGHESTMODSEQ) enables CONDSTORE
  // The name as the client sent it; in UTF-8 quoted after UTF8=ACCEPT (RFC 6855 3) or in rev2.
  std::string echo =
      s.utf8_names() ? Session::mailbox_string(mailbox, true) : mime::imap_string(cmd.args[0]);
  s.untagged("STATUS " + echo + " " + *data);
  co_return Reply::ok("STATUS completed");
}

}  // namespace mailroom::imap
