// A fixed-password auth::Authenticator for IMAP tests and tools that run without a directory:
// alice/wonderland, bob/builder, any other user/pass; account ids "acct-<user>". PLAIN only.
#pragma once

#include "auth/authenticator.h"

namespace mailroom::testing {

class FixedAuthenticator : public auth::Authenticator {
 public:
  std::vector<std::string> mechanisms(const auth::ClientInfo&) const override;
  bool plaintext_allowed(const auth::ClientInfo& c) const override;
  std::unique_ptr<auth::Exchange> start(std::string_view mech, const auth::ClientInfo&) override;
  auth::AuthStep check_plain(const std::string& login, const std::string& password,
                             const auth::ClientInfo&) override;
};

}  // namespace mailroom::testing
