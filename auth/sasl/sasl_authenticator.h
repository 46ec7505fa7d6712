// The Authenticator of auth/authenticator.h on Cyrus SASL (libsasl2, server side).
//
// PLAIN and LOGIN run inside Cyrus; Cyrus hands the decoded credentials to our
// SASL_CB_SERVER_USERDB_CHECKPASS callback (one context per exchange), which applies the
// identity rules (Resolver::find_login), the account status, the Directory's password check
// and the throttle; before the directory, passwords shaped like an app password are checked
// against the account's app passwords (auth/app_passwords.h). The verdict is kept in the exchange
// so "directory down" (unavailable) and "account disabled" survive Cyrus's yes/no answer.
//
// GSSAPI (RFC 4752, Kerberos; auth/sasl/kerberos.h) runs in Cyrus's GSSAPI plugin with the
// acceptor credentials of "<service>@<kerberos_hostname>" from our keytab, the service being
// the protocol's (imap, pop, smtp). Cyrus calls no password check for it: our
// SASL_CB_PROXY_POLICY callback maps the client principal to a login (kerberos_mapping) and
// applies Resolver::find_login, the account status and the throttle, and refuses an
// authorization identity that denotes another account. No security layer is negotiated.
//
// Mechanism availability: PLAIN/LOGIN, GSSAPI, OAUTHBEARER and XOAUTH2 only on TLS, or on
// loopback when allow_plaintext_on_loopback; GSSAPI only with kerberos_keytab and Cyrus's
// GSSAPI plugin; OAUTHBEARER/XOAUTH2 only with a token verifier; SCRAM-SHA-256 (the directory
// password) only on protocols of directory_password_protocols. Every finished attempt logs one
// line
//   event=auth.attempt session=.. protocol=.. ip=.. mechanism=.. user=.. result=.. reason=..
// (never a password).
#pragma once

#include <memory>

#include "auth/auth_options.h"
#include "auth/authenticator.h"
#include "auth/sasl/throttle.h"
#include "auth/token_verifier.h"

namespace mailroom::auth {

// clock: the throttle's (tests pass a core::ManualClock); it must outlive the authenticator.
// app_passwords: tried before the directory password (see verify() in authenticator.cpp);
// null when the installation has none. tokens: checks the bearer tokens of OAUTHBEARER and
// XOAUTH2 (sso/); without it those mechanisms are not offered.
std::shared_ptr<Authenticator> make_sasl_authenticator(
    std::shared_ptr<Resolver> resolver, const AuthOptions& options,
    const core::Clock& clock = core::real_clock(),
    std::shared_ptr<AppPasswordStore> app_passwords = nullptr,
    std::shared_ptr<TokenVerifier> tokens = {});

}  // namespace mailroom::auth
