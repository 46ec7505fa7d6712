// GETMETADATA and SETMETADATA (RFC 5464 4.2, 4.3) and LIST RETURN (METADATA) (RFC 9590).
// Values live in the store's index (MailStore::metadata); three entries are not stored but
// answered from elsewhere: the server's /shared/admin and /shared/comment from [imap]
// metadata_admin / metadata_comment (RFC 5464 3.2.1.1; read-only over IMAP), and a mailbox's
// /private/specialuse from its special-use attribute (RFC 6154 4; read-only: the special use
// is chosen by CREATE (USE ...), RFC 6154 5). A change is published to MetadataEvents for
// NOTIFY's unsolicited METADATA responses (RFC 5464 4.4.2, RFC 5465 5.6 and 5.7); without
// NOTIFY none are sent.
#include "src/imap/proto/metadata.h"

#include <algorithm>

#include "src/imap/metadata_events.h"
#include "src/imap/session.h"
#include "src/mime/structure.h"

namespace mailroom::imap {

bool metadata_allowed(const acl::Target* target, bool shared, bool write) {
  // RFC 5464 3.3: the server's /shared entries are the administrator's (config), /private
  // ones each user's own.
  if (!target) return !(shared && write);
  // RFC 5464 3.3 on a mailbox: reading either kind needs "l" and "r"; writing /private "l"
  // and "r"; writing /shared "l", "r" and "w". The owner has every right (acl::kAll).
  uint32_t needed = acl::kLookup | acl::kRead;
  if (shared && write) needed |= acl::kWrite;
  return (target->rights & needed) == needed;
}

namespace {

bool metadata_shared(const std::string& entry) { return entry.rfind("/shared", 0) == 0; }

// RFC 5464 5: value = nstring / literal8; literal8 only for values holding NUL.
std::string metadata_value(const std::string& v) {
  if (v.find('\0') != std::string::npos) return "~{" + std::to_string(v.size()) + "}\r\n" + v;
  return mime::imap_string(v);
}

// Whether stored entry `name` answers requested `entry` at `depth` (RFC 5464 4.2.2).
bool metadata_matches(const std::string& name, const std::string& entry, int depth) {
  if (name == entry) return true;
  if (depth == 0 || name.size() <= entry.size() + 1 || name.compare(0, entry.size(), entry) != 0 ||
      name[entry.size()] != '/')
    return false;
  return depth < 0 || name.find('/', entry.size() + 1) == std::string::npos;
}

// Where a reader's /private entries of another account's mailbox are kept in the owner's
// index (RFC 5464 3.3: /private entries are per user): under "/~<reader account id>" before
// the entry name. No entry a client can name starts with "/~" (RFC 5464 3.2: "/private" or
// "/shared"), so these rows never answer a request for another user.
std::string reader_prefix(const std::string& reader) { return "/~" + reader; }

// The entry name stored for `entry` written by `reader` on `target` (RFC 5464 3.3).
std::string stored_entry(const acl::Target& target, const std::string& reader,
                         const std::string& entry) {
  if (target.own || metadata_shared(entry)) return entry;
  return reader_prefix(reader) + entry;
}

// The stored entries of `target` (nullptr = the user's server entries) as `reader` sees them,
// with those answered from elsewhere, ascending by name: the owner's /private entries are the
// owner's, a reader's its own (stored_entry). Blocking: worker pool.
core::Result<std::vector<store::MetadataEntry>> metadata_of(Session& s, const std::string& reader,
                                                            const acl::Target* target) {
  const std::string& account = target ? target->owner : reader;
  const std::string mailbox = target ? target->mailbox : std::string();
  auto stored = s.services.store->metadata(account, mailbox);
  if (!stored) return stored.status();
  std::vector<store::MetadataEntry> all;
  all.reserve(stored->size());
  const std::string mine = reader_prefix(reader) + "/";
  const bool own = !target || target->own;
  for (auto& e : *stored) {
    if (e.name.rfind("/~", 0) == 0) {  // some reader's /private entry
      if (own || e.name.rfind(mine, 0) != 0) continue;
      e.name.erase(0, mine.size() - 1);
    } else if (!own && !metadata_shared(e.name)) {
      continue;  // the owner's /private entry
    }
    all.push_back(std::move(e));
  }
  if (mailbox.empty()) {
    if (!s.options.metadata_admin.empty())
      all.push_back({"/shared/admin", s.options.metadata_admin});
    if (!s.options.metadata_comment.empty())
      all.push_back({"/shared/comment", s.options.metadata_comment});
  } else {
    auto info = s.services.store->mailbox_status(account, mailbox);
    if (!info) return info.status();
    std::string use = store::special_use_attribute(info->special_use);
    if (!use.empty()) all.push_back({"/private/specialuse", use});
  }
  // Stored rows under the names answered from elsewhere (older data) give way to them.
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.name < b.name; });
  auto same = [](const auto& a, const auto& b) { return a.name == b.name; };
  std::reverse(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end(), same), all.end());
  std::reverse(all.begin(), all.end());
  return all;
}

