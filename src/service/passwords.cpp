#include "src/service/passwords.h"

#include "auth/password/password_hash.h"

namespace mailroom::service {

core::Result<PasswordHash> hash_password(const std::string& password, const std::string& scheme,
                                         bool with_scram) {
  if (password.empty()) return core::invalid_argument("password must not be empty");
  auto parsed = auth::password::parse_scheme(scheme);
  if (!parsed) return core::invalid_argument("unknown password scheme " + scheme);
  auto hash = auth::password::hash(password, *parsed);
  if (!hash) return hash.status();
  PasswordHash out;
  out.hash = *hash;
  if (with_scram) {
    auto secret = auth::password::scram_sha256_secret(password);
    if (!secret) return secret.status();
    out.scram_secret = *secret;
  }
  return out;
}

}  // namespace mailroom::service
