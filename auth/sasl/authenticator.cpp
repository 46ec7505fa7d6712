// Cyrus SASL server glue. See sasl_authenticator.h.
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

#include "auth/app_passwords.h"
#include "auth/password/password_hash.h"
#include "auth/sasl/bearer_server.h"
#include "auth/sasl/kerberos.h"
#include "auth/sasl/sasl_authenticator.h"
#include "auth/sasl/scram_server.h"
#include "src/core/address.h"
#include "src/core/log.h"
#include "src/core/metric_catalog.h"

namespace mailroom::auth {

namespace {

// Cyrus's built-in mutex hooks are no-ops; mailroomd runs exchanges on several workers.
void* mutex_alloc() { return new std::mutex; }
int mutex_lock(void* m) {
  static_cast<std::mutex*>(m)->lock();
  return SASL_OK;
}
int mutex_unlock(void* m) {
  static_cast<std::mutex*>(m)->unlock();
  return SASL_OK;
}
void mutex_free(void* m) { delete static_cast<std::mutex*>(m); }

int log_cb(void*, int level, const char* message) {
  if (level <= SASL_LOG_ERR) {
    MR_LOG_WARN("event=auth.sasl_log level={} message={}", level,
                core::quote(message ? message : ""));
  } else {
    MR_LOG_DEBUG("event=auth.sasl_log level={} message={}", level,
                 core::quote(message ? message : ""));
  }
  return SASL_OK;
}

// Our settings replace /etc/sasl2/<service>.conf: only the mechanisms we verify, and no
// fallback password store (a failed check must not consult sasldb). GSSAPI is loaded when
// its plugin is installed, and offered only with [auth] kerberos_keytab (kerberos.h).
int getopt_cb(void*, const char*, const char* option, const char** result, unsigned* len) {
  const char* value = nullptr;
  if (std::strcmp(option, "mech_list") == 0)
    value = "PLAIN LOGIN GSSAPI";
  else if (std::strcmp(option, "pwcheck_method") == 0)
    value = "auxprop";
  else if (std::strcmp(option, "auxprop_plugin") == 0)
    value = "mailroom-none";
  else if (std::strcmp(option, "log_level") == 0)
    value = "1";
  if (!value) return SASL_FAIL;
  *result = value;
  if (len) *len = static_cast<unsigned>(std::strlen(value));
  return SASL_OK;
}

using CbFn = int (*)();
// Cyrus stores every callback as int(*)(void); going through void(*)(void) keeps GCC's
// -Wcast-function-type quiet (that type is documented as matching everything).
template <class F>
CbFn cb(F* f) {
  return reinterpret_cast<CbFn>(reinterpret_cast<void (*)()>(f));
}
sasl_callback_t g_global_callbacks[] = {
    {SASL_CB_LOG, cb(&log_cb), nullptr},
    {SASL_CB_GETOPT, cb(&getopt_cb), nullptr},
    {SASL_CB_LIST_END, nullptr, nullptr},
};

std::once_flag g_init_once;
int g_init_rc = SASL_FAIL;

int init_cyrus(const std::string& service) {
  std::call_once(g_init_once, [&] {
    sasl_set_mutex(&mutex_alloc, &mutex_lock, &mutex_unlock, &mutex_free);
    static std::string app = service;  // Cyrus keeps the pointer
    g_init_rc = sasl_server_init(g_global_callbacks, app.c_str());
    if (g_init_rc != SASL_OK) {
      MR_LOG_ERROR("event=auth.sasl_init result=fail reason={}",
                   core::quote(sasl_errstring(g_init_rc, nullptr, nullptr)));
    }
  });
  return g_init_rc;
}

// Mechanisms whose credential crosses the wire as it is (a password, or a bearer token that
// anyone who reads it can replay): offered only where plain-text logins are.
bool is_plaintext_mechanism(const std::string& m) {
  return m == "PLAIN" || m == "LOGIN" || m == "OAUTHBEARER" || m == "XOAUTH2";
}
bool is_bearer_mechanism(const std::string& m) { return m == "OAUTHBEARER" || m == "XOAUTH2"; }
bool is_kerberos_mechanism(const std::string& m) { return m == "GSSAPI"; }
// We negotiate no SASL security layer (max_ssf 0), so after a GSSAPI login on a clear
// connection anyone on the path could take the session over: it needs TLS like a password.
bool needs_tls(const std::string& m) {
  return is_plaintext_mechanism(m) || is_kerberos_mechanism(m);
}

struct Verdict {
  bool set = false;
  AuthOutcome outcome = AuthOutcome::failed;
  std::string reason;
  std::string user;
  Principal principal;
};

class SaslAuthenticator;

class SaslExchange : public Exchange {
 public:
  SaslExchange(std::shared_ptr<SaslAuthenticator> auth, std::string mechanism, ClientInfo client);
  ~SaslExchange() override {
    if (conn_) sasl_dispose(&conn_);
  }
  AuthStep step(std::optional<std::string_view> response) override;

