#include "auth/password/password_hash.h"

#include <argon2.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "src/core/address.h"
#include "src/core/base64.h"

namespace mailroom::auth::password {
namespace {

// OWASP's 2023 minimum for Argon2id (19 MiB, t=2, p=1): strong, yet cheap enough that a
// login costs tens of milliseconds and bulk imports stay practical.
constexpr uint32_t kArgonT = 2;
constexpr uint32_t kArgonM = 19456;  // KiB
constexpr uint32_t kArgonP = 1;
constexpr size_t kArgonSalt = 16;
constexpr size_t kArgonHash = 32;
constexpr size_t kSshaSalt = 8;

std::string random_bytes(size_t n) {
  std::string s(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)) != 1) {
    return {};
  }
  return s;
}

// "{SCHEME}rest" -> ("SCHEME", "rest"); no braces -> ("", stored).
std::pair<std::string, std::string_view> split_scheme(std::string_view stored) {
  if (stored.size() > 2 && stored[0] == '{') {
    auto end = stored.find('}');
    if (end != std::string_view::npos) {
      std::string scheme(stored.substr(1, end - 1));
      for (auto& c : scheme) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return {scheme, stored.substr(end + 1)};
    }
  }
  return {"", stored};
}

// Argon2's working memory (m KiB: 19 MiB for our own hashes), reused from login to login. A
// fresh block per verification is mmap'd by malloc and faulted in page by page: on this
// project's test machines that made a verification cost 115 ms instead of 30 ms (a login is
// one verification). Up to min(cores, 8) blocks are kept; beyond that, blocks are freed.
class Argon2Memory {
 public:
  static int allocate(uint8_t** memory, size_t bytes) {
    {
      std::lock_guard<std::mutex> lk(mu());
      auto& pool = blocks();
      for (auto it = pool.begin(); it != pool.end(); ++it) {
        if (it->first == bytes) {
          *memory = it->second;
          pool.erase(it);
          return ARGON2_OK;
        }
      }
    }
    *memory = static_cast<uint8_t*>(std::malloc(bytes));
    return *memory ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
  }
  static void release(uint8_t* memory, size_t bytes) {
    {
      std::lock_guard<std::mutex> lk(mu());
      auto& pool = blocks();
      std::size_t cap = std::min<std::size_t>(8, std::max(2u, std::thread::hardware_concurrency()));
      if (pool.size() < cap) {
        pool.emplace_back(bytes, memory);
        return;
      }
    }
    std::free(memory);
  }

 private:
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  // Leaked on purpose at exit: no destructor ordering against late logins.
  static std::vector<std::pair<size_t, uint8_t*>>& blocks() {
    static auto* b = new std::vector<std::pair<size_t, uint8_t*>>();
    return *b;
  }
};

// Standard base64 without padding, as the Argon2 encoding writes salt and hash.
std::optional<std::string> unpadded_base64(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string padded(text);
  padded.append((4 - text.size() % 4) % 4, '=');
  return core::base64_decode(padded);
}

// "<key>=<number>" at the front of `s`, consumed.
bool take_param(std::string_view& s, std::string_view key, uint32_t* value) {
  if (s.substr(0, key.size()) != key || s.size() <= key.size() || s[key.size()] != '=') {
    return false;
  }
  s.remove_prefix(key.size() + 1);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *value);
  if (ec != std::errc()) return false;
  s.remove_prefix(static_cast<size_t>(end - s.data()));
  return true;
}

