#include "auth/sync/ldap_sync.h"

#include <ldap.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "auth/ldap/ldap_client.h"
#include "auth/ldap/ldap_directory.h"
#include "auth/sync/ad_resume.h"
#include "auth/sync/group_expansion.h"
#include "auth/sync/sync_source.h"
#include "src/core/log.h"

namespace mailroom::auth::sync {

using namespace ldap;

namespace {

constexpr const char* kUsnKey = "ldap.usn";
constexpr const char* kInvocationKey = "ldap.invocation_id";  // the DC kUsnKey belongs to
constexpr const char* kCookieKey = "ldap.cookie";
constexpr const char* kNoAccount = "no id or no mail address";

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

bool is_group_or_alias(const LdapEntry& e) {
  return e.is_a("groupOfNames") || e.is_a("groupOfUniqueNames") || e.is_a("groupOfURLs") ||
         e.is_a("group") || e.is_a("mailroomAlias");
}

// Whether the refresh ends with a refreshPresent syncInfo, i.e. after a present phase, where
// whatever the server did not mention is gone (RFC 4533 3.4). libldap reports the end of the
// refresh as LDAP_SYNC_CAPI_DONE either way; a provider answering a cookie that is up to date
// sends refreshDelete with refreshDone and no entries, and taking that for a present phase
// disabled every account. Anything that cannot be read as refreshPresent counts as not.
bool ends_present_phase(LDAP* ld, LDAPMessage* msg) {
  char* oid = nullptr;
  berval* data = nullptr;
  bool present = false;
  if (ldap_parse_intermediate(ld, msg, &oid, &data, nullptr, 0) == LDAP_SUCCESS && data) {
    if (BerElement* ber = ber_init(data)) {
      ber_len_t len = 0;
      present = ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_REFRESH_PRESENT;
      ber_free(ber, 1);
    }
  }
  if (data) ber_bvfree(data);
  if (oid) ldap_memfree(oid);
  return present;
}

Marks cookie_of(const ldap_sync_t& ls) {
  if (!ls.ls_cookie.bv_val) return {};
  return {{kCookieKey, std::string(ls.ls_cookie.bv_val, ls.ls_cookie.bv_len)}};
}

class LdapSource final : public SyncSource {
 public:
  LdapSource(std::shared_ptr<LdapDirectory> live, const core::Clock& clock)
      : live_(std::move(live)), client_(live_->client()), o_(client_->options()), clock_(clock) {}

  std::string name() const override { return kSourceLdap; }
  bool owns_secrets() const override { return false; }  // passwords: LDAP bind
  std::vector<std::string> state_keys() const override {
    return {kUsnKey, kInvocationKey, "ldap.full_compare_at", kCookieKey};
  }
  std::vector<std::pair<std::string, std::string>> status_fields() override {
    return {{"server", client_->current_server()}};
  }

  Result<SourceDomains> read_domains() override {
    SourceDomains out;  // the configured domains; not the authority on their settings
    for (const auto& d : o_.domains) out.domains.push_back(Domain{d, DomainKind::local, {}, {}});
    return out;
  }

  Status read_accounts(AccountSink& sink, Marks& next) override {
    DcIdentity dc;
    if (auto st = begin_pass(next, &dc); !st) return st;
    manager_ids_.clear();  // a full pass looks every manager up again
    if (auto st = search_accounts(o_.user_class_filter, sink, next, 0); !st) return st;
    return end_pass(dc);
  }

  bool can_read_changes(const Marks& stored) override {
    if (o_.attrs.change_counter.empty()) return false;
    auto get = [&](const char* k) {
      auto it = stored.find(k);
      return it == stored.end() ? std::string() : it->second;
    };
    auto dc = read_identity();
    if (!dc) return false;  // a full pass will tell what is wrong
    Resume verdict = decide_resume(get(kUsnKey), get(kInvocationKey), *dc);
    if (verdict == Resume::other_dc || verdict == Resume::usn_rollback)
      MR_LOG_WARN(
          "event=ldap_sync_full_resync reason={} stored_invocation_id={} invocation_id={} "
          "stored_usn={} highest_usn={}",
          resume_name(verdict), core::quote(get(kInvocationKey)), core::quote(dc->invocation_id),
          core::quote(get(kUsnKey)), dc->highest_usn);
    return verdict == Resume::changes;
  }

