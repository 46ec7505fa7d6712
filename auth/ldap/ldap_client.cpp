// libldap lives here only (STYLE.md example 5).
#include "auth/ldap/ldap_client.h"

#include <ldap.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "auth/ldap/ldap_filter.h"
#include "auth/ldap/ldap_gssapi.h"
#include "src/core/log.h"

namespace mailroom::auth::ldap {

using Clock = std::chrono::steady_clock;

struct LdapClient::Conn {
  LDAP* ld = nullptr;
  size_t uri_index = 0;
  Clock::time_point opened = Clock::now();
  // GSSAPI: the credential it was bound with (ldap_gssapi.h); 0 = not bound with one.
  uint64_t gss_generation = 0;
  Clock::time_point gss_expires = Clock::time_point::max();
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (ld) ldap_unbind_ext_s(ld, nullptr, nullptr);
  }
};

struct LdapClient::Raw {
  std::unique_ptr<Conn> conn;
};

struct LdapClient::Impl {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<Conn>> idle[2];  // [0] service, [1] bind
  int busy[2] = {0, 0};
  std::vector<Clock::time_point> down_until[2];  // per server of pool_uris(o, kind == 0)
  std::unique_ptr<GssapiCredentials> gss;        // bind_method = "gssapi"
};

namespace {

// The LDAP result as text for logs and config errors: "Invalid credentials (49): <diag>".
std::string describe(LDAP* ld, int rc) {
  std::string s = ldap_err2string(rc);
  s += " (" + std::to_string(rc) + ")";
  if (ld) {
    char* diag = nullptr;
    if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS && diag) {
      if (*diag) s += std::string(": ") + diag;
      ldap_memfree(diag);
    }
  }
  return s;
}

// Results that mean "could not tell": the connection or the server is the problem.
bool is_transient(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
         rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_TIMELIMIT_EXCEEDED ||
         rc == LDAP_ADMINLIMIT_EXCEEDED || rc == LDAP_OTHER || rc == LDAP_LOCAL_ERROR ||
         rc == LDAP_NO_MEMORY;
}

// The connection itself is unusable afterwards.
bool is_connection_error(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
         rc == LDAP_LOCAL_ERROR;
}

int to_scope(Scope s) {
  switch (s) {
    case Scope::base:
      return LDAP_SCOPE_BASE;
    case Scope::one:
      return LDAP_SCOPE_ONELEVEL;
    case Scope::sub:
      return LDAP_SCOPE_SUBTREE;
  }
  return LDAP_SCOPE_SUBTREE;
}

std::string attribute_key(const std::string& description) {
  return lower(description.substr(0, description.find(';')));
}

LdapEntry parse_entry(LDAP* ld, LDAPMessage* m, std::vector<RangeOption>* ranges) {
  LdapEntry e;
  if (char* dn = ldap_get_dn(ld, m)) {
    e.dn = dn;
    ldap_memfree(dn);
  }
  BerElement* ber = nullptr;
  for (char* a = ldap_first_attribute(ld, m, &ber); a; a = ldap_next_attribute(ld, m, ber)) {
    std::string name = a;
    ldap_memfree(a);
    if (auto r = parse_range_option(name); r && ranges) ranges->push_back(*r);
    auto& values = e.attrs[attribute_key(name)];
    if (berval** vals = ldap_get_values_len(ld, m, name.c_str())) {
      for (int i = 0; vals[i]; ++i) values.emplace_back(vals[i]->bv_val, vals[i]->bv_len);
      ldap_value_free_len(vals);
    }
  }
  if (ber) ber_free(ber, 0);
  return e;
}

struct Attrs {
  std::vector<std::string> names;
  std::vector<char*> ptrs;
  explicit Attrs(std::vector<std::string> n) : names(std::move(n)) {
    for (auto& s : names) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  char** get() { return names.empty() ? nullptr : ptrs.data(); }
};

}  // namespace

LdapClient::LdapClient(LdapOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  for (int kind : {0, 1})
    impl_->down_until[kind].assign(pool_uris(options_, kind == 0).size(), Clock::time_point{});
  if (options_.bind_method == BindMethod::gssapi)
    impl_->gss = std::make_unique<GssapiCredentials>(options_.keytab, options_.principal,
                                                     options_.gssapi_renew_before_s);
  if (options_.tls != TlsMode::none && !options_.tls_verify)
    MR_LOG_WARN("event=ldap_tls_verify_off msg={}",
                core::quote("TLS certificates of the LDAP servers are NOT verified"));
}

