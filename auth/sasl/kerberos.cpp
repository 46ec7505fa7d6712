// Kerberos pieces of the SASL GSSAPI login. See kerberos.h.
#include "auth/sasl/kerberos.h"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "src/core/address.h"
#include "src/core/config_section.h"

namespace mailroom::auth {

namespace {

bool valid_realm(const std::string& r) {
  if (r.empty() || r.size() > 255) return false;
  return std::none_of(r.begin(), r.end(), [](unsigned char c) {
    return c <= 0x20 || c == 0x7f || c == '@' || c == '/' || c == '\\';
  });
}

// One krb5_context per call: these run at start-up and once per login, and a shared context
// would need a lock (MIT contexts are not thread-safe).
class Krb5Context {
 public:
  Krb5Context() { ok_ = krb5_init_context(&ctx_) == 0; }
  ~Krb5Context() {
    if (ok_) krb5_free_context(ctx_);
  }
  Krb5Context(const Krb5Context&) = delete;
  Krb5Context& operator=(const Krb5Context&) = delete;
  bool ok() const { return ok_; }
  krb5_context get() const { return ctx_; }
  std::string error(krb5_error_code code) const {
    const char* m = krb5_get_error_message(ctx_, code);
    std::string s = m ? m : "unknown Kerberos error";
    krb5_free_error_message(ctx_, m);
    return s;
  }

 private:
  krb5_context ctx_ = nullptr;
  bool ok_ = false;
};

}  // namespace

std::string gss_error_text(uint32_t major, uint32_t minor) {
  std::string out;
  for (auto [status, type] :
       {std::pair{major, GSS_C_GSS_CODE}, std::pair{minor, GSS_C_MECH_CODE}}) {
    OM_uint32 ctx = 0;
    do {
      OM_uint32 min = 0;
      gss_buffer_desc text{0, nullptr};
      if (GSS_ERROR(gss_display_status(&min, status, type, GSS_C_NO_OID, &ctx, &text))) break;
      if (text.length > 0) {
        if (!out.empty()) out += ": ";
        out.append(static_cast<const char*>(text.value), text.length);
      }
      gss_release_buffer(&min, &text);
    } while (ctx != 0);
  }
  return out;
}

KerberosOptions parse_kerberos_options(core::ConfigSection& s) {
  KerberosOptions o;
  o.keytab = s.get_string("kerberos_keytab", "");
  o.hostname = core::ascii_lower(s.get_string("kerberos_hostname", ""));
  for (const auto& r : s.get_strings("kerberos_realms", {})) {
    if (!valid_realm(r)) {
      s.error("kerberos_realms", "'" + r + "' is not a Kerberos realm name");
      continue;
    }
    o.realms.push_back(r);
  }
  auto mapping =
      s.get_choice("kerberos_mapping", "strip_realm", {"strip_realm", "realm_to_domain"});
  o.mapping = mapping == "realm_to_domain" ? KerberosMapping::realm_to_domain
                                           : KerberosMapping::strip_realm;
  if (!o.enabled()) {
    for (const char* key : {"kerberos_hostname", "kerberos_realms", "kerberos_mapping"}) {
      if (s.has(key)) s.error(key, "needs kerberos_keytab (Kerberos is off without a keytab)");
    }
  }
  return o;
}

core::Result<KerberosPrincipal> parse_principal(std::string_view text) {
  KerberosPrincipal p;
  std::string current;
  bool in_realm = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 1 == text.size()) return core::not_found("principal ends with a backslash");
      char e = text[++i];
      // RFC 1964 2.1.1 and MIT's krb5_parse_name: \n \t \b \0 stand for controls, which no
      // login name contains; refuse rather than decode them.
      if (e != '@' && e != '/' && e != '\\') return core::not_found("unsupported escape");
      current += e;
    } else if (c == '@' && !in_realm) {
      p.components.push_back(std::move(current));
      current.clear();
      in_realm = true;
    } else if (c == '/' && !in_realm) {
      p.components.push_back(std::move(current));
      current.clear();
    } else {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return core::not_found("principal contains a control character");
      }
      current += c;
    }
  }
  if (in_realm) {
    if (current.empty()) return core::not_found("empty realm");
    p.realm = std::move(current);
  } else {
    p.components.push_back(std::move(current));
  }
  for (const auto& c : p.components) {
    if (c.empty()) return core::not_found("empty principal component");
  }
  return p;
}