// " (entry value ...)" of the entries `args` asks for (NIL for an entry asked at DEPTH 0 that
// does not exist), "" when there is nothing to send; values over MAXSIZE are left out and
// the largest of them raises *longest (4.2.1 LONGENTRIES).
std::string metadata_data(const acl::Target* target, const std::vector<store::MetadataEntry>& all,
                          const proto::MetadataArgs& args, uint64_t* longest) {
  std::string out;
  std::vector<const store::MetadataEntry*> sent;
  for (const auto& entry : args.entries) {
    if (!metadata_allowed(target, metadata_shared(entry), false)) continue;
    bool found = false;
    for (const auto& e : all) {
      if (!metadata_matches(e.name, entry, args.depth)) continue;
      found = true;
      if (std::find(sent.begin(), sent.end(), &e) != sent.end()) continue;
      sent.push_back(&e);
      if (args.maxsize && e.value.size() > *args.maxsize) {
        *longest = std::max<uint64_t>(*longest, e.value.size());
        continue;
      }
      out += (out.empty() ? "" : " ") + e.name + " " + metadata_value(e.value);
    }
    if (!found && args.depth == 0) out += (out.empty() ? "" : " ") + entry + " NIL";
  }
  return out.empty() ? out : " (" + out + ")";
}

std::string metadata_mailbox_string(const std::string& mailbox, bool utf8_accept) {
  return mailbox.empty() ? std::string("\"\"") : Session::mailbox_string(mailbox, utf8_accept);
}

// The mailbox argument: "" names the server (RFC 5464 3.2.1.1).
core::Result<std::string> metadata_mailbox(const Session& s, const std::string& wire) {
  if (wire.empty()) return std::string();
  return s.mailbox_from_wire(wire);
}

// RFC 4314 4 / RFC 5464 3.3: the mailbox with the user's rights there (another account's
// folder: not_found without "l"); nullopt for the server ("").
asio::awaitable<core::Result<std::optional<acl::Target>>> metadata_target(
    Session& s, const std::string& mailbox) {
  if (mailbox.empty()) co_return std::optional<acl::Target>();
  auto t = co_await resolve_target(s, mailbox);
  if (!t) co_return t.status();
  co_return std::optional<acl::Target>(std::move(*t));
}

}  // namespace

asio::awaitable<Reply> cmd_getmetadata(Session& s, const proto::Command& cmd) {
  auto name = metadata_mailbox(s, cmd.args[0]);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  std::string mailbox = *name;
  auto target = co_await metadata_target(s, mailbox);
  if (!target) co_return Session::store_error(target.status());
  const acl::Target* on = *target ? &**target : nullptr;
  for (const auto& entry : cmd.metadata.entries) {
    if (!metadata_allowed(on, metadata_shared(entry), false))
      co_return Reply::no("[NOPERM] No access to " + entry);
  }
  std::string reader = s.principal.account_id;
  auto read = [&s, &reader, on] { return metadata_of(s, reader, on); };
  auto all = co_await net::blocking(*s.services.workers, read);
  if (!all) co_return Session::store_error(all.status());
  uint64_t longest = 0;
  std::string data = metadata_data(on, *all, cmd.metadata, &longest);
  if (!data.empty())
    s.untagged("METADATA " + metadata_mailbox_string(mailbox, s.utf8_names()) + data);
  if (longest)  // RFC 5464 4.2.1
    co_return Reply::ok("[METADATA LONGENTRIES " + std::to_string(longest) +
                        "] GETMETADATA completed");
  co_return Reply::ok("GETMETADATA completed");
}

