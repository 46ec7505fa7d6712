#include "auth/metered_directory.h"

#include <array>
#include <string>

#include "src/core/metric_catalog.h"

namespace mailroom::auth {
namespace {

enum MeteredOp {
  kOpFindDomain,
  kOpFindAccountByAddress,
  kOpFindAccountByLogin,
  kOpFindAccountById,
  kOpFindAlias,
  kOpFindGroup,
  kOpListDomains,
  kOpScramSecret,
  kOpCheckPassword,
  kOpCount
};
constexpr const char* kMeteredOpNames[kOpCount] = {"find_domain",
                                                   "find_account_by_address",
                                                   "find_account_by_login",
                                                   "find_account_by_id",
                                                   "find_alias",
                                                   "find_group",
                                                   "list_domains",
                                                   "scram_secret",
                                                   "check_password"};

// Results of a lookup: found, not_found, unavailable, error; of check_password: ok, mismatch,
// unavailable (the first three slots).
enum MeteredResult { kResFound, kResNotFound, kResUnavailable, kResError, kResCount };
constexpr const char* kLookupResultNames[kResCount] = {"found", "not_found", "unavailable",
                                                       "error"};
constexpr const char* kPasswordResultNames[3] = {"ok", "mismatch", "unavailable"};

class MeteredDirectory final : public ForwardingDirectory {
 public:
  explicit MeteredDirectory(std::shared_ptr<Directory> inner)
      : ForwardingDirectory(std::move(inner)) {
    const std::string backend = name();
    for (int op = 0; op < kOpCount; ++op) {
      int results = op == kOpCheckPassword ? 3 : kResCount;
      for (int r = 0; r < results; ++r) {
        const char* result =
            op == kOpCheckPassword ? kPasswordResultNames[r] : kLookupResultNames[r];
        counters_[op][r] = &metrics::directory_lookups(backend, kMeteredOpNames[op], result);
      }
    }
  }

  Result<Domain> find_domain(const std::string& domain) override {
    return count(kOpFindDomain, inner().find_domain(domain));
  }
  Result<Account> find_account_by_address(const std::string& address) override {
    return count(kOpFindAccountByAddress, inner().find_account_by_address(address));
  }
  Result<Account> find_account_by_login(const std::string& login) override {
    return count(kOpFindAccountByLogin, inner().find_account_by_login(login));
  }
  Result<Account> find_account_by_id(const std::string& id) override {
    return count(kOpFindAccountById, inner().find_account_by_id(id));
  }
  Result<Alias> find_alias(const std::string& address) override {
    return count(kOpFindAlias, inner().find_alias(address));
  }
  Result<Group> find_group(const std::string& address) override {
    return count(kOpFindGroup, inner().find_group(address));
  }
  Result<std::vector<Domain>> list_domains() override {
    return count(kOpListDomains, inner().list_domains());
  }
  Result<std::string> scram_secret(const Account& account) override {
    return count(kOpScramSecret, inner().scram_secret(account));
  }
  PasswordCheck check_password(const Account& account, const std::string& password) override {
    PasswordCheck c = inner().check_password(account, password);
    counters_[kOpCheckPassword][c == PasswordCheck::ok         ? 0
                                : c == PasswordCheck::mismatch ? 1
                                                               : 2]
        ->inc();
    return c;
  }

 private:
  template <class T>
  Result<T> count(MeteredOp op, Result<T> r) {
    core::Code code = r.code();
    int slot = code == core::Code::ok            ? kResFound
               : code == core::Code::not_found   ? kResNotFound
               : code == core::Code::unavailable ? kResUnavailable
                                                 : kResError;
    counters_[op][slot]->inc();
    return r;
  }

  std::array<std::array<metrics::Counter*, kResCount>, kOpCount> counters_{};
};

}  // namespace

std::shared_ptr<Directory> with_metrics(std::shared_ptr<Directory> inner) {
  if (!inner || dynamic_cast<MeteredDirectory*>(inner.get())) return inner;
  return std::make_shared<MeteredDirectory>(std::move(inner));
}

}  // namespace mailroom::auth
