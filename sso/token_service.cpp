// TokenService (sso.h): JWT access tokens checked with cached issuer keys, opaque tokens by
// introspection, a background thread that keeps the keys fresh.
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "src/core/base64.h"
#include "src/core/log.h"
#include "sso/jose.h"
#include "sso/sso.h"

namespace mailroom::sso {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kRetryAfterFailure = std::chrono::seconds(60);  // scheduled retry when down

std::string hex_sha256(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return core::hex_encode(std::string_view(reinterpret_cast<char*>(md), len));
}

std::string form_escape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string string_member(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().as_string());
}

// NumericDate (RFC 7519 2): seconds, possibly fractional.
std::optional<int64_t> date_member(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v.as_uint64(), INT64_MAX));
  // Beyond int64 (1e300) the conversion would be undefined: invalid, like a non-number.
  if (v.is_double() && std::abs(v.as_double()) < 9e18) return static_cast<int64_t>(v.as_double());
  return INT64_MIN;  // present but not a number: treated as invalid by the caller
}

bool contains_word(std::string_view list, std::string_view word) {
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = list.find(' ', pos);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(pos, end - pos) == word) return true;
    pos = end + 1;
  }
  return false;
}

auth::TokenCheck invalid(std::string reason, std::string status = "invalid_token") {
  auth::TokenCheck c;
  c.verdict = auth::TokenVerdict::invalid;
  c.reason = std::move(reason);
  c.status = std::move(status);
  return c;
}

auth::TokenCheck unavailable(std::string reason) {
  auth::TokenCheck c;
  c.verdict = auth::TokenVerdict::unavailable;
  c.reason = std::move(reason);
  return c;
}

}  // namespace

struct IssuerState {
  IssuerOptions options;
  std::string discovery_url;
  // Guarded by TokenService::Impl::mu.
  std::string jwks_uri;
  std::string introspection_endpoint;
  TokenService::Endpoints endpoints;  // from discovery (the web sign-in's)
  bool discovered = false;
  std::shared_ptr<const std::vector<PublicKey>> keys;  // null until a JWKS was read
  Clock::time_point last_attempt{};                    // {}: never (steady_clock counts from boot)
  // The rate limit of fetches for unknown kids; empty before the first one (steady_clock
  // counts from boot, so "epoch + interval" would still be ahead on a fresh machine).
  std::optional<Clock::time_point> last_unknown_key_fetch;
  Clock::time_point last_success{};
  bool fetching = false;
  std::string last_error;
};

struct TokenService::Impl {
  Options options;
  HttpFetch fetch;
  std::vector<std::unique_ptr<IssuerState>> issuers;
  std::mutex mu;
  std::condition_variable cv;  // a fetch finished, or stop
  bool stopping = false;
  std::thread refresher;

  struct Cached {
    auth::TokenCheck check;
    Clock::time_point expires;
    std::list<std::string>::iterator age;
  };
  std::mutex cache_mu;
  std::unordered_map<std::string, Cached> cache;  // sha256(token) -> introspection answer
  std::list<std::string> cache_order;             // oldest first

  IssuerState* issuer_for(std::string_view iss) {
    for (auto& i : issuers) {
      if (i->options.issuer == iss) return i.get();
    }
    return nullptr;
  }

