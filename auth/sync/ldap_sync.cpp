#include "auth/sync/ldap_sync.h"

#include <ldap.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <set>

#include "auth/ldap/ldap_client.h"
#include "auth/ldap/ldap_directory.h"
#include "auth/sync/account_policy.h"
#include "src/core/log.h"

namespace mailroom::auth::sync {

using namespace ldap;
using Clock = std::chrono::steady_clock;

namespace {
int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 4533 section 2.2: syncUUID is the 16-octet UUID (RFC 4122 byte order).
std::string uuid_text(const berval* bv) {
  if (!bv || bv->bv_len != 16) return {};
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    auto c = static_cast<unsigned char>(bv->bv_val[i]);
    out += hex[c >> 4];
    out += hex[c & 0xf];
  }
  return out;
}

bool same_account(const Account& a, const Account& b) { return same_account_data(a, b); }

enum class Kind { account, group, alias };
}  // namespace

struct LdapSync::Impl {
  std::shared_ptr<LdapDirectory> live;
  std::shared_ptr<LdapClient> client;
  std::shared_ptr<LocalDirectory> replica;
  const LdapOptions* o = nullptr;

  std::thread thread;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
  std::string last_error;
  LdapSyncStats last_stats;

  // persist-mode refresh state
  std::vector<AccountRecord> pending;
  std::set<std::string> seen;
  bool deletes_mode = false;
  bool refresh_done = false;
  bool groups_dirty = false;
  // The first failure of a write made from a libldap callback (which cannot return it): the
  // pass then fails and its cookie is not saved, so the next pass sees the change again.
  Status callback_error;
  void keep(Status st) {
    if (!st && callback_error) callback_error = std::move(st);
  }
  LdapSyncStats run;
  std::string saved_cookie;
  uint64_t group_usn = 0;  // highest change counter among groups read by reconcile_groups

  Kind classify(const LdapEntry& e) const {
    if (e.is_a("groupOfNames") || e.is_a("groupOfUniqueNames") || e.is_a("groupOfURLs") ||
        e.is_a("group"))
      return Kind::group;
    if (e.is_a("mailroomAlias")) return Kind::alias;
    return Kind::account;
  }

  void set_state(const std::string& key, const std::string& value) {
    auto st = replica->set_sync_state(key, value);
    if (!st)
      MR_LOG_WARN("event=ldap_sync_state_failed key={} error={}", key, core::quote(st.to_string()));
  }
  std::string get_state(const std::string& key) {
    auto r = replica->get_sync_state(key);
    return r ? *r : std::string();
  }

  void fail(const std::string& what) {
    {
      std::lock_guard lock(mu);
      last_error = what;
    }
    set_state("ldap.last_error", what);
    MR_LOG_WARN("event=ldap_sync_error error={}", core::quote(what));
  }

  Status ensure_domains() {
    for (const auto& d : o->domains) {
      auto f = replica->find_domain(d);
      if (f) continue;
      if (f.code() != Code::not_found) return f.status();
      auto st = replica->add_domain(Domain{d, DomainKind::local, {}, {}});
      if (!st && st.code() != Code::already_exists) return st;
    }
    return Status::ok();
  }

  // Writes the buffered accounts in one transaction.
  Status flush(LdapSyncStats& stats) {
    if (pending.empty()) return Status::ok();
    auto st = replica->transaction([&]() -> Status {
      int64_t now = now_unix();
      for (const auto& rec : pending) {
        if (auto g = keep_old_address(*replica, rec, o->old_address_grace_s, now); !g)
          MR_LOG_WARN("event=old_address_grace_failed id={} error={}", rec.account.id,
                      core::quote(g.to_string()));
        auto r = replica->upsert_account_by_id(rec, true);
        if (!r) {
          if (r.code() == Code::unavailable || r.code() == Code::io_error) return r.status();
          ++stats.errors;
          MR_LOG_WARN("event=ldap_sync_account_failed id={} address={} error={}", rec.account.id,
                      rec.account.address, core::quote(r.status().to_string()));
          continue;
        }
        if (rec.account.status != AccountStatus::active || *r == UpsertResult::updated)
          logged(note_account_status(*replica, rec.account.id, rec.account.status, now),
                 "ldap_sync_note_status_failed");
        switch (*r) {
          case UpsertResult::created:
            ++stats.created;
            break;
          case UpsertResult::updated:
            ++stats.updated;
            if (refresh_done) groups_dirty = true;
            break;
          case UpsertResult::unchanged:
            ++stats.unchanged;
            break;
        }
      }
      return Status::ok();
    });
    pending.clear();
    return st;
  }

