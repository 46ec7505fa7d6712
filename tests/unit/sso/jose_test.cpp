// base64url, compact JWS, JWK parsing and the signature algorithms (sso/jose.h), with keys
// made here by OpenSSL.
#include "sso/jose.h"

#include <gtest/gtest.h>

#include "tests/unit/sso/test_keys.h"

namespace mailroom::sso {
namespace {

using testing::jwks_of;
using testing::TestKey;

TEST(Base64Url, RoundTripAndStrictness) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    auto enc = base64url_encode(s);
    EXPECT_EQ(enc.find('='), std::string::npos);
    auto dec = base64url_decode(enc);
    ASSERT_TRUE(dec) << enc;
    EXPECT_EQ(*dec, s);
  }
  EXPECT_EQ(*base64url_decode("-_8"), "\xfb\xff");
  EXPECT_FALSE(base64url_decode("a"));      // a lone sextet is no octet
  EXPECT_FALSE(base64url_decode("Zg=="));   // padding is not base64url
  EXPECT_FALSE(base64url_decode("Z+8"));    // the standard alphabet is not
  EXPECT_FALSE(base64url_decode("Zh"));     // non-zero leftover bits: not canonical
  EXPECT_FALSE(base64url_decode("Zm 9v"));  // no whitespace
}

TEST(CompactJws, ThreePartsOnly) {
  auto j = split_compact_jws("eyJhIjoxfQ.eyJiIjoyfQ.c2ln");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->header_json, "{\"a\":1}");
  EXPECT_EQ(j->payload_json, "{\"b\":2}");
  EXPECT_EQ(j->signing_input, "eyJhIjoxfQ.eyJiIjoyfQ");
  EXPECT_EQ(j->signature, "sig");
  EXPECT_TRUE(split_compact_jws("eyJhIjoxfQ.eyJiIjoyfQ."));  // empty signature parses
  EXPECT_FALSE(split_compact_jws("eyJhIjoxfQ.eyJiIjoyfQ"));
  EXPECT_FALSE(split_compact_jws("a.b.c.d.e"));  // JWE
  EXPECT_FALSE(split_compact_jws("e$.eyJiIjoyfQ.c2ln"));
}

TEST(Algorithms, OnlyAsymmetricSignaturesAreAccepted) {
  EXPECT_EQ(algorithm_family("RS256"), "RSA");
  EXPECT_EQ(algorithm_family("PS512"), "RSA");
  EXPECT_EQ(algorithm_family("ES256"), "EC256");
  EXPECT_EQ(algorithm_family("ES384"), "EC384");
  EXPECT_EQ(algorithm_family("EdDSA"), "Ed25519");
  for (const char* no : {"none", "None", "HS256", "HS384", "HS512", "ES512", "RS1", ""}) {
    EXPECT_EQ(algorithm_family(no), "") << no;
  }
}

TEST(Jwks, EveryKeyTypeVerifiesItsOwnSignatures) {
  for (const char* alg :
       {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}) {
    SCOPED_TRACE(alg);
    TestKey key("k", alg);
    std::string error;
    auto keys = parse_jwks(jwks_of({&key}), &error);
    ASSERT_TRUE(keys);
    ASSERT_EQ(keys->size(), 1u) << error;
    const std::string input = "header.payload";
    std::string sig = key.signature(input);
    EXPECT_TRUE(verify_signature(alg, (*keys)[0], input, sig));
    EXPECT_FALSE(verify_signature(alg, (*keys)[0], input + "x", sig));
    std::string flipped = sig;
    flipped[flipped.size() / 2] ^= 0x01;
    EXPECT_FALSE(verify_signature(alg, (*keys)[0], input, flipped));
    EXPECT_FALSE(verify_signature(alg, (*keys)[0], input, ""));
  }
}

TEST(Jwks, AKeyIsUsedOnlyWithItsAlgorithm) {
  TestKey rs("rs", "RS256");
  std::string error;
  auto keys = parse_jwks(jwks_of({&rs}), &error);
  ASSERT_TRUE(keys && keys->size() == 1);
  const std::string input = "h.p";
  // An RS256 key named in the JWK cannot verify a PS256 or RS384 signature, nor HS256 with its
  // own modulus as the secret (algorithm confusion).
  EXPECT_FALSE(verify_signature("PS256", (*keys)[0], input, rs.signature(input)));
  EXPECT_FALSE(verify_signature("RS384", (*keys)[0], input, rs.signature(input)));
  EXPECT_FALSE(verify_signature("HS256", (*keys)[0], input, rs.signature(input)));
  // Without "alg" in the JWK, the family still binds: an EC signature never checks on RSA.
  TestKey ec("ec", "ES256");
  EXPECT_FALSE(verify_signature("ES256", (*keys)[0], input, ec.signature(input)));
}

TEST(Jwks, UnusableKeysAreSkippedWithAReason) {
  TestKey small("small", "RS256", 1024);
  TestKey good("good", "ES256");
  std::string doc =
      "{\"keys\":[" + small.jwk() + "," + good.jwk() +
      ",{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"hmac\"}"
      ",{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"}"
      ",{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"off\",\"x\":\"AAAA\",\"y\":\"AAAA\"}"
      ",{\"kty\":\"RSA\",\"kid\":\"mismatch\",\"alg\":\"ES256\",\"n\":\"AQAB\","
      "\"e\":\"AQAB\"}]}";
  std::string error;
  auto keys = parse_jwks(doc, &error);
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid, "good");
  EXPECT_NE(error.find("small: RSA key shorter than 2048 bits"), std::string::npos) << error;
  EXPECT_NE(error.find("off: EC key with bad x/y"), std::string::npos) << error;
  EXPECT_FALSE(parse_jwks("[]", &error));
  EXPECT_FALSE(parse_jwks("{\"keys\":{}}", &error));
  EXPECT_FALSE(parse_jwks("not json", &error));
}

TEST(Jwks, PointNotOnTheCurveIsRefused) {
  TestKey ec("ec", "ES256");
  std::string jwk = ec.jwk();
  // Replace y with another 32-byte value: (x, y') is not on P-256.
  auto y = jwk.find("\"y\":\"");
  ASSERT_NE(y, std::string::npos);
  jwk.replace(y + 5, 43, base64url_encode(std::string(32, '\x01')));
  std::string error;
  auto keys = parse_jwks("{\"keys\":[" + jwk + "]}", &error);
  ASSERT_TRUE(keys);
  EXPECT_TRUE(keys->empty()) << error;
}

}  // namespace
}  // namespace mailroom::sso