asio::awaitable<Reply> cmd_setmetadata(Session& s, const proto::Command& cmd) {
  auto name = metadata_mailbox(s, cmd.args[0]);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  std::string mailbox = *name;
  auto target = co_await metadata_target(s, mailbox);
  if (!target) co_return Session::store_error(target.status());
  const acl::Target* on = *target ? &**target : nullptr;
  std::string reader = s.principal.account_id;
  std::vector<store::MetadataChange> changes;
  // Every check before the store is asked: the command changes all of its entries or none
  // (RFC 5464 4.3).
  for (const auto& [entry, value] : cmd.metadata.values) {
    bool shared = metadata_shared(entry);
    if (!metadata_allowed(on, shared, true)) {
      co_return Reply::no(mailbox.empty()
                              ? "[NOPERM] The server's /shared entries are set by the administrator"
                              : "[NOPERM] No right to change " + entry);
    }
    std::string_view rest = std::string_view(entry).substr(shared ? 8 : 9);
    if (entry == "/private/specialuse" && !mailbox.empty())
      co_return Reply::no(
          "[CANNOT] /private/specialuse shows the mailbox's special use, which "
          "CREATE (USE (...)) chooses (RFC 6154)");
    // RFC 5464 3.2.1: the registered entries and the vendor trees; others are refused.
    if (rest != "comment" && rest.rfind("vendor/", 0) != 0)
      co_return Reply::no("[CANNOT] Unknown entry " + entry +
                          " (use /private/vendor/<vendor>/... or /shared/vendor/<vendor>/...)");
    if (value && value->size() > s.options.metadata_max_value)
      co_return Reply::no("[METADATA MAXSIZE " + std::to_string(s.options.metadata_max_value) +
                          "] Value too large");
    changes.emplace_back(on ? stored_entry(*on, reader, entry) : entry, value);
  }
  // Another account's mailbox: its entries (a reader's /private ones too) are in the owner's
  // index, under the owner's limits (as quota is charged to the owner).
  std::string account = on ? on->owner : reader;
  std::string box = on ? on->mailbox : std::string();
  store::MetadataLimits limits;
  limits.max_entries = s.options.metadata_max_entries;
  limits.max_bytes = s.options.metadata_max_bytes;
  auto write = [&s, &account, &box, &changes, &limits] {
    return s.services.store->set_metadata(account, box, changes, limits);
  };
  core::Status st = co_await net::blocking(*s.services.workers, write);
  if (st.code() == core::Code::over_quota)  // RFC 5464 4.3
    co_return Reply::no("[METADATA TOOMANY] Too many annotations");
  if (!st) co_return Session::store_error(st);
  // RFC 5465 5.6, 5.7: the NOTIFY sessions that watch these annotations are told (by entry
  // name; RFC 5464 4.4.2), /private ones only to their user.
  MetadataEvent shared{account, box, {}, {}};
  MetadataEvent mine{account, box, {}, reader};
  for (const auto& [entry, value] : cmd.metadata.values)
    (metadata_shared(entry) ? shared : mine).entries.push_back(entry);
  for (const auto* e : {&shared, &mine})
    if (!e->entries.empty()) MetadataEvents::instance().publish(*e);
  co_return Reply::ok("SETMETADATA completed");
}

asio::awaitable<MetadataLines> list_metadata(Session& s, const proto::Command& cmd,
                                             const std::vector<std::string>& mailboxes) {
  std::string reader = s.principal.account_id;
  struct Found {
    std::optional<acl::Target> target;  // nullopt: the mailbox cannot be read (gone, no "l")
    core::Result<std::vector<store::MetadataEntry>> entries = core::not_found("");
  };
  auto read = [&s, &reader, &mailboxes] {
    std::vector<Found> found(mailboxes.size());
    std::optional<acl::Subject> who;  // read once, for the first shared folder
    for (size_t i = 0; i < mailboxes.size(); ++i) {
      const std::string& m = mailboxes[i];
      if (!acl::in_shared_namespace(m)) {
        found[i].target = acl::Target{reader, m, acl::kAll, true};
      } else {
        if (!who) who = acl::subject_of(s.services, reader);
        auto t = acl::resolve_shared(s.services, *who, m);
        if (!t) continue;
        found[i].target = std::move(*t);
      }
      found[i].entries = metadata_of(s, reader, &*found[i].target);
    }
    return found;
  };
  std::vector<Found> found = co_await net::blocking(*s.services.workers, read);
  MetadataLines out;
  out.lines.resize(mailboxes.size());
  for (size_t i = 0; i < mailboxes.size(); ++i) {
    // RFC 9590 3: a mailbox whose annotations cannot be read (gone meanwhile) gets none.
    if (!found[i].target || !found[i].entries) continue;
    std::string data =
        metadata_data(&*found[i].target, *found[i].entries, cmd.metadata, &out.longest);
    if (!data.empty())
      out.lines[i] = "METADATA " + metadata_mailbox_string(mailboxes[i], s.utf8_names()) + data;
  }
  co_return out;
}

}  // namespace mailroom::imap