  // Discovery (OpenID Connect Discovery 1.0 section 4) then the JWKS. Runs on the calling
  // thread; one fetch per issuer at a time (others wait for it). Returns "" or what failed.
  std::string refresh(IssuerState& is) {
    {
      std::unique_lock lock(mu);
      if (is.fetching) {
        cv.wait_for(lock, std::chrono::seconds(3 * options.fetch_timeout + 1),
                    [&] { return !is.fetching || stopping; });
        return is.last_error;
      }
      is.fetching = true;
      is.last_attempt = Clock::now();
    }
    std::string jwks_uri = is.options.jwks_uri;
    std::string introspection = is.options.introspection_endpoint;
    std::string error;
    bool discovered = false;
    TokenService::Endpoints endpoints;
    if (jwks_uri.empty() || (introspection.empty() && !is.options.client_id.empty())) {
      auto r = fetch({"GET", is.discovery_url, "", "", ""});
      if (r.status != 200) {
        error = r.status ? is.discovery_url + ": HTTP " + std::to_string(r.status) : r.error;
      } else if (auto doc = parse_object(r.body); !doc) {
        error = is.discovery_url + ": not a JSON object";
      } else if (string_member(*doc, "issuer") != is.options.issuer) {
        // Discovery 4.3: the document must name the issuer it was fetched for.
        error = is.discovery_url + ": issuer " + core::quote(string_member(*doc, "issuer")) +
                " is not " + core::quote(is.options.issuer);
      } else {
        discovered = true;
        if (jwks_uri.empty()) jwks_uri = string_member(*doc, "jwks_uri");
        if (introspection.empty()) introspection = string_member(*doc, "introspection_endpoint");
        if (jwks_uri.empty()) error = is.discovery_url + ": no jwks_uri";
        endpoints.authorization = string_member(*doc, "authorization_endpoint");
        endpoints.token = string_member(*doc, "token_endpoint");
        endpoints.end_session = string_member(*doc, "end_session_endpoint");
      }
    }
    std::shared_ptr<const std::vector<PublicKey>> keys;
    if (error.empty()) {
      auto r = fetch({"GET", jwks_uri, "", "", ""});
      std::string skipped;
      if (r.status != 200) {
        error = r.status ? jwks_uri + ": HTTP " + std::to_string(r.status) : r.error;
      } else if (auto parsed = parse_jwks(r.body, &skipped); !parsed) {
        error = jwks_uri + ": " + skipped;
      } else {
        if (!skipped.empty()) {
          MR_LOG_WARN("event=sso.keys_skipped issuer={} detail={}", core::quote(is.options.issuer),
                      core::quote(skipped));
        }
        keys = std::make_shared<const std::vector<PublicKey>>(std::move(*parsed));
      }
    }
    std::lock_guard lock(mu);
    is.fetching = false;
    if (discovered || !is.options.jwks_uri.empty()) {
      is.jwks_uri = jwks_uri;
      is.introspection_endpoint = introspection;
      if (discovered) is.endpoints = endpoints;
      is.discovered = true;
    }
    if (keys) {
      is.keys = keys;  // cached keys are replaced only by a good key set
      is.last_success = Clock::now();
      is.last_error.clear();
      MR_LOG_INFO("event=sso.keys_fetched issuer={} keys={}", core::quote(is.options.issuer),
                  keys->size());
    } else {
      is.last_error = error;
      MR_LOG_WARN("event=sso.fetch_failed issuer={} cached_keys={} error={}",
                  core::quote(is.options.issuer), is.keys ? is.keys->size() : 0,
                  core::quote(error));
    }
    cv.notify_all();
    return is.last_error;
  }

  void refresher_loop() {
    while (true) {
      for (auto& is : issuers) {
        {
          std::lock_guard lock(mu);
          if (stopping) return;
        }
        refresh(*is);
      }
      std::unique_lock lock(mu);
      bool any_failed = false;
      for (auto& is : issuers) any_failed = any_failed || !is->last_error.empty();
      auto wait = std::chrono::seconds(options.refresh_interval);
      if (any_failed) wait = std::min<std::chrono::seconds>(wait, kRetryAfterFailure);
      if (cv.wait_for(lock, wait, [&] { return stopping; })) return;
    }
  }