  static int checkpass_cb(sasl_conn_t*, void* ctx, const char* user, const char* pass,
                          unsigned passlen, propctx*);
  static int canon_cb(sasl_conn_t*, void* ctx, const char* in, unsigned inlen, unsigned flags,
                      const char* realm, char* out, unsigned out_max, unsigned* out_len);
  static int authorize_cb(sasl_conn_t*, void* ctx, const char* requested, unsigned rlen,
                          const char* identity, unsigned alen, const char*, unsigned, propctx*);

 private:
  AuthStep finish(AuthOutcome outcome, const std::string& reason);
  AuthStep start_cyrus(std::optional<std::string_view> response);
  bool same_identities() const;

  std::shared_ptr<SaslAuthenticator> auth_;
  std::string mechanism_;
  ClientInfo client_;
  std::unique_ptr<AcceptorCredentials> gss_creds_;  // outlives conn_ (disposed first)
  sasl_conn_t* conn_ = nullptr;
  sasl_callback_t callbacks_[4];
  std::unique_ptr<ScramServer> scram_;
  std::unique_ptr<BearerServer> bearer_;
  Verdict verdict_;
  bool started_ = false;
  bool done_ = false;
};

class SaslAuthenticator : public Authenticator,
                          public std::enable_shared_from_this<SaslAuthenticator> {
 public:
  SaslAuthenticator(std::shared_ptr<Resolver> resolver, AuthOptions options,
                    const core::Clock& clock, std::shared_ptr<AppPasswordStore> app_passwords,
                    std::shared_ptr<TokenVerifier> tokens)
      : resolver_(std::move(resolver)),
        options_(std::move(options)),
        tokens_(std::move(tokens)),
        throttle_(options_.throttle, clock),
        app_passwords_(std::move(app_passwords)) {
    cyrus_ok_ = init_cyrus(options_.sasl_service) == SASL_OK;
    if (cyrus_ok_) discover_cyrus_mechanisms();
    if (options_.kerberos.enabled()) {
      krb_default_realm_ = default_realm();
      krb_realms_ = allowed_realms(options_.kerberos);
    }
  }

  std::vector<std::string> mechanisms(const ClientInfo& client) const override {
    std::vector<std::string> out;
    for (const auto& m : options_.mechanisms) {
      if (!available(m)) continue;
      if (needs_tls(m) && !plaintext_allowed(client)) continue;
      if (is_kerberos_mechanism(m) && gssapi_service(client.protocol).empty()) continue;
      // SCRAM proves the directory password; app passwords go through PLAIN/LOGIN.
      if (m == "SCRAM-SHA-256" && !options_.directory_password_allowed(client.protocol)) continue;
      out.push_back(m);
    }
    return out;
  }

  bool plaintext_allowed(const ClientInfo& client) const override {
    return client.tls || (client.loopback && options_.allow_plaintext_on_loopback);
  }

  bool available(const std::string& m) const {
    if (m == "SCRAM-SHA-256") return true;                  // native (see scram_server.h)
    if (is_bearer_mechanism(m)) return tokens_ != nullptr;  // native, with [sso] configured
    if (is_kerberos_mechanism(m) && !options_.kerberos.enabled()) return false;
    return cyrus_ok_ && cyrus_mechanisms_.count(m) > 0;
  }
  bool offered(const std::string& m) const {
    return available(m) && std::find(options_.mechanisms.begin(), options_.mechanisms.end(), m) !=
                               options_.mechanisms.end();
  }

  std::unique_ptr<Exchange> start(std::string_view mechanism, const ClientInfo& client) override {
    std::string m(mechanism);
    std::transform(m.begin(), m.end(), m.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return std::make_unique<SaslExchange>(shared_from_this(), m, client);
  }

  size_t unlock(const std::string& account_id) override {
    // Failures are counted under "id:<account id>" (see verify()).
    return throttle_.unlock("id:" + account_id);
  }

  AuthStep check_plain(const std::string& login, const std::string& password,
                       const ClientInfo& client) override {
    AuthStep step;
    if (!plaintext_allowed(client)) {
      step.outcome = AuthOutcome::encryption_required;
      log_attempt(client, "LOGIN", login, step.outcome, "plain-text login on a clear connection");
      return step;
    }
    Verdict v = verify(login, password, client);
    step.outcome = v.outcome;
    if (v.outcome == AuthOutcome::success) step.principal = v.principal;
    log_attempt(client, "LOGIN", login, v.outcome, v.reason);
    return step;
  }

  // The one password path (PLAIN, LOGIN, IMAP LOGIN, POP3 USER/PASS).
  Verdict verify(const std::string& login, const std::string& password, const ClientInfo& c) {
    Verdict v;
    v.set = true;
    v.user = login;
    std::string key = core::ascii_lower(login);
    if (throttle_.ip_blocked(c.remote_ip)) {
      return deny(v, AuthOutcome::throttled,
                  Throttle::verdict_reason(Throttle::Verdict::ip_locked));
    }
    auto acc = resolver_->find_login(login);
    if (!acc) {
      if (acc.code() != Code::not_found) {
        return deny(v, AuthOutcome::unavailable, "directory: " + acc.status().to_string());
      }
      // Unknown logins are throttled like accounts: the answers do not tell them apart.
      if (auto t = throttle_.check(key, c.remote_ip); t != Throttle::Verdict::allowed) {
        return deny(v, AuthOutcome::throttled, Throttle::verdict_reason(t));
      }
      dummy_verify(password);  // same cost as a real check: no user enumeration by timing
      throttle_.record_failure(key, c.remote_ip);
      return deny(v, AuthOutcome::failed, "unknown user");
    }
    // Throttled by the account's id, so "alice" and "alice@example.com" (two spellings of one
    // login) share one failure count.
    std::string id_key = "id:" + acc->id;
    if (auto t = throttle_.check(id_key, c.remote_ip); t != Throttle::Verdict::allowed) {
      return deny(v, AuthOutcome::throttled, Throttle::verdict_reason(t));
    }
    if (app_passwords_) {
      if (auto done = verify_app_password(*acc, password, c, id_key, v)) return *done;
    }
    if (!options_.directory_password_allowed(c.protocol)) {
      // Counted as a failure: it may be a guess at an app password, and those must stay
      // throttled; the dummy check keeps the answer as slow as a real one (no enumeration).
      dummy_verify(password);
      throttle_.record_failure(id_key, c.remote_ip);
      return deny(v, AuthOutcome::failed, "directory password not accepted on " + c.protocol);
    }
    auto check = resolver_->directory().check_password(*acc, password);
    if (check == PasswordCheck::unavailable) {
      return deny(v, AuthOutcome::unavailable, "directory could not check the password");
    }
    if (check == PasswordCheck::mismatch) {
      throttle_.record_failure(id_key, c.remote_ip);
      return deny(v, AuthOutcome::failed, "wrong password");
    }
    // Only a correct password learns that the account is disabled.
    if (acc->status != AccountStatus::active) {
      return deny(v, AuthOutcome::disabled,
                  std::string("account ") + account_status_name(acc->status));
    }
    throttle_.record_success(id_key, c.remote_ip);
    v.outcome = AuthOutcome::success;
    v.reason = "ok";
    v.principal = Principal{acc->id, acc->login, acc->address, acc->display_name};
    return v;
  }

  // The GSSAPI path (RFC 4752): the KDC vouched for `principal`; the mapping rule, the login
  // rules, the account's status and the throttle decide as for a password. `authzid` (empty
  // when the client sent none) must denote the same account: no proxy logins.
  Verdict verify_kerberos(const std::string& authid, const std::string& authzid,
                          const ClientInfo& c) {
    Verdict v;
    v.set = true;
    v.user = full_principal(authid, krb_default_realm_);
    if (throttle_.ip_blocked(c.remote_ip)) {
      return deny(v, AuthOutcome::throttled,
                  Throttle::verdict_reason(Throttle::Verdict::ip_locked));
    }
    // A principal that maps to no account counts against the client IP like an unknown
    // login, so a stolen keytab cannot probe accounts without limit.
    std::string key = "krb:" + v.user;
    auto login = principal_to_login(v.user, krb_realms_, options_.kerberos.mapping);
    if (!login) {
      throttle_.record_failure(key, c.remote_ip);
      return deny(v, AuthOutcome::failed, login.status().client_message());
    }
    auto acc = resolver_->find_login(*login);
    if (!acc) {
      if (acc.code() != Code::not_found) {
        return deny(v, AuthOutcome::unavailable, "directory: " + acc.status().to_string());
      }
      throttle_.record_failure(key, c.remote_ip);
      return deny(v, AuthOutcome::failed, "no account for login " + *login);
    }
    std::string id_key = "id:" + acc->id;
    if (auto t = throttle_.check(id_key, c.remote_ip); t != Throttle::Verdict::allowed) {
      return deny(v, AuthOutcome::throttled, Throttle::verdict_reason(t));
    }
    if (acc->status != AccountStatus::active) {
      return deny(v, AuthOutcome::disabled,
                  std::string("account ") + account_status_name(acc->status));
    }
    if (!authzid.empty() && authzid != authid && !core::iequals(authzid, v.user)) {
      auto as = resolver_->find_login(authzid);
      if (!as && as.code() != Code::not_found) {
        return deny(v, AuthOutcome::unavailable, "directory: " + as.status().to_string());
      }
      if (!as || as->id != acc->id) {
        return deny(v, AuthOutcome::failed, "authorization identity differs");
      }
    }
    throttle_.record_success(id_key, c.remote_ip);
    v.outcome = AuthOutcome::success;
    v.reason = "ok";
    v.principal = Principal{acc->id, acc->login, acc->address, acc->display_name};
    return v;
  }

  // A password of an app password's shape is looked up among the account's app passwords
  // (one hash at most, auth/app_passwords.h). nullopt: not one of them, check the directory
  // password; otherwise the verdict.
  std::optional<Verdict> verify_app_password(const Account& acc, const std::string& password,
                                             const ClientInfo& c, const std::string& id_key,
                                             Verdict& v) {
    AppPassword matched;
    auto check = app_passwords_->verify(acc, password, c.protocol, &matched);
    if (!check) {
      return deny(v, AuthOutcome::unavailable, "app passwords: " + check.status().to_string());
    }
    switch (*check) {
      case AppPasswordStore::Check::no_match:
        return std::nullopt;
      case AppPasswordStore::Check::protocol_refused:
        return deny(v, AuthOutcome::failed,
                    "app password " + matched.id + " not allowed on " + c.protocol);
      case AppPasswordStore::Check::revoked:
        if (acc.status != AccountStatus::active) {
          return deny(v, AuthOutcome::disabled,
                      std::string("account ") + account_status_name(acc.status));
        }
        return deny(v, AuthOutcome::failed,
                    "app password " + matched.id + " revoked (" + matched.revoked_reason + ")");
      case AppPasswordStore::Check::ok:
        break;
    }
    throttle_.record_success(id_key, c.remote_ip);
    v.outcome = AuthOutcome::success;
    v.reason = "ok app_password=" + matched.id;
    v.principal = Principal{acc.id, acc.login, acc.address, acc.display_name, matched.id};
    return v;
  }

  void log_attempt(const ClientInfo& c, const std::string& mech, const std::string& user,
                   AuthOutcome outcome, const std::string& reason) {
    auto line = fmt::format(
        "event=auth.attempt session={} protocol={} ip={} mechanism={} user={} result={} "
        "reason={}",
        core::quote(c.session_id), core::quote(c.protocol), core::quote(c.remote_ip),
        core::quote(mech), core::quote(user), auth_outcome_name(outcome), core::quote(reason));
    // Every attempt ends here once (SASL and plain logins alike): count it for /metrics.
    metrics::login(c.protocol, mech,
                   outcome == AuthOutcome::success ? metrics::LoginResult::ok
                   : outcome == AuthOutcome::unavailable || outcome == AuthOutcome::throttled
                       ? metrics::LoginResult::tempfail
                       : metrics::LoginResult::fail);
    if (outcome == AuthOutcome::success)
      MR_LOG_INFO("{}", line);
    else
      MR_LOG_WARN("{}", line);
  }

  Throttle& throttle() { return throttle_; }
  Resolver& resolver() { return *resolver_; }
  TokenVerifier& tokens() { return *tokens_; }
  const AuthOptions& options() const { return options_; }
  const std::string& hostname() const { return hostname_; }

 private:
  static Verdict& deny(Verdict& v, AuthOutcome o, std::string reason) {
    v.outcome = o;
    v.reason = std::move(reason);
    return v;
  }

  void dummy_verify(const std::string& password) {
    std::call_once(dummy_once_, [this] {
      auto h = password::hash("mailroom-dummy", password::Scheme::argon2id);
      if (h) dummy_hash_ = *h;
    });
    if (!dummy_hash_.empty()) password::verify(dummy_hash_, password);
  }

  void discover_cyrus_mechanisms() {
    sasl_conn_t* conn = nullptr;
    if (sasl_server_new(options_.sasl_service.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr,
                        0, &conn) != SASL_OK) {
      cyrus_ok_ = false;
      return;
    }
    sasl_security_properties_t props{};
    sasl_setprop(conn, SASL_SEC_PROPS, &props);
    const char* list = nullptr;
    unsigned len = 0;
    int count = 0;
    if (sasl_listmech(conn, nullptr, "", " ", "", &list, &len, &count) == SASL_OK && list) {
      std::string s(list, len);
      size_t pos = 0;
      while (pos < s.size()) {
        size_t end = s.find(' ', pos);
        if (end == std::string::npos) end = s.size();
        if (end > pos) cyrus_mechanisms_.insert(s.substr(pos, end - pos));
        pos = end + 1;
      }
    }
    sasl_dispose(&conn);
    std::string names;
    for (const auto& m : cyrus_mechanisms_) names += (names.empty() ? "" : ",") + m;
    MR_LOG_DEBUG("event=auth.sasl_init mechanisms={}", names);
  }

  std::shared_ptr<Resolver> resolver_;
  AuthOptions options_;
  std::shared_ptr<TokenVerifier> tokens_;
  Throttle throttle_;
  std::shared_ptr<AppPasswordStore> app_passwords_;
  bool cyrus_ok_ = false;
  std::set<std::string> cyrus_mechanisms_;
  std::string hostname_;
  std::string krb_default_realm_;        // Cyrus drops this realm from principals
  std::vector<std::string> krb_realms_;  // client realms that may log in
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

SaslExchange::SaslExchange(std::shared_ptr<SaslAuthenticator> auth, std::string mechanism,
                           ClientInfo client)
    : auth_(std::move(auth)), mechanism_(std::move(mechanism)), client_(std::move(client)) {
  callbacks_[0] = {SASL_CB_SERVER_USERDB_CHECKPASS, cb(&checkpass_cb), this};
  callbacks_[1] = {SASL_CB_CANON_USER, cb(&canon_cb), this};
  callbacks_[2] = {SASL_CB_PROXY_POLICY, cb(&authorize_cb), this};
  callbacks_[3] = {SASL_CB_LIST_END, nullptr, nullptr};
}

int SaslExchange::checkpass_cb(sasl_conn_t*, void* ctx, const char* user, const char* pass,
                               unsigned passlen, propctx*) {
  auto* self = static_cast<SaslExchange*>(ctx);
  self->verdict_ =
      self->auth_->verify(user ? user : "", std::string(pass ? pass : "", passlen), self->client_);
  return self->verdict_.outcome == AuthOutcome::success ? SASL_OK : SASL_BADAUTH;
}

int SaslExchange::canon_cb(sasl_conn_t*, void*, const char* in, unsigned inlen, unsigned,
                           const char*, char* out, unsigned out_max, unsigned* out_len) {
  // Identity rules (single/multi-domain logins) are the Resolver's; keep the name as sent.
  if (inlen >= out_max) return SASL_BUFOVER;
  std::memcpy(out, in, inlen);
  out[inlen] = '\0';
  *out_len = inlen;
  return SASL_OK;
}

int SaslExchange::authorize_cb(sasl_conn_t* conn, void* ctx, const char* requested, unsigned rlen,
                               const char* identity, unsigned alen, const char*, unsigned,
                               propctx*) {
  auto* self = static_cast<SaslExchange*>(ctx);
  if (is_kerberos_mechanism(self->mechanism_)) {
    // Cyrus passes the authorization identity as the authentication one when the client
    // sent none (plugins/gssapi.c), so only a different one is an authzid to check.
    std::string authid(identity, alen);
    std::string authzid(requested, rlen);
    self->verdict_ =
        self->auth_->verify_kerberos(authid, authzid == authid ? "" : authzid, self->client_);
    if (self->verdict_.outcome == AuthOutcome::success) return SASL_OK;
    sasl_seterror(conn, SASL_NOLOG, "%s", self->verdict_.reason.c_str());
    return SASL_NOAUTHZ;
  }
  // RFC 4616 section 2: an authorization identity other than the authenticated one is a
  // proxy login, which we do not offer.
  if (rlen == 0 ||
      core::iequals(std::string_view(requested, rlen), std::string_view(identity, alen))) {
    return SASL_OK;
  }
  sasl_seterror(conn, SASL_NOLOG, "authorization identity differs");
  return SASL_NOAUTHZ;
}

// RFC 4616 section 2: an authorization identity other than the authenticated one is a proxy
// login, which we do not offer. Cyrus refuses it through authorize_cb; this re-check of the
// final identities is defence in depth (a success must never carry someone else's name).
bool SaslExchange::same_identities() const {
  // GSSAPI: verify_kerberos compared the accounts the two identities denote.
  if (is_kerberos_mechanism(mechanism_)) return verdict_.outcome == AuthOutcome::success;
  const void* authz = nullptr;
  const void* authn = nullptr;
  if (sasl_getprop(conn_, SASL_USERNAME, &authz) != SASL_OK || !authz) return false;
  if (sasl_getprop(conn_, SASL_AUTHUSER, &authn) != SASL_OK || !authn) return true;
  return core::iequals(static_cast<const char*>(authz), static_cast<const char*>(authn));
}

AuthStep SaslExchange::finish(AuthOutcome outcome, const std::string& reason) {
  done_ = true;
  if (outcome == AuthOutcome::failed && !verdict_.set && is_kerberos_mechanism(mechanism_)) {
    // A GSS token Cyrus refused before our callback ran (forged, replayed, for another
    // service) counts against the client's address like an unknown login.
    auth_->throttle().record_failure("krb:refused-token", client_.remote_ip);
  }
  AuthStep s;
  s.outcome = outcome;
  if (outcome == AuthOutcome::success) s.principal = verdict_.principal;
  auth_->log_attempt(client_, mechanism_, verdict_.user, outcome, reason);
  return s;
}

AuthStep SaslExchange::step(std::optional<std::string_view> response) {
  if (done_) {
    AuthStep s;
    s.outcome = AuthOutcome::failed;
    return s;
  }
  if (!started_) {
    started_ = true;
    if (!auth_->offered(mechanism_))
      return finish(AuthOutcome::bad_mechanism, "mechanism not offered");
    if (is_plaintext_mechanism(mechanism_) && !auth_->plaintext_allowed(client_)) {
      return finish(AuthOutcome::encryption_required, "plain-text mechanism on a clear connection");
    }
    if (needs_tls(mechanism_) && !auth_->plaintext_allowed(client_)) {
      return finish(AuthOutcome::encryption_required, "GSSAPI without TLS (no security layer)");
    }
    if (auth_->throttle().ip_blocked(client_.remote_ip)) {
      return finish(AuthOutcome::throttled, "client ip locked out");
    }
    if (mechanism_ == "SCRAM-SHA-256" &&
        !auth_->options().directory_password_allowed(client_.protocol)) {
      return finish(AuthOutcome::bad_mechanism,
                    "directory password not accepted on " + client_.protocol);
    }
    if (mechanism_ == "SCRAM-SHA-256") {
      scram_ = std::make_unique<ScramServer>(auth_->resolver(), auth_->throttle(), client_,
                                             auth_->options().installation_key);
    } else if (is_bearer_mechanism(mechanism_)) {
      bearer_ = std::make_unique<BearerServer>(
          mechanism_ == "OAUTHBEARER" ? BearerServer::Kind::oauthbearer
                                      : BearerServer::Kind::xoauth2,
          auth_->tokens(), auth_->resolver(), auth_->throttle(), client_);
    } else {
      return start_cyrus(response);
    }
  }
  if (bearer_) {
    auto r = bearer_->step(response);
    verdict_.user = bearer_->user();
    if (r.outcome == AuthOutcome::in_progress) return r;
    verdict_.principal = r.principal;
    return finish(r.outcome, bearer_->reason());
  }
  if (scram_) {
    auto r = scram_->step(response);
    verdict_.user = scram_->user();
    if (r.outcome == AuthOutcome::in_progress) return r;
    verdict_.principal = r.principal;
    AuthStep s = finish(r.outcome, scram_->reason());
    s.challenge = r.challenge;  // server-final message travels with success
    return s;
  }
  const char* out = nullptr;
  unsigned outlen = 0;
  std::string in = response ? std::string(*response) : std::string();
  int rc = sasl_server_step(conn_, in.data(), static_cast<unsigned>(in.size()), &out, &outlen);
  AuthStep s;
  if (rc == SASL_CONTINUE) {
    s.outcome = AuthOutcome::in_progress;
    s.challenge.assign(out ? out : "", outlen);
    return s;
  }
  if (rc == SASL_OK && verdict_.outcome == AuthOutcome::success) {
    if (!same_identities()) return finish(AuthOutcome::failed, "authorization identity differs");
    return finish(AuthOutcome::success, "ok");
  }
  // Cyrus refused after our check (e.g. the authorization identity): never a success.
  if (verdict_.set && verdict_.outcome != AuthOutcome::success) {
    return finish(verdict_.outcome, verdict_.reason);
  }
  if (rc == SASL_NOAUTHZ) return finish(AuthOutcome::failed, "authorization identity differs");
  if (verdict_.set) {
    return finish(AuthOutcome::failed,
                  std::string("sasl: ") + sasl_errstring(rc, nullptr, nullptr));
  }
  if (rc == SASL_BADPROT || rc == SASL_BADPARAM)
    return finish(AuthOutcome::malformed, "malformed response");
  return finish(AuthOutcome::failed, std::string("sasl: ") + sasl_errstring(rc, nullptr, nullptr));
}

AuthStep SaslExchange::start_cyrus(std::optional<std::string_view> response) {
  std::string service = auth_->options().sasl_service;
  std::string host;
  if (is_kerberos_mechanism(mechanism_)) {
    // RFC 4752 3.1: the acceptor is "<service>@<host>", the protocol's registered service
    // name (imap, pop, smtp) at our configured host name. Cyrus builds the same name from
    // sasl_server_new's service and serverFQDN; the credentials come from our keytab.
    const auto& krb = auth_->options().kerberos;
    service = gssapi_service(client_.protocol);
    host = krb.hostname;
    if (service.empty()) return finish(AuthOutcome::bad_mechanism, "no GSSAPI service name");
    auto creds = AcceptorCredentials::acquire(krb.keytab, service, host);
    if (!creds) {
      return finish(AuthOutcome::unavailable, "kerberos: " + creds.status().client_message() +
                                                  ": " + creds.status().log_detail());
    }
    gss_creds_ = std::move(creds).value();
  }
  int rc = sasl_server_new(service.c_str(), host.empty() ? nullptr : host.c_str(), nullptr, nullptr,
                           nullptr, callbacks_, 0, &conn_);
  if (rc != SASL_OK) return finish(AuthOutcome::unavailable, "sasl_server_new failed");
  sasl_security_properties_t props{};
  props.max_ssf = 0;  // no SASL security layer: TLS protects the connection
  sasl_setprop(conn_, SASL_SEC_PROPS, &props);
  if (gss_creds_) sasl_setprop(conn_, SASL_GSS_CREDS, gss_creds_->handle());
  const char* out = nullptr;
  unsigned outlen = 0;
  std::string in = response ? std::string(*response) : std::string();
  rc = sasl_server_start(conn_, mechanism_.c_str(), response ? in.data() : nullptr,
                         static_cast<unsigned>(in.size()), &out, &outlen);
  AuthStep s;
  if (rc == SASL_CONTINUE) {
    s.outcome = AuthOutcome::in_progress;
    s.challenge.assign(out ? out : "", outlen);
    return s;
  }
  if (rc == SASL_OK && verdict_.outcome == AuthOutcome::success) {
    if (!same_identities()) return finish(AuthOutcome::failed, "authorization identity differs");
    return finish(AuthOutcome::success, "ok");
  }
  // Cyrus refused after our check (e.g. the authorization identity): never a success.
  if (verdict_.set && verdict_.outcome != AuthOutcome::success) {
    return finish(verdict_.outcome, verdict_.reason);
  }
  if (rc == SASL_NOAUTHZ) return finish(AuthOutcome::failed, "authorization identity differs");
  if (verdict_.set) {
    return finish(AuthOutcome::failed,
                  std::string("sasl: ") + sasl_errstring(rc, nullptr, nullptr));
  }
  if (rc == SASL_NOMECH) return finish(AuthOutcome::bad_mechanism, "mechanism not available");
  if (rc == SASL_BADPROT || rc == SASL_BADPARAM)
    return finish(AuthOutcome::malformed, "malformed response");
  return finish(AuthOutcome::failed, std::string("sasl: ") + sasl_errstring(rc, nullptr, nullptr));
}

}  // namespace

std::shared_ptr<Authenticator> make_sasl_authenticator(
    std::shared_ptr<Resolver> resolver, const AuthOptions& options, const core::Clock& clock,
    std::shared_ptr<AppPasswordStore> app_passwords, std::shared_ptr<TokenVerifier> tokens) {
  return std::make_shared<SaslAuthenticator>(std::move(resolver), options, clock,
                                             std::move(app_passwords), std::move(tokens));
}

std::shared_ptr<Authenticator> make_authenticator(std::shared_ptr<Resolver> resolver,
                                                  const AuthOptions& options,
                                                  std::shared_ptr<AppPasswordStore> app_passwords,
                                                  std::shared_ptr<TokenVerifier> tokens) {
  return make_sasl_authenticator(std::move(resolver), options, core::real_clock(),
                                 std::move(app_passwords), std::move(tokens));
}

}  // namespace mailroom::auth
