// Parsing of the OAUTHBEARER (RFC 7628 3.1) and XOAUTH2 client messages (bearer_server.h),
// apart from the exchange so that the fuzz target builds from this file alone.
#include <cctype>
#include <vector>

#include "auth/sasl/bearer_server.h"
#include "auth/sasl/saslname.h"
#include "src/core/address.h"

namespace mailroom::auth {
namespace {

constexpr char kSep = '\x01';
// RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_b64token(std::string_view t) {
  if (t.empty()) return false;
  size_t i = 0;
  for (; i < t.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(t[i]);
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
          c == '/')) {
      break;
    }
  }
  if (i == 0) return false;
  for (; i < t.size(); ++i) {
    if (t[i] != '=') return false;
  }
  return true;
}

// "auth=Bearer <token>" (RFC 7628 3.1: the scheme is case-insensitive, one space).
std::optional<std::string> bearer_of(std::string_view value) {
  if (value.size() < 8 || !core::iequals(value.substr(0, 7), "Bearer ")) return std::nullopt;
  auto token = value.substr(7);
  if (!is_b64token(token)) return std::nullopt;
  return std::string(token);
}

// Splits "k=v\x01k=v\x01\x01" into pairs; nullopt unless it ends with the empty pair.
std::optional<std::vector<std::pair<std::string_view, std::string_view>>> kvpairs(
    std::string_view s) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  while (true) {
    size_t end = s.find(kSep);
    if (end == std::string_view::npos) return std::nullopt;
    auto pair = s.substr(0, end);
    s.remove_prefix(end + 1);
    if (pair.empty()) break;
    size_t eq = pair.find('=');
    if (eq == 0 || eq == std::string_view::npos) return std::nullopt;
    auto key = pair.substr(0, eq);
    for (char c : key) {
      if (!std::isalpha(static_cast<unsigned char>(c))) return std::nullopt;
    }
    out.emplace_back(key, pair.substr(eq + 1));
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

// RFC 5801 saslname in the gs2 header: "=2C" is ",", "=3D" is "=".
// A user name never holds control characters (the kvsep %x01 among them); RFC 5801's
// UTF8-char-safe would let them through.
bool has_control(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::optional<BearerMessage> parse_oauthbearer(std::string_view m) {
  // gs2-header = gs2-cb-flag "," [ authzid ] "," ; then kvsep (RFC 7628 3.1, RFC 5801 4)
  if (m.size() < 3 || (m[0] != 'n' && m[0] != 'y') || m[1] != ',') return std::nullopt;
  size_t second = m.find(',', 2);
  if (second == std::string_view::npos) return std::nullopt;
  BearerMessage out;
  auto authzid = m.substr(2, second - 2);
  if (!authzid.empty()) {
    if (authzid.substr(0, 2) != "a=") return std::nullopt;
    if (has_control(authzid)) return std::nullopt;
    auto name = decode_saslname(authzid.substr(2));
    if (!name || name->empty()) return std::nullopt;
    out.user = *name;
  }
  auto rest = m.substr(second + 1);
  if (rest.empty() || rest[0] != kSep) return std::nullopt;
  auto pairs = kvpairs(rest.substr(1));
  if (!pairs) return std::nullopt;
  bool have_auth = false;
  for (const auto& [key, value] : *pairs) {
    if (key != "auth") continue;  // host, port and extensions are informative
    if (have_auth) return std::nullopt;
    auto token = bearer_of(value);
    if (!token) return std::nullopt;
    out.token = *token;
    have_auth = true;
  }
  if (!have_auth) return std::nullopt;
  return out;
}

std::optional<BearerMessage> parse_xoauth2(std::string_view m) {
  auto pairs = kvpairs(m);
  if (!pairs) return std::nullopt;
  BearerMessage out;
  bool have_auth = false;
  for (const auto& [key, value] : *pairs) {
    if (key == "user") {
      if (has_control(value)) return std::nullopt;
      out.user = std::string(value);
    } else if (key == "auth") {
      if (have_auth) return std::nullopt;
      auto token = bearer_of(value);
      if (!token) return std::nullopt;
      out.token = *token;
      have_auth = true;
    }
  }
  if (!have_auth) return std::nullopt;
  return out;
}

}  // namespace mailroom::auth
