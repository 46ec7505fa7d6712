#include "tests/fakes/fixed_authenticator.h"

#include <optional>

namespace mailroom::testing {
namespace {

std::optional<auth::Principal> check(const std::string& login, const std::string& password) {
  std::string user = login.substr(0, login.find('@'));
  std::string expected = user == "alice" ? "wonderland" : user == "bob" ? "builder" : "pass";
  if (user.empty() || password != expected) return std::nullopt;
  auth::Principal p;
  p.account_id = "acct-" + user;
  p.login = login;
  p.address = user + "@example.com";
  return p;
}

auth::AuthStep outcome_of(const std::optional<auth::Principal>& p) {
  auth::AuthStep s;
  s.outcome = p ? auth::AuthOutcome::success : auth::AuthOutcome::failed;
  if (p) s.principal = *p;
  return s;
}

class PlainExchange : public auth::Exchange {
 public:
  auth::AuthStep step(std::optional<std::string_view> response) override {
    auth::AuthStep s;
    if (!response) {
      s.outcome = auth::AuthOutcome::in_progress;
      return s;
    }
    std::string r(*response);
    size_t a = r.find('\0');
    size_t b = a == std::string::npos ? a : r.find('\0', a + 1);
    if (b == std::string::npos) {
      s.outcome = auth::AuthOutcome::malformed;
      return s;
    }
    return outcome_of(check(r.substr(a + 1, b - a - 1), r.substr(b + 1)));
  }
};

class BadExchange : public auth::Exchange {
 public:
  auth::AuthStep step(std::optional<std::string_view>) override {
    auth::AuthStep s;
    s.outcome = auth::AuthOutcome::bad_mechanism;
    return s;
  }
};

}  // namespace

std::vector<std::string> FixedAuthenticator::mechanisms(const auth::ClientInfo&) const {
  return {"PLAIN"};
}

bool FixedAuthenticator::plaintext_allowed(const auth::ClientInfo& c) const {
  return c.tls || c.loopback;
}

std::unique_ptr<auth::Exchange> FixedAuthenticator::start(std::string_view mech,
                                                          const auth::ClientInfo&) {
  if (mech == "PLAIN") return std::make_unique<PlainExchange>();
  return std::make_unique<BadExchange>();
}

auth::AuthStep FixedAuthenticator::check_plain(const std::string& login,
                                               const std::string& password,
                                               const auth::ClientInfo&) {
  return outcome_of(check(login, password));
}

}  // namespace mailroom::testing
