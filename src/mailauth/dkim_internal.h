// The pieces of DKIM signing (dkim.h) and verification (dkim_verify.h) shared by their .cpp
// files and reached by the unit tests: header parsing, canonicalization, name validation and the
// OpenSSL operations. Not for other modules.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"
#include "src/mailauth/dkim.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace mailroom::mailauth::detail {

// One header field of a message: `name` as written (before the colon, trailing WSP kept),
// `value` everything after the colon up to the field's final line break, folds included.
struct HeaderField {
  std::string name;
  std::string value;
};

// Splits a message (CRLF or bare LF line endings) into its header fields and its body (what
// follows the empty line; empty when there is none). Lines of the header that are neither a
// field nor a continuation are skipped: they cannot be signed.
void split_message(std::string_view message, std::vector<HeaderField>* fields, std::string* body);

// Simple canonicalization (RFC 6376 3.4.1 and 3.4.3), beside relaxed_header/relaxed_body of
// dkim.h: the field byte for byte as "name:value" without its final line break; the body with
// its empty lines at the end removed and a CRLF added when it does not end in one (an empty
// body becomes CRLF). A bare LF of the body is read as CRLF, as relaxed_body does.
std::string simple_header(const std::string& name, const std::string& value);
std::string simple_body(const std::string& body);

// The domain lower-cased, or invalid_argument: labels of letters, digits and hyphens (not at
// either end), 1-63 characters each, 253 in all; one trailing dot is dropped.
core::Result<std::string> normalize_domain(const std::string& domain);
// The selector lower-cased (RFC 6376 3.1: sub-domain *("." sub-domain)), or invalid_argument.
core::Result<std::string> normalize_selector(const std::string& selector);

// A private key (OpenSSL's EVP_PKEY, shared: signing from several threads is safe).
class PrivateKey {
 public:
  // PEM (PKCS#8 or traditional RSA) of an RSA or Ed25519 key; RSA keys shorter than 1024 bits
  // are refused (RFC 8301 section 3.2).
  static core::Result<PrivateKey> from_pem(const std::string& pem);
  // A new key: RSA of `bits` (1024..8192) or Ed25519.
  static core::Result<PrivateKey> generate(DkimAlgorithm algorithm, int bits);

  DkimAlgorithm algorithm() const { return algorithm_; }
  // PKCS#8 PEM of the private key.
  core::Result<std::string> pem() const;
  // "v=DKIM1; k=rsa; p=<base64 DER SubjectPublicKeyInfo>" or, RFC 8463 section 4,
  // "v=DKIM1; k=ed25519; p=<base64 of the raw 32-byte public key>".
  core::Result<std::string> dns_txt() const;
  // The signature over `data` (the header hash input of RFC 6376 3.7): RSASSA-PKCS1-v1_5 with
  // SHA-256, or for Ed25519 (RFC 8463 section 3) PureEdDSA over the SHA-256 digest of `data`.
  core::Result<std::string> sign(std::string_view data) const;

 private:
  std::shared_ptr<evp_pkey_st> key_;
  DkimAlgorithm algorithm_ = DkimAlgorithm::rsa_sha256;
};

// A public key from a DKIM key record (RFC 6376 3.6.1 p=), for verifying.
class PublicKey {
 public:
  // `key` is p= decoded: for rsa the DER SubjectPublicKeyInfo (or a bare PKCS#1 RSAPublicKey,
  // which some publish), for ed25519 the raw 32 bytes (RFC 8463 section 4). invalid_argument
  // when it is not such a key, or an RSA key under 1024 bits (RFC 8301 section 3.2) or over
  // 8192 (a hostile record should not buy seconds of CPU).
  static core::Result<PublicKey> from_record(DkimAlgorithm algorithm, std::string_view key);

  DkimAlgorithm algorithm() const { return algorithm_; }
  // True when `signature` is this key's signature over `data` (the header hash input of
  // RFC 6376 3.7), as PrivateKey::sign makes it.
  bool verify(std::string_view data, std::string_view signature) const;

 private:
  std::shared_ptr<evp_pkey_st> key_;
  DkimAlgorithm algorithm_ = DkimAlgorithm::rsa_sha256;
};

// The DkimKey for a PEM: algorithm and DNS record filled in from the key.
core::Result<DkimKey> key_from_pem(const std::string& domain, const std::string& selector,
                                   const std::string& pem);

std::string sha256(std::string_view data);

}  // namespace mailroom::mailauth::detail