  // RFC 7519 4.1 registered claims and the issuer's policy; `who` gets the identity.
  auth::TokenCheck check_claims(const IssuerState& is, const json::object& claims) {
    const int64_t now = std::time(nullptr);
    const int64_t skew = options.clock_skew;
    auto exp = date_member(claims, "exp");
    if (!exp || *exp == INT64_MIN) return invalid("no exp");
    if (*exp < now - skew) {
      // (An exp near INT64_MIN would overflow the subtraction: its age is not told.)
      return invalid(*exp > now - 1'000'000'000'000
                         ? "expired " + std::to_string(now - *exp) + " s ago"
                         : std::string("expired"));
    }
    if (auto nbf = date_member(claims, "nbf")) {
      if (*nbf == INT64_MIN || *nbf > now + skew) return invalid("not yet valid (nbf)");
    }
    if (auto iat = date_member(claims, "iat")) {
      if (*iat == INT64_MIN || *iat > now + skew) return invalid("issued in the future (iat)");
    }
    // The scope first: insufficient_scope tells a client what to ask for (RFC 7628 3.2.2).
    const std::string& need = is.options.required_scope;
    if (!need.empty()) {
      bool granted = false;
      if (auto it = claims.find("scope"); it != claims.end() && it->value().is_string()) {
        granted = contains_word(it->value().as_string(), need);
      }
      if (auto it = claims.find("scp"); !granted && it != claims.end()) {
        if (it->value().is_string()) {
          granted = contains_word(it->value().as_string(), need);
        } else if (it->value().is_array()) {
          for (const auto& s : it->value().as_array()) {
            if (s.is_string() && s.as_string() == need) granted = true;
          }
        }
      }
      if (!granted) return invalid("scope " + need + " not granted", "insufficient_scope");
    }
    // aud: a string or an array of strings (RFC 7519 4.1.3).
    bool any = std::find(is.options.audiences.begin(), is.options.audiences.end(), "*") !=
               is.options.audiences.end();
    bool aud_ok = any;
    if (auto it = claims.find("aud"); it != claims.end()) {
      auto accepts = [&](std::string_view a) {
        return std::find(is.options.audiences.begin(), is.options.audiences.end(), a) !=
               is.options.audiences.end();
      };
      if (it->value().is_string()) {
        // One string; Glewlwyd 2.7 writes its scopes there space-separated ("openid mail"),
        // so a string is read as a space-separated list.
        std::string_view list = it->value().as_string();
        size_t pos = 0;
        while (pos <= list.size() && !aud_ok) {
          size_t end = std::min(list.find(' ', pos), list.size());
          aud_ok = accepts(list.substr(pos, end - pos));
          pos = end + 1;
        }
      } else if (it->value().is_array()) {
        for (const auto& a : it->value().as_array()) {
          if (a.is_string() && accepts(a.as_string())) aud_ok = true;
        }
      }
    }
    if (!aud_ok) return invalid("audience not accepted");
    std::string value = string_member(claims, is.options.claim);
    if (value.empty()) return invalid("no " + is.options.claim + " claim");
    auth::TokenCheck ok;
    ok.verdict = auth::TokenVerdict::valid;
    ok.identity.issuer = is.options.issuer;
    ok.identity.claim = is.options.claim;
    ok.identity.value = value;
    ok.identity.match = is.options.match;
    ok.identity.expires_at = *exp;
    return ok;
  }

  // The signature of a JWT by its issuer's keys (fetched at once for an unknown kid, rate
  // limited); `claims` and `issuer` are set when it verifies (valid).
  auth::TokenCheck verify_signed(std::string_view token, json::object& claims_out,
                                 IssuerState*& issuer_out) {
    auto jws = split_compact_jws(token);
    if (!jws) return invalid("malformed JWT");
    auto header = parse_object(jws->header_json);
    if (!header) return invalid("malformed JWT header");
    std::string alg = string_member(*header, "alg");
    if (algorithm_family(alg).empty()) return invalid("algorithm " + core::quote(alg) + " refused");
    // RFC 7515 4.1.11: extensions we do not understand must be refused.
    if (header->contains("crit")) return invalid("critical header extension");
    auto claims = parse_object(jws->payload_json);
    if (!claims) return invalid("malformed JWT claims");
    std::string iss = string_member(*claims, "iss");
    IssuerState* is = issuer_for(iss);
    if (!is) return invalid("untrusted issuer " + core::quote(iss));
    std::string kid = string_member(*header, "kid");

    auto candidates = [&](const std::shared_ptr<const std::vector<PublicKey>>& keys) {
      std::vector<const PublicKey*> out;
      if (!keys) return out;
      for (const auto& k : *keys) {
        if (k.family != algorithm_family(alg)) continue;
        if (!kid.empty() && k.kid != kid) continue;
        out.push_back(&k);
      }
      return out;
    };
    std::shared_ptr<const std::vector<PublicKey>> keys;
    bool may_fetch = false;
    {
      std::lock_guard lock(mu);
      keys = is->keys;
      // Without any key a login waits for a fetch already running (the first one at
      // start); otherwise fetches are at most one per unknown_key_interval, so a provider
      // that is down does not make every login wait for its timeout.
      may_fetch = (!keys && is->fetching) || !is->last_unknown_key_fetch ||
                  Clock::now() - *is->last_unknown_key_fetch >=
                      std::chrono::seconds(options.unknown_key_interval);
    }
    auto found = candidates(keys);
    if (found.empty() && may_fetch) {
      // An unknown kid: the provider may have rotated its keys (rate-limited per issuer).
      {
        std::lock_guard lock(mu);
        is->last_unknown_key_fetch = Clock::now();
      }
      refresh(*is);
      std::lock_guard lock(mu);
      keys = is->keys;
    }
    found = candidates(keys);
    if (found.empty()) {
      if (!keys) {
        std::lock_guard lock(mu);
        return unavailable("no keys for " + iss + ": " + is->last_error);
      }
      return invalid("no key " + (kid.empty() ? std::string("for ") + alg : core::quote(kid)));
    }
    bool good = false;
    for (const auto* k : found) {
      if (verify_signature(alg, *k, jws->signing_input, jws->signature)) {
        good = true;
        break;
      }
    }
    if (!good) return invalid("bad signature");
    claims_out = std::move(*claims);
    issuer_out = is;
    auth::TokenCheck ok;
    ok.verdict = auth::TokenVerdict::valid;
    return ok;
  }

