// SASL OAUTHBEARER (RFC 7628) and XOAUTH2 (the Google/Microsoft form mail clients send),
// server side, natively (internal header). Cyrus has no plugin for either.
//
// Messages:
//   OAUTHBEARER  gs2-header %x01 *("key=value" %x01) %x01, e.g.
//                "n,a=alice@example.com,\x01host=mail\x01port=993\x01auth=Bearer <token>\x01\x01"
//   XOAUTH2      "user=alice@example.com\x01auth=Bearer <token>\x01\x01"
// The token goes to the TokenVerifier (sso/); the identity it names is resolved through the
// Resolver like a password login, and the account must be active. A user named in the message
// (OAUTHBEARER's authzid, XOAUTH2's user=) must be the token's account: no proxy logins.
//
// Failure (RFC 7628 3.2.2): the server answers with a JSON error as a challenge
// ({"status":"invalid_token","scope":...,"openid-configuration":...}); the client answers it
// with a lone %x01 (XOAUTH2 clients with an empty response) and the exchange fails. Clients read
// the status to refresh their token. A token that cannot be checked now (identity provider
// unreachable and no cached key) is a temporary failure without that round trip.
// Channel binding ("p=" gs2 flag) is not offered.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/authenticator.h"
#include "auth/resolver.h"
#include "auth/sasl/throttle.h"
#include "auth/token_verifier.h"

namespace mailroom::auth {

struct BearerMessage {
  std::string user;   // authzid (OAUTHBEARER a=) or user= (XOAUTH2); may be empty
  std::string token;  // the bearer token
};

// Parses a client message; nullopt when it is not well formed (RFC 7628 3.1).
std::optional<BearerMessage> parse_oauthbearer(std::string_view message);
std::optional<BearerMessage> parse_xoauth2(std::string_view message);

class BearerServer {
 public:
  enum class Kind { oauthbearer, xoauth2 };

  BearerServer(Kind kind, TokenVerifier& verifier, Resolver& resolver, Throttle& throttle,
               ClientInfo client)
      : kind_(kind),
        verifier_(verifier),
        resolver_(resolver),
        throttle_(throttle),
        client_(std::move(client)) {}

  AuthStep step(std::optional<std::string_view> response);
  const std::string& user() const { return user_; }
  const std::string& reason() const { return reason_; }

 private:
  AuthStep check(std::string_view message);
  AuthStep error_challenge(AuthOutcome outcome, std::string reason, const std::string& status);
  AuthStep end(AuthOutcome outcome, std::string reason);

  Kind kind_;
  TokenVerifier& verifier_;
  Resolver& resolver_;
  Throttle& throttle_;
  ClientInfo client_;
  int state_ = 0;  // 0 expect the client message, 1 expect the answer to an error, 2 done
  AuthOutcome pending_ = AuthOutcome::failed;  // the outcome after the error round trip
  std::string user_;
  std::string reason_;
};

}  // namespace mailroom::auth