LdapClient::~LdapClient() = default;

// Opens one connection to pool_uris(o, service)[index]: options, StartTLS, and the service
// bind (or only the TCP/TLS connection for the bind pool). *config_key is set to the option
// the failure points at (wrong service credentials) when it is not the server's fault.
static std::unique_ptr<LdapClient::Conn> connect_one_impl(const LdapOptions& o, size_t index,
                                                          bool service, GssapiCredentials* gss,
                                                          std::string* error,
                                                          std::string* config_key);

namespace {
void set_timeouts(LDAP* ld, const LdapOptions& o) {
  timeval nt{o.connect_timeout_s, 0};
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &nt);
  timeval ot{o.op_timeout_s, 0};
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &ot);
  int v3 = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, o.follow_referrals ? LDAP_OPT_ON : LDAP_OPT_OFF);
  ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON);
  int idle = 60;
  ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_IDLE, &idle);
}
}  // namespace

// The service bind with Kerberos: a credential (acquired or renewed here), then SASL GSSAPI.
static bool gssapi_service_bind(LdapClient::Conn& c, const LdapOptions& o, GssapiCredentials& gss,
                                const std::string& uri, std::string* error,
                                std::string* config_key) {
  auto credential = gss.current();
  if (!credential) {
    *error = credential.status().log_detail();
    if (credential.code() == Code::invalid_argument) {  // "<key>: <what>"
      auto colon = error->find(": ");
      *config_key = error->substr(0, colon);
      error->erase(0, colon + 2);
    }
    return false;
  }
  int rc = gssapi_bind(c.ld, **credential, o.sasl_seal);
  if (rc == LDAP_SUCCESS) {
    c.gss_generation = (*credential)->generation();
    c.gss_expires = (*credential)->expires_at();
    MR_LOG_INFO("event=ldap_gssapi_bind uri={} generation={}", uri, (*credential)->generation());
    return true;
  }
  std::string detail = describe(c.ld, rc);
  *error = "service GSSAPI bind as '" + o.principal + "' on " + uri + " failed: " + detail;
  *config_key = gssapi_bind_problem(rc, detail);
  if (*config_key == "service_uris")
    *error +=
        " (the KDC has no service principal ldap/<the URI's host>: register it on the "
        "DC's account, or name the DC as the KDC knows it in the URI)";
  if (*config_key == "bind_method") *error += " (is the SASL GSSAPI plugin installed?)";
  // A failure on our side (a ticket the server or the KDC no longer takes) may mend with a
  // fresh credential from the keytab.
  if (rc == LDAP_LOCAL_ERROR || rc == LDAP_INVALID_CREDENTIALS) gss.drop(**credential);
  return false;
}

