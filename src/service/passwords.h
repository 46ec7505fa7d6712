// Password hashes for new and changed accounts (auth/password does the hashing).
//
// Threading: any thread; blocks for the hash's cost (ARGON2ID: tens of milliseconds).
#pragma once

#include <string>

#include "src/core/status.h"

namespace mailroom::service {

struct PasswordHash {
  std::string hash;          // "{SCHEME}..."
  std::string scram_secret;  // SCRAM-SHA-256 secret; empty unless asked for
};

// Hashes `password` with `scheme` ("ARGON2ID", "SHA512-CRYPT", "CRYPT", "SSHA512", "SSHA")
// and, when `with_scram`, derives its SCRAM-SHA-256 secret.
// Errors: invalid_argument for an empty password or an unknown scheme.
core::Result<PasswordHash> hash_password(const std::string& password, const std::string& scheme,
                                         bool with_scram);

}  // namespace mailroom::service
