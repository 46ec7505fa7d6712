// The metering decorator (auth/metered_directory.h) the Resolver puts around its directory:
// every call is counted once, with the right operation and result, and answers pass through
// unchanged.
#include "auth/metered_directory.h"

#include <gtest/gtest.h>

#include "auth/resolver.h"
#include "src/core/metric_catalog.h"
#include "tests/fakes/fake_directory.h"

namespace mailroom::auth {
namespace {

using mailroom::testing::FakeDirectory;

uint64_t metered_count(const char* operation, const char* result) {
  return metrics::directory_lookups("fake", operation, result).value();
}

TEST(MeteredDirectoryTest, CountsEachCallByOperationAndResult) {
  auto fake = std::make_shared<FakeDirectory>();
  fake->add_domain("example.com");
  fake->add_account("alice@example.com", "wonderland");
  Resolver resolver(fake, ResolverOptions{});
  Directory& d = resolver.directory();
  EXPECT_NE(&d, fake.get());  // wrapped
  EXPECT_EQ(d.name(), "fake");

  const uint64_t found0 = metered_count("find_account_by_address", "found");
  const uint64_t missing0 = metered_count("find_account_by_address", "not_found");
  const uint64_t down0 = metered_count("find_account_by_address", "unavailable");
  auto a = d.find_account_by_address("alice@example.com");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->address, "alice@example.com");
  EXPECT_EQ(d.find_account_by_address("nobody@example.com").code(), core::Code::not_found);
  fake->fail_all = true;
  EXPECT_EQ(d.find_account_by_address("alice@example.com").code(), core::Code::unavailable);
  EXPECT_EQ(metered_count("find_account_by_address", "found") - found0, 1u);
  EXPECT_EQ(metered_count("find_account_by_address", "not_found") - missing0, 1u);
  EXPECT_EQ(metered_count("find_account_by_address", "unavailable") - down0, 1u);

  const uint64_t pw_down0 = metered_count("check_password", "unavailable");
  const uint64_t pw_ok0 = metered_count("check_password", "ok");
  const uint64_t pw_bad0 = metered_count("check_password", "mismatch");
  EXPECT_EQ(d.check_password(*a, "wonderland"), PasswordCheck::unavailable);
  fake->fail_all = false;
  EXPECT_EQ(d.check_password(*a, "wonderland"), PasswordCheck::ok);
  EXPECT_EQ(d.check_password(*a, "wrong"), PasswordCheck::mismatch);
  EXPECT_EQ(metered_count("check_password", "unavailable") - pw_down0, 1u);
  EXPECT_EQ(metered_count("check_password", "ok") - pw_ok0, 1u);
  EXPECT_EQ(metered_count("check_password", "mismatch") - pw_bad0, 1u);
}

TEST(MeteredDirectoryTest, ResolverLookupsAreCountedOnce) {
  auto fake = std::make_shared<FakeDirectory>();
  fake->add_domain("example.com");
  Resolver resolver(fake, ResolverOptions{});
  const uint64_t before = metered_count("find_domain", "found");
  EXPECT_TRUE(resolver.local_domain("Example.COM").is_ok());
  EXPECT_EQ(metered_count("find_domain", "found") - before, 1u);
  // Wrapping a wrapped directory does not count twice.
  auto once = with_metrics(fake);
  EXPECT_EQ(with_metrics(once), once);
  EXPECT_EQ(with_metrics(nullptr), nullptr);
}

}  // namespace
}  // namespace mailroom::auth