  void add_account(const LdapEntry& e, LdapSyncStats& stats, std::set<std::string>* ids) {
    ++stats.seen;
    auto acc = entry_to_account(e, *o, now_unix());
    if (!acc) {
      ++stats.errors;
      MR_LOG_WARN("event=ldap_sync_entry_skipped dn={} reason={}", core::quote(e.dn),
                  core::quote("no id or no mail address"));
      return;
    }
    if (ids) ids->insert(acc->id);
    AccountRecord rec;
    rec.account = std::move(*acc);
    rec.source = kSourceLdap;
    pending.push_back(std::move(rec));
  }

  // Groups and aliases: re-read all (small next to users), upsert, remove vanished ones.
  Status reconcile_groups(LdapSyncStats& stats, bool dry, std::vector<LdapSyncChange>* changes) {
    std::set<std::string> groups, aliases;
    if (!o->group_class_filter.empty()) {
      SearchRequest r;
      r.base = o->group_base;
      r.filter = o->group_class_filter;
      r.attributes = group_attributes(*o);
      r.paged = true;
      std::vector<std::string> addresses;
      auto st = client->search_each(r, [&](LdapEntry&& e) {
        if (!o->attrs.change_counter.empty())
          group_usn = std::max<uint64_t>(
              group_usn, std::strtoull(e.first(o->attrs.change_counter).c_str(), nullptr, 10));
        if (auto g = entry_to_group_header(e, *o)) addresses.push_back(g->address);
        return true;
      });
      if (!st) return st;
      for (const auto& a : addresses) {
        auto g = live->find_group(a);
        if (!g) {
          if (g.code() == Code::not_found) continue;
          return g.status();
        }
        groups.insert(g->address);
        if (dry) {
          if (changes && !replica->find_group(g->address))
            changes->push_back({"create-group", "", g->address});
          continue;
        }
        auto u = replica->upsert_group(*g, kSourceLdap);
        if (!u) {
          ++stats.errors;
          continue;
        }
        if (*u != UpsertResult::unchanged) ++stats.groups;
      }
    }
    if (!o->alias_class_filter.empty()) {
      SearchRequest r;
      r.base = o->base_dn;
      r.filter = o->alias_class_filter;
      r.attributes = {o->attrs.mail, o->attrs.alias_target};
      r.paged = true;
      std::vector<Alias> found;
      auto st = client->search_each(r, [&](LdapEntry&& e) {
        if (auto a = entry_to_alias(e, *o)) found.push_back(std::move(*a));
        return true;
      });
      if (!st) return st;
      for (const auto& a : found) {
        aliases.insert(a.address);
        if (dry) continue;
        auto u = replica->upsert_alias(a, kSourceLdap);
        if (!u) {
          ++stats.errors;
          continue;
        }
        if (*u != UpsertResult::unchanged) ++stats.groups;
      }
    }
    auto old_groups = replica->list_group_addresses(kSourceLdap);
    if (!old_groups) return old_groups.status();
    for (const auto& g : *old_groups) {
      if (groups.count(g)) continue;
      if (changes) changes->push_back({"remove-group", "", g});
      if (!dry && !logged(replica->remove_group(g), "ldap_sync_group_remove_failed"))
        ++stats.errors;
    }
    auto old_aliases = replica->list_alias_addresses(kSourceLdap);
    if (!old_aliases) return old_aliases.status();
    for (const auto& a : *old_aliases) {
      if (aliases.count(a)) continue;
      if (changes) changes->push_back({"remove-alias", "", a});
      if (!dry && !logged(replica->remove_alias(a), "ldap_sync_alias_remove_failed"))
        ++stats.errors;
    }
    groups_dirty = false;
    return Status::ok();
  }

  // An account id that vanished upstream: disabled (default) or deleted; mailbox kept.
  Status remove_account(const std::string& id, LdapSyncStats& stats) {
    auto rec = replica->get_account_record(id);
    if (!rec) return rec.code() == Code::not_found ? Status::ok() : rec.status();
    if (rec->source != kSourceLdap) return Status::ok();
    logged(note_account_status(*replica, id, AccountStatus::deleted, now_unix()),
           "ldap_sync_note_status_failed");
    if (o->on_removed == "delete") {
      ++stats.removed;
      MR_LOG_INFO("event=ldap_sync_account_removed id={} address={} action=delete", id,
                  rec->account.address);
      return replica->delete_account_by_id(id);
    }
    if (rec->account.status != AccountStatus::active) return Status::ok();
    ++stats.removed;
    MR_LOG_INFO("event=ldap_sync_account_removed id={} address={} action=disable", id,
                rec->account.address);
    return replica->disable_account_by_id(id);
  }