  auth::TokenCheck verify_jwt(std::string_view token) {
    json::object claims;
    IssuerState* is = nullptr;
    auto signed_check = verify_signed(token, claims, is);
    if (signed_check.verdict != auth::TokenVerdict::valid) return signed_check;
    return check_claims(*is, claims);
  }

  // RFC 7662: opaque tokens, asked of each issuer that has an introspection endpoint.
  auth::TokenCheck introspect(std::string_view token) {
    const std::string key = hex_sha256(token);
    {
      std::lock_guard lock(cache_mu);
      if (auto it = cache.find(key); it != cache.end()) {
        if (Clock::now() < it->second.expires) return it->second.check;
        cache_order.erase(it->second.age);
        cache.erase(it);
      }
    }
    bool asked = false;
    std::string failures;
    for (auto& is : issuers) {
      if (is->options.client_id.empty()) continue;
      std::string endpoint;
      bool discovered = false;
      {
        std::lock_guard lock(mu);
        endpoint = is->introspection_endpoint;
        discovered = is->discovered;
      }
      if (endpoint.empty() && !discovered) {
        refresh(*is);
        std::lock_guard lock(mu);
        endpoint = is->introspection_endpoint;
      }
      if (endpoint.empty()) continue;
      asked = true;
      auto r =
          fetch({"POST", endpoint, "token=" + form_escape(token) + "&token_type_hint=access_token",
                 is->options.client_id, is->options.client_secret});
      if (r.status != 200) {
        failures += (failures.empty() ? "" : "; ") +
                    (r.status ? endpoint + ": HTTP " + std::to_string(r.status) : r.error);
        continue;
      }
      auto doc = parse_object(r.body);
      if (!doc) {
        failures += (failures.empty() ? "" : "; ") + endpoint + ": not a JSON object";
        continue;
      }
      auto active = doc->find("active");
      if (active == doc->end() || !active->value().is_bool() || !active->value().as_bool()) {
        continue;  // not this issuer's token, or revoked/expired
      }
      std::string iss = string_member(*doc, "iss");
      if (!iss.empty() && iss != is->options.issuer) continue;
      auto check = check_claims(*is, *doc);
      remember(key, check, date_member(*doc, "exp"));
      return check;
    }
    if (!failures.empty()) return unavailable("introspection: " + failures);
    if (!asked) return invalid("not a JWT, and no issuer to introspect it");
    auto no = invalid("inactive token");
    remember(key, no, std::nullopt);
    return no;
  }

