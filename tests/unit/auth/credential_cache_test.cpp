// The credential cache for directory outages (auth/credential_cache.h): salted hashes only,
// a file of mode 0600 that survives a reopen, expiry, and the decorator's three answers.
#include "auth/credential_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "tests/fakes/fake_directory.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::auth {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

CredentialCacheOptions options(const testing::TempDir& dir, int64_t ttl) {
  CredentialCacheOptions o;
  o.path = dir.file("credential-cache.db");
  o.ttl_seconds = ttl;
  return o;
}

TEST(CredentialCache, OutageAnswersFromTheCacheOnly) {
  testing::TempDir dir;
  auto cache = CredentialCache::open(options(dir, 3600));
  ASSERT_TRUE(cache.is_ok()) << cache.status().to_string();
  auto fake = std::make_shared<testing::FakeDirectory>();
  fake->add_account("alice@example.com", "right", "id-alice");
  fake->add_account("bob@example.com", "right", "id-bob");
  auto d = with_credential_cache(fake, *cache);
  Account alice;
  alice.id = "id-alice";
  Account bob;
  bob.id = "id-bob";

  // Nothing cached yet: an outage is "try later", never "wrong password".
  fake->fail_passwords = true;
  EXPECT_EQ(d->check_password(alice, "right"), PasswordCheck::unavailable);
  fake->fail_passwords = false;
  EXPECT_EQ(d->check_password(alice, "wrong"), PasswordCheck::mismatch);
  EXPECT_EQ(d->check_password(alice, "right"), PasswordCheck::ok);

  fake->fail_passwords = true;
  EXPECT_EQ(d->check_password(alice, "right"), PasswordCheck::ok);
  EXPECT_EQ(d->check_password(alice, "wrong"), PasswordCheck::mismatch);
  EXPECT_EQ(d->check_password(bob, "right"), PasswordCheck::unavailable);  // keyed by id
  EXPECT_EQ(d->name(), "fake");
}

TEST(CredentialCache, PasswordChangeReplacesTheEntry) {
  testing::TempDir dir;
  auto cache = CredentialCache::open(options(dir, 3600));
  ASSERT_TRUE(cache.is_ok());
  auto fake = std::make_shared<testing::FakeDirectory>();
  fake->add_account("a@example.com", "right", "id-a");
  auto d = with_credential_cache(fake, *cache);
  Account a;
  a.id = "id-a";
  ASSERT_EQ(d->check_password(a, "right"), PasswordCheck::ok);
  fake->set_password("id-a", "new-secret");
  ASSERT_EQ(d->check_password(a, "new-secret"), PasswordCheck::ok);
  fake->fail_passwords = true;
  EXPECT_EQ(d->check_password(a, "new-secret"), PasswordCheck::ok);
  EXPECT_EQ(d->check_password(a, "right"), PasswordCheck::mismatch);
}

TEST(CredentialCache, EntriesExpire) {
  testing::TempDir dir;
  auto cache = CredentialCache::open(options(dir, 100));
  ASSERT_TRUE(cache.is_ok());
  auto& c = **cache;
  ASSERT_TRUE(c.remember("id-a", "pw", 1000).is_ok());
  EXPECT_EQ(c.check("id-a", "pw", 1099), CredentialCache::Answer::ok);
  EXPECT_EQ(c.check("id-a", "nope", 1099), CredentialCache::Answer::mismatch);
  EXPECT_EQ(c.check("id-a", "pw", 1100), CredentialCache::Answer::expired);
  EXPECT_EQ(c.check("id-a", "nope", 5000), CredentialCache::Answer::expired);
  // A new successful live check renews the same hash.
  ASSERT_TRUE(c.remember("id-a", "pw", 1090).is_ok());
  EXPECT_EQ(c.check("id-a", "pw", 1150), CredentialCache::Answer::ok);
  auto purged = c.purge(1190);
  ASSERT_TRUE(purged.is_ok());
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(c.check("id-a", "pw", 1150), CredentialCache::Answer::absent);
  ASSERT_TRUE(c.remember("id-b", "pw", 1000).is_ok());
  ASSERT_TRUE(c.forget("id-b").is_ok());
  EXPECT_EQ(c.check("id-b", "pw", 1001), CredentialCache::Answer::absent);
}

TEST(CredentialCache, PrivateFileWithSaltedHashesThatSurvivesReopen) {
  testing::TempDir dir;
  auto o = options(dir, 3600);
  // A pre-existing file with a wide mode is narrowed.
  { std::ofstream(o.path).flush(); }
  ::chmod(o.path.c_str(), 0644);
  const std::string password = "Corporate-Passw0rd-xyzzy";
  core::ManualClock clock;  // open() purges what expired by the clock's now
  int64_t now = clock.unix_seconds();
  {
    auto cache = CredentialCache::open(o, clock);
    ASSERT_TRUE(cache.is_ok()) << cache.status().to_string();
    ASSERT_TRUE((*cache)->remember("id-1", password, now).is_ok());
    ASSERT_TRUE((*cache)->remember("id-2", password, now).is_ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat(o.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string bytes = slurp(o.path) + slurp(o.path + "-wal");
  EXPECT_EQ(bytes.find(password), std::string::npos);
  EXPECT_NE(bytes.find("{SHA512-CRYPT}"), std::string::npos);
  auto cache = CredentialCache::open(o, clock);
  ASSERT_TRUE(cache.is_ok());
  EXPECT_EQ((*cache)->check("id-1", password, now + 1), CredentialCache::Answer::ok);
}

// The decorator dates entries by the cache's clock: past the ttl an outage is "try later".
TEST(CredentialCache, DecoratorExpiresByTheClock) {
  testing::TempDir dir;
  core::ManualClock clock;
  auto cache = CredentialCache::open(options(dir, 100), clock);
  ASSERT_TRUE(cache.is_ok());
  auto fake = std::make_shared<testing::FakeDirectory>();
  fake->add_account("a@example.com", "right", "id-a");
  auto d = with_credential_cache(fake, *cache);
  Account a;
  a.id = "id-a";
  ASSERT_EQ(d->check_password(a, "right"), PasswordCheck::ok);
  fake->fail_passwords = true;
  clock.advance(std::chrono::seconds(99));
  EXPECT_EQ(d->check_password(a, "right"), PasswordCheck::ok);
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(d->check_password(a, "right"), PasswordCheck::unavailable);
}

TEST(CredentialCache, UnwritableLocationIsAnError) {
  CredentialCacheOptions o;
  o.path = "/proc/mailroom-no-such-dir/credential-cache.db";
  o.ttl_seconds = 60;
  EXPECT_FALSE(CredentialCache::open(o).is_ok());
}

}  // namespace
}  // namespace mailroom::auth