  Status remove_vanished(const std::set<std::string>& seen_ids, LdapSyncStats& stats, bool dry,
                         std::vector<LdapSyncChange>* changes) {
    auto ids = replica->list_account_ids(kSourceLdap);
    if (!ids) return ids.status();
    for (const auto& id : *ids) {
      if (seen_ids.count(id)) continue;
      if (dry) {
        auto rec = replica->get_account_record(id);
        if (rec && (o->on_removed == "delete" || rec->account.status == AccountStatus::active)) {
          ++stats.removed;
          if (changes) changes->push_back({"remove", id, rec->account.address});
        }
        continue;
      }
      auto st = remove_account(id, stats);
      if (!st) return st;
    }
    return Status::ok();
  }

  void mark_ready() {
    std::lock_guard lock(mu);
    ready = true;
    cv.notify_all();
  }

  // Grace aliases of old addresses whose time is over (checked every grace/4, 1..30 s).
  Clock::time_point next_expiry{};
  void expire_grace() {
    if (Clock::now() < next_expiry) return;
    int64_t every = o->old_address_grace_s > 0 ? o->old_address_grace_s / 4 : 30;
    next_expiry = Clock::now() + std::chrono::seconds(std::clamp<int64_t>(every, 1, 30));
    auto r = expire_old_addresses(*replica, now_unix());
    if (!r)
      MR_LOG_WARN("event=old_address_grace_expiry_failed error={}",
                  core::quote(r.status().to_string()));
  }

  void finish_pass(const LdapSyncStats& stats) {
    expire_grace();
    {
      std::lock_guard lock(mu);
      last_stats = stats;
      last_error.clear();
    }
    set_state("ldap.last_sync", std::to_string(now_unix()));
    set_state("ldap.last_error", "");
    set_state("ldap.last_counts",
              "seen=" + std::to_string(stats.seen) + " created=" + std::to_string(stats.created) +
                  " updated=" + std::to_string(stats.updated) + " removed=" +
                  std::to_string(stats.removed) + " errors=" + std::to_string(stats.errors));
  }

  // ---- RFC 4533 refreshAndPersist (ldap_sync_* API of libldap) ----
  static int on_entry(ldap_sync_t* ls, LDAPMessage* msg, struct berval* uuid,
                      ldap_sync_refresh_t phase);
  static int on_intermediate(ldap_sync_t* ls, LDAPMessage* msg, BerVarray uuids,
                             ldap_sync_refresh_t phase);
  static int on_result(ldap_sync_t* ls, LDAPMessage* msg, int refresh_deletes);
  void save_cookie(const ldap_sync_t& ls);
  void refresh_complete(ldap_sync_t* ls);
  void run_persist();
};

void LdapSync::Impl::save_cookie(const ldap_sync_t& ls) {
  if (!ls.ls_cookie.bv_val) return;
  std::string c(ls.ls_cookie.bv_val, ls.ls_cookie.bv_len);
  if (c == saved_cookie) return;
  saved_cookie = c;
  set_state("ldap.cookie", c);
}

int LdapSync::Impl::on_entry(ldap_sync_t* ls, LDAPMessage* msg, struct berval* uuid,
                             ldap_sync_refresh_t phase) {
  auto* self = static_cast<Impl*>(ls->ls_private);
  std::string id = uuid_text(uuid);
  switch (phase) {
    case LDAP_SYNC_CAPI_ADD:
    case LDAP_SYNC_CAPI_MODIFY: {
      LdapEntry e = LdapClient::parse_message(ls->ls_ld, msg);
      if (!id.empty()) self->seen.insert(id);
      Kind k = self->classify(e);
      if (k == Kind::account) {
        self->add_account(e, self->run, nullptr);
        if (self->pending.size() >= 1000) self->keep(self->flush(self->run));
      } else {
        self->groups_dirty = true;
      }
      break;
    }
    case LDAP_SYNC_CAPI_PRESENT:
      if (!id.empty()) self->seen.insert(id);
      break;
    case LDAP_SYNC_CAPI_DELETE: {
      self->keep(self->flush(self->run));
      auto rec = self->replica->get_account_record(id);
      if (rec)
        self->keep(self->remove_account(id, self->run));
      else
        self->groups_dirty = true;
      break;
    }
    default:
      break;
  }
  return LDAP_SUCCESS;
}