// The PHC string of the Argon2 reference (and Dovecot's ARGON2I/ARGON2ID):
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>, "v=" absent for version 1.0.
// Verified through argon2_ctx so the working memory comes from Argon2Memory.
Verify verify_argon2(std::string_view encoded, std::string_view password, argon2_type type) {
  std::string prefix = std::string("$") + argon2_type2string(type, 0) + "$";
  if (encoded.substr(0, prefix.size()) != prefix) return Verify::malformed;
  std::string_view s = encoded.substr(prefix.size());
  uint32_t version = ARGON2_VERSION_10;
  if (s.substr(0, 2) == "v=") {
    if (!take_param(s, "v", &version) || s.empty() || s[0] != '$') return Verify::malformed;
    s.remove_prefix(1);
  }
  uint32_t m = 0, t = 0, p = 0;
  if (!take_param(s, "m", &m) || s.empty() || s[0] != ',') return Verify::malformed;
  s.remove_prefix(1);
  if (!take_param(s, "t", &t) || s.empty() || s[0] != ',') return Verify::malformed;
  s.remove_prefix(1);
  if (!take_param(s, "p", &p) || s.empty() || s[0] != '$') return Verify::malformed;
  s.remove_prefix(1);
  std::size_t dollar = s.find('$');
  if (dollar == std::string_view::npos) return Verify::malformed;
  std::optional<std::string> salt = unpadded_base64(s.substr(0, dollar));
  std::optional<std::string> expected = unpadded_base64(s.substr(dollar + 1));
  if (!salt || !expected || expected->empty()) return Verify::malformed;

  std::string pwd(password);  // argon2_context wants mutable buffers
  std::vector<uint8_t> out(expected->size());
  argon2_context ctx{};
  ctx.out = out.data();
  ctx.outlen = static_cast<uint32_t>(out.size());
  ctx.pwd = reinterpret_cast<uint8_t*>(pwd.data());
  ctx.pwdlen = static_cast<uint32_t>(pwd.size());
  ctx.salt = reinterpret_cast<uint8_t*>(salt->data());
  ctx.saltlen = static_cast<uint32_t>(salt->size());
  ctx.t_cost = t;
  ctx.m_cost = m;
  ctx.lanes = p;
  ctx.threads = 1;  // the worker pool is the parallelism; no threads spawned per login
  ctx.version = version;
  ctx.allocate_cbk = &Argon2Memory::allocate;
  ctx.free_cbk = &Argon2Memory::release;
  ctx.flags = ARGON2_DEFAULT_FLAGS;
  int rc = argon2_verify_ctx(&ctx, expected->data(), type);
  OPENSSL_cleanse(pwd.data(), pwd.size());
  if (rc == ARGON2_OK) return Verify::ok;
  if (rc == ARGON2_VERIFY_MISMATCH) return Verify::mismatch;
  return Verify::malformed;
}

