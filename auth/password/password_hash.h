// Stored password hashes in the "{SCHEME}data" form Dovecot and OpenLDAP use, so hashes can
// be copied from an existing Dovecot passdb, an LDAP userPassword or a SQL table unchanged.
//
//   {ARGON2ID}$argon2id$v=19$m=..,t=..,p=..$salt$hash   libargon2, PHC string
//   {SHA512-CRYPT}$6$[rounds=N$]salt$hash               libcrypt (crypt_rn)
//   {CRYPT}<any crypt(3) string libcrypt knows>          e.g. $y$, $6$, $2b$, DES
//   {SSHA512}base64(SHA-512(password + salt) + salt)    OpenSSL
//   {SSHA}base64(SHA-1(password + salt) + salt)         OpenSSL
//
// Comparisons are constant-time. Thread-safe; hashing ARGON2ID costs ~20 MiB and tens of ms:
// call from the worker pool.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "src/core/status.h"

namespace mailroom::auth::password {

enum class Scheme { argon2id, sha512_crypt, crypt, ssha512, ssha };

// "ARGON2ID", "SHA512-CRYPT", "CRYPT", "SSHA512", "SSHA" (case-insensitive, braces optional).
std::optional<Scheme> parse_scheme(std::string_view name);
const char* scheme_name(Scheme scheme);

enum class Verify {
  ok,
  mismatch,
  unsupported,  // unknown {SCHEME} or a crypt method libcrypt does not know
  malformed,    // the stored string cannot be decoded
};

// Checks `password` against `stored` ("{SCHEME}..."). A stored value without a scheme prefix
// is treated as {CRYPT} when it starts with '$', else unsupported (never as plain text).
Verify verify(std::string_view stored, std::string_view password);

// Creates a new "{SCHEME}..." string with a fresh random salt.
core::Result<std::string> hash(std::string_view password, Scheme scheme = Scheme::argon2id);

// The SCRAM-SHA-256 secret for `password` (RFC 5802 section 3, RFC 7677):
// "SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>".
core::Result<std::string> scram_sha256_secret(std::string_view password, int iterations = 4096);
// Same with a given salt (known-answer tests against RFC 7677 section 3).
core::Result<std::string> scram_sha256_secret_with_salt(std::string_view password,
                                                        std::string_view salt, int iterations);

// Constant-time equality (length differences are not hidden).
bool constant_time_equal(std::string_view a, std::string_view b);

// RFC 4648 base64 with padding. decode returns nullopt on invalid input.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace mailroom::auth::password
