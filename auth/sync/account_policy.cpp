#include "auth/sync/account_policy.h"

#include <algorithm>
#include <cstdlib>

#include "src/core/log.h"

namespace mailroom::auth::sync {
namespace {
constexpr const char* kGracePrefix = "grace:";
}  // namespace

bool same_account_data(const Account& a, const Account& b) {
  return a.login == b.login && a.address == b.address && a.other_addresses == b.other_addresses &&
         a.display_name == b.display_name && a.status == b.status &&
         a.quota_bytes == b.quota_bytes && a.quota_messages == b.quota_messages &&
         a.forward_to == b.forward_to && a.forward_keep_copy == b.forward_keep_copy &&
         a.send_as == b.send_as && a.manager == b.manager;
}

Status keep_old_address(LocalDirectory& replica, const AccountRecord& incoming,
                        const std::string& was, int64_t grace_seconds, int64_t now) {
  if (grace_seconds <= 0) return Status::ok();  // (leftover grace aliases still expire)
  const Account& acc = incoming.account;
  // The new primary address is an account's again: a grace alias of that name must go.
  auto stale = replica.get_sync_state(kGracePrefix + acc.address);
  if (stale && !stale->empty()) {
    auto st = replica.remove_alias(acc.address);
    if (!st && st.code() != Code::not_found) return st;
    if (st = replica.set_sync_state(kGracePrefix + acc.address, ""); !st) return st;
  }
  if (was == acc.address || was.empty()) return Status::ok();
  // Still one of the account's addresses (kept as a secondary upstream): nothing to keep.
  if (std::find(acc.other_addresses.begin(), acc.other_addresses.end(), was) !=
      acc.other_addresses.end())
    return Status::ok();
  auto up = replica.upsert_alias(Alias{was, {acc.address}}, kSourceGrace);
  if (!up) return up.status();
  MR_LOG_INFO("event=old_address_grace account={} old={} new={} until={}", acc.id, was, acc.address,
              now + grace_seconds);
  return replica.set_sync_state(kGracePrefix + was, std::to_string(now + grace_seconds));
}

bool is_grace_alias(LocalDirectory& replica, const std::string& address, int64_t now) {
  auto until = replica.get_sync_state(kGracePrefix + address);
  return until && !until->empty() && std::strtoll(until->c_str(), nullptr, 10) > now;
}

Result<int> expire_old_addresses(LocalDirectory& replica, int64_t now) {
  auto entries = replica.list_sync_state(kGracePrefix);
  if (!entries) return entries.status();
  int removed = 0;
  for (const auto& [key, until] : *entries) {
    if (std::strtoll(until.c_str(), nullptr, 10) > now) continue;
    std::string address = key.substr(std::char_traits<char>::length(kGracePrefix));
    auto st = replica.remove_alias(address);
    if (!st && st.code() != Code::not_found) return st;
    if (auto s2 = replica.set_sync_state(key, ""); !s2) return s2;
    MR_LOG_INFO("event=old_address_grace_over address={}", address);
    ++removed;
  }
  return removed;
}

Status note_account_status(LocalDirectory& replica, const std::string& id, AccountStatus status,
                           int64_t now) {
  std::string key = kInactivePrefix + id;
  auto have = replica.get_sync_state(key);
  bool recorded = have && !have->empty();
  if (status == AccountStatus::active) {
    if (!recorded) return Status::ok();
    // A new retention clock next time.
    if (auto st = replica.set_sync_state(std::string("retention_done:") + id, ""); !st) return st;
    if (auto st = replica.set_sync_state(key, ""); !st) return st;
    // Re-hire: the same immutable id active again. Offboarding (auth/offboarding.h) derives
    // its steps from the date just cleared, so its auto-reply and forwarding stop here.
    MR_LOG_INFO("event=account_reactivated account={} inactive_since={}", id, *have);
    return Status::ok();
  }
  if (recorded) return Status::ok();
  if (auto st = replica.set_sync_state(key, std::to_string(now)); !st) return st;
  // The start of offboarding and of the retention clock (audited with the immutable id).
  MR_LOG_INFO("event=account_inactive account={} status={} since={}", id,
              account_status_name(status), now);
  return Status::ok();
}

bool logged(const Status& s, const char* event) {
  if (s) return true;
  MR_LOG_WARN("event={} error={}", event, core::quote(s.to_string()));
  return false;
}

Result<int64_t> inactive_since(LocalDirectory& replica, const std::string& id) {
  auto have = replica.get_sync_state(kInactivePrefix + id);
  if (!have) return have.status();
  if (have->empty()) return core::not_found("account " + id + " is active");
  return static_cast<int64_t>(std::strtoll(have->c_str(), nullptr, 10));
}

}  // namespace mailroom::auth::sync