  Status read_changes(const Marks& stored, AccountSink& sink, Marks& next,
                      bool* groups_changed) override {
    DcIdentity dc;
    if (auto st = begin_pass(next, &dc); !st) return st;
    uint64_t usn = std::strtoull(stored.at(kUsnKey).c_str(), nullptr, 10);
    std::string since = "(" + o_.attrs.change_counter + ">=" + std::to_string(usn + 1) + ")";
    auto st = search_accounts("(&" + o_.user_class_filter + since + ")", sink, next, usn);
    if (!st) return st;
    if (!o_.group_class_filter.empty()) {
      SearchRequest g;
      g.base = o_.group_base;
      g.filter = "(&" + o_.group_class_filter + since + ")";
      g.attributes = {o_.attrs.change_counter};
      st = client_->search_each(g, [&](LdapEntry&& e) {
        raise_usn(next, e);
        *groups_changed = true;
        return true;
      });
      if (!st) return st;
    }
    if (dc.is_ad()) {
      if (st = read_tombstones(dc, since, sink, groups_changed); !st) return st;
    }
    return end_pass(dc);
  }

  Result<SourceObjects> read_groups(Marks& next) override {
    SourceObjects out;
    if (!o_.group_class_filter.empty()) {
      auto groups = read_group_members(next);
      if (!groups) return groups.status();
      out.groups = std::move(*groups);
    }
    if (!o_.alias_class_filter.empty()) {
      SearchRequest r;
      r.base = o_.base_dn;
      r.filter = o_.alias_class_filter;
      r.attributes = {o_.attrs.mail, o_.attrs.alias_target};
      r.paged = true;
      auto st = client_->search_each(r, [&](LdapEntry&& e) {
        if (auto a = entry_to_alias(e, o_)) out.aliases.push_back(std::move(*a));
        return true;
      });
      if (!st) return st;
    }
    return out;
  }

  bool can_persist() const override { return true; }
  void persist(PersistSession& session, const Marks& stored) override;

 private:
  std::optional<AccountRecord> record_of(const LdapEntry& e) const {
    auto acc = entry_to_account(e, o_, clock_.unix_seconds());
    if (!acc) return std::nullopt;
    AccountRecord rec;
    rec.account = std::move(*acc);
    resolve_manager(rec.account);
    return rec;
  }

  // Offboarding (auth/offboarding.h) forwards to the manager's account: the `manager` DN
  // becomes that account's immutable id, so the replica can answer without LDAP. One base
  // search per distinct manager, remembered until the next full pass (managers are few next
  // to the users). A DN that cannot be resolved now (not found, server busy) stays as it is;
  // the offboarding lookup then reports it.
  void resolve_manager(Account& acc) const {
    if (acc.manager.empty() || acc.manager.find('=') == std::string::npos) return;
    const std::string dn = lower(acc.manager);
    if (auto it = manager_ids_.find(dn); it != manager_ids_.end()) {
      acc.manager = it->second;
      return;
    }
    SearchRequest r;
    r.base = acc.manager;
    r.scope = Scope::base;
    r.filter = "(objectClass=*)";
    r.attributes = {o_.attrs.id};
    auto found = client_->search(r);
    if (!found || found->entries.empty()) {
      MR_LOG_WARN("event=ldap_sync_manager_unresolved account={} manager={} error={}", acc.id,
                  core::quote(acc.manager),
                  core::quote(found ? "no such entry" : found.status().log_detail()));
      return;
    }
    std::string id = entry_id(found->entries.front(), o_.attrs);
    if (id.empty()) return;
    if (manager_ids_.size() >= kMaxManagers) manager_ids_.clear();  // bounded memory
    manager_ids_[dn] = id;
    acc.manager = id;
  }
  static constexpr size_t kMaxManagers = 100000;
  mutable std::map<std::string, std::string> manager_ids_;  // lower-case DN -> account id