int LdapSync::Impl::on_intermediate(ldap_sync_t* ls, LDAPMessage*, BerVarray uuids,
                                    ldap_sync_refresh_t phase) {
  auto* self = static_cast<Impl*>(ls->ls_private);
  switch (phase) {
    case LDAP_SYNC_CAPI_PRESENTS_IDSET:
      for (int i = 0; uuids && uuids[i].bv_val; ++i) self->seen.insert(uuid_text(&uuids[i]));
      break;
    case LDAP_SYNC_CAPI_DELETES_IDSET:
      self->deletes_mode = true;
      self->keep(self->flush(self->run));
      for (int i = 0; uuids && uuids[i].bv_val; ++i) {
        std::string id = uuid_text(&uuids[i]);
        if (self->replica->get_account_record(id))
          self->keep(self->remove_account(id, self->run));
        else
          self->groups_dirty = true;
      }
      break;
    case LDAP_SYNC_CAPI_DELETES:
      self->deletes_mode = true;
      break;
    case LDAP_SYNC_CAPI_DONE:
      self->refresh_complete(ls);
      break;
    default:
      break;
  }
  return LDAP_SUCCESS;
}

int LdapSync::Impl::on_result(ldap_sync_t* ls, LDAPMessage*, int refresh_deletes) {
  // refreshOnly end, or the server ended the persist search.
  auto* self = static_cast<Impl*>(ls->ls_private);
  if (!self->refresh_done) {
    self->deletes_mode = self->deletes_mode || refresh_deletes;
    self->refresh_complete(ls);
  }
  return LDAP_SUCCESS;
}

void LdapSync::Impl::refresh_complete(ldap_sync_t* ls) {
  if (refresh_done) return;
  auto st = callback_error ? flush(run) : std::exchange(callback_error, Status::ok());
  // Present phase (no session log): whatever was not mentioned is gone (RFC 4533 3.4).
  if (st && !deletes_mode) st = remove_vanished(seen, run, false, nullptr);
  if (st) st = reconcile_groups(run, false, nullptr);
  seen.clear();
  refresh_done = true;
  if (!st) {
    fail("refresh: " + st.to_string());
  } else {
    save_cookie(*ls);
    finish_pass(run);
    MR_LOG_INFO(
        "event=ldap_sync_refresh_done created={} updated={} unchanged={} removed={} errors={}",
        run.created, run.updated, run.unchanged, run.removed, run.errors);
  }
  mark_ready();
}