static std::unique_ptr<LdapClient::Conn> connect_one_impl(const LdapOptions& o, size_t index,
                                                          bool service, GssapiCredentials* gss,
                                                          std::string* error,
                                                          std::string* config_key) {
  config_key->clear();
  auto c = std::make_unique<LdapClient::Conn>();
  c->uri_index = index;
  const std::string& uri = pool_uris(o, service)[index];
  int rc = ldap_initialize(&c->ld, uri.c_str());
  if (rc != LDAP_SUCCESS) {
    *error = "cannot parse URI '" + uri + "': " + describe(nullptr, rc);
    *config_key = service && !o.service_uris.empty() ? "service_uris" : "uris";
    return nullptr;
  }
  set_timeouts(c->ld, o);
  if (o.tls != TlsMode::none) {
    int req = o.tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
    ldap_set_option(c->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req);
    if (!o.ca_file.empty()) ldap_set_option(c->ld, LDAP_OPT_X_TLS_CACERTFILE, o.ca_file.c_str());
    int zero = 0;
    ldap_set_option(c->ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
  }
  // GSSAPI with sealing protects the connection itself (Samba and AD refuse it inside TLS).
  bool sealed = service && gss && o.sasl_seal;
  if (o.tls == TlsMode::starttls && !sealed) {
    rc = ldap_start_tls_s(c->ld, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      *error = uri + ": StartTLS failed: " + describe(c->ld, rc);
      return nullptr;
    }
  }
  if (service && gss) {
    if (!gssapi_service_bind(*c, o, *gss, uri, error, config_key)) return nullptr;
  } else if (service) {
    berval cred{o.bind_password.size(), const_cast<char*>(o.bind_password.data())};
    rc = ldap_sasl_bind_s(c->ld, o.bind_dn.empty() ? nullptr : o.bind_dn.c_str(), LDAP_SASL_SIMPLE,
                          &cred, nullptr, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      if (!is_transient(rc)) {
        *config_key = "bind_dn";
        *error =
            "service bind as '" + o.bind_dn + "' on " + uri + " failed: " + describe(c->ld, rc);
      } else {
        *error = uri + ": " + describe(c->ld, rc);
      }
      return nullptr;
    }
  } else if (o.tls != TlsMode::starttls || sealed) {
    rc = ldap_connect(c->ld);
    if (rc != LDAP_SUCCESS) {
      *error = uri + ": " + describe(c->ld, rc);
      return nullptr;
    }
  }
  return c;
}

// Tries the servers in preference order, skipping those that failed recently (unless every
// server did).
static Result<std::unique_ptr<LdapClient::Conn>> connect_any(const LdapOptions& o,
                                                             LdapClient::Impl& p, bool service) {
  std::mutex& mu = p.mu;
  auto& down_until = p.down_until[service ? 0 : 1];
  const auto& uris = pool_uris(o, service);
  std::vector<size_t> order, later;
  {
    std::lock_guard lock(mu);
    auto now = Clock::now();
    for (size_t i = 0; i < uris.size(); ++i) (down_until[i] > now ? later : order).push_back(i);
  }
  order.insert(order.end(), later.begin(), later.end());
  std::string errors;
  for (size_t i : order) {
    std::string error, config_key;
    auto c = connect_one_impl(o, i, service, service ? p.gss.get() : nullptr, &error, &config_key);
    if (c) {
      std::lock_guard lock(mu);
      down_until[i] = Clock::time_point{};
      if (i != 0) MR_LOG_DEBUG("event=ldap_failover uri={}", uris[i]);
      return c;
    }
    MR_LOG_WARN("event=ldap_connect_failed uri={} error={}", uris[i], core::quote(error));
    if (!config_key.empty())
      return core::Status::error(Code::unavailable, "directory unavailable", error);
    {
      std::lock_guard lock(mu);
      down_until[i] = Clock::now() + std::chrono::seconds(o.retry_down_s);
    }
    if (!errors.empty()) errors += "; ";
    errors += error;
  }
  return core::unavailable("directory unavailable", "no LDAP server reachable: " + errors);
}

// Pool handling -------------------------------------------------------------------------

static Result<std::unique_ptr<LdapClient::Conn>> acquire(LdapClient::Impl& p, const LdapOptions& o,
                                                         int kind) {
  int size = kind == 0 ? o.pool_size : o.bind_pool_size;
  std::unique_ptr<LdapClient::Conn> stale;
  {
    std::unique_lock lock(p.mu);
    auto deadline = Clock::now() + std::chrono::seconds(o.op_timeout_s);
    while (p.idle[kind].empty() && p.busy[kind] >= size) {
      if (p.cv.wait_until(lock, deadline) == std::cv_status::timeout)
        return core::unavailable("directory busy", "LDAP connection pool exhausted");
    }
    ++p.busy[kind];
    if (!p.idle[kind].empty()) {
      auto c = std::move(p.idle[kind].back());
      p.idle[kind].pop_back();
      // Fail-back: a connection to a non-preferred server lives only fail_back_s. Kerberos: a
      // connection bound with an older credential, or an expired one, is replaced; so is one
      // when the credential is due (its new bind renews it).
      auto& down = p.down_until[kind];
      bool preferred_up = !down.empty() && down[0] <= Clock::now();
      bool fresh = !p.gss || c->gss_generation == 0 ||
                   (c->gss_generation == p.gss->generation() && Clock::now() < c->gss_expires &&
                    !p.gss->due());
      if (fresh && (c->uri_index == 0 || !preferred_up ||
                    Clock::now() - c->opened < std::chrono::seconds(o.fail_back_s)))
        return c;
      stale = std::move(c);
    }
  }
  stale.reset();
  auto c = connect_any(o, p, kind == 0);
  if (!c) {
    std::lock_guard lock(p.mu);
    --p.busy[kind];
    p.cv.notify_one();
  }
  return c;
}

static void release(LdapClient::Impl& p, int kind, std::unique_ptr<LdapClient::Conn> c) {
  std::unique_ptr<LdapClient::Conn> drop;
  {
    std::lock_guard lock(p.mu);
    --p.busy[kind];
    if (c) p.idle[kind].push_back(std::move(c));
    p.cv.notify_one();
  }
}

// MS-ADTS 3.1.1.3.4.1.14 LDAP_SERVER_SHOW_DELETED_OID: no value.
constexpr const char* kShowDeletedOid = "1.2.840.113556.1.4.417";

// One search on one connection: paged (RFC 2696) when asked, range retrieval completed.
static int run_search(LDAP* ld, const LdapOptions& o, const SearchRequest& r,
                      const std::function<bool(LdapEntry&&)>& on_entry, bool* truncated) {
  Attrs attrs(r.attributes);
  berval cookie{0, nullptr};
  int size_limit = r.size_limit > 0 ? r.size_limit : o.size_limit;
  int rc = LDAP_SUCCESS;
  bool stop = false;
  do {
    LDAPControl* page = nullptr;
    LDAPControl show_deleted{const_cast<char*>(kShowDeletedOid), berval{0, nullptr}, 1};
    LDAPControl* ctrls[3] = {nullptr, nullptr, nullptr};
    int n_ctrls = 0;
    if (r.paged && o.page_size > 0) {
      rc = ldap_create_page_control(ld, o.page_size, cookie.bv_val ? &cookie : nullptr, 0, &page);
      if (rc != LDAP_SUCCESS) break;
      ctrls[n_ctrls++] = page;
    }
    if (r.show_deleted) ctrls[n_ctrls++] = &show_deleted;
    timeval tv{o.op_timeout_s, 0};
    LDAPMessage* res = nullptr;
    rc = ldap_search_ext_s(ld, r.base.c_str(), to_scope(r.scope), r.filter.c_str(), attrs.get(), 0,
                           n_ctrls ? ctrls : nullptr, nullptr, &tv, r.paged ? 0 : size_limit, &res);
    if (page) ldap_control_free(page);
    if (cookie.bv_val) {
      ber_memfree(cookie.bv_val);
      cookie = berval{0, nullptr};
    }
    if (res) {
      for (LDAPMessage* m = ldap_first_entry(ld, res); m && !stop; m = ldap_next_entry(ld, m)) {
        std::vector<RangeOption> ranges;
        LdapEntry e = parse_entry(ld, m, &ranges);
        // Range retrieval (AD): "member;range=0-1499" -> ask "member;range=1500-*" until '*'.
        for (auto range : ranges) {
          int guard = 0;
          while (range.end >= 0 && ++guard < 10000) {
            std::string want = range.attribute + ";range=" + std::to_string(range.end + 1) + "-*";
            char* one[2] = {want.data(), nullptr};
            LDAPMessage* more = nullptr;
            timeval tv2{o.op_timeout_s, 0};
            int rc2 = ldap_search_ext_s(ld, e.dn.c_str(), LDAP_SCOPE_BASE, "(objectClass=*)", one,
                                        0, nullptr, nullptr, &tv2, 0, &more);
            RangeOption next;
            next.end = -1;
            bool got = false;
            if (rc2 == LDAP_SUCCESS && more) {
              if (LDAPMessage* me = ldap_first_entry(ld, more)) {
                std::vector<RangeOption> r2;
                LdapEntry part = parse_entry(ld, me, &r2);
                auto& dst = e.attrs[range.attribute];
                for (auto& v : part.attrs[range.attribute]) dst.push_back(std::move(v));
                if (!r2.empty()) {
                  next = r2.front();
                  got = true;
                }
              }
            }
            if (more) ldap_msgfree(more);
            if (rc2 != LDAP_SUCCESS) {
              rc = rc2;
              stop = true;
              break;
            }
            if (!got) break;
            range = next;
          }
        }
        if (!stop && !on_entry(std::move(e))) stop = true;
      }
      LDAPControl** sctrls = nullptr;
      int err = LDAP_SUCCESS;
      if (ldap_parse_result(ld, res, &err, nullptr, nullptr, nullptr, &sctrls, 0) == LDAP_SUCCESS) {
        if (sctrls) {
          if (LDAPControl* pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, sctrls, nullptr)) {
            ber_int_t count = 0;
            ldap_parse_pageresponse_control(ld, pr, &count, &cookie);
          }
          ldap_controls_free(sctrls);
        }
      }
      ldap_msgfree(res);
    }
    if (rc == LDAP_SIZELIMIT_EXCEEDED) {
      *truncated = true;
      rc = LDAP_SUCCESS;
      break;
    }
    if (rc == LDAP_NO_SUCH_OBJECT && r.no_such_object_is_empty) {
      rc = LDAP_SUCCESS;
      break;
    }
    if (rc != LDAP_SUCCESS) break;
  } while (!stop && cookie.bv_val && cookie.bv_len > 0);
  if (cookie.bv_val) ber_memfree(cookie.bv_val);
  return rc;
}