  // What the DC answering says about itself: rootDSE highestCommittedUSN, dsServiceName and
  // defaultNamingContext (MS-ADTS 3.1.1.3.2), then the invocationId of the nTDSDSA object
  // dsServiceName names. A server without them (slapd) gives an empty identity.
  Result<DcIdentity> read_identity() {
    DcIdentity dc;
    SearchRequest root;
    root.base = "";
    root.scope = Scope::base;
    root.filter = "(objectClass=*)";
    root.attributes = {"highestCommittedUSN", "dsServiceName", "defaultNamingContext"};
    auto r = client_->search(root);
    if (!r) return r.status();
    if (r->entries.empty()) return dc;
    const LdapEntry& e = r->entries.front();
    std::string service = e.first("dsServiceName");
    if (service.empty()) return dc;
    dc.highest_usn = std::strtoull(e.first("highestCommittedUSN").c_str(), nullptr, 10);
    dc.default_nc = e.first("defaultNamingContext");
    SearchRequest ntds;
    ntds.base = service;
    ntds.scope = Scope::base;
    ntds.filter = "(objectClass=*)";
    ntds.attributes = {"invocationId"};
    auto n = client_->search(ntds);
    if (!n) return n.status();
    if (!n->entries.empty())
      dc.invocation_id = guid_to_string(n->entries.front().first("invocationId"));
    return dc;
  }

  // Before the searches of a pass: the DC's identity. On AD the pass's mark is the
  // highestCommittedUSN read now, before the searches (Microsoft, "Polling for Changes Using
  // the USNChanged Attribute"): a change made while the pages go by has a higher USN and is
  // read again next time, where the highest uSNChanged seen could already be past it.
  Status begin_pass(Marks& next, DcIdentity* dc) {
    if (o_.attrs.change_counter.empty()) return Status::ok();
    auto id = read_identity();
    if (!id) return id.status();
    *dc = *id;
    dc_is_ad_ = dc->is_ad();
    dc_highest_usn_ = dc->highest_usn;
    next[kInvocationKey] = dc->invocation_id;
    return Status::ok();
  }

  // After the searches: the mark, if the same DC answered throughout (with several uris the
  // pool may have failed over in between; then nothing is stored and the next pass starts
  // over on the DC that answers).
  Status end_pass(const DcIdentity& before) {
    if (!before.is_ad()) return Status::ok();
    auto after = read_identity();
    if (!after) return after.status();
    if (after->invocation_id != before.invocation_id)
      return core::unavailable("directory unavailable",
                               "the domain controller changed during the sync pass (" +
                                   before.invocation_id + " -> " + after->invocation_id + ")");
    return Status::ok();
  }

  // AD tombstones changed since the mark: deleted objects keep objectGUID and move to the
  // Deleted Objects container, visible with the show-deleted control (MS-ADTS 3.1.1.5.5.1,
  // 3.1.1.3.4.1.14). The service account needs the right to list that container (Windows:
  // Administrators only by default, see "dsacls /takeownership"); when it has none the
  // search finds nothing and the periodic full compare still finds the deletion.
  Status read_tombstones(const DcIdentity& dc, const std::string& since, AccountSink& sink,
                         bool* groups_changed) {
    SearchRequest t;
    t.base = dc.default_nc.empty() ? o_.base_dn : dc.default_nc;
    t.filter = "(&(isDeleted=TRUE)(|(objectClass=user)(objectClass=group))" + since + ")";
    t.attributes = {o_.attrs.id, "objectClass"};
    t.paged = true;
    t.show_deleted = true;
    Status write_error;
    auto st = client_->search_each(t, [&](LdapEntry&& e) {
      std::string id = entry_id(e, o_.attrs);
      if (id.empty()) return true;
      if (e.is_a("group")) *groups_changed = true;
      write_error = sink.removed(id);
      return write_error.is_ok();
    });
    return st ? write_error : st;
  }