void LdapSync::Impl::run_persist() {
  std::string filter =
      "(|" + o->user_class_filter + o->group_class_filter + o->alias_class_filter + ")";
  std::vector<std::string> attr_names = account_attributes(*o);
  for (const auto& a : group_attributes(*o)) attr_names.push_back(a);
  if (!o->attrs.alias_target.empty()) attr_names.push_back(o->attrs.alias_target);
  std::vector<char*> attrs;
  for (auto& a : attr_names) attrs.push_back(a.data());
  attrs.push_back(nullptr);
  std::string base = o->base_dn;

  while (!stopping) {
    if (auto st = ensure_domains(); !st) {
      fail("domains: " + st.to_string());
    }
    auto raw = client->open_raw();
    if (!raw) {
      fail("connect: " + raw.status().log_detail());
      mark_ready();  // readiness means "first attempt over", status() tells the outcome
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(std::max(1, o->sync_interval_s / 10)),
                  [&] { return stopping.load(); });
      continue;
    }
    ldap_sync_t ls;
    ldap_sync_initialize(&ls);
    ls.ls_base = base.data();
    ls.ls_scope = LDAP_SCOPE_SUBTREE;
    ls.ls_filter = filter.data();
    ls.ls_attrs = attrs.data();
    ls.ls_timeout = 1;  // poll wakes up every second to look at `stopping`
    ls.ls_search_entry = &Impl::on_entry;
    ls.ls_intermediate = &Impl::on_intermediate;
    ls.ls_search_result = &Impl::on_result;
    ls.ls_private = this;
    ls.ls_ld = static_cast<LDAP*>(LdapClient::raw_handle(**raw));
    saved_cookie = get_state("ldap.cookie");
    if (!saved_cookie.empty())
      ber_str2bv(saved_cookie.c_str(), saved_cookie.size(), 1, &ls.ls_cookie);
    seen.clear();
    deletes_mode = false;
    refresh_done = false;
    run = LdapSyncStats{};
    int rc = ldap_sync_init_refresh_and_persist(&ls);
    if (rc == LDAP_SYNC_REFRESH_REQUIRED && !saved_cookie.empty()) {
      // The provider cannot resume from our cookie: start over with a full refresh.
      MR_LOG_WARN("event=ldap_sync_refresh_required");
      set_state("ldap.cookie", "");
      saved_cookie.clear();
      ldap_memfree(ls.ls_cookie.bv_val);
      ls.ls_cookie = berval{0, nullptr};
      rc = ldap_sync_init_refresh_and_persist(&ls);
    }
    if (rc != LDAP_SUCCESS) {
      fail(std::string("refreshAndPersist: ") + ldap_err2string(rc));
    } else {
      while (!stopping) {
        rc = ldap_sync_poll(&ls);
        if (rc != LDAP_SUCCESS) break;
        if (refresh_done) {
          expire_grace();
          bool changed = !pending.empty() || groups_dirty;
          auto st = callback_error ? flush(run) : std::exchange(callback_error, Status::ok());
          if (st && groups_dirty) st = reconcile_groups(run, false, nullptr);
          if (!st) {
            fail("persist: " + st.to_string());
          } else {
            save_cookie(ls);
            if (changed) set_state("ldap.last_sync", std::to_string(now_unix()));
          }
        }
      }
      if (!stopping) fail(std::string("persist search ended: ") + ldap_err2string(rc));
      pending.clear();
    }
    if (ls.ls_cookie.bv_val) ldap_memfree(ls.ls_cookie.bv_val);
    ls.ls_cookie = berval{0, nullptr};
    if (ls.ls_msgid > 0 && !stopping) ldap_abandon_ext(ls.ls_ld, ls.ls_msgid, nullptr, nullptr);
    raw->reset();  // unbinds
    if (!stopping) {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(std::max(1, o->sync_interval_s / 10)),
                  [&] { return stopping.load(); });
    }
  }
}

LdapSync::LdapSync(std::shared_ptr<LdapDirectory> live, std::shared_ptr<LocalDirectory> replica)
    : impl_(std::make_unique<Impl>()) {
  impl_->live = std::move(live);
  impl_->client = impl_->live->client();
  impl_->replica = std::move(replica);
  impl_->o = &impl_->client->options();
}

LdapSync::~LdapSync() { stop(); }

Result<LdapSyncStats> LdapSync::full_sync(bool dry_run, std::vector<LdapSyncChange>* changes) {
  Impl& m = *impl_;
  const LdapOptions& o = *m.o;
  auto t0 = Clock::now();
  LdapSyncStats stats;
  if (!dry_run)
    if (auto st = m.ensure_domains(); !st) return st;
  std::set<std::string> ids;
  std::vector<AccountRecord> local_pending;
  uint64_t max_usn = 0;
  SearchRequest r;
  r.base = o.user_base;
  r.filter = o.user_class_filter;
  r.attributes = account_attributes(o);
  r.paged = true;
  Status write_error;
  auto st = m.client->search_each(r, [&](LdapEntry&& e) {
    if (!o.attrs.change_counter.empty()) {
      uint64_t usn = std::strtoull(e.first(o.attrs.change_counter).c_str(), nullptr, 10);
      max_usn = std::max(max_usn, usn);
    }
    if (dry_run) {
      ++stats.seen;
      auto acc = entry_to_account(e, o, now_unix());
      if (!acc) {
        ++stats.errors;
        return true;
      }
      ids.insert(acc->id);
      auto old = m.replica->get_account_record(acc->id);
      if (!old) {
        ++stats.created;
        if (changes) changes->push_back({"create", acc->id, acc->address});
      } else if (!same_account(old->account, *acc)) {
        ++stats.updated;
        if (changes) changes->push_back({"update", acc->id, acc->address});
      } else {
        ++stats.unchanged;
      }
      return true;
    }
    m.add_account(e, stats, &ids);
    if (m.pending.size() >= 2000) {
      write_error = m.flush(stats);
      if (!write_error) return false;
    }
    return true;
  });
  if (!st) {
    m.pending.clear();
    m.fail("full sync: " + st.to_string());
    return st;
  }
  if (!write_error) {
    m.pending.clear();
    return write_error;
  }
  if (!dry_run) {
    if (auto f = m.flush(stats); !f) return f;
  }
  // Deletions only after a complete, successful read.
  if (auto d = m.remove_vanished(ids, stats, dry_run, changes); !d) return d;
  if (auto g = m.reconcile_groups(stats, dry_run, changes); !g) return g;
  max_usn = std::max(max_usn, m.group_usn);
  stats.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!dry_run) {
    if (!o.attrs.change_counter.empty()) m.set_state("ldap.usn", std::to_string(max_usn));
    m.set_state("ldap.full_compare_at", std::to_string(now_unix()));
    m.finish_pass(stats);
  }
  return stats;
}

