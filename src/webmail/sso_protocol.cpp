// The wire pieces of the company sign-in (sso_protocol.h).
#include "src/webmail/sso_protocol.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>

#include "src/http/http.h"

namespace mailroom::webmail {
namespace json = boost::json;

namespace {

void url_add_param(std::string& url, bool& first, std::string_view name, std::string_view value) {
  url += first ? (url.find('?') == std::string::npos ? '?' : '&') : '&';
  first = false;
  url += name;
  url += '=';
  url += http::percent_encode(value);
}

// RFC 6749 A.7 / A.8: error and error_description are %x20-21 / %x23-5B / %x5D-7E.
bool callback_error_chars(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
  });
}

// The same time for every pair of equal-length strings (the nonce comparison).
bool nonce_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool callback_no_controls(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

std::optional<int64_t> claim_number(const json::object& o, std::string_view name, bool* bad) {
  auto* v = o.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v->as_uint64(), INT64_MAX));
  // A double beyond int64 (1e300) would make the conversion undefined: refused as malformed.
  if (v->is_double() && std::abs(v->as_double()) < 9e18)
    return static_cast<int64_t>(v->as_double());
  *bad = true;
  return std::nullopt;
}

std::string claim_string(const json::object& o, std::string_view name) {
  auto* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::string authorization_url(const AuthorizationRequest& r) {
  std::vector<std::string> scopes = r.scopes;
  if (std::find(scopes.begin(), scopes.end(), "openid") == scopes.end()) {
    scopes.insert(scopes.begin(), "openid");  // OpenID Connect Core 3.1.2.1: REQUIRED
  }
  std::string scope;
  for (const auto& s : scopes) scope += (scope.empty() ? "" : " ") + s;
  std::string url = r.endpoint;
  bool first = true;
  url_add_param(url, first, "response_type", "code");
  url_add_param(url, first, "client_id", r.client_id);
  url_add_param(url, first, "redirect_uri", r.redirect_uri);
  url_add_param(url, first, "scope", scope);
  url_add_param(url, first, "state", r.state);
  url_add_param(url, first, "nonce", r.nonce);
  url_add_param(url, first, "code_challenge", r.code_challenge);  // RFC 7636 4.3
  url_add_param(url, first, "code_challenge_method", "S256");
  return url;
}

std::optional<CallbackParams> parse_callback_query(std::string_view query, std::string* why) {
  auto refuse = [&](std::string reason) -> std::optional<CallbackParams> {
    *why = std::move(reason);
    return std::nullopt;
  };
  if (query.size() > kMaxCallbackQuery) return refuse("query too long");
  CallbackParams p;
  bool seen[5] = {};
  std::size_t count = 0;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t end = std::min(query.find('&', pos), query.size());
    std::string_view pair = query.substr(pos, end - pos);
    pos = end + 1;
    if (pair.empty()) continue;
    if (++count > kMaxCallbackParams) return refuse("too many parameters");
    std::size_t eq = pair.find('=');
    std::string name, value;
    if (!http::percent_decode(pair.substr(0, eq), name, true) ||
        (eq != std::string_view::npos && !http::percent_decode(pair.substr(eq + 1), value, true))) {
      return refuse("malformed percent escape");
    }
    if (value.size() > kMaxCallbackValue) return refuse("parameter " + name + " too long");
    static constexpr std::string_view kKnown[] = {"code", "state", "error", "error_description",
                                                  "iss"};
    std::string* fields[] = {&p.code, &p.state, &p.error, &p.error_description, &p.iss};
    for (std::size_t i = 0; i < std::size(kKnown); ++i) {
      if (name != kKnown[i]) continue;
      // RFC 6749 3.1: parameters must not be included more than once.
      if (seen[i]) return refuse("parameter " + name + " repeated");
      seen[i] = true;
      bool ok = i >= 2 && i <= 3 ? callback_error_chars(value) : callback_no_controls(value);
      if (!ok) return refuse("bad characters in " + name);
      *fields[i] = std::move(value);
    }
  }
  if (p.state.empty()) return refuse("no state");
  if (p.error.empty() == p.code.empty()) {
    return refuse(p.error.empty() ? "neither code nor error" : "both code and error");
  }
  return p;
}

