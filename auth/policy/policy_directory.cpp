#include "auth/policy/policy_directory.h"

#include "auth/local/local_directory.h"
#include "src/core/log.h"

namespace mailroom::auth {

Result<EffectivePolicy> PolicySource::effective(const Account& account) {
  auto applied = store_->policies_for_account(account.id);
  if (!applied) return applied.status();
  return resolve_policy(account, *applied);
}

Result<Account> PolicyDirectory::apply(Result<Account> found) {
  if (!found) return found;
  auto e = policies_->effective(*found);
  if (!e) {
    MR_LOG_WARN("event=policy_unavailable account={} error={}", found->id,
                core::quote(e.status().log_detail()));
    return core::unavailable("account policy cannot be read");
  }
  found->quota_bytes = e->quota_bytes;
  found->quota_messages = e->quota_messages;
  return found;
}

Result<Account> PolicyDirectory::find_account_by_address(const std::string& address) {
  return apply(inner().find_account_by_address(address));
}
Result<Account> PolicyDirectory::find_account_by_login(const std::string& login) {
  return apply(inner().find_account_by_login(login));
}
Result<Account> PolicyDirectory::find_account_by_id(const std::string& id) {
  return apply(inner().find_account_by_id(id));
}

std::shared_ptr<Directory> with_policies(std::shared_ptr<Directory> inner,
                                         std::shared_ptr<PolicySource> policies) {
  if (!inner || !policies) return inner;
  return std::make_shared<PolicyDirectory>(std::move(inner), std::move(policies));
}

std::string login_refusal(const EffectivePolicy& policy, const std::string& method,
                          const std::string& protocol) {
  if (protocol == "pop3" && !policy.pop3)
    return "pop3 not allowed (" + policy.source_of("pop3") + ")";
  if (!policy.allows_login_method(method))
    return "login method " + method + " not allowed (" + policy.source_of("login_methods") + ")";
  return {};
}

namespace {

// After a success: the policy's word. Returns `step` unchanged or turned into a refusal.
AuthStep check_step(PolicySource& policies, AuthStep step, const std::string& mechanism,
                    const ClientInfo& client) {
  if (step.outcome != AuthOutcome::success) return step;
  Account who;
  who.id = step.principal.account_id;
  auto e = policies.effective(who);
  std::string method = login_method_of(mechanism, !step.principal.app_password_id.empty());
  std::string why;
  if (!e) {
    MR_LOG_WARN("event=auth.policy_unavailable session={} account={} error={}",
                core::quote(client.session_id), who.id, core::quote(e.status().log_detail()));
    step.outcome = AuthOutcome::unavailable;
  } else if (why = login_refusal(*e, method, client.protocol); !why.empty()) {
    MR_LOG_WARN("event=auth.policy_refused session={} protocol={} account={} method={} reason={}",
                core::quote(client.session_id), core::quote(client.protocol), who.id, method,
                core::quote(why));
    // The answer of a wrong password: nothing tells the client the credential was right.
    step.outcome = AuthOutcome::failed;
  } else {
    return step;
  }
  step.principal = Principal{};
  step.challenge.clear();
  return step;
}

class PolicyExchange : public Exchange {
 public:
  PolicyExchange(std::unique_ptr<Exchange> inner, std::shared_ptr<PolicySource> policies,
                 std::string mechanism, ClientInfo client)
      : inner_(std::move(inner)),
        policies_(std::move(policies)),
        mechanism_(std::move(mechanism)),
        client_(std::move(client)) {}
  AuthStep step(std::optional<std::string_view> response) override {
    return check_step(*policies_, inner_->step(response), mechanism_, client_);
  }

 private:
  std::unique_ptr<Exchange> inner_;
  std::shared_ptr<PolicySource> policies_;
  std::string mechanism_;
  ClientInfo client_;
};

class PolicyAuthenticator : public Authenticator {
 public:
  PolicyAuthenticator(std::shared_ptr<Authenticator> inner, std::shared_ptr<PolicySource> policies)
      : inner_(std::move(inner)), policies_(std::move(policies)) {}
  std::vector<std::string> mechanisms(const ClientInfo& client) const override {
    return inner_->mechanisms(client);
  }
  bool plaintext_allowed(const ClientInfo& client) const override {
    return inner_->plaintext_allowed(client);
  }
  std::unique_ptr<Exchange> start(std::string_view mechanism, const ClientInfo& client) override {
    return std::make_unique<PolicyExchange>(inner_->start(mechanism, client), policies_,
                                            std::string(mechanism), client);
  }
  AuthStep check_plain(const std::string& login, const std::string& password,
                       const ClientInfo& client) override {
    return check_step(*policies_, inner_->check_plain(login, password, client), "LOGIN", client);
  }
  size_t unlock(const std::string& account_id) override { return inner_->unlock(account_id); }

 private:
  std::shared_ptr<Authenticator> inner_;
  std::shared_ptr<PolicySource> policies_;
};

}  // namespace

std::shared_ptr<Authenticator> with_login_policies(std::shared_ptr<Authenticator> inner,
                                                   std::shared_ptr<PolicySource> policies) {
  if (!inner || !policies) return inner;
  return std::make_shared<PolicyAuthenticator>(std::move(inner), std::move(policies));
}

}  // namespace mailroom::auth
