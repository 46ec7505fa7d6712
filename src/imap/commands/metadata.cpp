// GETMETADATA and SETMETADATA (RFC 5464 4.2, 4.3) and LIST RETURN (METADATA) (RFC 9590).
// Values live in the store's index (MailStore::metadata); three entries are not stored but
// answered from elsewhere: the server's /shared/admin and /shared/comment from [imap]
// metadata_admin / metadata_comment (RFC 5464 3.2.1.1; read-only over IMAP), and a mailbox's
// /private/specialuse from its special-use attribute (RFC 6154 4; read-only: the special use
// is chosen by CREATE (USE ...), RFC 6154 5). No unsolicited METADATA responses (4.4.2: only
// after ENABLE METADATA, which this server accepts and ignores, RFC 5161 3.1).
#include "src/imap/proto/metadata.h"

#include <algorithm>

#include "src/imap/session.h"
#include "src/mime/structure.h"

namespace mailroom::imap {

bool metadata_allowed(const Session& s, const std::string& mailbox, bool shared, bool write) {
  (void)s;
  // RFC 5464 3.3: the server's /shared entries are the administrator's (config), /private
  // ones each user's own.
  if (mailbox.empty()) return !(shared && write);
  // Until ACL (RFC 4314) is in, every mailbox a session can name is its own and its owner
  // reads and writes both kinds. With ACL, RFC 5464 3.3: reading needs "l" and "r"; writing
  // /private "l" and "r"; writing /shared "l", "r" and "w".
  return true;
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

// The stored entries of `mailbox` ("" = the server) with those answered from elsewhere,
// ascending by name. Blocking: worker pool.
core::Result<std::vector<store::MetadataEntry>> metadata_of(Session& s, const std::string& account,
                                                            const std::string& mailbox) {
  auto stored = s.services.store->metadata(account, mailbox);
  if (!stored) return stored.status();
  std::vector<store::MetadataEntry> all = std::move(*stored);
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
std::string metadata_data(const Session& s, const std::string& mailbox,
                          const std::vector<store::MetadataEntry>& all,
                          const proto::MetadataArgs& args, uint64_t* longest) {
  std::string out;
  std::vector<const store::MetadataEntry*> sent;
  for (const auto& entry : args.entries) {
    if (!metadata_allowed(s, mailbox, metadata_shared(entry), false)) continue;
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

}  // namespace

asio::awaitable<Reply> cmd_getmetadata(Session& s, const proto::Command& cmd) {
  auto name = metadata_mailbox(s, cmd.args[0]);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  std::string mailbox = *name;
  for (const auto& entry : cmd.metadata.entries) {
    if (!metadata_allowed(s, mailbox, metadata_shared(entry), false))
      co_return Reply::no("[NOPERM] No access to " + entry);
  }
  std::string account = s.principal.account_id;
  auto read = [&s, &account, &mailbox] { return metadata_of(s, account, mailbox); };
  auto all = co_await net::blocking(*s.services.workers, read);
  if (!all) co_return Session::store_error(all.status());
  uint64_t longest = 0;
  std::string data = metadata_data(s, mailbox, *all, cmd.metadata, &longest);
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
  // Every check before the store is asked: the command changes all of its entries or none
  // (RFC 5464 4.3).
  for (const auto& [entry, value] : cmd.metadata.values) {
    bool shared = metadata_shared(entry);
    if (!metadata_allowed(s, mailbox, shared, true)) {
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
  }
  std::string account = s.principal.account_id;
  store::MetadataLimits limits;
  limits.max_entries = s.options.metadata_max_entries;
  limits.max_bytes = s.options.metadata_max_bytes;
  const auto& changes = cmd.metadata.values;
  auto write = [&s, &account, &mailbox, &changes, &limits] {
    return s.services.store->set_metadata(account, mailbox, changes, limits);
  };
  core::Status st = co_await net::blocking(*s.services.workers, write);
  if (st.code() == core::Code::over_quota)  // RFC 5464 4.3
    co_return Reply::no("[METADATA TOOMANY] Too many annotations");
  if (!st) co_return Session::store_error(st);
  co_return Reply::ok("SETMETADATA completed");
}

asio::awaitable<MetadataLines> list_metadata(Session& s, const proto::Command& cmd,
                                             const std::vector<std::string>& mailboxes) {
  std::string account = s.principal.account_id;
  using Found = std::vector<core::Result<std::vector<store::MetadataEntry>>>;
  auto read = [&s, &account, &mailboxes] {
    Found found;
    found.reserve(mailboxes.size());
    for (const auto& m : mailboxes) found.push_back(metadata_of(s, account, m));
    return found;
  };
  Found found = co_await net::blocking(*s.services.workers, read);
  MetadataLines out;
  out.lines.resize(mailboxes.size());
  for (size_t i = 0; i < mailboxes.size(); ++i) {
    // RFC 9590 3: a mailbox whose annotations cannot be read (gone meanwhile) gets none.
    if (!found[i]) continue;
    std::string data = metadata_data(s, mailboxes[i], *found[i], cmd.metadata, &out.longest);
    if (!data.empty())
      out.lines[i] = "METADATA " + metadata_mailbox_string(mailboxes[i], s.utf8_names()) + data;
  }
  co_return out;
}

}  // namespace mailroom::imap
