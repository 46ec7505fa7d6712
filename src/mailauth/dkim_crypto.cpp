// The OpenSSL 3 side of DKIM: keys (generate, PEM in and out, the DNS record, the public key
// of a record) and the two signature algorithms, both ways. Nothing here touches files or
// messages.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdlib>

#include "src/core/base64.h"
#include "src/mailauth/dkim_internal.h"

namespace mailroom::mailauth::detail {
namespace {

// OpenSSL's error queue as log detail (and cleared, so it cannot leak into a later call).
std::string openssl_errors(const char* what) {
  std::string out = what;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += "; ";
    out += buf;
  }
  return out;
}

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::shared_ptr<EVP_PKEY> own_pkey(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    // Only an allocation failure or a broken OpenSSL gets here; a wrong hash would sign garbage.
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

core::Result<PrivateKey> PrivateKey::from_pem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return core::internal_error(openssl_errors("BIO_new_mem_buf"));
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!raw) {
    return core::invalid_argument("not a PEM private key",
                                  openssl_errors("PEM_read_bio_PrivateKey"));
  }
  PrivateKey key;
  key.key_ = own_pkey(raw);
  switch (EVP_PKEY_get_base_id(raw)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(raw) < 1024) {
        return core::invalid_argument("RSA key shorter than 1024 bits (RFC 8301)");
      }
      key.algorithm_ = DkimAlgorithm::rsa_sha256;
      break;
    case EVP_PKEY_ED25519:
      key.algorithm_ = DkimAlgorithm::ed25519_sha256;
      break;
    default:
      return core::invalid_argument("DKIM keys are RSA or Ed25519");
  }
  return key;
}

core::Result<PrivateKey> PrivateKey::generate(DkimAlgorithm algorithm, int bits) {
  PrivateKey key;
  key.algorithm_ = algorithm;
  EVP_PKEY* raw = nullptr;
  if (algorithm == DkimAlgorithm::rsa_sha256) {
    // RFC 8301: at least 1024 bits; above 8192 is slow to make and to verify, for no gain.
    if (bits < 1024 || bits > 8192) {
      return core::invalid_argument("RSA key size must be 1024 to 8192 bits");
    }
    raw = EVP_RSA_gen(static_cast<unsigned int>(bits));
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (!raw) return core::internal_error(openssl_errors("key generation"));
  key.key_ = own_pkey(raw);
  return key;
}

core::Result<std::string> PrivateKey::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return core::internal_error(openssl_errors("PEM_write_bio_PrivateKey"));
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

core::Result<std::string> PrivateKey::dns_txt() const {
  std::string public_key;
  if (algorithm_ == DkimAlgorithm::ed25519_sha256) {
    unsigned char raw[32];
    std::size_t size = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &size) != 1) {
      return core::internal_error(openssl_errors("EVP_PKEY_get_raw_public_key"));
    }
    public_key.assign(reinterpret_cast<const char*>(raw), size);
  } else {
    unsigned char* der = nullptr;
    int size = i2d_PUBKEY(key_.get(), &der);
    if (size <= 0) return core::internal_error(openssl_errors("i2d_PUBKEY"));
    public_key.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size));
    OPENSSL_free(der);
  }
  const char* k = algorithm_ == DkimAlgorithm::ed25519_sha256 ? "ed25519" : "rsa";
  return std::string("v=DKIM1; k=") + k + "; p=" + core::base64_encode(public_key);
}

core::Result<std::string> PrivateKey::sign(std::string_view data) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return core::internal_error(openssl_errors("EVP_MD_CTX_new"));
  std::string digest;
  std::string_view input = data;
  const EVP_MD* md = EVP_sha256();
  if (algorithm_ == DkimAlgorithm::ed25519_sha256) {
    // RFC 8463 section 3: Ed25519 signs the SHA-256 hash of the data, not the data itself.
    digest = sha256(data);
    input = digest;
    md = nullptr;  // PureEdDSA: no digest of OpenSSL's own
  }
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1) {
    return core::internal_error(openssl_errors("EVP_DigestSignInit"));
  }
  std::size_t size = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &size, in, input.size()) != 1) {
    return core::internal_error(openssl_errors("EVP_DigestSign (size)"));
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, in,
                     input.size()) != 1) {
    return core::internal_error(openssl_errors("EVP_DigestSign"));
  }
  signature.resize(size);
  return signature;
}

core::Result<PublicKey> PublicKey::from_record(DkimAlgorithm algorithm, std::string_view key) {
  const auto* der = reinterpret_cast<const unsigned char*>(key.data());
  EVP_PKEY* raw = nullptr;
  if (algorithm == DkimAlgorithm::ed25519_sha256) {
    if (key.size() != 32) {
      return core::invalid_argument("ed25519 key of " + std::to_string(key.size()) +
                                    " bytes, not 32");
    }
    raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, der, key.size());
  } else {
    // RFC 6376 3.6.1 names RSAPublicKey, but what signers publish (and PrivateKey::dns_txt
    // too) is the SubjectPublicKeyInfo; both are taken.
    const unsigned char* p = der;
    raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(key.size()));
    if (raw == nullptr || p != der + key.size()) {
      EVP_PKEY_free(raw);
      ERR_clear_error();
      p = der;
      raw = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(key.size()));
      if (raw != nullptr && p != der + key.size()) {
        EVP_PKEY_free(raw);
        raw = nullptr;
      }
    }
  }
  if (raw == nullptr) {
    return core::invalid_argument("key record p= is not a public key",
                                  openssl_errors("public key from DER"));
  }
  PublicKey out;
  out.key_ = own_pkey(raw);
  out.algorithm_ = algorithm;
  if (algorithm == DkimAlgorithm::rsa_sha256) {
    if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_RSA) {
      return core::invalid_argument("k=rsa record with a key that is not RSA");
    }
    int bits = EVP_PKEY_get_bits(raw);
    if (bits < 1024) {
      return core::invalid_argument("RSA key of " + std::to_string(bits) +
                                    " bits, under 1024 (RFC 8301)");
    }
    if (bits > 8192) {
      return core::invalid_argument("RSA key of " + std::to_string(bits) + " bits, over 8192");
    }
  }
  return out;
}

bool PublicKey::verify(std::string_view data, std::string_view signature) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  std::string digest;
  std::string_view input = data;
  const EVP_MD* md = EVP_sha256();
  if (algorithm_ == DkimAlgorithm::ed25519_sha256) {
    digest = sha256(data);  // RFC 8463 section 3, as in PrivateKey::sign
    input = digest;
    md = nullptr;
  }
  // RSA: EVP_PKEY's default padding is PKCS#1 v1.5 (RSASSA-PKCS1-v1_5, RFC 6376 3.3.1).
  bool ok = EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key_.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  ERR_clear_error();  // a bad signature leaves its reason on the queue
  return ok;
}

core::Result<DkimKey> key_from_pem(const std::string& domain, const std::string& selector,
                                   const std::string& pem) {
  auto key = PrivateKey::from_pem(pem);
  if (!key) return key.status();
  auto txt = key->dns_txt();
  if (!txt) return txt.status();
  DkimKey out;
  out.domain = domain;
  out.selector = selector;
  out.algorithm = key->algorithm();
  out.private_key_pem = pem;
  out.dns_txt = std::move(*txt);
  return out;
}

}  // namespace mailroom::mailauth::detail