Result<LdapSyncStats> LdapSync::poll_once() {
  Impl& m = *impl_;
  const LdapOptions& o = *m.o;
  std::string usn_text = m.get_state("ldap.usn");
  int64_t last_full = std::strtoll(m.get_state("ldap.full_compare_at").c_str(), nullptr, 10);
  if (o.attrs.change_counter.empty() || usn_text.empty() ||
      now_unix() - last_full >= o.full_compare_s)
    return full_sync();
  auto t0 = Clock::now();
  uint64_t usn = std::strtoull(usn_text.c_str(), nullptr, 10);
  uint64_t max_usn = usn;
  LdapSyncStats stats;
  std::string since = "(" + o.attrs.change_counter + ">=" + std::to_string(usn + 1) + ")";
  SearchRequest r;
  r.base = o.user_base;
  r.filter = "(&" + o.user_class_filter + since + ")";
  r.attributes = account_attributes(o);
  r.paged = true;
  auto st = m.client->search_each(r, [&](LdapEntry&& e) {
    max_usn = std::max<uint64_t>(
        max_usn, std::strtoull(e.first(o.attrs.change_counter).c_str(), nullptr, 10));
    m.add_account(e, stats, nullptr);
    return true;
  });
  if (!st) {
    m.pending.clear();
    m.fail("poll: " + st.to_string());
    return st;
  }
  if (auto f = m.flush(stats); !f) return f;
  bool groups_changed = stats.updated > 0;
  if (!o.group_class_filter.empty()) {
    SearchRequest g;
    g.base = o.group_base;
    g.filter = "(&" + o.group_class_filter + since + ")";
    g.attributes = {o.attrs.change_counter};
    auto gs = m.client->search_each(g, [&](LdapEntry&& e) {
      max_usn = std::max<uint64_t>(
          max_usn, std::strtoull(e.first(o.attrs.change_counter).c_str(), nullptr, 10));
      groups_changed = true;
      return true;
    });
    if (!gs) {
      m.fail("poll groups: " + gs.to_string());
      return gs;
    }
  }
  if (groups_changed)
    if (auto g = m.reconcile_groups(stats, false, nullptr); !g) return g;
  m.set_state("ldap.usn", std::to_string(max_usn));
  stats.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  m.finish_pass(stats);
  return stats;
}

void LdapSync::start() {
  Impl& m = *impl_;
  if (m.thread.joinable() || m.o->sync_mode == "off") {
    m.mark_ready();
    return;
  }
  m.stopping = false;
  if (m.o->sync_mode == "persist") {
    m.thread = std::thread([&m] { m.run_persist(); });
  } else {
    m.thread = std::thread([this, &m] {
      while (!m.stopping) {
        (void)poll_once();  // logs its own outcome and records it in the sync state
        m.mark_ready();
        std::unique_lock lock(m.mu);
        m.cv.wait_for(lock, std::chrono::seconds(std::max(1, m.o->sync_interval_s)),
                      [&] { return m.stopping.load(); });
      }
    });
  }
}

void LdapSync::stop() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    m.stopping = true;
    m.cv.notify_all();
  }
  if (m.thread.joinable()) m.thread.join();
}

bool LdapSync::wait_ready(int timeout_ms) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [&] { return impl_->ready; });
}

std::vector<std::pair<std::string, std::string>> LdapSync::status() {
  Impl& m = *impl_;
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("mode", m.o->sync_mode);
  out.emplace_back("server", m.client->current_server());
  for (const char* k : {"ldap.last_sync", "ldap.last_error", "ldap.last_counts", "ldap.usn",
                        "ldap.full_compare_at"})
    out.emplace_back(k, m.get_state(k));
  std::string cookie = m.get_state("ldap.cookie");
  out.emplace_back("ldap.cookie", cookie.empty() ? "" : cookie);
  std::string last = m.get_state("ldap.last_sync");
  if (!last.empty())
    out.emplace_back("lag_seconds",
                     std::to_string(now_unix() - std::strtoll(last.c_str(), nullptr, 10)));
  return out;
}

}  // namespace mailroom::auth::sync
