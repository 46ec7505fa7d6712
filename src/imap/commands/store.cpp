// STORE / UID STORE (RFC 3501 6.4.6) with UNCHANGEDSINCE and [MODIFIED] (RFC 7162 3.1.3).
#include <algorithm>

#include "src/imap/session.h"

namespace mailroom::imap {

asio::awaitable<Reply> cmd_store(Session& s, const proto::Command& cmd) {
  std::vector<uint32_t> uids;
  if (auto err = s.resolve_set(cmd.set, cmd.uid, uids)) co_return Reply::bad(*err);
  if (s.view->read_only) co_return Reply::no("[READ-ONLY] Mailbox is read-only");
  if (cmd.unchanged_since) s.enable_condstore();
  // RFC 4314 4: \Seen needs "s", \Deleted "t", other flags and keywords "w"; replacing the
  // flags (no +/-) touches every kind.
  {
    bool replace = cmd.store_mode == 0;
    uint32_t needed = 0;
    if (replace || (cmd.flags & store::kSeen)) needed |= acl::kSeen;
    if (replace || (cmd.flags & store::kDeleted)) needed |= acl::kDeleteMsg;
    if (replace || (cmd.flags & ~(store::kSeen | store::kDeleted)) || !cmd.keywords.empty())
      needed |= acl::kWrite;
    if ((s.selected_rights & needed) != needed)
      co_return Reply::no("[NOPERM] You lack the rights \"" +
                          acl::format_rights(needed & ~s.selected_rights, false) +
                          "\" to change these flags here");
  }
  store::StoreFlagsRequest req;
  req.uids = uids;
  req.op = cmd.store_mode == '+'   ? store::FlagOp::add
           : cmd.store_mode == '-' ? store::FlagOp::remove
                                   : store::FlagOp::replace;
  req.flags = cmd.flags;
  req.keywords = cmd.keywords;
  req.unchanged_since = cmd.unchanged_since;
  req.origin = "imap";  // "opened" evidence for mail recall (MessageMeta::seen_via)
  req.reader = s.box ? s.box->reader() : std::string();  // per-user \Seen of a shared folder
  std::string account = s.box_account();
  std::string mailbox = s.view->name;
  if (!uids.empty()) {
    std::shared_ptr<SharedMailbox> box = s.box;
    std::vector<uint32_t> updated;  // ascending
    auto fn1 = [&s, &account, &mailbox, &req, &box, &updated]()
        -> core::Result<std::pair<store::StoreFlagsResult, std::shared_ptr<const Version>>> {
      auto r = s.services.store->store_flags(account, mailbox, req);
      if (!r) return r.status();
      for (const auto& m : r->updated) updated.push_back(m.uid);
      // The shared view with this change (and any other since), so every session on the
      // mailbox moves to the same version.
      auto v = box->refresh(*s.services.store);
      if (!v) return v.status();
      return std::make_pair(std::move(*r), std::move(*v));
    };
    auto r = co_await net::blocking(*s.services.workers, fn1);
    if (!r) co_return Session::store_error(r.status());
    std::sort(updated.begin(), updated.end());
    // Changes by others (and new keywords, RFC 3501 7.2.6) first; the FETCH lines of the
    // messages this STORE touched follow, with their flags as they are now (none for .SILENT,
    // RFC 3501 6.4.6, except the MODSEQ of RFC 7162 3.1.3).
    co_await s.adopt(std::move(r->second), false, updated);
    if (!s.view) co_return Reply::no("Mailbox closed");
    SyncOptions o = s.sync_options(false);
    for (uint32_t uid : updated) {
      const MessageRow* v = s.view->by_uid(uid);
      if (!v) continue;
      if (!cmd.silent) {
        s.untagged(s.view->fetch_flags_line(*v, o));
      } else if (s.condstore) {
        // RFC 7162 3.1.3: even for .SILENT, a FETCH with the new MODSEQ (and UID, 3.1).
        s.untagged(s.view->fetch_modseq_line(*v));
      }
    }
    const auto& modified = r->first.modified;
    if (!modified.empty()) {
      std::vector<uint32_t> ids;
      for (uint32_t u : modified) {
        uint32_t id = cmd.uid ? u : s.view->seq_of(u);
        if (id) ids.push_back(id);
      }
      std::sort(ids.begin(), ids.end());
      co_return Reply::ok("[MODIFIED " + compact_set(ids) + "] Conditional STORE failed");
    }
  }
  co_return Reply::ok("STORE completed");
}

}  // namespace mailroom::imap
