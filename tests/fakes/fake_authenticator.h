// The in-memory auth::Authenticator for session tests (IMAP, POP3) and for tools that run
// without a directory (tests/integration/imap/imap_driver): a table of users, PLAIN only.
//
//   mailroom::testing::FakeAuthenticator auth;     // alice/wonderland, bob/builder
//   auth.plaintext_needs_tls = false;              // allow USER/PASS on a clear connection
//   auth.forced = auth::AuthOutcome::unavailable;  // every check answers this
//
// Principal of a login "alice" or "alice@any.domain": account id "id-alice" (see
// account_id_prefix), address "alice@example.com", login as the client gave it. Set the knobs
// before the sessions run; the calls themselves only read them, so several worker threads may
// authenticate at once.
#pragma once

#include <map>
#include <string>

#include "auth/authenticator.h"

namespace mailroom::testing {

class FakeAuthenticator : public auth::Authenticator {
 public:
  // User (the login's part before any '@') -> password.
  std::map<std::string, std::string> users = {{"alice", "wonderland"}, {"bob", "builder"}};
  // Non-empty: any other user logs in with this password (imap_driver: testuser1..N/"pass").
  std::string any_user_password;
  std::string account_id_prefix = "id-";  // account id = prefix + user
  // Plain-text logins and PLAIN (the one mechanism) only on TLS or loopback, as the real
  // authenticator's default; false: everywhere.
  bool plaintext_needs_tls = true;
  // Anything but in_progress: every login answers this outcome (unavailable, throttled...).
  auth::AuthOutcome forced = auth::AuthOutcome::in_progress;

  std::vector<std::string> mechanisms(const auth::ClientInfo& client) const override;
  bool plaintext_allowed(const auth::ClientInfo& client) const override;
  // "PLAIN" (RFC 4616) runs check_plain; any other mechanism answers bad_mechanism.
  std::unique_ptr<auth::Exchange> start(std::string_view mechanism,
                                        const auth::ClientInfo& client) override;
  auth::AuthStep check_plain(const std::string& login, const std::string& password,
                             const auth::ClientInfo& client) override;
};

}  // namespace mailroom::testing