Status LdapClient::search_each(const SearchRequest& r,
                               const std::function<bool(LdapEntry&&)>& on_entry) {
  size_t delivered = 0;
  auto counting = [&](LdapEntry&& e) {
    ++delivered;
    return on_entry(std::move(e));
  };
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto c = acquire(*impl_, options_, 0);
    if (!c) return c.status();
    bool truncated = false;
    int rc = run_search((*c)->ld, options_, r, counting, &truncated);
    if (rc == LDAP_SUCCESS) {
      release(*impl_, 0, std::move(*c));
      if (truncated)
        MR_LOG_WARN("event=ldap_size_limit base={} filter={}", core::quote(r.base),
                    core::quote(r.filter));
      return Status::ok();
    }
    std::string detail = "LDAP search base='" + r.base + "' filter='" + r.filter + "' on " +
                         pool_uris(options_, true)[(*c)->uri_index] + ": " + describe((*c)->ld, rc);
    if (is_connection_error(rc)) {
      release(*impl_, 0, nullptr);  // drop the dead connection
      MR_LOG_WARN("event=ldap_search_failed attempt={} detail={}", attempt + 1,
                  core::quote(detail));
      if (delivered == 0) continue;  // nothing delivered yet: retry on a fresh connection
      return core::unavailable("directory unavailable", detail);
    }
    release(*impl_, 0, std::move(*c));
    if (is_transient(rc)) return core::unavailable("directory unavailable", detail);
    if (rc == LDAP_FILTER_ERROR || rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_INVALID_DN_SYNTAX ||
        rc == LDAP_INAPPROPRIATE_MATCHING || rc == LDAP_PROTOCOL_ERROR)
      return Status::error(Code::unavailable, "directory unavailable",
                           "configuration problem: " + detail);
    return core::unavailable("directory unavailable", detail);
  }
  return core::unavailable("directory unavailable", "LDAP connection lost twice");
}

