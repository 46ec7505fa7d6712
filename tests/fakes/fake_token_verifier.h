// An in-memory auth::TokenVerifier (the identity provider behind OAUTHBEARER and the HTTP
// API's bearer tokens): a table of token -> answer; any other token is invalid.
//
//   FakeTokenVerifier idp;
//   idp.add_valid("tok-alice", "alice@example.com");          // claim "email", match login
//   idp.add_valid("tok-id", "id-bob", auth::TokenMatch::id);   // claim "sub", match id
//   idp.unavailable = true;  // every answer is TokenVerdict::unavailable (provider down)
//
// Thread-safe for verify(); set the table up before use.
#pragma once

#include <atomic>
#include <map>
#include <string>

#include "auth/token_verifier.h"

namespace mailroom::testing {

class FakeTokenVerifier : public auth::TokenVerifier {
 public:
  std::map<std::string, auth::TokenCheck> answers;
  std::atomic<bool> unavailable{false};
  std::atomic<int> calls{0};

  void add_valid(const std::string& token, const std::string& value,
                 auth::TokenMatch match = auth::TokenMatch::login) {
    auth::TokenCheck c;
    c.verdict = auth::TokenVerdict::valid;
    c.identity = {"https://idp.example.com", match == auth::TokenMatch::id ? "sub" : "email", value,
                  match};
    answers[token] = c;
  }

  auth::TokenCheck verify(std::string_view token) override {
    ++calls;
    auth::TokenCheck out;
    if (unavailable) {
      out.verdict = auth::TokenVerdict::unavailable;
      out.reason = "identity provider unreachable (fake)";
      return out;
    }
    auto it = answers.find(std::string(token));
    if (it != answers.end()) return it->second;
    out.reason = "unknown token (fake)";
    return out;
  }
  std::string required_scope() const override { return "mail"; }
  std::string openid_configuration() const override {
    return "https://idp.example.com/.well-known/openid-configuration";
  }
};

}  // namespace mailroom::testing
