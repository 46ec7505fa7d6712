// [[webmail.sso]]: the identity providers the web client offers as "Sign in with <company>"
// (OpenID Connect authorization code flow with PKCE, sso.h). One table per provider; the
// first is the default of /webmail/sso/start.
//
//   [[webmail.sso]]
//   id = "corp"                       [A-Za-z0-9_-]{1,32}: /webmail/sso/start?provider=corp
//   display_name = "Example Corp"     the button says "Sign in with Example Corp" [the id]
//   issuer = "https://login.example.com/realms/corp"   the exact `iss` (required)
//   client_id = "mailroom-webmail"    (required)
//   client_secret_file = "/etc/mailroom/webmail-sso.secret"   mode 0600 (required)
//   redirect_uri = ""                 ["" = <scheme>://<Host>/webmail/sso/callback]
//   scopes = ["openid", "email", "profile"]   "openid" is always sent
//   claim = ""                        the claim naming the account ["" = the [[sso.issuer]]
//                                     of the same issuer's, else "email"]
//   match = ""                        "login" or "id" ["" = as claim]
//   discovery_url = "", jwks_uri = "" as in [[sso.issuer]] ["" = the trusted issuer's, or
//                                     <issuer>/.well-known/openid-configuration]
//   authorization_endpoint = "", token_endpoint = "", end_session_endpoint = ""
//                                     ["" = from discovery]
//   post_logout_redirect_uri = ""     where the provider sends the browser after sign-out
//                                     ["" = none sent]
//   login_timeout = "10m"             a sign-in must come back within this
//
// Provider URLs must be https:// unless [sso] allow_http (test providers on loopback); its
// CA bundle, fetch_timeout and clock_skew apply here too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::webmail {

struct SsoProviderOptions {
  std::string id;
  std::string display_name;
  std::string issuer;
  std::string client_id;
  std::string client_secret;
  std::string redirect_uri;
  std::vector<std::string> scopes{"openid", "email", "profile"};
  std::string claim;  // "" = inherit
  std::string match;  // "" = inherit; else "login" or "id"
  std::string discovery_url;
  std::string jwks_uri;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string end_session_endpoint;
  std::string post_logout_redirect_uri;
  int64_t login_timeout = 600;
};

// Reads every [[webmail.sso]] table of `webmail` (the [webmail] section; not finished here).
// The client secret file must exist, be a regular file and be readable by its owner only
// (mode 0600 or stricter): a config error names the key otherwise.
std::vector<SsoProviderOptions> parse_sso_options(core::ConfigSection& webmail);

}  // namespace mailroom::webmail
