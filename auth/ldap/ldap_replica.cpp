#include "auth/ldap/ldap_replica.h"

#include "auth/forwarding_directory.h"
#include "auth/ldap/ldap_client.h"
#include "auth/ldap/ldap_directory.h"
#include "auth/local/local_directory.h"
#include "auth/sync/ldap_sync.h"
#include "src/core/log.h"

namespace mailroom::auth::ldap {

namespace {

// Reads from the replica; passwords by LDAP bind; owns the background sync.
class ReplicaDirectory final : public ForwardingDirectory {
 public:
  ReplicaDirectory(std::shared_ptr<LocalDirectory> local, std::shared_ptr<LdapDirectory> live,
                   std::unique_ptr<sync::SyncEngine> sync)
      : ForwardingDirectory(local),
        local_(std::move(local)),
        live_(std::move(live)),
        sync_(std::move(sync)) {}
  ~ReplicaDirectory() override { sync_->stop(); }

  std::string name() const override { return "ldap"; }
  // The replica knows an account's login and addresses, not its second login name (AD's
  // userPrincipalName, attributes.login_alt), which often differs from both. A login the
  // replica does not know and that may be one is asked of the directory, and answered with
  // the replica's account of that id (status and addresses as synced). A directory that
  // cannot be asked makes it "could not tell", not "no such user".
  Result<Account> find_account_by_login(const std::string& login) override {
    auto local = local_->find_account_by_login(login);
    if (local || local.code() != Code::not_found) return local;
    if (live_->client()->options().attrs.login_alt.empty() || login.find('@') == std::string::npos)
      return local;
    auto upstream = live_->find_account_by_login(login);
    if (!upstream) return upstream.status();
    return local_->find_account_by_id(upstream->id);
  }
  PasswordCheck check_password(const Account& account, const std::string& password) override {
    // Accounts of other sources (a local admin) keep their local hash.
    auto rec = local_->get_account_record(account.id);
    if (rec && rec->source != sync::kSourceLdap) return local_->check_password(account, password);
    return live_->check_password(account, password);
  }
  // No SCRAM: LDAP has no secrets to copy, and the replica's local accounts log in by
  // password (check_password above).
  Result<std::string> scram_secret(const Account& account) override {
    return Directory::scram_secret(account);
  }

 private:
  std::shared_ptr<LocalDirectory> local_;
  std::shared_ptr<LdapDirectory> live_;
  std::unique_ptr<sync::SyncEngine> sync_;
};

}  // namespace

core::Result<std::shared_ptr<Directory>> open_replica_directory(std::shared_ptr<LdapDirectory> live,
                                                                const std::string& data_dir,
                                                                bool start_sync) {
  LocalDirectoryOptions lo;
  lo.path = data_dir + "/directory.db";
  auto local = LocalDirectory::open(lo);
  if (!local) return local.status();
  auto s = sync::make_ldap_sync(live, *local);
  bool had_data = (*local)->get_sync_state("ldap.last_sync").is_ok();
  if (start_sync) s->start();
  if (start_sync && !had_data) {
    // An empty replica would answer "no such user" (550): wait for the first refresh.
    int wait_ms = 1000 * std::max(30, live->client()->options().op_timeout_s * 6);
    if (!s->wait_ready(wait_ms)) MR_LOG_WARN("event=ldap_replica_not_ready waited_ms={}", wait_ms);
  }
  return std::shared_ptr<Directory>(
      std::make_shared<ReplicaDirectory>(*local, std::move(live), std::move(s)));
}

}  // namespace mailroom::auth::ldap