std::string full_principal(std::string_view authid, std::string_view default_realm) {
  for (size_t i = 0; i < authid.size(); ++i) {
    if (authid[i] == '\\') {
      ++i;
    } else if (authid[i] == '@') {
      return std::string(authid);
    }
  }
  if (default_realm.empty()) return std::string(authid);
  return std::string(authid) + "@" + std::string(default_realm);
}

core::Result<std::string> principal_to_login(std::string_view principal,
                                             const std::vector<std::string>& allowed_realms,
                                             KerberosMapping mapping) {
  auto p = parse_principal(principal);
  if (!p) return p.status();
  if (p->realm.empty()) return core::not_found("principal without a realm");
  // Realms are case-sensitive (RFC 4120 6.1): EXAMPLE.COM and example.com are two realms.
  if (std::find(allowed_realms.begin(), allowed_realms.end(), p->realm) == allowed_realms.end()) {
    return core::not_found("realm " + p->realm + " is not in kerberos_realms");
  }
  if (p->components.size() != 1) {
    return core::not_found("principal has an instance (a role or service, not a user)");
  }
  const std::string& name = p->components[0];
  if (name.find('@') != std::string::npos) {
    // An enterprise name (alice@example.com@EXAMPLE.COM, RFC 6806 5): already an address.
    return mapping == KerberosMapping::realm_to_domain
               ? core::Result<std::string>(name)
               : core::Result<std::string>(core::not_found("enterprise principal name"));
  }
  if (mapping == KerberosMapping::realm_to_domain) {
    return name + "@" + core::ascii_lower(p->realm);
  }
  return name;
}

std::string gssapi_service(std::string_view protocol) {
  if (protocol == "imap") return "imap";                              // RFC 3501 6.2.2
  if (protocol == "pop3") return "pop";                               // RFC 5034 4
  if (protocol == "smtp" || protocol == "submission") return "smtp";  // RFC 4954 4
  return {};
}

std::string default_realm() {
  Krb5Context ctx;
  if (!ctx.ok()) return {};
  char* realm = nullptr;
  if (krb5_get_default_realm(ctx.get(), &realm) != 0 || !realm) return {};
  std::string out = realm;
  krb5_free_default_realm(ctx.get(), realm);
  return out;
}

std::vector<std::string> allowed_realms(const KerberosOptions& options) {
  if (!options.realms.empty()) return options.realms;
  std::string r = default_realm();
  if (r.empty()) return {};
  return {r};
}

core::Result<std::vector<std::string>> keytab_principals(const std::string& keytab) {
  // libkrb5 reports a missing or unreadable file only as "no such entry" when scanning; open
  // it first so the administrator reads the real reason.
  {
    std::ifstream f(keytab, std::ios::binary);
    if (!f) {
      return core::io_error("cannot read keytab " + keytab + ": " + std::strerror(errno));
    }
    char version = 0;
    if (!f.get(version) || version != 5) {
      return core::invalid_argument("keytab " + keytab + " is not a Kerberos keytab file");
    }
  }
  Krb5Context ctx;
  if (!ctx.ok()) return core::internal_error("krb5_init_context failed");
  krb5_keytab kt = nullptr;
  std::string name = "FILE:" + keytab;
  if (auto rc = krb5_kt_resolve(ctx.get(), name.c_str(), &kt); rc != 0) {
    return core::io_error("cannot open keytab " + keytab + ": " + ctx.error(rc));
  }
  std::vector<std::string> out;
  krb5_kt_cursor cursor;
  if (auto rc = krb5_kt_start_seq_get(ctx.get(), kt, &cursor); rc != 0) {
    std::string e = ctx.error(rc);
    krb5_kt_close(ctx.get(), kt);
    return core::io_error("cannot read keytab " + keytab + ": " + e);
  }
  krb5_keytab_entry entry;
  while (krb5_kt_next_entry(ctx.get(), kt, &entry, &cursor) == 0) {
    char* text = nullptr;
    if (krb5_unparse_name(ctx.get(), entry.principal, &text) == 0 && text) {
      if (std::find(out.begin(), out.end(), text) == out.end()) out.emplace_back(text);
      krb5_free_unparsed_name(ctx.get(), text);
    }
    krb5_free_keytab_entry_contents(ctx.get(), &entry);
  }
  krb5_kt_end_seq_get(ctx.get(), kt, &cursor);
  krb5_kt_close(ctx.get(), kt);
  return out;
}