std::optional<TokenResponse> parse_token_response(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  TokenResponse r;
  r.id_token = claim_string(o, "id_token");
  r.error = claim_string(o, "error");
  r.error_description = claim_string(o, "error_description").substr(0, 200);
  return r;
}

std::optional<IdTokenClaims> check_id_token_claims(std::string_view claims_json,
                                                   const IdTokenExpectations& e, std::string* why) {
  auto refuse = [&](std::string reason) -> std::optional<IdTokenClaims> {
    *why = std::move(reason);
    return std::nullopt;
  };
  boost::system::error_code ec;
  json::value v = json::parse(claims_json, ec);
  if (ec || !v.is_object()) return refuse("claims are not a JSON object");
  const auto& o = v.as_object();
  // 3.1.3.7 (2): the issuer, exactly.
  if (claim_string(o, "iss") != e.issuer) return refuse("iss is not " + e.issuer);
  // (3)/(4): aud names this client; with several audiences azp must be there.
  bool aud_ok = false;
  std::size_t audiences = 0;
  if (auto* aud = o.if_contains("aud")) {
    if (aud->is_string()) {
      audiences = 1;
      aud_ok = aud->as_string() == e.client_id;
    } else if (aud->is_array()) {
      for (const auto& a : aud->as_array()) {
        ++audiences;
        if (a.is_string() && a.as_string() == e.client_id) aud_ok = true;
      }
    }
  }
  if (!aud_ok) return refuse("aud does not name client " + e.client_id);
  std::string azp = claim_string(o, "azp");
  if (audiences > 1 && azp.empty()) return refuse("several audiences and no azp");
  // (5): azp, when present, is this client.
  if (o.contains("azp") && azp != e.client_id) return refuse("azp is not " + e.client_id);
  bool bad = false;
  auto exp = claim_number(o, "exp", &bad);
  auto iat = claim_number(o, "iat", &bad);
  auto nbf = claim_number(o, "nbf", &bad);
  if (bad) return refuse("a time claim is not a number");
  // (9) exp, (10) iat: both REQUIRED in an ID Token (2).
  if (!exp) return refuse("no exp");
  if (*exp < e.now - e.skew) return refuse("expired");  // (no overflow near INT64_MAX)
  if (!iat) return refuse("no iat");
  if (*iat > e.now + e.skew) return refuse("iat in the future");
  if (nbf && *nbf > e.now + e.skew) return refuse("not yet valid (nbf)");
  // (11): the nonce of this sign-in, and only it (a replayed ID Token carries another).
  if (!o.contains("nonce")) return refuse("no nonce");
  if (!nonce_equal(claim_string(o, "nonce"), e.nonce)) return refuse("nonce differs");
  IdTokenClaims c;
  c.subject = claim_string(o, "sub");
  if (c.subject.empty()) return refuse("no sub");
  c.value = claim_string(o, e.claim);
  if (c.value.empty()) return refuse("no " + e.claim + " claim");
  if (e.claim == "email") {
    if (auto* verified = o.if_contains("email_verified");
        verified && verified->is_bool() && !verified->as_bool()) {
      return refuse("email_verified is false");
    }
  }
  return c;
}

std::string end_session_url(const std::string& endpoint, const std::string& id_token_hint,
                            const std::string& client_id,
                            const std::string& post_logout_redirect_uri) {
  std::string url = endpoint;
  bool first = true;
  if (!id_token_hint.empty()) url_add_param(url, first, "id_token_hint", id_token_hint);
  url_add_param(url, first, "client_id", client_id);
  if (!post_logout_redirect_uri.empty()) {
    url_add_param(url, first, "post_logout_redirect_uri", post_logout_redirect_uri);
  }
  return url;
}

}  // namespace mailroom::webmail
