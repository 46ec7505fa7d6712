// The web client's company sign-in (sso.h).
#include "src/webmail/sso.h"

#include <boost/json.hpp>
#include <cctype>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>

#include "auth/authenticator.h"
#include "auth/policy/policy_directory.h"
#include "auth/resolver.h"
#include "src/core/address.h"
#include "src/core/log.h"
#include "src/core/services.h"
#include "src/webmail/form.h"
#include "src/webmail/sso_pending.h"
#include "src/webmail/sso_protocol.h"
#include "src/webmail/webmail.h"

namespace mailroom::webmail {
namespace json = boost::json;

namespace {

constexpr const char* kPreCookie = "mailroom_sso";
constexpr const char* kCallbackPath = "/webmail/sso/callback";
constexpr std::size_t kMaxPending = 10000;
constexpr std::size_t kMaxLogoutHints = 10000;

struct SsoProvider {
  SsoProviderOptions options;
  std::string claim;
  auth::TokenMatch match = auth::TokenMatch::login;
};

// RFC 6749 2.3.1: the client id and secret are form-encoded before HTTP Basic.
std::string basic_form_encode(std::string_view s) {
  std::string out = http::percent_encode(s);
  return out;
}

http::Response sso_redirect(const std::string& location) {
  http::Response r;
  r.status = 303;
  r.set_header("Location", location);
  r.set_header("Cache-Control", "no-store");
  // The callback's URL carries the code: no Referer to whatever the next page loads.
  r.set_header("Referrer-Policy", "no-referrer");
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  return r;
}

std::string sso_pre_cookie(const std::string& value, int64_t max_age) {
  return std::string(kPreCookie) + "=" + value +
         "; HttpOnly; Secure; SameSite=Lax; Path=/webmail/sso; Max-Age=" + std::to_string(max_age);
}

bool well_formed_browser_token(const std::string& v) {
  if (v.size() != 43) return false;
  for (unsigned char c : v) {
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

bool is_http_url(const std::string& url) { return url.rfind("http://", 0) == 0; }

}  // namespace

class SsoLogin {
 public:
  SsoLogin(core::Services& s, std::shared_ptr<Webmail> w) : services(s), webmail(std::move(w)) {}
  core::Services& services;
  std::shared_ptr<Webmail> webmail;
  std::vector<SsoProvider> providers;
  std::shared_ptr<sso::TokenService> tokens;
  sso::HttpFetch fetch;
  int64_t clock_skew = 60;
  PendingLogins pending{kMaxPending};

  // For RP-initiated logout: SHA-256 of the session token -> provider and ID Token.
  struct Hint {
    std::size_t provider;
    std::string id_token;
  };
  std::mutex hints_mu;
  std::map<std::string, Hint> hints;
  std::deque<std::string> hints_order;

  void remember_hint(const std::string& session_token, std::size_t provider, std::string id_token) {
    std::lock_guard lock(hints_mu);
    while (hints.size() >= kMaxLogoutHints && !hints_order.empty()) {
      hints.erase(hints_order.front());
      hints_order.pop_front();
    }
    std::string key = sha256_hex(session_token);
    hints[key] = Hint{provider, std::move(id_token)};
    hints_order.push_back(key);
  }

  // The end-session URL for a session started here ("" when there is none).
  std::string logout_url(const std::string& session_token) {
    std::optional<Hint> hint;
    {
      std::lock_guard lock(hints_mu);
      auto it = hints.find(sha256_hex(session_token));
      if (it == hints.end()) return {};
      hint = std::move(it->second);
      hints.erase(it);  // the order queue drops its key lazily
    }
    const auto& p = providers[hint->provider].options;
    std::string endpoint = p.end_session_endpoint;
    if (endpoint.empty()) endpoint = tokens->endpoints(p.issuer).end_session;
    if (endpoint.empty()) return {};
    return end_session_url(endpoint, hint->id_token, p.client_id, p.post_logout_redirect_uri);
  }

  http::Response refuse(const http::Request& req, const std::string& provider,
                        const std::string& code, const std::string& detail) {
    MR_LOG_WARN("event=webmail.sso_refused session={} provider={} ip={} reason={} detail={}",
                req.session_id, core::quote(provider), req.remote_ip, code, core::quote(detail));
    auto r = sso_redirect("/webmail/?sso_error=" + code);
    r.headers.emplace_back("Set-Cookie", sso_pre_cookie("", 0));
    return r;
  }

  http::Response list(const http::Request&) {
    json::array a;
    for (const auto& p : providers) {
      a.push_back(json::object{{"id", p.options.id}, {"name", p.options.display_name}});
    }
    auto r = http::Response::json(200, json::serialize(json::object{{"providers", a}}));
    r.set_header("Cache-Control", "no-store");
    r.set_header("X-Content-Type-Options", "nosniff");
    return r;
  }

  http::Response start(const http::Request& req) {
    std::size_t index = 0;
    if (auto id = req.query_param("provider")) {
      index = providers.size();
      for (std::size_t i = 0; i < providers.size(); ++i) {
        if (providers[i].options.id == *id) index = i;
      }
      if (index == providers.size()) {
        return refuse(req, id->substr(0, 40), "request", "unknown provider");
      }
    }
    const auto& p = providers[index].options;
    std::string endpoint = p.authorization_endpoint;
    if (endpoint.empty()) endpoint = tokens->endpoints(p.issuer).authorization;
    if (endpoint.empty()) {
      return refuse(req, p.id, "unavailable", "no authorization_endpoint (discovery failed?)");
    }
    std::string redirect_uri = p.redirect_uri;
    if (redirect_uri.empty()) {
      // The Host the browser used; the provider only sends the browser back to a registered
      // redirect URI, so a forged Host gets nowhere.
      auto host = req.header("host").value_or("");
      bool ok = !host.empty() && host.size() <= 255;
      for (unsigned char c : host) {
        ok = ok && (std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']');
      }
      if (!ok) return refuse(req, p.id, "request", "no usable Host header");
      redirect_uri = std::string(req.tls ? "https://" : "http://") + host + kCallbackPath;
    }
    // One pre-session cookie per browser, kept across sign-ins started in several tabs.
    auto cookies = req.header("cookie");
    auto browser = cookies ? cookie_value(*cookies, kPreCookie) : std::nullopt;
    if (!browser || !well_formed_browser_token(*browser)) browser = random_token();
    auto started = pending.start(index, *browser, redirect_uri, p.login_timeout);
    AuthorizationRequest ar{endpoint,      p.client_id,   redirect_uri,          p.scopes,
                            started.state, started.nonce, started.code_challenge};
    MR_LOG_INFO("event=webmail.sso_start session={} provider={} ip={}", req.session_id,
                core::quote(p.id), req.remote_ip);
    auto r = sso_redirect(authorization_url(ar));
    r.headers.emplace_back("Set-Cookie", sso_pre_cookie(*browser, p.login_timeout));
    return r;
  }

  http::Response callback(const http::Request& req) {
    std::string why;
    auto params = parse_callback_query(req.query, &why);
    if (!params) return refuse(req, "", "request", why);
    auto cookies = req.header("cookie");
    auto browser = cookies ? cookie_value(*cookies, kPreCookie) : std::nullopt;
    PendingLogins::Refusal refusal;
    auto login = pending.take(params->state, browser.value_or(""), &refusal);
    if (!login) {
      const char* detail =
          refusal == PendingLogins::Refusal::other_browser ? "state of another browser"
          : refusal == PendingLogins::Refusal::expired ? "sign-in took longer than login_timeout"
                                                       : "unknown or already used state";
      return refuse(req, "", refusal == PendingLogins::Refusal::expired ? "expired" : "state",
                    detail);
    }
    const SsoProvider& provider = providers[login->provider];
    const auto& p = provider.options;
    if (!params->error.empty()) {
      return refuse(
          req, p.id, params->error == "access_denied" ? "denied" : "provider",
          "provider error " + params->error + ": " + params->error_description.substr(0, 200));
    }
    // RFC 9207 2.4: an iss in the answer must be the provider's.
    if (!params->iss.empty() && params->iss != p.issuer) {
      return refuse(req, p.id, "token", "iss parameter " + core::quote(params->iss.substr(0, 200)));
    }
    std::string token_endpoint = p.token_endpoint;
    if (token_endpoint.empty()) token_endpoint = tokens->endpoints(p.issuer).token;
    if (token_endpoint.empty()) return refuse(req, p.id, "unavailable", "no token_endpoint");
    // RFC 6749 4.1.3 with RFC 7636 4.5; the client authenticates with HTTP Basic (2.3.1).
    sso::HttpRequest tr;
    tr.method = "POST";
    tr.url = token_endpoint;
    tr.body = "grant_type=authorization_code&code=" + http::percent_encode(params->code) +
              "&redirect_uri=" + http::percent_encode(login->redirect_uri) +
              "&code_verifier=" + http::percent_encode(login->code_verifier);
    tr.basic_user = basic_form_encode(p.client_id);
    tr.basic_pass = basic_form_encode(p.client_secret);
    auto answer = fetch(tr);
    if (answer.status == 0)
      return refuse(req, p.id, "unavailable", "token endpoint: " + answer.error);
    auto parsed = parse_token_response(answer.body);
    if (answer.status != 200 || !parsed || parsed->id_token.empty()) {
      std::string d = "token endpoint HTTP " + std::to_string(answer.status);
      if (parsed && !parsed->error.empty())
        d += " " + parsed->error + " " + parsed->error_description;
      if (answer.status == 200) d += parsed ? ": no id_token" : ": not JSON";
      return refuse(req, p.id, "token", d);
    }
    auto signed_token = tokens->verify_signature_of(parsed->id_token);
    if (signed_token.check.verdict == auth::TokenVerdict::unavailable) {
      return refuse(req, p.id, "unavailable", "id_token: " + signed_token.check.reason);
    }
    if (signed_token.check.verdict != auth::TokenVerdict::valid) {
      return refuse(req, p.id, "token", "id_token: " + signed_token.check.reason);
    }
    IdTokenExpectations expect{p.issuer,
                               p.client_id,
                               login->nonce,
                               provider.claim,
                               static_cast<int64_t>(std::time(nullptr)),
                               clock_skew};
    auto claims = check_id_token_claims(signed_token.claims_json, expect, &why);
    if (!claims) return refuse(req, p.id, "token", "id_token: " + why);
    // The claim names the account as a bearer token's does ([sso] claim and match).
    auto account = provider.match == auth::TokenMatch::id
                       ? services.directory->find_account_by_id(claims->value)
                       : services.resolver->find_login(claims->value);
    std::string who = provider.claim + " " + core::quote(claims->value);
    if (!account) {
      if (account.code() != core::Code::not_found) {
        return refuse(req, p.id, "unavailable", "directory: " + account.status().to_string());
      }
      return refuse(req, p.id, "no_account", "no account for " + who);
    }
    if (account->status != auth::AccountStatus::active) {
      return refuse(req, p.id, "disabled",
                    "account " + account->id + " " + auth::account_status_name(account->status));
    }
    if (services.policies) {
      auto policy = services.policies->effective(*account);
      if (!policy) {
        return refuse(req, p.id, "unavailable", "policy: " + policy.status().to_string());
      }
      if (auto no = auth::login_refusal(*policy, "sso", "http"); !no.empty()) {
        return refuse(req, p.id, "not_allowed", "account " + account->id + ": " + no);
      }
    }
    auth::Principal principal{account->id, account->login, account->address, account->display_name};
    auto session = create_session(*webmail, principal);
    if (!session) return refuse(req, p.id, "busy", "too many web sessions");
    remember_hint(session->token, login->provider, parsed->id_token);
    MR_LOG_INFO("event=webmail.sso_login session={} provider={} ip={} account={} issuer={} sub={}",
                req.session_id, core::quote(p.id), req.remote_ip, account->id,
                core::quote(p.issuer), core::quote(claims->subject.substr(0, 200)));
    auto r = sso_redirect("/webmail/");
    r.headers.emplace_back("Set-Cookie", session->set_cookie);
    r.headers.emplace_back("Set-Cookie", sso_pre_cookie("", 0));
    return r;
  }
};

core::Result<std::shared_ptr<SsoLogin>> make_sso_login(core::Services& services,
                                                       std::shared_ptr<Webmail> webmail,
                                                       std::vector<SsoProviderOptions> providers,
                                                       const sso::Options& sso_options,
                                                       sso::HttpFetch fetch) {
  auto login = std::make_shared<SsoLogin>(services, webmail);
  sso::Options token_options = sso_options;  // clock_skew, fetch_timeout, CA, allow_http
  token_options.issuers.clear();
  for (auto& p : providers) {
    auto fail = [&](const std::string& key, const std::string& what) {
      return core::invalid_argument("[[webmail.sso]] " + p.id + " " + key + ": " + what);
    };
    SsoProvider provider;
    provider.claim = "email";
    const sso::IssuerOptions* trusted = nullptr;
    for (const auto& i : sso_options.issuers) {
      if (i.issuer == p.issuer) trusted = &i;
    }
    if (trusted) {
      provider.claim = trusted->claim;
      provider.match = trusted->match;
    }
    if (!p.claim.empty()) provider.claim = p.claim;
    if (!p.match.empty()) {
      provider.match = p.match == "id" ? auth::TokenMatch::id : auth::TokenMatch::login;
    }
    for (const auto* url : {&p.issuer, &p.discovery_url, &p.jwks_uri, &p.authorization_endpoint,
                            &p.token_endpoint, &p.end_session_endpoint}) {
      if (is_http_url(*url) && !sso_options.allow_http) {
        return fail("issuer", "http:// URL " + *url + " needs [sso] allow_http = true");
      }
    }
    bool listed = false;
    for (const auto& i : token_options.issuers) listed = listed || i.issuer == p.issuer;
    if (!listed) {
      sso::IssuerOptions io;
      io.issuer = p.issuer;
      io.audiences = {p.client_id};  // unused: the ID Token's aud is checked here
      io.discovery_url = !p.discovery_url.empty() ? p.discovery_url
                         : trusted                ? trusted->discovery_url
                                                  : "";
      // Discovery names the endpoints; a configured key set skips it only when the
      // endpoints are configured too.
      std::string jwks = !p.jwks_uri.empty() ? p.jwks_uri : trusted ? trusted->jwks_uri : "";
      if (!p.authorization_endpoint.empty() && !p.token_endpoint.empty()) io.jwks_uri = jwks;
      token_options.issuers.push_back(std::move(io));
    }
    provider.options = std::move(p);
    login->providers.push_back(std::move(provider));
  }
  if (login->providers.empty()) return core::invalid_argument("[[webmail.sso]]: no provider");
  if (!fetch) fetch = sso::make_http_fetch(token_options);
  login->fetch = fetch;
  login->clock_skew = sso_options.clock_skew;
  auto tokens = sso::TokenService::start(token_options, fetch);
  if (!tokens) return tokens.status();
  login->tokens = *tokens;
  std::weak_ptr<SsoLogin> weak = login;
  set_logout_hook(*webmail, [weak](const std::string& session_token) {
    auto l = weak.lock();
    return l ? l->logout_url(session_token) : std::string();
  });
  return login;
}

void add_sso_routes(http::Router& router, std::shared_ptr<SsoLogin> login) {
  router.add("GET", "/webmail/sso", [login](http::Request& r) { return login->list(r); });
  router.add("GET", "/webmail/sso/start", [login](http::Request& r) { return login->start(r); });
  router.add("GET", kCallbackPath, [login](http::Request& r) { return login->callback(r); });
}

}  // namespace mailroom::webmail