core::Status check_keytab(const KerberosOptions& options,
                          const std::vector<std::string>& services) {
  auto realms = allowed_realms(options);
  if (realms.empty()) {
    return core::invalid_argument(
        "[auth] kerberos_realms is not set and the Kerberos configuration (KRB5_CONFIG or "
        "/etc/krb5.conf) names no default_realm: list the realms whose users may log in");
  }
  auto held = keytab_principals(options.keytab);
  if (!held) {
    return core::Status::error(held.code(),
                               "[auth] kerberos_keytab: " + held.status().client_message());
  }
  std::string missing;
  for (const auto& service : services) {
    std::string base = service + "/" + options.hostname + "@";
    bool found = std::any_of(realms.begin(), realms.end(), [&](const std::string& r) {
      return std::find(held->begin(), held->end(), base + r) != held->end();
    });
    if (!found) {
      missing += (missing.empty() ? "" : ", ") + base + realms.front();
    }
  }
  if (missing.empty()) return core::Status::ok();
  std::string realm_list;
  for (const auto& r : realms) realm_list += (realm_list.empty() ? "" : ", ") + r;
  std::string holds;
  for (const auto& p : *held) holds += (holds.empty() ? "" : ", ") + p;
  return core::invalid_argument("[auth] kerberos_keytab " + options.keytab + " has no key for " +
                                missing + " (realms " + realm_list +
                                "); it holds: " + (holds.empty() ? "nothing" : holds));
}

core::Result<std::unique_ptr<AcceptorCredentials>> AcceptorCredentials::acquire(
    const std::string& keytab, const std::string& service, const std::string& hostname) {
  // RFC 4752 3.1: the acceptor is the host-based service "<service>@<hostname>".
  std::string text = service + "@" + hostname;
  // MIT's gss_acquire_cred_from leaks a principal each time it fails (krb5 1.20), and its
  // reasons are vague: look for the key first, so a keytab that lost it costs no memory.
  auto held = keytab_principals(keytab);
  if (!held)
    return core::unavailable("no Kerberos credentials for " + text, held.status().client_message());
  std::string prefix = service + "/" + hostname + "@";
  if (std::none_of(held->begin(), held->end(),
                   [&](const std::string& p) { return p.rfind(prefix, 0) == 0; })) {
    return core::unavailable("no Kerberos credentials for " + text,
                             "keytab " + keytab + " has no key for " + prefix + "<realm>");
  }
  gss_buffer_desc buf{text.size(), text.data()};
  OM_uint32 minor = 0;
  gss_name_t name = GSS_C_NO_NAME;
  OM_uint32 major = gss_import_name(&minor, &buf, GSS_C_NT_HOSTBASED_SERVICE, &name);
  if (GSS_ERROR(major)) {
    return core::invalid_argument("bad service name " + text, gss_error_text(major, minor));
  }
  gss_key_value_element_desc element{"keytab", keytab.c_str()};
  gss_key_value_set_desc store{1, &element};
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  major = gss_acquire_cred_from(&minor, name, GSS_C_INDEFINITE, GSS_C_NO_OID_SET, GSS_C_ACCEPT,
                                &store, &cred, nullptr, nullptr);
  OM_uint32 ignored = 0;
  gss_release_name(&ignored, &name);
  if (GSS_ERROR(major)) {
    return core::unavailable("no Kerberos credentials for " + text,
                             "keytab " + keytab + ": " + gss_error_text(major, minor));
  }
  return std::unique_ptr<AcceptorCredentials>(new AcceptorCredentials(cred));
}

AcceptorCredentials::~AcceptorCredentials() {
  OM_uint32 minor = 0;
  gss_cred_id_t c = handle_;
  if (c != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &c);
}

}  // namespace mailroom::auth