  // Raises next's high-water mark to the entry's change counter (AD uSNChanged).
  // On AD the mark is the DC's highestCommittedUSN instead (begin_pass).
  void raise_usn(Marks& next, const LdapEntry& e) const {
    if (o_.attrs.change_counter.empty() || dc_is_ad_) return;
    uint64_t have = std::strtoull(next[kUsnKey].c_str(), nullptr, 10);
    uint64_t usn = std::strtoull(e.first(o_.attrs.change_counter).c_str(), nullptr, 10);
    next[kUsnKey] = std::to_string(std::max(have, usn));
  }

  Status search_accounts(const std::string& filter, AccountSink& sink, Marks& next,
                         uint64_t from_usn) {
    if (!o_.attrs.change_counter.empty()) next[kUsnKey] = std::to_string(from_usn);
    if (dc_is_ad_) next[kUsnKey] = std::to_string(std::max(from_usn, dc_highest_usn_));
    SearchRequest r;
    r.base = o_.user_base;
    r.filter = filter;
    r.attributes = account_attributes(o_);
    r.paged = true;
    Status write_error;
    auto st = client_->search_each(r, [&](LdapEntry&& e) {
      raise_usn(next, e);
      auto rec = record_of(e);
      if (!rec) {
        sink.skipped(e.dn, kNoAccount);
        return true;
      }
      write_error = sink.account(std::move(*rec));
      return write_error.is_ok();
    });
    return st ? write_error : st;
  }

  void add_member_dns(const LdapEntry& e, GroupNode& node) const {
    if (!o_.attrs.member.empty()) node.member_dns = e.values(o_.attrs.member);
    if (!o_.attrs.unique_member.empty())
      for (const auto& v : e.values(o_.attrs.unique_member))
        node.member_dns.push_back(strip_optional_uid(v));
  }

  // Every group with its members, from one search of the groups (with their `member`
  // values) and one of the users, joined locally (group_expansion.h). Dynamic groups
  // (memberURL) are still asked of the live directory one by one.
  Result<std::vector<Group>> read_group_members(Marks& next) {
    ExpansionInput in;
    in.mode = o_.nested_groups == NestedGroups::in_chain ? NestedMode::flatten : NestedMode::keep;
    in.max_members = o_.max_group_members;
    SearchRequest r;
    r.base = o_.group_base;
    r.filter = o_.group_class_filter;
    r.attributes = group_attributes(o_);
    for (const std::string* a : {&o_.attrs.member, &o_.attrs.unique_member})
      if (!a->empty() &&
          std::find(r.attributes.begin(), r.attributes.end(), *a) == r.attributes.end())
        r.attributes.push_back(*a);
    r.paged = true;
    std::vector<std::string> dynamic;  // addresses of groups with memberURL values
    auto st = client_->search_each(r, [&](LdapEntry&& e) {
      raise_usn(next, e);
      GroupNode node;
      node.dn = e.dn;
      node.header = entry_to_group_header(e, o_);
      add_member_dns(e, node);
      if (node.header && in.mode == NestedMode::keep && !o_.attrs.member_url.empty() &&
          !e.values(o_.attrs.member_url).empty())
        dynamic.push_back(node.header->address);
      in.groups.push_back(std::move(node));
      return true;
    });
    if (!st) return st;
    // In-chain nesting passes through groups the sync does not keep (AD security groups
    // without mail): their members, from anywhere in the directory, once.
    if (in.mode == NestedMode::flatten && !o_.nested_group_filter.empty() &&
        o_.nested_group_filter != o_.group_class_filter) {
      r.base = o_.base_dn;
      r.filter = "(&" + o_.nested_group_filter + "(!" + o_.group_class_filter + "))";
      r.attributes.clear();
      for (const std::string* a : {&o_.attrs.member, &o_.attrs.unique_member})
        if (!a->empty()) r.attributes.push_back(*a);
      st = client_->search_each(r, [&](LdapEntry&& e) {
        GroupNode node;
        node.dn = e.dn;
        add_member_dns(e, node);
        in.groups.push_back(std::move(node));
        return true;
      });
      if (!st) return st;
    }
    SearchRequest u;
    u.base = o_.user_base;
    u.filter = o_.user_class_filter;
    u.attributes = account_attributes(o_);
    u.paged = true;
    int64_t now = clock_.unix_seconds();
    st = client_->search_each(u, [&](LdapEntry&& e) {
      if (auto acc = entry_to_account(e, o_, now)) in.user_address[dn_key(e.dn)] = acc->address;
      return true;
    });
    if (!st) return st;
    in.resolve_other = [this](const std::string& dn) { return live_->address_of_dn(dn); };
    size_t group_entries = in.groups.size(), users = in.user_address.size();
    auto groups = expand_groups(std::move(in));
    if (!groups) return groups.status();
    for (const auto& a : dynamic) {
      auto g = live_->find_group(a);
      if (!g && g.code() != Code::not_found) return g.status();
      for (auto& have : *groups)
        if (have.address == a && g) have.members = std::move(g->members);
    }
    MR_LOG_INFO("event=ldap_group_pass group_entries={} groups={} users={} dynamic={}",
                group_entries, groups->size(), users, dynamic.size());
    return groups;
  }

