// GSS-API and Cyrus SASL for the LDAP service bind (ldap_gssapi.h); libldap's SASL side.
#include "auth/ldap/ldap_gssapi.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>
#include <ldap.h>
#include <sasl/sasl.h>

#include <atomic>

#include "auth/sasl/kerberos.h"
#include "src/core/log.h"

namespace mailroom::auth::ldap {

namespace {

// The option a Kerberos answer points at, or "" when it is not the configuration's fault (a
// KDC that is down or blinked).
const char* problem_key(OM_uint32 minor) {
  switch (static_cast<krb5_error_code>(minor)) {
    case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:  // no such account
    case KRB5KDC_ERR_CLIENT_REVOKED:       // the account is disabled or locked
    case KRB5KDC_ERR_KEY_EXP:              // its password expired
      return "principal";
    case KRB5KDC_ERR_PREAUTH_FAILED:  // the keytab's key is not the account's (old kvno)
    case KRB5KRB_AP_ERR_BAD_INTEGRITY:
    case KRB5KDC_ERR_ETYPE_NOSUPP:  // no key of an enctype the KDC allows
    case KRB5_KT_NOTFOUND:          // no key for the principal
    case KRB5_KT_KVNONOTFOUND:
    case KRB5_KT_END:
    case KRB5_PREAUTH_FAILED:
      return "keytab";
    default:
      return "";
  }
}

std::atomic<uint64_t> ccache_counter{0};

// A MEMORY ccache lives until destroyed: each acquisition made one.
void destroy_ccache(const std::string& name) {
  krb5_context ctx = nullptr;
  if (krb5_init_context(&ctx) != 0) return;
  krb5_ccache cc = nullptr;
  if (krb5_cc_resolve(ctx, name.c_str(), &cc) == 0) krb5_cc_destroy(ctx, cc);
  krb5_free_context(ctx);
}

}  // namespace

GssapiCredential::GssapiCredential(gss_cred_id_struct* handle, std::string ccache,
                                   Clock::time_point expires_at, Clock::time_point refresh_at,
                                   uint64_t generation)
    : handle_(handle),
      ccache_(std::move(ccache)),
      expires_at_(expires_at),
      refresh_at_(refresh_at),
      generation_(generation) {}

GssapiCredential::~GssapiCredential() {
  OM_uint32 minor = 0;
  gss_cred_id_t c = handle_;
  if (c != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &c);
  destroy_ccache(ccache_);
}

GssapiCredentials::GssapiCredentials(std::string keytab, std::string principal, int renew_before_s)
    : keytab_(std::move(keytab)),
      principal_(std::move(principal)),
      renew_before_s_(renew_before_s) {}

core::Result<std::shared_ptr<const GssapiCredential>> GssapiCredentials::current() {
  // One acquisition at a time: a pool opening four connections asks the KDC once.
  std::lock_guard lock(mu_);
  auto now = GssapiCredential::Clock::now();
  if (current_ && !due_locked(now)) return current_;

  std::string what = "Kerberos credentials of " + principal_ + " from the keytab " + keytab_;
  gss_buffer_desc buf{principal_.size(), principal_.data()};
  OM_uint32 minor = 0;
  gss_name_t name = GSS_C_NO_NAME;
  OM_uint32 major = gss_import_name(&minor, &buf, GSS_C_NT_USER_NAME, &name);
  if (GSS_ERROR(major))
    return core::invalid_argument("directory unavailable", "principal: '" + principal_ + "': " +
                                                               gss_error_text(major, minor));

  std::string ccache = "MEMORY:mailroom-ldap-" + std::to_string(++ccache_counter);
  gss_key_value_element_desc elements[] = {{"client_keytab", keytab_.c_str()},
                                           {"ccache", ccache.c_str()}};
  gss_key_value_set_desc store{2, elements};
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  OM_uint32 lifetime = 0;
  major = gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, GSS_C_NO_OID_SET, GSS_C_INITIATE,
                                &store, &cred, nullptr, nullptr);
  OM_uint32 ignored = 0;
  gss_release_name(&ignored, &name);
  if (!GSS_ERROR(major)) {
    // MIT gets the TGT from the client keytab when asked for the lifetime at the latest:
    // a KDC that is down or a wrong key shows here, not in the middle of an LDAP bind.
    major = gss_inquire_cred(&minor, cred, nullptr, &lifetime, nullptr, nullptr);
    if (!GSS_ERROR(major) && lifetime == 0) major = GSS_S_CREDENTIALS_EXPIRED;
  }
  if (GSS_ERROR(major)) {
    std::string reason = gss_error_text(major, minor);
    if (cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&ignored, &cred);
    destroy_ccache(ccache);
    std::string key = problem_key(minor);
    MR_LOG_WARN("event=ldap_gssapi_credentials result=failed principal={} keytab={} reason={}",
                core::quote(principal_), core::quote(keytab_), core::quote(reason));
    std::string detail = (key.empty() ? "" : key + ": ") + what + ": " + reason;
    // A KDC that blinked at renewal time: the previous credential serves until it expires,
    // and the renewal is tried again a little later (not at every new connection).
    if (key.empty() && current_ && now + kRetryRenewal < current_->expires_at()) {
      retry_at_ = now + kRetryRenewal;
      publish_locked();
      MR_LOG_WARN("event=ldap_gssapi_credentials result=renewal_postponed generation={}",
                  current_->generation());
      return current_;
    }
    return key.empty() ? core::unavailable("directory unavailable", detail)
                       : core::invalid_argument("directory unavailable", detail);
  }
  auto life = std::chrono::seconds(lifetime == GSS_C_INDEFINITE ? 86400 : lifetime);
  auto renew = std::chrono::seconds(renew_before_s_);
  auto refresh_at = now + (renew < life ? life - renew : life / 2);
  current_ =
      std::make_shared<const GssapiCredential>(cred, ccache, now + life, refresh_at, ++generation_);
  publish_locked();
  MR_LOG_INFO(
      "event=ldap_gssapi_credentials result=acquired principal={} generation={} lifetime_s={} "
      "renew_in_s={}",
      core::quote(principal_), generation_, life.count(),
      std::chrono::duration_cast<std::chrono::seconds>(refresh_at - now).count());
  return current_;
}

