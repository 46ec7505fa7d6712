// libFuzzer target: what single sign-on reads from the network. The first byte picks the
// parser; the rest is the input:
//   0  an OAUTHBEARER client message (RFC 7628 3.1)      2  a compact JWS (RFC 7515 7.1)
//   1  an XOAUTH2 client message                          3  a JWK Set document (RFC 7517 5)
//   4  base64url (RFC 4648 5)
// Invariants: no crash, leak or UB; a parsed message has a non-empty token of b64token
// characters and no %x01 in its user; a split JWS's signing input is a prefix of the token;
// base64url decoding re-encodes to the same text; every key parse_jwks returns has a key
// object and a family that an accepted algorithm needs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/sasl/bearer_server.h"
#include "sso/jose.h"

using namespace mailroom;

namespace {

void check_message(const std::optional<auth::BearerMessage>& m) {
  if (!m) return;
  if (m->token.empty()) std::abort();
  if (m->user.find('\x01') != std::string::npos) std::abort();
  for (char c : m->token) {
    if (c == ' ' || c == '\x01' || c == '\r' || c == '\n') std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      check_message(auth::parse_oauthbearer(in));
      break;
    case 1:
      check_message(auth::parse_xoauth2(in));
      break;
    case 2:
      if (auto j = sso::split_compact_jws(in)) {
        if (in.substr(0, j->signing_input.size()) != j->signing_input) std::abort();
      }
      break;
    case 3: {
      std::string error;
      if (auto keys = sso::parse_jwks(in, &error)) {
        for (const auto& k : *keys) {
          if (!k.key) std::abort();
          if (k.family != "RSA" && k.family != "EC256" && k.family != "EC384" &&
              k.family != "Ed25519") {
            std::abort();
          }
          // A signature check on garbage must simply fail.
          if (sso::verify_signature("RS256", k, in, in) && k.family != "RSA") std::abort();
        }
      }
      break;
    }
    default:
      if (auto d = sso::base64url_decode(in)) {
        if (sso::base64url_encode(*d) != in) std::abort();
      }
  }
  return 0;
}