Verify verify_crypt(std::string_view setting, std::string_view password) {
  if (setting.empty()) return Verify::malformed;
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(password), st(setting);
  const char* out = crypt_rn(pw.c_str(), st.c_str(), data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(pw.data(), pw.size());
  if (out == nullptr || out[0] == '*') return Verify::unsupported;
  bool ok = constant_time_equal(out, setting);
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok ? Verify::ok : Verify::mismatch;
}

Verify verify_salted(std::string_view encoded, std::string_view password, const EVP_MD* md) {
  auto raw = base64_decode(encoded);
  size_t dlen = static_cast<size_t>(EVP_MD_get_size(md));
  if (!raw || raw->size() <= dlen) return Verify::malformed;
  std::string digest = raw->substr(0, dlen);
  std::string salt = raw->substr(dlen);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, md, nullptr) == 1 &&
            EVP_DigestUpdate(ctx, password.data(), password.size()) == 1 &&
            EVP_DigestUpdate(ctx, salt.data(), salt.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, out, &out_len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return Verify::unsupported;
  return constant_time_equal(std::string_view(reinterpret_cast<char*>(out), out_len), digest)
             ? Verify::ok
             : Verify::mismatch;
}

core::Result<std::string> hash_salted(std::string_view password, const EVP_MD* md,
                                      const char* prefix) {
  std::string salt = random_bytes(kSshaSalt);
  if (salt.empty()) return core::internal_error("RAND_bytes failed");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, md, nullptr) == 1 &&
            EVP_DigestUpdate(ctx, password.data(), password.size()) == 1 &&
            EVP_DigestUpdate(ctx, salt.data(), salt.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, out, &out_len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return core::internal_error("digest failed");
  std::string raw(reinterpret_cast<char*>(out), out_len);
  return std::string(prefix) + base64_encode(raw + salt);
}

core::Result<std::string> hash_crypt(std::string_view password, const char* prefix,
                                     const char* scheme) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  // rbytes == nullptr: libcrypt draws the salt from the OS random source.
  if (crypt_gensalt_rn(prefix, 0, nullptr, 0, setting, sizeof(setting)) == nullptr) {
    return core::internal_error("crypt_gensalt_rn failed");
  }
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(password);
  const char* out = crypt_rn(pw.c_str(), setting, data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(pw.data(), pw.size());
  if (out == nullptr || out[0] == '*') return core::internal_error("crypt_rn failed");
  return std::string("{") + scheme + "}" + out;
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string();
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' ||
              (c == '=' && i >= text.size() - 2);
    if (!ok) return std::nullopt;
  }
  if (text[text.size() - 2] == '=' && text.back() != '=') return std::nullopt;
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t pad = (text.back() == '=') + (text[text.size() - 2] == '=');
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::optional<Scheme> parse_scheme(std::string_view name) {
  std::string n = core::ascii_lower(name);
  if (n.size() > 2 && n.front() == '{' && n.back() == '}') n = n.substr(1, n.size() - 2);
  if (n == "argon2id") return Scheme::argon2id;
  if (n == "sha512-crypt") return Scheme::sha512_crypt;
  if (n == "crypt") return Scheme::crypt;
  if (n == "ssha512") return Scheme::ssha512;
  if (n == "ssha") return Scheme::ssha;
  return std::nullopt;
}

const char* scheme_name(Scheme scheme) {
  switch (scheme) {
    case Scheme::argon2id:
      return "ARGON2ID";
    case Scheme::sha512_crypt:
      return "SHA512-CRYPT";
    case Scheme::crypt:
      return "CRYPT";
    case Scheme::ssha512:
      return "SSHA512";
    case Scheme::ssha:
      return "SSHA";
  }
  return "?";
}

Verify verify(std::string_view stored, std::string_view password) {
  auto [scheme, rest] = split_scheme(stored);
  if (scheme.empty()) {
    if (!rest.empty() && rest[0] == '$') return verify_crypt(rest, password);
    return Verify::unsupported;
  }
  if (scheme == "ARGON2ID" || scheme == "ARGON2I") {
    return verify_argon2(rest, password, scheme == "ARGON2ID" ? Argon2_id : Argon2_i);
  }
  if (scheme == "SHA512-CRYPT") {
    if (rest.substr(0, 3) != "$6$") return Verify::malformed;
    return verify_crypt(rest, password);
  }
  if (scheme == "SHA256-CRYPT") {
    if (rest.substr(0, 3) != "$5$") return Verify::malformed;
    return verify_crypt(rest, password);
  }
  if (scheme == "CRYPT" || scheme == "BLF-CRYPT") return verify_crypt(rest, password);
  if (scheme == "SSHA512") return verify_salted(rest, password, EVP_sha512());
  if (scheme == "SSHA256") return verify_salted(rest, password, EVP_sha256());
  if (scheme == "SSHA") return verify_salted(rest, password, EVP_sha1());
  return Verify::unsupported;
}

core::Result<std::string> hash(std::string_view password, Scheme scheme) {
  switch (scheme) {
    case Scheme::argon2id: {
      std::string salt = random_bytes(kArgonSalt);
      if (salt.empty()) return core::internal_error("RAND_bytes failed");
      size_t len = argon2_encodedlen(kArgonT, kArgonM, kArgonP, kArgonSalt, kArgonHash, Argon2_id);
      std::vector<char> enc(len + 1);
      int rc = argon2id_hash_encoded(kArgonT, kArgonM, kArgonP, password.data(), password.size(),
                                     salt.data(), salt.size(), kArgonHash, enc.data(), enc.size());
      if (rc != ARGON2_OK) {
        return core::internal_error(std::string("argon2id: ") + argon2_error_message(rc));
      }
      return std::string("{ARGON2ID}") + enc.data();
    }
    case Scheme::sha512_crypt:
      return hash_crypt(password, "$6$", "SHA512-CRYPT");
    case Scheme::crypt:
      return hash_crypt(password, nullptr, "CRYPT");  // libcrypt's default
    case Scheme::ssha512:
      return hash_salted(password, EVP_sha512(), "{SSHA512}");
    case Scheme::ssha:
      return hash_salted(password, EVP_sha1(), "{SSHA}");
  }
  return core::internal_error("unknown scheme");
}

core::Result<std::string> scram_sha256_secret(std::string_view password, int iterations) {
  // RFC 5802 section 3: SaltedPassword = Hi(password, salt, i) (= PBKDF2-HMAC);
  // ClientKey = HMAC(SaltedPassword, "Client Key"); StoredKey = H(ClientKey);
  // ServerKey = HMAC(SaltedPassword, "Server Key").
  if (iterations < 4096) iterations = 4096;  // RFC 7677 section 4 minimum
  std::string salt = random_bytes(16);
  if (salt.empty()) return core::internal_error("RAND_bytes failed");
  return scram_sha256_secret_with_salt(password, salt, iterations);
}

core::Result<std::string> scram_sha256_secret_with_salt(std::string_view password,
                                                        std::string_view salt, int iterations) {
  unsigned char salted[32];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(), 32, salted) != 1) {
    return core::internal_error("PBKDF2 failed");
  }
  unsigned char client_key[32], server_key[32], stored_key[32];
  unsigned int l = 0;
  HMAC(EVP_sha256(), salted, 32, reinterpret_cast<const unsigned char*>("Client Key"), 10,
       client_key, &l);
  HMAC(EVP_sha256(), salted, 32, reinterpret_cast<const unsigned char*>("Server Key"), 10,
       server_key, &l);
  SHA256(client_key, 32, stored_key);
  OPENSSL_cleanse(salted, sizeof(salted));
  auto b64 = [](const unsigned char* p, size_t n) {
    return base64_encode(std::string_view(reinterpret_cast<const char*>(p), n));
  };
  return "SCRAM-SHA-256$" + std::to_string(iterations) + ":" + base64_encode(salt) + "$" +
         b64(stored_key, 32) + ":" + b64(server_key, 32);
}

}  // namespace mailroom::auth::password
