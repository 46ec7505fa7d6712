#include "auth/sync/replica_writer.h"

#include "src/core/log.h"

namespace mailroom::auth::sync {

namespace {

// Accounts written per replica transaction.
constexpr size_t kBatch = 1000;

// Would upserting `incoming` change the stored record? (What upsert_account_by_id compares,
// with the secrets a source without them leaves alone.)
bool would_change(const AccountRecord& stored, AccountRecord incoming, bool keep_empty_secrets) {
  if (keep_empty_secrets) {
    if (incoming.account.password_hash.empty())
      incoming.account.password_hash = stored.account.password_hash;
    if (incoming.scram_secret.empty()) incoming.scram_secret = stored.scram_secret;
  }
  return !same_account_data(stored.account, incoming.account) ||
         stored.account.password_hash != incoming.account.password_hash ||
         stored.scram_secret != incoming.scram_secret;
}

}  // namespace

ReplicaWriter::ReplicaWriter(LocalDirectory& replica, const WritePolicy& policy,
                             const core::Clock& clock, SyncStats& stats, bool dry_run,
                             std::vector<SyncChange>* changes)
    : replica_(replica),
      policy_(policy),
      clock_(clock),
      stats_(stats),
      dry_run_(dry_run),
      changes_(changes) {}

Status ReplicaWriter::account(AccountRecord record) {
  ++stats_.seen;
  seen_.insert(record.account.id);
  record.source = policy_.source;
  if (!dry_run_) {
    pending_.push_back(std::move(record));
    return pending_.size() >= kBatch ? flush() : Status::ok();
  }
  auto old = replica_.get_account_record(record.account.id);
  const char* action = nullptr;
  if (!old) {
    ++stats_.created;
    action = "create";
  } else if (would_change(*old, record, policy_.keep_empty_secrets)) {
    ++stats_.updated;
    action = "update";
  } else {
    ++stats_.unchanged;
  }
  if (action && changes_) changes_->push_back({action, record.account.id, record.account.address});
  return Status::ok();
}

void ReplicaWriter::skipped(const std::string& entry, const std::string& reason) {
  ++stats_.seen;
  ++stats_.errors;
  if (!dry_run_)
    MR_LOG_WARN("event={}_sync_entry_skipped entry={} reason={}", policy_.source,
                core::quote(entry), core::quote(reason));
}

Status ReplicaWriter::flush() {
  if (pending_.empty()) return Status::ok();
  auto st = replica_.transaction([this] { return write_batch(); });
  pending_.clear();
  return st;
}

Status ReplicaWriter::write_batch() {
  const std::string& src = policy_.source;
  int64_t now = clock_.unix_seconds();
  for (const auto& rec : pending_) {
    const Account& a = rec.account;
    std::string was;  // the primary address the replica has now ("" for a new account)
    if (auto old = replica_.get_account_record(a.id)) {
      was = old->account.address;
    } else if (old.code() != Code::not_found) {
      return old.status();
    }
    if (auto g = keep_old_address(replica_, rec, was, policy_.old_address_grace_s, now); !g)
      MR_LOG_WARN("event=old_address_grace_failed id={} error={}", core::quote(a.id),
                  core::quote(g.to_string()));
    auto r = replica_.upsert_account_by_id(rec, policy_.keep_empty_secrets);
    if (!r) {
      if (r.code() == Code::unavailable || r.code() == Code::io_error) return r.status();
      ++stats_.errors;
      MR_LOG_WARN("event={}_sync_account_failed id={} address={} error={}", src, core::quote(a.id),
                  core::quote(a.address), core::quote(r.status().to_string()));
      continue;
    }
    if (a.status != AccountStatus::active || *r == UpsertResult::updated)
      logged(note_account_status(replica_, a.id, a.status, now),
             (src + "_sync_note_status_failed").c_str());
    switch (*r) {
      case UpsertResult::created:
        ++stats_.created;
        break;
      case UpsertResult::updated:
        ++stats_.updated;
        // Groups list members by primary address: a new one is renamed in place. Re-reading
        // every group for it took a 50,000-user AD half a minute per change (bench/ad), and
        // other changes of an account (password, name, status) leave the groups as they are.
        if (!was.empty() && was != a.address) {
          if (auto st = replica_.rename_group_member(was, a.address); !st) {
            if (st.code() == Code::unavailable || st.code() == Code::io_error) return st;
            groups_stale_ = true;  // the next group pass puts it right
          }
        }
        break;
      case UpsertResult::unchanged:
        ++stats_.unchanged;
        break;
    }
  }
  return Status::ok();
}

bool ReplicaWriter::has_account(const std::string& id) {
  return replica_.get_account_record(id).is_ok();
}

Status ReplicaWriter::remove(const std::string& id) {
  auto rec = replica_.get_account_record(id);
  if (!rec) return rec.code() == Code::not_found ? Status::ok() : rec.status();
  if (rec->source != policy_.source) return Status::ok();
  bool remove = policy_.on_removed == "delete";
  bool active = rec->account.status == AccountStatus::active;
  if (dry_run_) {
    if (remove || active) {
      ++stats_.removed;
      if (changes_) changes_->push_back({"remove", id, rec->account.address});
    }
    return Status::ok();
  }
  logged(note_account_status(replica_, id, AccountStatus::deleted, clock_.unix_seconds()),
         (policy_.source + "_sync_note_status_failed").c_str());
  if (!remove && !active) return Status::ok();  // disabled already
  ++stats_.removed;
  MR_LOG_INFO("event={}_sync_account_removed id={} address={} action={}", policy_.source,
              core::quote(id), core::quote(rec->account.address), policy_.on_removed);
  return remove ? replica_.delete_account_by_id(id) : replica_.disable_account_by_id(id);
}

Status ReplicaWriter::removed(const std::string& id) {
  if (auto st = flush(); !st) return st;
  return remove(id);
}

Status ReplicaWriter::remove_unseen() {
  auto ids = replica_.list_account_ids(policy_.source);
  if (!ids) return ids.status();
  for (const auto& id : *ids) {
    if (seen_.count(id)) continue;
    if (auto st = remove(id); !st) return st;
  }
  return Status::ok();
}

Status ReplicaWriter::write_domains(const SourceDomains& upstream) {
  for (const auto& d : upstream.domains) {
    auto have = replica_.find_domain(d.name);
    Status st;
    if (!have) {
      if (have.code() != Code::not_found) return have.status();
      st = replica_.add_domain(d);
      if (!st && st.code() == Code::already_exists) st = Status::ok();
    } else if (upstream.mirror && (have->kind != d.kind || have->alias_of != d.alias_of ||
                                   have->catch_all != d.catch_all)) {
      st = replica_.change_domain(d);
    }
    // Its accounts then fail one by one (counted); domains gone upstream are kept (removing
    // one would drop its accounts).
    if (!st)
      MR_LOG_WARN("event={}_sync_domain_failed domain={} error={}", policy_.source,
                  core::quote(d.name), core::quote(st.to_string()));
  }
  return Status::ok();
}

Status ReplicaWriter::write_objects(const SourceObjects& upstream) {
  const std::string& src = policy_.source;
  std::vector<std::string> groups, aliases;
  auto count = [&](const Result<UpsertResult>& u, const std::string& address, const char* kind) {
    if (!u) {
      ++stats_.errors;
      MR_LOG_WARN("event={}_sync_{}_failed address={} error={}", src, kind, core::quote(address),
                  core::quote(u.status().to_string()));
    } else if (*u != UpsertResult::unchanged) {
      ++stats_.groups;
    }
  };
  for (const auto& g : upstream.groups) {
    groups.push_back(g.address);
    if (!dry_run_) count(replica_.upsert_group(g, src), g.address, "group");
  }
  for (const auto& a : upstream.aliases) {
    aliases.push_back(a.address);
    if (!dry_run_) count(replica_.upsert_alias(a, src), a.address, "alias");
  }
  if (auto st = diff_objects(groups, "group", replica_.list_group_addresses(src)); !st) return st;
  if (auto st = diff_objects(aliases, "alias", replica_.list_alias_addresses(src)); !st) return st;
  groups_stale_ = false;
  return Status::ok();
}

// Lists what a dry run would create, and removes (or would) what is no longer upstream.
Status ReplicaWriter::diff_objects(const std::vector<std::string>& upstream, const char* kind,
                                   Result<std::vector<std::string>> have) {
  if (!have) return have.status();
  std::set<std::string> up(upstream.begin(), upstream.end());
  std::set<std::string> mine(have->begin(), have->end());
  if (dry_run_ && changes_)
    for (const auto& a : up)
      if (!mine.count(a)) changes_->push_back({std::string("create-") + kind, "", a});
  for (const auto& a : *have) {
    if (up.count(a)) continue;
    if (changes_) changes_->push_back({std::string("remove-") + kind, "", a});
    if (dry_run_) continue;
    Status st = std::string(kind) == "group" ? replica_.remove_group(a) : replica_.remove_alias(a);
    if (!st) {
      ++stats_.errors;
      MR_LOG_WARN("event={}_sync_{}_remove_failed address={} error={}", policy_.source, kind,
                  core::quote(a), core::quote(st.to_string()));
    }
  }
  return Status::ok();
}

}  // namespace mailroom::auth::sync
