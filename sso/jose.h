// JOSE pieces for access tokens, on OpenSSL 3 (internal to sso/): base64url (RFC 4648 5),
// compact JWS (RFC 7515 7.1), JWK public keys (RFC 7517, RFC 7518 6, RFC 8037) and the
// signature algorithms we accept (RFC 7518 3, RFC 8037 3.1).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;

namespace mailroom::sso {

std::optional<std::string> base64url_decode(std::string_view in);
std::string base64url_encode(std::string_view in);

// A public key from a JWK. `family` is what the key may verify: "RSA" (RS*, PS*), "EC256"
// (ES256), "EC384" (ES384) or "Ed25519" (EdDSA).
struct PublicKey {
  std::string kid;
  std::string alg;  // the JWK's "alg" if it names one: then only that algorithm
  std::string family;
  std::shared_ptr<evp_pkey_st> key;
};

// The keys of a JWK Set document that we can use (signature keys of the supported types);
// others are skipped. nullopt when the document is not a JWK Set at all.
std::optional<std::vector<PublicKey>> parse_jwks(std::string_view json, std::string* error);

// The family a JWS algorithm needs, or "" for an algorithm we never accept ("none", HS*,
// anything unknown).
std::string algorithm_family(std::string_view alg);

// Compact JWS split and decoded; the payload and header stay JSON text.
struct CompactJws {
  std::string header_json;
  std::string payload_json;
  std::string signing_input;  // base64url(header) "." base64url(payload)
  std::string signature;      // raw bytes
};
std::optional<CompactJws> split_compact_jws(std::string_view token);

// Verifies `signature` over `signing_input` with `key` for `alg` (its family must match the
// key's). ES* signatures are the JOSE form (R || S), converted to DER for OpenSSL.
bool verify_signature(std::string_view alg, const PublicKey& key, std::string_view signing_input,
                      std::string_view signature);

}  // namespace mailroom::sso