Result<SearchResult> LdapClient::search(const SearchRequest& r) {
  SearchResult out;
  auto st = search_each(r, [&](LdapEntry&& e) {
    out.entries.push_back(std::move(e));
    return true;
  });
  if (!st) return st;
  return out;
}

PasswordCheck LdapClient::bind(const std::string& dn, const std::string& password) {
  if (password.empty() || dn.empty()) return PasswordCheck::mismatch;
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto c = acquire(*impl_, options_, 1);
    if (!c) return PasswordCheck::unavailable;
    berval cred{password.size(), const_cast<char*>(password.data())};
    int rc =
        ldap_sasl_bind_s((*c)->ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
    if (rc == LDAP_SUCCESS) {
      release(*impl_, 1, std::move(*c));
      return PasswordCheck::ok;
    }
    if (is_connection_error(rc)) {
      release(*impl_, 1, nullptr);
      continue;
    }
    std::string detail = describe((*c)->ld, rc);
    release(*impl_, 1, std::move(*c));
    if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INVALID_DN_SYNTAX ||
        rc == LDAP_UNWILLING_TO_PERFORM || rc == LDAP_INAPPROPRIATE_AUTH ||
        rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_CONSTRAINT_VIOLATION) {
      MR_LOG_DEBUG("event=ldap_user_bind result=fail reason={}", core::quote(detail));
      return PasswordCheck::mismatch;
    }
    MR_LOG_WARN("event=ldap_user_bind result=unavailable reason={}", core::quote(detail));
    return PasswordCheck::unavailable;
  }
  return PasswordCheck::unavailable;
}

std::string LdapClient::current_server() {
  std::lock_guard lock(impl_->mu);
  auto now = Clock::now();
  const auto& uris = pool_uris(options_, true);
  for (size_t i = 0; i < uris.size(); ++i)
    if (impl_->down_until[0][i] <= now) return uris[i];
  return "(none reachable)";
}

