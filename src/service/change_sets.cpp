#include "src/service/change_sets.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "auth/app_passwords.h"
#include "src/service/app_passwords.h"
#include "src/service/blocklists.h"
#include "src/service/change_tracking.h"

namespace mailroom::service {
namespace {

core::Status change_sets_conflict(const std::string& object, const std::string& change_set) {
  return core::Status::error(core::Code::already_exists,
                             object + " has changed since change set " + change_set +
                                 "; revert the later change sets first");
}

// Adds the set being reverted to a failure's message, keeping its code.
core::Status change_sets_refused(const core::Status& st, const std::string& change_set) {
  if (st.code() == core::Code::internal || st.code() == core::Code::io_error ||
      st.code() == core::Code::unavailable) {
    return st;
  }
  return core::Status::error(st.code(),
                             "cannot revert change set " + change_set + ": " + st.client_message(),
                             st.log_detail());
}

}  // namespace

ChangeSets::ChangeSets(ChangeJournal& journal, auth::LocalDirectory* directory,
                       std::string data_dir, auth::AppPasswordStore* app_passwords,
                       ChangeContext change)
    : journal_(journal),
      directory_(directory),
      data_dir_(std::move(data_dir)),
      app_passwords_(app_passwords),
      change_(std::move(change)) {}

core::Result<std::vector<ChangeRecord>> ChangeSets::list(const JournalFilter& filter) {
  return journal_.list(filter);
}

core::Result<std::vector<ChangeRecord>> ChangeSets::show(const std::string& change_set) {
  return journal_.show(change_set);
}

core::Result<std::vector<ChangeRecord>> ChangeSets::revert(const std::string& change_set) {
  auto made = revert_once(change_set);
  if (made.code() != core::Code::already_exists) return made;
  // A conflict: say so plainly when it is because the set was reverted already.
  JournalFilter f;
  f.reverts = change_set;
  f.limit = 1;
  auto earlier = journal_.list(f);
  if (earlier && !earlier->empty()) {
    return core::Status::error(core::Code::already_exists,
                               "change set " + change_set + " was already reverted by change set " +
                                   earlier->front().change_set);
  }
  return made;
}

core::Result<std::vector<ChangeRecord>> ChangeSets::revert_once(const std::string& change_set) {
  auto entries = journal_.entries(change_set);
  if (!entries) return entries.status();
  std::reverse(entries->begin(), entries->end());  // undo the last change first

  ChangeContext ctx = change_;
  std::vector<ChangeRecord> made;
  ctx.changes = &made;

  std::vector<std::pair<tracking::ObjectKey, const JournalEntry*>> directory_entries;
  std::vector<JournalEntry> other_records;          // the revert's records outside directory.db
  std::vector<std::function<core::Status()>> undo;  // their writes, run after every check
  core::Result<std::vector<filter::BlockEntry>> blocked = std::vector<filter::BlockEntry>{};
  bool blocklist_read = false;

  for (const JournalEntry& e : *entries) {
    const ChangeRecord& r = e.record;
    tracking::ObjectKey key;
    if (tracking::key_of_record(r, &key)) {
      if (!directory_) {
        return core::invalid_argument("cannot revert change set " + change_set + ": " + r.object +
                                      " is not in a writable local directory");
      }
      directory_entries.emplace_back(key, &e);
      continue;
    }
    if (r.object.rfind("blocklist:", 0) == 0) {
      tracking::Fields f =
          tracking::decode_fields(e.restore_after.empty() ? e.restore_before : e.restore_after);
      filter::BlockEntry entry{tracking::field(f, "kind"), tracking::field(f, "value")};
      if (!blocklist_read) {
        blocked = Blocklists(data_dir_).list();
        if (!blocked) return blocked.status();
        blocklist_read = true;
      }
      bool present = std::any_of(blocked->begin(), blocked->end(), [&](const auto& b) {
        return b.kind == entry.kind && b.value == entry.value;
      });
      if (present != !e.restore_after.empty()) return change_sets_conflict(r.object, change_set);
      const bool add_back = !e.restore_before.empty();
      if (add_back) {
        blocked->push_back(entry);
      } else {
        std::erase_if(*blocked, [&](const auto& b) {
          return b.kind == entry.kind && b.value == entry.value;
        });
      }
      other_records.push_back(
          tracking::make_entry(ctx, add_back ? "blocklist.add" : "blocklist.remove", r.object, "",
                               r.after, r.before, e.restore_after, e.restore_before));
      undo.push_back([this, entry, add_back]() -> core::Status {
        Blocklists lists(data_dir_);
        auto done =
            add_back ? lists.add(entry.kind, entry.value) : lists.remove(entry.kind, entry.value);
        return done.status();
      });
      continue;
    }
    if (r.operation == "app_password.create") {
      if (!app_passwords_) {
        return core::invalid_argument("cannot revert change set " + change_set +
                                      ": app passwords are not available here");
      }
      tracking::Fields f = tracking::decode_fields(e.restore_after);
      const std::string id = tracking::field(f, "id");
      const std::string account_id = tracking::field(f, "account_id");
      auto current = app_passwords_->get(id);
      if (!current) return change_sets_refused(current.status(), change_set);
      if (!current->active()) return change_sets_conflict(r.object, change_set);
      auth::AppPassword after = *current;
      after.revoked_at = journal_.now();
      after.revoked_reason = "reverted";
      std::string address;
      auto at = r.object.find(':');
      auto last = r.object.rfind(':');
      if (at != std::string::npos && last > at) address = r.object.substr(at + 1, last - at - 1);
      other_records.push_back(tracking::make_entry(
          ctx, "app_password.revoke", r.object, id, r.after,
          AppPasswords::app_password_json(after, address), e.restore_after, e.restore_after));
      undo.push_back([this, account_id, id]() -> core::Status {
        return app_passwords_->revoke(account_id, id, "reverted").status();
      });
      continue;
    }
    if (r.operation == "app_password.revoke") {
      return core::invalid_argument("cannot revert change set " + change_set + ": it revoked " +
                                    r.object +
                                    ", and a revoked app password cannot come back "
                                    "(its secret is gone); create a new one");
    }
    return core::invalid_argument("cannot revert change set " + change_set + ": " + r.operation +
                                  " cannot be reverted");
  }

  auto run_undo = [&]() -> core::Status {
    for (const auto& u : undo) {
      if (auto st = u(); !st) return st;
    }
    return core::Status::ok();
  };

  if (directory_entries.empty()) {
    if (!ctx.dry_run) {
      if (auto st = run_undo(); !st) return st;
    }
    if (auto st = tracking::finish_entries(ctx, std::move(other_records), change_set); !st) {
      return st;
    }
    if (change_.changes) change_.changes->insert(change_.changes->end(), made.begin(), made.end());
    return made;
  }

  auto keys = [&]() -> core::Result<std::vector<tracking::ObjectKey>> {
    std::vector<tracking::ObjectKey> out;
    for (const auto& [key, e] : directory_entries) {
      // Removing an account or a domain also takes members out of groups: watch those too.
      if (e->restore_before.empty() && key.kind == tracking::ObjectKind::user) {
        auto groups = tracking::groups_with_members(*directory_,
                                                    tracking::restore_addresses(e->restore_after));
        if (!groups) return groups.status();
        out.insert(out.end(), groups->begin(), groups->end());
      } else if (e->restore_before.empty() && key.kind == tracking::ObjectKind::domain) {
        auto groups = tracking::groups_with_members(*directory_, {}, key.key);
        if (!groups) return groups.status();
        out.insert(out.end(), groups->begin(), groups->end());
      }
      out.push_back(key);
    }
    return out;
  };
  auto body = [&]() -> core::Status {
    for (const auto& [key, e] : directory_entries) {
      auto current = tracking::load_state(*directory_, key);
      if (!current) return current.status();
      if (current->restore != e->restore_after) {
        return change_sets_conflict(e->record.object, change_set);
      }
      if (auto st = tracking::restore_object(*directory_, key, e->restore_before); !st) {
        return change_sets_refused(st, change_set);
      }
    }
    return core::Status::ok();
  };
  auto st = tracking::run_tracked(*directory_, ctx, "", keys, body, change_set,
                                  std::move(other_records), run_undo);
  if (!st) return st;
  if (change_.changes) change_.changes->insert(change_.changes->end(), made.begin(), made.end());
  return made;
}

}  // namespace mailroom::service
