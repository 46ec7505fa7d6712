// GETQUOTA, GETQUOTAROOT, SETQUOTA (RFC 9208). An account with limits has one quota root ""
// (its limits come from the Directory); an account without limits has no quota root.
#include "auth/directory.h"
#include "src/imap/session.h"
#include "src/mime/structure.h"

namespace mailroom::imap {
namespace {

struct Quota {
  core::Status status;
  store::QuotaUsage usage;
  uint64_t bytes = 0, messages = 0;  // limits, 0 = none
};

// The resource list of the root "" ("STORAGE 3 1024 MESSAGE 2 100"), empty without limits.
std::string resources(const Quota& q) {
  std::string res;
  if (q.bytes) {
    // RFC 9208 5.1: STORAGE in units of 1024 octets.
    res += "STORAGE " + std::to_string((q.usage.bytes + 1023) / 1024) + " " +
           std::to_string(q.bytes / 1024);
  }
  if (q.messages) {
    if (!res.empty()) res += " ";
    res += "MESSAGE " + std::to_string(q.usage.messages) + " " + std::to_string(q.messages);
  }
  return res;
}

// "Other Users/bob" of "Other Users/bob/Projects": the quota root of a shared folder.
std::string mailbox_owner_root(const std::string& name) {
  size_t first = name.find('/');
  size_t second = first == std::string::npos ? first : name.find('/', first + 1);
  return name.substr(0, second);
}

}  // namespace

asio::awaitable<Reply> cmd_quota(Session& s, const proto::Command& cmd) {
  if (cmd.name == "SETQUOTA") co_return Reply::no("[NOPERM] Quotas are set in the directory");
  if (cmd.name == "GETQUOTA" && !cmd.args[0].empty())
    co_return Reply::no("[NONEXISTENT] No such quota root");
  std::string account = s.principal.account_id;
  std::string root = "\"\"";
  if (cmd.name == "GETQUOTAROOT") {
    auto name = s.mailbox_from_wire(cmd.args[0]);
    if (!name) co_return Reply::no("[CANNOT] " + name.status().client_message());
    std::string mailbox = *name;
    // A shared folder (RFC 4314) is charged to its owner: the owner's quota, under a root
    // named after the owner's login (GETQUOTA knows only the user's own root "").
    auto target = co_await resolve_target(s, mailbox);
    if (!target) co_return Session::store_error(target.status());
    if (!target->own) {
      account = target->owner;
      mailbox = target->mailbox;
      root = mime::imap_string(mailbox_owner_root(*name));
    }
    auto fn1 = [&s, &account, &mailbox] {
      return s.services.store->mailbox_status(account, mailbox);
    };
    auto st = co_await net::blocking(*s.services.workers, fn1);
    if (!st) co_return Session::store_error(st.status());
  }
  auto fn2 = [&s, &account] {
    Quota r;
    auto usage = s.services.store->quota_usage(account);
    if (!usage) {
      r.status = usage.status();
      return r;
    }
    r.usage = *usage;
    if (s.services.directory) {
      auto acct = s.services.directory->find_account_by_id(account);
      if (acct) {
        r.bytes = acct->quota_bytes;
        r.messages = acct->quota_messages;
      } else {
        r.status = acct.status();
      }
    }
    return r;
  };
  Quota q = co_await net::blocking(*s.services.workers, fn2);
  if (!q.status) co_return Session::store_error(q.status);
  std::string res = resources(q);
  // RFC 9208 4.3.1 and 9: a QUOTA response lists at least one resource (quota_list), so
  // without limits there is no quota root: QUOTAROOT (4.3.2) names none, which its grammar
  // allows, and GETQUOTA "" answers NO as for any unknown root (4.2.1).
  if (cmd.name == "GETQUOTAROOT")
    s.untagged("QUOTAROOT " + mime::imap_string(cmd.args[0]) + (res.empty() ? "" : " " + root));
  else if (res.empty())
    co_return Reply::no("[NONEXISTENT] No quota root: this account has no quota");
  if (!res.empty()) s.untagged("QUOTA " + root + " (" + res + ")");
  co_return Reply::ok(cmd.name + " completed");
}

}  // namespace mailroom::imap