  void remember(const std::string& key, const auth::TokenCheck& check, std::optional<int64_t> exp) {
    if (options.introspection_cache == 0) return;
    int64_t ttl = options.introspection_negative;
    if (check.verdict == auth::TokenVerdict::valid) {
      ttl = options.introspection_cache_max;
      if (exp && *exp != INT64_MIN) ttl = std::min<int64_t>(ttl, *exp - std::time(nullptr));
    }
    if (ttl <= 0) return;
    std::lock_guard lock(cache_mu);
    if (cache.count(key)) return;
    while (cache.size() >= options.introspection_cache && !cache_order.empty()) {
      cache.erase(cache_order.front());
      cache_order.pop_front();
    }
    cache_order.push_back(key);
    cache[key] =
        Cached{check, Clock::now() + std::chrono::seconds(ttl), std::prev(cache_order.end())};
  }
};

TokenService::TokenService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TokenService::~TokenService() { stop(); }

core::Result<std::shared_ptr<TokenService>> TokenService::start(Options options, HttpFetch fetch) {
  if (options.issuers.empty()) return core::invalid_argument("[sso] has no issuer");
  auto impl = std::make_unique<Impl>();
  if (!fetch) fetch = make_http_fetch(options);
  impl->fetch = std::move(fetch);
  for (const auto& io : options.issuers) {
    auto is = std::make_unique<IssuerState>();
    is->options = io;
    is->discovery_url =
        io.discovery_url.empty()
            ? io.issuer + (io.issuer.ends_with('/') ? "" : "/") + ".well-known/openid-configuration"
            : io.discovery_url;
    impl->issuers.push_back(std::move(is));
  }
  impl->options = std::move(options);
  std::shared_ptr<TokenService> service(new TokenService(std::move(impl)));
  Impl* raw = service->impl_.get();
  if (raw->options.background_refresh) {
    raw->refresher = std::thread([raw] { raw->refresher_loop(); });
  }
  return service;
}

auth::TokenCheck TokenService::verify(std::string_view token) {
  if (token.size() > impl_->options.max_token_bytes) {
    return invalid("token longer than " + std::to_string(impl_->options.max_token_bytes) +
                   " bytes");
  }
  if (std::count(token.begin(), token.end(), '.') == 2) return impl_->verify_jwt(token);
  return impl_->introspect(token);
}

std::string TokenService::required_scope() const {
  return impl_->issuers.empty() ? std::string() : impl_->issuers[0]->options.required_scope;
}

std::string TokenService::openid_configuration() const {
  return impl_->issuers.empty() ? std::string() : impl_->issuers[0]->discovery_url;
}

TokenService::SignedToken TokenService::verify_signature_of(std::string_view jwt) {
  SignedToken out;
  if (jwt.size() > impl_->options.max_token_bytes) {
    out.check =
        invalid("token longer than " + std::to_string(impl_->options.max_token_bytes) + " bytes");
    return out;
  }
  json::object claims;
  IssuerState* is = nullptr;
  out.check = impl_->verify_signed(jwt, claims, is);
  if (out.check.verdict == auth::TokenVerdict::valid) {
    out.issuer = is->options.issuer;
    out.claims_json = json::serialize(claims);
  }
  return out;
}

TokenService::Endpoints TokenService::endpoints(std::string_view issuer) {
  IssuerState* is = impl_->issuer_for(issuer);
  if (!is) return {};
  {
    // A provider that is down is asked at most every unknown_key_interval, not per sign-in.
    std::lock_guard lock(impl_->mu);
    // A fetch in progress (the first one at start) is waited for by refresh().
    if (is->discovered || (!is->fetching && is->last_attempt != Clock::time_point{} &&
                           Clock::now() - is->last_attempt <
                               std::chrono::seconds(impl_->options.unknown_key_interval))) {
      return is->endpoints;
    }
  }
  impl_->refresh(*is);
  std::lock_guard lock(impl_->mu);
  return is->endpoints;
}

std::string TokenService::refresh_now() {
  std::string out;
  for (auto& is : impl_->issuers) {
    auto e = impl_->refresh(*is);
    if (!e.empty()) out += (out.empty() ? "" : "\n") + is->options.issuer + ": " + e;
  }
  return out;
}

void TokenService::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->refresher.joinable()) impl_->refresher.join();
}

}  // namespace mailroom::sso
