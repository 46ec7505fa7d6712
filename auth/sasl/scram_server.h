// SCRAM-SHA-256 server side (RFC 5802, RFC 7677), implemented natively (internal header).
//
// Why not Cyrus: Cyrus's SCRAM plugin fetches the secret through an auxprop plugin that we
// would have to register (sasl_auxprop_add_plugin) and feed per exchange; that path was not
// built in the time available, so the mechanism runs here behind the same Exchange interface,
// with the same throttle, account-status rules and log line (PLAIN and LOGIN do run in
// Cyrus). The secret comes from Directory::scram_secret
// ("SCRAM-SHA-256$i:salt$StoredKey:ServerKey"); SASLprep of user names is not applied.
//
// Exchange: client-first -> server-first (challenge); client-final -> server-final
// (challenge, still in_progress); empty response -> success. Sending server-final as a
// challenge works for SMTP (RFC 4954 has no "additional data" on 235), IMAP and POP3 alike.
// Unknown users (and accounts without a SCRAM secret) get a fake salt derived from the
// installation's secret key (AuthOptions::installation_key, so it cannot be computed from
// the source) with the same length and iteration count as real secrets, and fail at the end:
// no user enumeration. Attempts count towards the same Throttle limits as PLAIN, keyed by the
// account's id, and a locked-out account cannot log in by SCRAM.
// Channel binding (-PLUS) is not offered; "y" and "n" gs2 flags are accepted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "auth/authenticator.h"
#include "auth/resolver.h"
#include "auth/sasl/throttle.h"

namespace mailroom::auth {

class ScramServer {
 public:
  ScramServer(Resolver& resolver, Throttle& throttle, ClientInfo client,
              std::string installation_key)
      : resolver_(resolver),
        throttle_(throttle),
        client_(std::move(client)),
        installation_key_(std::move(installation_key)) {}

  AuthStep step(std::optional<std::string_view> response);
  const std::string& user() const { return user_; }
  const std::string& reason() const { return reason_; }

 private:
  AuthStep client_first(std::string_view msg);
  AuthStep client_final(std::string_view msg);
  AuthStep fail(AuthOutcome outcome, std::string reason);

  Resolver& resolver_;
  Throttle& throttle_;
  ClientInfo client_;
  std::string installation_key_;
  std::string throttle_key_;  // "id:<account id>", or the lower-cased name when unknown
  int state_ = 0;  // 0 expect client-first, 1 expect client-final, 2 expect empty, 3 done
  std::string user_;
  std::string reason_;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;
  std::string stored_key_;
  std::string server_key_;
  bool fake_ = false;  // unknown user or no secret: fail at the end
  std::string fake_reason_;
  Principal principal_;
  AccountStatus status_ = AccountStatus::active;
};

}  // namespace mailroom::auth