Result<std::shared_ptr<LdapClient::Raw>> LdapClient::open_raw() {
  auto c = connect_any(options_, *impl_, true);
  if (!c) return c.status();
  auto raw = std::make_shared<Raw>();
  raw->conn = std::move(*c);
  return raw;
}

void* LdapClient::raw_handle(Raw& raw) { return raw.conn->ld; }

LdapEntry LdapClient::parse_message(void* ld, void* message) {
  return parse_entry(static_cast<LDAP*>(ld), static_cast<LDAPMessage*>(message), nullptr);
}

// --check-config ------------------------------------------------------------------------

namespace {

// Attribute names (lower-case) of the server's subschema (RFC 4512 section 4.2).
std::set<std::string> schema_attribute_names(LDAP* ld, const LdapOptions& o, std::string* error) {
  std::set<std::string> names;
  LdapEntry root;
  SearchRequest r;
  r.scope = Scope::base;
  r.filter = "(objectClass=*)";
  r.attributes = {"subschemaSubentry"};
  bool truncated = false;
  int rc = run_search(
      ld, o, r,
      [&](LdapEntry&& e) {
        root = std::move(e);
        return true;
      },
      &truncated);
  std::string sub = root.first("subschemasubentry");
  if (rc != LDAP_SUCCESS || sub.empty()) {
    *error = "cannot read subschemaSubentry: " + describe(ld, rc);
    return names;
  }
  r.base = sub;
  r.filter = "(objectClass=subschema)";
  r.attributes = {"attributeTypes"};
  LdapEntry schema;
  rc = run_search(
      ld, o, r,
      [&](LdapEntry&& e) {
        schema = std::move(e);
        return true;
      },
      &truncated);
  if (rc != LDAP_SUCCESS) {
    *error = "cannot read " + sub + ": " + describe(ld, rc);
    return names;
  }
  // "( 1.2.3 NAME ( 'a' 'b' ) ..." or "NAME 'a'"
  for (const auto& def : schema.values("attributetypes")) {
    auto pos = def.find("NAME ");
    if (pos == std::string::npos) continue;
    size_t i = pos + 5;
    bool list = i < def.size() && def[i] == '(';
    size_t end = list ? def.find(')', i) : def.find('\'', def.find('\'', i) + 1);
    std::string part = def.substr(i, end == std::string::npos ? std::string::npos : end - i + 1);
    size_t q = 0;
    while ((q = part.find('\'', q)) != std::string::npos) {
      size_t q2 = part.find('\'', q + 1);
      if (q2 == std::string::npos) break;
      names.insert(lower(part.substr(q + 1, q2 - q - 1)));
      q = q2 + 1;
    }
  }
  return names;
}

}  // namespace

