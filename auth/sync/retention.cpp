#include "auth/sync/retention.h"

#include <cstdlib>

#include "auth/sync/account_policy.h"
#include "src/core/config_section.h"

namespace mailroom::auth::sync {
namespace {
constexpr const char* kDonePrefix = "retention_done:";
}  // namespace

RetentionOptions parse_retention_options(core::ConfigSection& s) {
  RetentionOptions o;
  o.retention_s = s.get_seconds("retention", 0);
  o.action = s.get_choice("retention_action", "keep", {"keep", "archive", "delete"});
  return o;
}

Result<std::vector<RetentionItem>> due_for_retention(LocalDirectory& replica,
                                                     const RetentionOptions& o,
                                                     const core::Clock& clock) {
  const int64_t now = clock.unix_seconds();
  std::vector<RetentionItem> out;
  if (o.action == "keep") return out;
  auto inactive = replica.list_sync_state(kInactivePrefix);
  if (!inactive) return inactive.status();
  for (const auto& [key, since_text] : *inactive) {
    RetentionItem item;
    item.account_id = key.substr(std::char_traits<char>::length(kInactivePrefix));
    item.inactive_since = std::strtoll(since_text.c_str(), nullptr, 10);
    auto done = replica.get_sync_state(kDonePrefix + item.account_id);
    if (done && !done->empty()) continue;
    // A policy bundle of the account (auth/policy/policy.h) may set its own retention; an
    // account whose row is gone has no groups left and gets the server's.
    int64_t retention = o.retention_s;
    auto rec = replica.get_account_record(item.account_id);
    if (rec) {
      if (rec->account.status == AccountStatus::active) continue;  // came back
      item.address = rec->account.address;
      auto applied = replica.policies_for_account(item.account_id);
      if (!applied) return applied.status();
      auto e = resolve_policy(rec->account, *applied);
      if (e.retention_seconds) retention = *e.retention_seconds;
    } else if (rec.code() != Code::not_found) {
      return rec.status();
    }
    if (retention <= 0) continue;  // forever
    item.due_at = item.inactive_since + retention;
    if (item.due_at > now) continue;
    out.push_back(std::move(item));
  }
  return out;
}

Status mark_retention_done(LocalDirectory& replica, const std::string& account_id,
                           const std::string& what, const core::Clock& clock) {
  return replica.set_sync_state(kDonePrefix + account_id,
                                std::to_string(clock.unix_seconds()) + " " + what);
}

}  // namespace mailroom::auth::sync
