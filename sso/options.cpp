// [sso] configuration (sso.h lists the keys).
#include <fstream>

#include "src/core/config_section.h"
#include "sso/sso.h"

namespace mailroom::sso {

Options parse_options(core::ConfigSection& s) {
  Options o;
  o.clock_skew = s.get_seconds("clock_skew", o.clock_skew);
  o.max_token_bytes = static_cast<size_t>(
      s.get_int("max_token_bytes", static_cast<int64_t>(o.max_token_bytes), 256, 1 << 20));
  o.refresh_interval = std::max<int64_t>(1, s.get_seconds("refresh_interval", o.refresh_interval));
  o.unknown_key_interval = s.get_seconds("unknown_key_interval", o.unknown_key_interval);
  o.fetch_timeout = std::max<int64_t>(1, s.get_seconds("fetch_timeout", o.fetch_timeout));
  o.tls_ca_file = s.get_string("tls_ca_file", "");
  o.allow_http = s.get_bool("allow_http", false);
  o.introspection_cache = static_cast<size_t>(
      s.get_int("introspection_cache", static_cast<int64_t>(o.introspection_cache), 0, 10'000'000));
  for (auto& is : s.children("issuer")) {
    IssuerOptions i;
    i.issuer = is.get_string("issuer", "");
    if (i.issuer.empty()) is.error("issuer", "required: the exact iss of the provider's tokens");
    i.audiences = is.get_strings("audiences", {});
    if (i.audiences.empty()) {
      is.error("audiences",
               "required: the aud values of tokens meant for the mail server (e.g. its client id)");
    }
    i.required_scope = is.get_string("required_scope", "");
    i.claim = is.get_string("claim", i.claim);
    i.match = is.get_choice("match", "login", {"login", "id"}) == "id" ? auth::TokenMatch::id
                                                                       : auth::TokenMatch::login;
    i.discovery_url = is.get_string("discovery_url", "");
    i.jwks_uri = is.get_string("jwks_uri", "");
    i.introspection_endpoint = is.get_string("introspection_endpoint", "");
    i.client_id = is.get_string("client_id", "");
    i.client_secret = is.get_string("client_secret", "");
    std::string secret_file = is.get_string("client_secret_file", "");
    if (!secret_file.empty()) {
      std::ifstream in(secret_file);
      if (!in || !std::getline(in, i.client_secret)) {
        is.error("client_secret_file", "cannot read " + secret_file);
      }
    }
    for (const std::string* url :
         {&i.issuer, &i.discovery_url, &i.jwks_uri, &i.introspection_endpoint}) {
      if (url->rfind("http://", 0) == 0 && !o.allow_http) {
        is.error("issuer",
                 "http:// URL " + *url + " needs [sso] allow_http = true (test providers only)");
        break;
      }
    }
    is.finish();
    o.issuers.push_back(std::move(i));
  }
  s.finish();
  return o;
}

}  // namespace mailroom::sso