std::vector<std::string> LdapClient::check_configuration() {
  const LdapOptions& o = options_;
  std::vector<std::string> errors, warnings;
  std::unique_ptr<Conn> good;
  const auto& service_uris = pool_uris(o, true);
  std::string uris_key = o.service_uris.empty() ? "uris" : "service_uris";
  for (size_t i = 0; i < service_uris.size(); ++i) {
    std::string error, config_key;
    auto c = connect_one_impl(o, i, true, impl_->gss.get(), &error, &config_key);
    if (!c) {
      if (config_key.empty()) {
        warnings.push_back(uris_key + ": " + error);
        impl_->down_until[0][i] = Clock::now() + std::chrono::seconds(o.retry_down_s);
      } else {
        errors.push_back(config_key + ": " + error);
      }
      continue;
    }
    if (!good) good = std::move(c);
  }
  // The bind pool's servers, when they are others: reachable (a warning, as for the service
  // pool's when one of them answers).
  for (size_t i = 0; good && !o.service_uris.empty() && i < o.uris.size(); ++i) {
    std::string error, config_key;
    if (!connect_one_impl(o, i, false, nullptr, &error, &config_key)) {
      MR_LOG_WARN("event=ldap_check warning={}", core::quote("uris: " + error));
      impl_->down_until[1][i] = Clock::now() + std::chrono::seconds(o.retry_down_s);
    }
  }
  if (!good) {
    if (errors.empty()) {
      for (auto& w : warnings) errors.push_back(w + " (no LDAP server reachable)");
    }
    return errors;
  }
  for (auto& w : warnings) MR_LOG_WARN("event=ldap_check warning={}", core::quote(w));
  LDAP* ld = good->ld;
  struct Base {
    const char* key;
    const std::string* dn;
  };
  for (Base b : {Base{"base_dn", &o.base_dn}, Base{"user_base", &o.user_base},
                 Base{"group_base", &o.group_base}}) {
    SearchRequest r;
    r.base = *b.dn;
    r.scope = Scope::base;
    r.filter = "(objectClass=*)";
    r.attributes = {"1.1"};
    if (b.dn != &o.base_dn && *b.dn == o.base_dn) continue;
    bool truncated = false;
    int rc = run_search(
        ld, o, r, [](LdapEntry&&) { return true; }, &truncated);
    if (rc != LDAP_SUCCESS)
      errors.push_back(std::string(b.key) + ": cannot read '" + *b.dn + "': " + describe(ld, rc));
  }
  struct F {
    const char* key;
    const std::string* templ;
    const std::string* base;
  };
  std::string in_chain = "(memberOf:1.2.840.113556.1.4.1941:=" + o.group_base + ")";
  std::vector<std::string> warnings_after;
  for (F f : {F{"user_class_filter", &o.user_class_filter, &o.user_base},
              F{"account_filter", &o.account_filter, &o.user_base},
              F{"login_filter", &o.login_filter, &o.user_base},
              F{"group_filter", &o.group_filter, &o.group_base},
              F{"group_class_filter", &o.group_class_filter, &o.group_base},
              F{"nested_group_filter", &o.nested_group_filter, &o.base_dn},
              F{"alias_filter", &o.alias_filter, &o.base_dn},
              F{"alias_class_filter", &o.alias_class_filter, &o.base_dn},
              F{"nested_groups", o.nested_groups == NestedGroups::in_chain ? &in_chain : nullptr,
                &o.user_base}}) {
    if (!f.templ || f.templ->empty()) continue;
    SearchRequest r;
    r.base = *f.base;
    bool nested = f.key == std::string("nested_groups");
    r.filter = nested ? *f.templ : expand_filter(*f.templ, "check@example.invalid");
    // The in-chain rule is checked on the base entry alone: a server without the rule refuses
    // the filter whatever the scope, and a DC does not walk every user's groups (a loaded
    // Samba DC hit its time limit doing that).
    if (nested) r.scope = Scope::base;
    r.attributes = {"1.1"};
    r.size_limit = 1;
    bool truncated = false;
    int rc = run_search(
        ld, o, r, [](LdapEntry&&) { return true; }, &truncated);
    if (rc == LDAP_TIMELIMIT_EXCEEDED || rc == LDAP_ADMINLIMIT_EXCEEDED) {
      // The server took the filter and ran out of time or allowance: not a refusal.
      warnings_after.push_back(std::string(f.key) + ": the check search of '" + r.filter +
                               "' hit a server limit: " + describe(ld, rc));
    } else if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
      errors.push_back(std::string(f.key) + ": filter '" + r.filter +
                       "' rejected: " + describe(ld, rc));
    }
  }
  for (auto& w : warnings_after) MR_LOG_WARN("event=ldap_check warning={}", core::quote(w));
  std::string schema_error;
  auto names = schema_attribute_names(ld, o, &schema_error);
  if (names.empty()) {
    MR_LOG_WARN("event=ldap_check warning={}", core::quote("schema not checked: " + schema_error));
  } else {
    for (const auto& f : AttributeMap::kFields) {
      const std::string& name = o.attrs.*f.name;
      if (!name.empty() && !names.count(lower(name)) && f.name == &AttributeMap::password_changed) {
        MR_LOG_WARN("event=ldap_check warning={}",
                    core::quote("attributes.password_changed: attribute '" + name +
                                "' is not in the server's schema (OpenLDAP: load the ppolicy "
                                "overlay); a password change will not revoke app passwords"));
        continue;
      }
      if (!name.empty() && !names.count(lower(name)))
        errors.push_back(std::string("attributes.") + f.key + ": attribute '" + name +
                         "' is not in the server's schema (undefined attribute type)");
    }
  }
  // The checked connection joins the pool.
  {
    std::lock_guard lock(impl_->mu);
    impl_->idle[0].push_back(std::move(good));
  }
  return errors;
}

}  // namespace mailroom::auth::ldap
