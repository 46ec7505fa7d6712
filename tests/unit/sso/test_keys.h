// Keys and tokens for the sso unit tests, made with OpenSSL here (the verifier under test only
// ever sees the public JWK and the compact token).
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include "sso/jose.h"

namespace mailroom::sso::testing {

class TestKey {
 public:
  // alg: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA; rsa_bits for RS/PS.
  TestKey(std::string kid, std::string alg, int rsa_bits = 2048)
      : kid_(std::move(kid)), alg_(std::move(alg)) {
    EVP_PKEY* k = nullptr;
    if (alg_[0] == 'R' || alg_[0] == 'P') {
      k = EVP_RSA_gen(static_cast<unsigned>(rsa_bits));
    } else if (alg_ == "ES256") {
      k = EVP_EC_gen("P-256");
    } else if (alg_ == "ES384") {
      k = EVP_EC_gen("P-384");
    } else {
      k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    }
    key_.reset(k, &EVP_PKEY_free);
  }

  const std::string& kid() const { return kid_; }
  const std::string& alg() const { return alg_; }

  // The public JWK as JSON; `with_alg` adds "alg".
  std::string jwk(bool with_alg = true) const {
    std::string out = "{\"kid\":\"" + kid_ + "\",\"use\":\"sig\"";
    if (with_alg) out += ",\"alg\":\"" + alg_ + "\"";
    if (alg_[0] == 'R' || alg_[0] == 'P') {
      out += ",\"kty\":\"RSA\",\"n\":\"" + bn(OSSL_PKEY_PARAM_RSA_N) + "\",\"e\":\"" +
             bn(OSSL_PKEY_PARAM_RSA_E) + "\"";
    } else if (alg_[0] == 'E' && alg_ != "EdDSA") {
      size_t size = alg_ == "ES256" ? 32 : 48;
      unsigned char point[100];
      size_t len = 0;
      EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                      &len);
      std::string p(reinterpret_cast<char*>(point), len);  // 04 || x || y
      out += ",\"kty\":\"EC\",\"crv\":\"" + std::string(size == 32 ? "P-256" : "P-384") +
             "\",\"x\":\"" + base64url_encode(p.substr(1, size)) + "\",\"y\":\"" +
             base64url_encode(p.substr(1 + size, size)) + "\"";
    } else {
      unsigned char raw[32];
      size_t len = sizeof raw;
      EVP_PKEY_get_raw_public_key(key_.get(), raw, &len);
      out += ",\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" +
             base64url_encode(std::string(reinterpret_cast<char*>(raw), len)) + "\"";
    }
    return out + "}";
  }

  // A compact JWS of `claims_json` with this key (header alg/kid unless given).
  std::string sign(const std::string& claims_json, std::string header_json = "") const {
    if (header_json.empty()) {
      header_json = "{\"alg\":\"" + alg_ + "\",\"kid\":\"" + kid_ + "\",\"typ\":\"at+jwt\"}";
    }
    std::string input = base64url_encode(header_json) + "." + base64url_encode(claims_json);
    return input + "." + base64url_encode(signature(input));
  }

  std::string signature(const std::string& input) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    const EVP_MD* md = nullptr;
    if (alg_ != "EdDSA") {
      std::string bits = alg_.substr(2);
      md = bits == "256" ? EVP_sha256() : bits == "384" ? EVP_sha384() : EVP_sha512();
    }
    EVP_DigestSignInit(ctx, &pctx, md, nullptr, key_.get());
    if (alg_[0] == 'P') {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    size_t len = 0;
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    if (alg_ == "ES256" || alg_ == "ES384") {  // DER -> R || S (RFC 7518 3.4)
      size_t size = alg_ == "ES256" ? 32 : 48;
      const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
      ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
      std::string rs(2 * size, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(rs.data()),
                   static_cast<int>(size));
      BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(rs.data() + size),
                   static_cast<int>(size));
      ECDSA_SIG_free(es);
      return rs;
    }
    return sig;
  }

 private:
  std::string bn(const char* name) const {
    BIGNUM* b = nullptr;
    EVP_PKEY_get_bn_param(key_.get(), name, &b);
    std::string raw(static_cast<size_t>(BN_num_bytes(b)), '\0');
    BN_bn2bin(b, reinterpret_cast<unsigned char*>(raw.data()));
    BN_free(b);
    return base64url_encode(raw);
  }

  std::string kid_;
  std::string alg_;
  std::shared_ptr<EVP_PKEY> key_;
};

inline std::string jwks_of(std::initializer_list<const TestKey*> keys) {
  std::string out = "{\"keys\":[";
  bool first = true;
  for (const auto* k : keys) {
    out += (first ? "" : ",") + k->jwk();
    first = false;
  }
  return out + "]}";
}

}  // namespace mailroom::sso::testing