  // ---- RFC 4533 refreshAndPersist (the ldap_sync_* API of libldap) ----
  struct Context {
    LdapSource& source;
    PersistSession& session;
  };
  static int on_entry(ldap_sync_t* ls, LDAPMessage* msg, struct berval* uuid,
                      ldap_sync_refresh_t phase);
  static int on_intermediate(ldap_sync_t* ls, LDAPMessage* msg, BerVarray uuids,
                             ldap_sync_refresh_t phase);
  static int on_result(ldap_sync_t* ls, LDAPMessage* msg, int refresh_deletes);

  std::shared_ptr<LdapDirectory> live_;
  std::shared_ptr<LdapClient> client_;
  const LdapOptions& o_;
  const core::Clock& clock_;
  // The DC of the pass under way (begin_pass); the engine calls from one thread at a time.
  bool dc_is_ad_ = false;
  uint64_t dc_highest_usn_ = 0;
};

int LdapSource::on_entry(ldap_sync_t* ls, LDAPMessage* msg, struct berval* uuid,
                         ldap_sync_refresh_t phase) {
  auto& c = *static_cast<Context*>(ls->ls_private);
  std::string id = uuid_text(uuid);
  switch (phase) {
    case LDAP_SYNC_CAPI_ADD:
    case LDAP_SYNC_CAPI_MODIFY: {
      LdapEntry e = LdapClient::parse_message(ls->ls_ld, msg);
      if (!id.empty()) c.session.present(id);
      if (is_group_or_alias(e)) {
        c.session.groups_changed();
      } else if (auto rec = c.source.record_of(e)) {
        c.session.account(std::move(*rec));
      } else {
        c.session.skipped(e.dn, kNoAccount);
      }
      break;
    }
    case LDAP_SYNC_CAPI_PRESENT:
      if (!id.empty()) c.session.present(id);
      break;
    case LDAP_SYNC_CAPI_DELETE:
      c.session.removed(id);
      break;
    default:
      break;
  }
  return LDAP_SUCCESS;
}

int LdapSource::on_intermediate(ldap_sync_t* ls, LDAPMessage* msg, BerVarray uuids,
                                ldap_sync_refresh_t phase) {
  auto& c = *static_cast<Context*>(ls->ls_private);
  switch (phase) {
    case LDAP_SYNC_CAPI_PRESENTS_IDSET:
      for (int i = 0; uuids && uuids[i].bv_val; ++i) c.session.present(uuid_text(&uuids[i]));
      break;
    case LDAP_SYNC_CAPI_DELETES_IDSET:
      c.session.deletes_reported();
      for (int i = 0; uuids && uuids[i].bv_val; ++i) c.session.removed(uuid_text(&uuids[i]));
      break;
    case LDAP_SYNC_CAPI_DELETES:
      c.session.deletes_reported();
      break;
    case LDAP_SYNC_CAPI_DONE:
      if (!ends_present_phase(ls->ls_ld, msg)) c.session.deletes_reported();
      c.session.refresh_done(cookie_of(*ls));
      break;
    default:
      break;
  }
  return LDAP_SUCCESS;
}

int LdapSource::on_result(ldap_sync_t* ls, LDAPMessage*, int refresh_deletes) {
  // refreshOnly end, or the server ended the persist search.
  auto& c = *static_cast<Context*>(ls->ls_private);
  if (!c.session.refreshed()) {
    if (refresh_deletes) c.session.deletes_reported();
    c.session.refresh_done(cookie_of(*ls));
  }
  return LDAP_SUCCESS;
}

void LdapSource::persist(PersistSession& session, const Marks& stored) {
  std::string filter =
      "(|" + o_.user_class_filter + o_.group_class_filter + o_.alias_class_filter + ")";
  std::vector<std::string> attr_names = account_attributes(o_);
  for (const auto& a : group_attributes(o_)) attr_names.push_back(a);
  if (!o_.attrs.alias_target.empty()) attr_names.push_back(o_.attrs.alias_target);
  std::vector<char*> attrs;
  for (auto& a : attr_names) attrs.push_back(a.data());
  attrs.push_back(nullptr);
  std::string base = o_.base_dn;

  auto raw = client_->open_raw();
  if (!raw) {
    session.failed("connect: " + raw.status().log_detail());
    return;
  }
  Context context{*this, session};
  ldap_sync_t ls;
  ldap_sync_initialize(&ls);
  ls.ls_base = base.data();
  ls.ls_scope = LDAP_SCOPE_SUBTREE;
  ls.ls_filter = filter.data();
  ls.ls_attrs = attrs.data();
  ls.ls_timeout = 1;  // poll wakes up every second to ask session.keep_going()
  ls.ls_search_entry = &LdapSource::on_entry;
  ls.ls_intermediate = &LdapSource::on_intermediate;
  ls.ls_search_result = &LdapSource::on_result;
  ls.ls_private = &context;
  ls.ls_ld = static_cast<LDAP*>(LdapClient::raw_handle(**raw));
  auto cookie = stored.find(kCookieKey);
  bool resumed = cookie != stored.end() && !cookie->second.empty();
  if (resumed) ber_str2bv(cookie->second.c_str(), cookie->second.size(), 1, &ls.ls_cookie);
  int rc = ldap_sync_init_refresh_and_persist(&ls);
  if (rc == LDAP_SYNC_REFRESH_REQUIRED && resumed) {
    // The provider cannot resume from our cookie: start over with a full refresh.
    session.reset_marks({{kCookieKey, ""}});
    ldap_memfree(ls.ls_cookie.bv_val);
    ls.ls_cookie = berval{0, nullptr};
    rc = ldap_sync_init_refresh_and_persist(&ls);
  }
  if (rc != LDAP_SUCCESS) {
    session.failed(std::string("refreshAndPersist: ") + ldap_err2string(rc));
  } else {
    while (session.keep_going()) {
      rc = ldap_sync_poll(&ls);
      if (rc != LDAP_SUCCESS) break;
      if (!session.checkpoint(cookie_of(ls))) break;
    }
    if (session.keep_going())
      session.failed(std::string("persist search ended: ") + ldap_err2string(rc));
  }
  if (ls.ls_cookie.bv_val) ldap_memfree(ls.ls_cookie.bv_val);
  ls.ls_cookie = berval{0, nullptr};
  if (ls.ls_msgid > 0) ldap_abandon_ext(ls.ls_ld, ls.ls_msgid, nullptr, nullptr);
  raw->reset();  // unbinds
}

}  // namespace

std::unique_ptr<SyncEngine> make_ldap_sync(std::shared_ptr<LdapDirectory> live,
                                           std::shared_ptr<LocalDirectory> replica,
                                           const core::Clock& clock) {
  const LdapOptions& o = live->client()->options();
  SyncOptions so;
  so.mode = o.sync_mode;
  so.interval_s = o.sync_interval_s;
  so.full_compare_s = o.full_compare_s;
  so.on_removed = o.on_removed;
  so.old_address_grace_s = o.old_address_grace_s;
  return std::make_unique<SyncEngine>(std::make_unique<LdapSource>(std::move(live), clock),
                                      std::move(replica), std::move(so), clock);
}

}  // namespace mailroom::auth::sync