bool GssapiCredentials::due_locked(GssapiCredential::Clock::time_point now) const {
  return !current_ || (now >= current_->refresh_at() && now >= retry_at_);
}

void GssapiCredentials::publish_locked() {
  using Clock = GssapiCredential::Clock;
  auto due_at = current_ ? std::max(current_->refresh_at(), retry_at_) : Clock::time_point{};
  due_at_.store(due_at.time_since_epoch().count());
  generation_now_.store(current_ ? current_->generation() : 0);
}

bool GssapiCredentials::due() const {
  return GssapiCredential::Clock::now().time_since_epoch().count() >= due_at_.load();
}

void GssapiCredentials::drop(const GssapiCredential& used) {
  std::lock_guard lock(mu_);
  if (current_.get() == &used) current_.reset();
  publish_locked();
}

// libldap's interaction callback (LDAP_SASL_INTERACT_PROC). Cyrus's GSSAPI plugin asks only
// for the authorization identity (SASL_CB_USER): none, so the server takes the principal's
// own. The plugin's SASL context exists by now (libldap creates it per bind, after the
// connection), so this is where the credential can be handed to it.
namespace {
struct InteractContext {
  gss_cred_id_t credential;
  bool credential_set = false;
};

int interact(LDAP* ld, unsigned /*flags*/, void* defaults, void* prompts) {
  auto* ctx = static_cast<InteractContext*>(defaults);
  if (!ctx->credential_set) {
    if (ldap_set_option(ld, LDAP_OPT_X_SASL_GSS_CREDS, ctx->credential) != LDAP_OPT_SUCCESS)
      return LDAP_LOCAL_ERROR;
    ctx->credential_set = true;
  }
  for (auto* p = static_cast<sasl_interact_t*>(prompts); p && p->id != SASL_CB_LIST_END; ++p) {
    if (p->id != SASL_CB_USER) return LDAP_LOCAL_ERROR;  // nothing else is ours to answer
    p->result = "";
    p->len = 0;
  }
  return LDAP_SUCCESS;
}
}  // namespace

int gssapi_bind(::ldap* ld, const GssapiCredential& credential, bool seal) {
  ldap_set_option(ld, LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON);
  // RFC 4752 3.3: the security layer; 56 is the SSF Cyrus gives Kerberos confidentiality.
  ldap_set_option(ld, LDAP_OPT_X_SASL_SECPROPS, seal ? "minssf=56" : "maxssf=0");
  InteractContext ctx{credential.handle()};
  return ldap_sasl_interactive_bind_s(ld, nullptr, "GSSAPI", nullptr, nullptr, LDAP_SASL_QUIET,
                                      interact, &ctx);
}

std::string gssapi_bind_problem(int rc, const std::string& diagnostic) {
  auto says = [&](const char* text) { return diagnostic.find(text) != std::string::npos; };
  if (rc == LDAP_STRONG_AUTH_REQUIRED || rc == LDAP_UNWILLING_TO_PERFORM ||
      rc == LDAP_INAPPROPRIATE_AUTH || rc == LDAP_CONFIDENTIALITY_REQUIRED)
    return "sasl_ssf";  // Samba: sealing inside TLS (53), no layer at all (8)
  if (rc == LDAP_AUTH_UNKNOWN || rc == LDAP_AUTH_METHOD_NOT_SUPPORTED)
    return "bind_method";  // no GSSAPI plugin here (libsasl2-modules-gssapi-mit), or there
  if (rc == LDAP_INVALID_CREDENTIALS) return "principal";
  // The KDC has no SPN ldap/<host>: the service_uris host is not the DC's name.
  if (says("Server not found in Kerberos database") || says("Server ldap/")) return "service_uris";
  if (says("Client not found in Kerberos database") || says("Preauthentication failed") ||
      says("Key table entry not found"))
    return "principal";
  return "";
}

}  // namespace mailroom::auth::ldap
