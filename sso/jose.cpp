#include "sso/jose.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <boost/json.hpp>

namespace mailroom::sso {
namespace json = boost::json;

namespace {

constexpr int kMinRsaBits = 2048;  // smaller RSA keys are refused (RFC 7518 3.3: 2048 or more)

int b64url_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* k) { return {k, &EVP_PKEY_free}; }

std::string member(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().as_string());
}

std::shared_ptr<EVP_PKEY> from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  if (!params) return nullptr;
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) {
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return key ? share(key) : nullptr;
}

std::shared_ptr<EVP_PKEY> rsa_key(const json::object& jwk, std::string* why) {
  auto n = base64url_decode(member(jwk, "n"));
  auto e = base64url_decode(member(jwk, "e"));
  if (!n || !e || n->empty() || e->empty()) {
    *why = "RSA key without n/e";
    return nullptr;
  }
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                           static_cast<int>(e->size()), nullptr);
  std::shared_ptr<EVP_PKEY> key;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (bn_n && bn_e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    key = from_params("RSA", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  if (!key) {
    *why = "bad RSA key";
  } else if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
    *why = "RSA key shorter than 2048 bits";
    key.reset();
  }
  return key;
}

std::shared_ptr<EVP_PKEY> ec_key(const json::object& jwk, const std::string& crv,
                                 std::string* why) {
  const char* group = crv == "P-256" ? "prime256v1" : "secp384r1";
  const size_t size = crv == "P-256" ? 32 : 48;
  auto x = base64url_decode(member(jwk, "x"));
  auto y = base64url_decode(member(jwk, "y"));
  if (!x || !y || x->size() != size || y->size() != size) {
    *why = "EC key with bad x/y";
    return nullptr;
  }
  std::string point = "\x04" + *x + *y;  // SEC 1 uncompressed point
  std::shared_ptr<EVP_PKEY> key;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) ==
          1) {
    key = from_params("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  if (!key) *why = "bad EC key (not on the curve?)";
  return key;
}

std::shared_ptr<EVP_PKEY> ed25519_key(const json::object& jwk, std::string* why) {
  auto x = base64url_decode(member(jwk, "x"));
  if (!x || x->size() != 32) {
    *why = "Ed25519 key with bad x";
    return nullptr;
  }
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
  if (!k) *why = "bad Ed25519 key";
  return k ? share(k) : nullptr;
}

const EVP_MD* digest_for(std::string_view alg) {
  auto bits = alg.substr(2);
  if (bits == "256") return EVP_sha256();
  if (bits == "384") return EVP_sha384();
  if (bits == "512") return EVP_sha512();
  return nullptr;
}

// JOSE ECDSA signature R || S (RFC 7518 3.4) to the DER form OpenSSL verifies.
std::optional<std::string> ecdsa_der(std::string_view rs, size_t half) {
  if (rs.size() != 2 * half) return std::nullopt;
  BIGNUM* r =
      BN_bin2bn(reinterpret_cast<const unsigned char*>(rs.data()), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(rs.data() + half),
                        static_cast<int>(half), nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (!r || !s || !sig || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace

std::optional<std::string> base64url_decode(std::string_view in) {
  // RFC 7515 2: no padding, no whitespace, the URL-safe alphabet.
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = b64url_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero (one canonical encoding per value).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string base64url_encode(std::string_view in) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += alphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

std::string algorithm_family(std::string_view alg) {
  if (alg == "RS256" || alg == "RS384" || alg == "RS512" || alg == "PS256" || alg == "PS384" ||
      alg == "PS512") {
    return "RSA";
  }
  if (alg == "ES256") return "EC256";
  if (alg == "ES384") return "EC384";
  if (alg == "EdDSA") return "Ed25519";
  return {};  // "none", HS256/384/512 (a shared secret we do not have), anything else
}

std::optional<std::vector<PublicKey>> parse_jwks(std::string_view text, std::string* error) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    *error = "not a JSON object";
    return std::nullopt;
  }
  const auto& root = doc.as_object();
  auto keys = root.find("keys");
  if (keys == root.end() || !keys->value().is_array()) {
    *error = "no \"keys\" array";
    return std::nullopt;
  }
  std::vector<PublicKey> out;
  std::string skipped;
  for (const auto& v : keys->value().as_array()) {
    if (!v.is_object()) continue;
    const auto& jwk = v.as_object();
    // RFC 7517 4.2/4.3: encryption keys are not for signatures.
    std::string use = member(jwk, "use");
    if (!use.empty() && use != "sig") continue;
    if (auto ops = jwk.find("key_ops"); ops != jwk.end() && ops->value().is_array()) {
      bool verify = false;
      for (const auto& op : ops->value().as_array()) {
        if (op.is_string() && op.as_string() == "verify") verify = true;
      }
      if (!verify) continue;
    }
    PublicKey k;
    k.kid = member(jwk, "kid");
    k.alg = member(jwk, "alg");
    std::string kty = member(jwk, "kty");
    std::string crv = member(jwk, "crv");
    std::string why;
    if (kty == "RSA") {
      k.family = "RSA";
      k.key = rsa_key(jwk, &why);
    } else if (kty == "EC" && (crv == "P-256" || crv == "P-384")) {
      k.family = crv == "P-256" ? "EC256" : "EC384";
      k.key = ec_key(jwk, crv, &why);
    } else if (kty == "OKP" && crv == "Ed25519") {
      k.family = "Ed25519";
      k.key = ed25519_key(jwk, &why);
    } else {
      continue;  // a type we do not verify with (oct, X25519, P-521, ...)
    }
    // A key that names an algorithm of another family can never be used.
    if (k.key && !k.alg.empty() && algorithm_family(k.alg) != k.family) {
      why = "alg " + k.alg + " does not fit a " + kty + " key";
      k.key.reset();
    }
    if (!k.key) {
      skipped += (skipped.empty() ? "" : "; ") + (k.kid.empty() ? "(no kid)" : k.kid) + ": " + why;
      continue;
    }
    out.push_back(std::move(k));
  }
  if (error) *error = skipped;
  return out;
}

std::optional<CompactJws> split_compact_jws(std::string_view token) {
  size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return std::nullopt;
  size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return std::nullopt;  // a JWE has five parts: not an access token we can read
  }
  auto header = base64url_decode(token.substr(0, d1));
  auto payload = base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  auto signature = base64url_decode(token.substr(d2 + 1));
  if (!header || !payload || !signature) return std::nullopt;
  CompactJws out;
  out.header_json = std::move(*header);
  out.payload_json = std::move(*payload);
  out.signing_input = std::string(token.substr(0, d2));
  out.signature = std::move(*signature);
  return out;
}

bool verify_signature(std::string_view alg, const PublicKey& key, std::string_view signing_input,
                      std::string_view signature) {
  const std::string family = algorithm_family(alg);
  if (family.empty() || family != key.family || !key.key) return false;
  if (!key.alg.empty() && key.alg != alg) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return false;
  bool ok = false;
  std::string sig(signature);
  const auto* data = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (family == "Ed25519") {
    // RFC 8037 3.1: PureEdDSA, no pre-hash.
    ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key.key.get()) == 1 &&
         EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(), data,
                          signing_input.size()) == 1;
  } else {
    const EVP_MD* md = digest_for(alg);
    EVP_PKEY_CTX* pctx = nullptr;
    if (md && EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key.key.get()) == 1) {
      bool ready = true;
      if (alg[0] == 'P') {
        // RFC 7518 3.5: PSS with MGF1 of the same hash and a salt as long as the hash.
        ready = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
                EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
      }
      if (family == "EC256" || family == "EC384") {
        auto der = ecdsa_der(sig, family == "EC256" ? 32 : 48);
        if (der) {
          sig = *der;
        } else {
          ready = false;
        }
      }
      ok = ready && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()),
                                     sig.size(), data, signing_input.size()) == 1;
    }
  }
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace mailroom::sso
