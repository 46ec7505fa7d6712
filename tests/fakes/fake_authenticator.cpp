#include "tests/fakes/fake_authenticator.h"

namespace mailroom::testing {
namespace {

auth::AuthStep outcome(auth::AuthOutcome o) {
  auth::AuthStep s;
  s.outcome = o;
  return s;
}

class PlainExchange : public auth::Exchange {
 public:
  PlainExchange(FakeAuthenticator& authenticator, auth::ClientInfo client)
      : authenticator_(authenticator), client_(std::move(client)) {}
  auth::AuthStep step(std::optional<std::string_view> response) override {
    if (!response) return outcome(auth::AuthOutcome::in_progress);
    // RFC 4616: [authzid] NUL authcid NUL passwd
    std::string_view r = *response;
    std::size_t a = r.find('\0');
    std::size_t b = a == std::string_view::npos ? a : r.find('\0', a + 1);
    if (b == std::string_view::npos) return outcome(auth::AuthOutcome::malformed);
    return authenticator_.check_plain(std::string(r.substr(a + 1, b - a - 1)),
                                      std::string(r.substr(b + 1)), client_);
  }

 private:
  FakeAuthenticator& authenticator_;
  auth::ClientInfo client_;
};

class BadMechanism : public auth::Exchange {
 public:
  auth::AuthStep step(std::optional<std::string_view>) override {
    return outcome(auth::AuthOutcome::bad_mechanism);
  }
};

}  // namespace

std::vector<std::string> FakeAuthenticator::mechanisms(const auth::ClientInfo& client) const {
  if (plaintext_allowed(client)) return {"PLAIN"};
  return {};
}

bool FakeAuthenticator::plaintext_allowed(const auth::ClientInfo& client) const {
  return !plaintext_needs_tls || client.tls || client.loopback;
}

std::unique_ptr<auth::Exchange> FakeAuthenticator::start(std::string_view mechanism,
                                                         const auth::ClientInfo& client) {
  if (mechanism == "PLAIN") return std::make_unique<PlainExchange>(*this, client);
  return std::make_unique<BadMechanism>();
}

auth::AuthStep FakeAuthenticator::check_plain(const std::string& login, const std::string& password,
                                              const auth::ClientInfo&) {
  if (forced != auth::AuthOutcome::in_progress) return outcome(forced);
  std::string user = login.substr(0, login.find('@'));
  auto it = users.find(user);
  const std::string& expected = it != users.end() ? it->second : any_user_password;
  if (user.empty() || expected.empty() || password != expected) {
    return outcome(auth::AuthOutcome::failed);
  }
  auth::AuthStep s = outcome(auth::AuthOutcome::success);
  s.principal.account_id = account_id_prefix + user;
  s.principal.login = login;
  s.principal.address = user + "@example.com";
  return s;
}

}  // namespace mailroom::testing
