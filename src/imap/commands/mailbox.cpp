// CREATE (with RFC 6154 USE, RFC 8474 MAILBOXID), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE
// (RFC 3501 6.3.3-6.3.7).
#include "src/core/address.h"
#include "src/imap/session.h"

namespace mailroom::imap {
namespace {

std::optional<store::SpecialUse> special_use_of(const std::string& attr) {
  std::string a = core::ascii_lower(attr);
  if (a == "\\sent") return store::SpecialUse::sent;
  if (a == "\\drafts") return store::SpecialUse::drafts;
  if (a == "\\trash") return store::SpecialUse::trash;
  if (a == "\\junk") return store::SpecialUse::junk;
  if (a == "\\archive") return store::SpecialUse::archive;
  return std::nullopt;
}

}  // namespace

asio::awaitable<Reply> cmd_create(Session& s, const proto::Command& cmd) {
  std::string wire = cmd.args[0];
  // RFC 3501 6.3.3: a trailing separator only declares the intent to create inferiors.
  while (wire.size() > 1 && wire.back() == '/') wire.pop_back();
  auto name = s.mailbox_from_wire(wire);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  if (*name == "INBOX") co_return Reply::no("[ALREADYEXISTS] INBOX always exists");
  store::SpecialUse use = store::SpecialUse::none;
  if (cmd.create_use.size() > 1) co_return Reply::no("[USEATTR] Only one special use per mailbox");
  if (!cmd.create_use.empty()) {
    auto u = special_use_of(cmd.create_use[0]);
    if (!u) co_return Reply::no("[USEATTR] Unsupported special-use attribute");
    use = *u;
  }
  std::string account = s.principal.account_id;
  std::string mailbox = *name;
  if (acl::in_shared_namespace(mailbox)) {
    // RFC 4314 4: CREATE below another account's folder needs "k" on the parent.
    auto slash = mailbox.rfind('/');
    auto parent = co_await resolve_target(s, mailbox.substr(0, slash));
    if (!parent) co_return Reply::no("[NOPERM] Cannot create mailboxes here");
    if (auto no = missing_rights(*parent, acl::kCreate)) co_return *no;
    account = parent->owner;
    mailbox = parent->mailbox + mailbox.substr(slash);
  }
  std::string object_id;
  auto fn1 = [&s, &account, &mailbox, use, &object_id] {
    auto st = s.services.store->create_mailbox(account, mailbox, use);
    if (!st) return st;
    // RFC 8474 4.1: the new mailbox's MAILBOXID in the tagged OK.
    auto info = s.services.store->mailbox_status(account, mailbox);
    if (info) object_id = info->object_id;
    return st;
  };
  auto st = co_await net::blocking(*s.services.workers, fn1);
  if (!st) co_return Session::store_error(st);
  if (object_id.empty()) co_return Reply::ok("CREATE completed");
  co_return Reply::ok("[MAILBOXID (F" + object_id + ")] CREATE completed");
}

asio::awaitable<Reply> cmd_delete(Session& s, const proto::Command& cmd) {
  auto name = s.mailbox_from_wire(cmd.args[0]);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  if (*name == "INBOX") co_return Reply::no("[CANNOT] INBOX cannot be deleted");
  // RFC 4314 4: DELETE of another account's folder needs "x".
  auto target = co_await resolve_target(s, *name);
  if (!target) co_return Session::store_error(target.status());
  if (auto no = missing_rights(*target, acl::kDeleteBox)) co_return *no;
  if (target->mailbox == "INBOX") co_return Reply::no("[CANNOT] INBOX cannot be deleted");
  std::string account = target->owner;
  std::string mailbox = target->mailbox;
  // RFC 3501 6.3.4: DELETE never removes inferior names; the deleted name stays as their
  // \Noselect parent, and deleting such a \Noselect name is an error.
  auto fn2 = [&s, &account, &mailbox] {
    return s.services.store->delete_mailbox_keep_inferiors(account, mailbox);
  };
  auto st = co_await net::blocking(*s.services.workers, fn2);
  if (!st) {
    if (st.code() == core::Code::not_found) {
      auto fn3 = [&s, &account] { return s.services.store->list_mailboxes(account); };
      auto boxes = co_await net::blocking(*s.services.workers, fn3);
      bool inferiors = false;
      if (boxes) {
        for (const auto& b : *boxes) inferiors = inferiors || b.name.rfind(mailbox + "/", 0) == 0;
      }
      // RFC 9051 6.3.5 and 7.1: IMAP4rev2's own code for it.
      if (inferiors)
        co_return Reply::no(std::string(s.rev2 ? "[HASCHILDREN]" : "[CANNOT]") +
                            " Name has inferior hierarchical names and is \\Noselect");
    }
    if (st.code() == core::Code::busy) co_return Reply::no("[INUSE] " + st.client_message());
    co_return Session::store_error(st);
  }
  if (s.view && s.view->name == mailbox && s.box_account() == account) {
    s.unselect();
    s.untagged("OK [CLOSED] The selected mailbox was deleted");
  }
  co_return Reply::ok("DELETE completed");
}

asio::awaitable<Reply> cmd_rename(Session& s, const proto::Command& cmd) {
  auto from = s.mailbox_from_wire(cmd.args[0]);
  if (!from) co_return Reply::no("[CANNOT] " + from.status().client_message());
  auto to = s.mailbox_from_wire(cmd.args[1]);
  if (!to) co_return Reply::no("[CANNOT] " + to.status().client_message());
  if (*to == "INBOX") co_return Reply::no("[ALREADYEXISTS] INBOX already exists");
  if (acl::in_shared_namespace(*from) || acl::in_shared_namespace(*to))
    co_return Reply::no("[CANNOT] Shared folders cannot be renamed over IMAP");
  std::string account = s.principal.account_id;
  std::string a = *from, b = *to;
  auto fn3 = [&s, &account, &a, &b] { return s.services.store->rename_mailbox(account, a, b); };
  auto st = co_await net::blocking(*s.services.workers, fn3);
  if (!st) co_return Session::store_error(st);
  // RFC 9051 7.3.1 (mbox-list-oldname): a rev2 client learns the new name with the old one.
  if (s.rev2)
    s.untagged("LIST () \"/\" " + Session::mailbox_string(b, true) + " (\"OLDNAME\" (" +
               Session::mailbox_string(a, true) + "))");
  co_return Reply::ok("RENAME completed");
}

asio::awaitable<Reply> cmd_subscribe(Session& s, const proto::Command& cmd) {
  auto name = s.mailbox_from_wire(cmd.args[0]);
  if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
  bool on = cmd.name == "SUBSCRIBE";
  if (on && acl::in_shared_namespace(*name)) {  // RFC 4314 4: SUBSCRIBE needs "l"
    auto target = co_await resolve_target(s, *name);
    if (!target) co_return Session::store_error(target.status());
  }
  std::string account = s.principal.account_id;
  std::string mailbox = *name;
  auto fn4 = [&s, &account, &mailbox, on] {
    return s.services.store->set_subscribed(account, mailbox, on);
  };
  auto st = co_await net::blocking(*s.services.workers, fn4);
  if (!st) co_return Session::store_error(st);
  co_return Reply::ok(cmd.name + " completed");
}

}  // namespace mailroom::imap
