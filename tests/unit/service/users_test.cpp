// service::Users, password hashes and the value parsers: each operation's success and its
// error paths (unknown user, duplicate, invalid input).
#include "src/service/users.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "src/service/passwords.h"
#include "tests/unit/service/service_test_util.h"

namespace mailroom::service::testing {
namespace {

class UsersTest : public ServiceTest {
 protected:
  NewUser user(const std::string& address) {
    NewUser u;
    u.address = address;
    u.password = "secret";
    u.scheme = "SSHA512";  // fast under the sanitizers
    return u;
  }
  Users users() { return Users(*dir_); }
};

TEST(ServiceValues, ParseSize) {
  EXPECT_EQ(*parse_size("12345", "q"), 12345u);
  EXPECT_EQ(*parse_size("64K", "q"), 64u << 10);
  EXPECT_EQ(*parse_size("500m", "q"), 500ull << 20);
  EXPECT_EQ(*parse_size("1G", "q"), 1ull << 30);
  EXPECT_EQ(*parse_size("2t", "q"), 2ull << 40);
  for (const char* bad : {"", "G", "lots", "1.5G", "-1", "1GB", "1234567890123"}) {
    auto r = parse_size(bad, "--quota-bytes");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.code(), core::Code::invalid_argument);
    EXPECT_EQ(r.status().client_message().rfind("--quota-bytes: ", 0), 0u) << bad;
  }
}

TEST(ServiceValues, ParseAccountStatus) {
  EXPECT_EQ(*parse_account_status("active"), auth::AccountStatus::active);
  EXPECT_EQ(*parse_account_status("disabled"), auth::AccountStatus::disabled);
  EXPECT_EQ(*parse_account_status("deleted"), auth::AccountStatus::deleted);
  auto bad = parse_account_status("sleepy");
  EXPECT_EQ(bad.code(), core::Code::invalid_argument);
  EXPECT_NE(bad.status().client_message().find("'sleepy'"), std::string::npos);
}

TEST(ServicePasswords, HashAndErrors) {
  auto h = hash_password("secret", "SHA512-CRYPT", true);
  ASSERT_TRUE(h) << h.status().to_string();
  EXPECT_EQ(h->hash.rfind("{SHA512-CRYPT}$6$", 0), 0u);
  EXPECT_EQ(h->scram_secret.rfind("SCRAM-SHA-256$4096:", 0), 0u);
  auto no_scram = hash_password("secret", "SSHA512", false);
  ASSERT_TRUE(no_scram);
  EXPECT_TRUE(no_scram->scram_secret.empty());
  EXPECT_EQ(hash_password("", "SSHA512", true).code(), core::Code::invalid_argument);
  auto md5 = hash_password("x", "MD5", true);
  EXPECT_EQ(md5.code(), core::Code::invalid_argument);
  EXPECT_EQ(md5.status().client_message(), "unknown password scheme MD5");
}

TEST_F(UsersTest, AddShowFindByAddressLoginOrId) {
  NewUser u = user("alice@example.com");
  u.display_name = "Alice";
  u.login = "alice";
  u.quota_bytes = 1 << 20;
  u.status = auth::AccountStatus::disabled;
  u.other_addresses = {"al@example.com"};
  auto added = users().add(u);
  ASSERT_TRUE(added) << added.status().to_string();
  const auth::Account& a = added->account;
  EXPECT_EQ(a.id.size(), 36u);
  EXPECT_EQ(a.display_name, "Alice");
  EXPECT_EQ(a.quota_bytes, 1u << 20);
  EXPECT_EQ(a.status, auth::AccountStatus::disabled);
  EXPECT_EQ(a.password_hash.rfind("{SSHA512}", 0), 0u);
  EXPECT_FALSE(added->scram_secret.empty());
  for (const char* name : {"alice@example.com", "ALICE@Example.COM", "alice", "al@example.com"}) {
    auto found = users().find(name);
    ASSERT_TRUE(found) << name;
    EXPECT_EQ(found->id, a.id);
  }
  EXPECT_EQ(users().show(a.id)->account.address, "alice@example.com");
}

TEST_F(UsersTest, AddErrors) {
  ASSERT_TRUE(users().add(user("alice@example.com")));
  auto dup = users().add(user("alice@example.com"));
  EXPECT_EQ(dup.code(), core::Code::already_exists);
  EXPECT_NE(dup.status().client_message().find("alice@example.com"), std::string::npos);

  auto foreign = users().add(user("carol@nowhere.org"));
  EXPECT_EQ(foreign.code(), core::Code::invalid_argument);
  EXPECT_NE(foreign.status().client_message().find("nowhere.org"), std::string::npos);

  NewUser no_password = user("dave@example.com");
  no_password.password.clear();
  auto r = users().add(no_password);
  EXPECT_EQ(r.code(), core::Code::invalid_argument);
  EXPECT_NE(r.status().client_message().find("dave@example.com"), std::string::npos);

  NewUser bad_hash = user("dave@example.com");
  bad_hash.password_hash = "SSHA512-without-braces";
  EXPECT_EQ(users().add(bad_hash).code(), core::Code::invalid_argument);

  NewUser bad_scheme = user("dave@example.com");
  bad_scheme.scheme = "ROT13";
  EXPECT_EQ(users().add(bad_scheme).code(), core::Code::invalid_argument);

  EXPECT_EQ(users().find("dave@example.com").code(), core::Code::not_found);
}

TEST_F(UsersTest, AddWithExistingHashStoresNoScramSecret) {
  NewUser u = user("bob@example.com");
  u.password_hash = "{SSHA512}abc";
  u.id = "c0ffee00-0000-4000-8000-000000000001";
  auto added = users().add(u);
  ASSERT_TRUE(added) << added.status().to_string();
  EXPECT_EQ(added->account.id, u.id);
  EXPECT_EQ(added->account.password_hash, "{SSHA512}abc");
  EXPECT_TRUE(added->scram_secret.empty());
}

TEST_F(UsersTest, ChangeKeepsTheIdAndChangesOnlyWhatIsAsked) {
  auto alice = users().add(user("alice@example.com"));
  ASSERT_TRUE(alice);
  ASSERT_TRUE(users().add(user("bob@example.com")));
  UserChange c;
  c.user = "alice@example.com";
  c.primary_address = "alice.liddell@example.com";
  c.quota_messages = 500;
  c.status = auth::AccountStatus::disabled;
  c.forward_to = std::vector<std::string>{"a@remote.org"};
  c.forward_keep_copy = false;
  c.add_addresses = {"al@example.com"};
  auto changed = users().change(c);
  ASSERT_TRUE(changed) << changed.status().to_string();
  const auth::Account& a = changed->account;
  EXPECT_EQ(a.id, alice->account.id);
  EXPECT_EQ(a.address, "alice.liddell@example.com");
  auto others = a.other_addresses;
  std::sort(others.begin(), others.end());
  EXPECT_EQ(others, (std::vector<std::string>{"al@example.com", "alice@example.com"}));
  EXPECT_EQ(a.quota_messages, 500u);
  EXPECT_EQ(a.status, auth::AccountStatus::disabled);
  EXPECT_EQ(a.forward_to, std::vector<std::string>{"a@remote.org"});
  EXPECT_FALSE(a.forward_keep_copy);
  EXPECT_EQ(a.password_hash, alice->account.password_hash);  // not asked: kept
  EXPECT_EQ(changed->scram_secret, alice->scram_secret);

  // A new hash drops the SCRAM secret, which no longer matches the password.
  UserChange h;
  h.user = a.id;
  h.password_hash = "{SSHA}xyz";
  h.forward_to = std::vector<std::string>{};
  auto rehashed = users().change(h);
  ASSERT_TRUE(rehashed);
  EXPECT_EQ(rehashed->account.password_hash, "{SSHA}xyz");
  EXPECT_TRUE(rehashed->scram_secret.empty());
  EXPECT_TRUE(rehashed->account.forward_to.empty());
}

TEST_F(UsersTest, ChangeErrors) {
  ASSERT_TRUE(users().add(user("alice@example.com")));
  ASSERT_TRUE(users().add(user("bob@example.com")));
  UserChange unknown;
  unknown.user = "nobody@example.com";
  auto r = users().change(unknown);
  EXPECT_EQ(r.code(), core::Code::not_found);
  EXPECT_EQ(r.status().client_message(), "user nobody@example.com not found");

  UserChange taken;
  taken.user = "alice@example.com";
  taken.primary_address = "bob@example.com";
  EXPECT_EQ(users().change(taken).code(), core::Code::already_exists);

  UserChange not_secondary;
  not_secondary.user = "alice@example.com";
  not_secondary.remove_addresses = {"zzz@example.com"};
  auto ns = users().change(not_secondary);
  EXPECT_EQ(ns.code(), core::Code::not_found);
  EXPECT_EQ(ns.status().client_message(),
            "address zzz@example.com is not a secondary address of alice@example.com");

  UserChange bad_scheme;
  bad_scheme.user = "alice@example.com";
  bad_scheme.password = "x";
  bad_scheme.scheme = "NOPE";
  EXPECT_EQ(users().change(bad_scheme).code(), core::Code::invalid_argument);
  // Nothing of the failed changes was written.
  EXPECT_EQ(users().find("alice@example.com")->address, "alice@example.com");
}

TEST_F(UsersTest, RemoveAndList) {
  ASSERT_TRUE(users().add(user("alice@example.com")));
  ASSERT_TRUE(users().add(user("bob@example.com")));
  auto all = users().list("");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].address, "alice@example.com");
  EXPECT_TRUE(users().list("other.example")->empty());
  auto removed = users().remove("bob@example.com");
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->address, "bob@example.com");
  EXPECT_EQ(users().remove("bob@example.com").code(), core::Code::not_found);
  EXPECT_EQ(users().list("")->size(), 1u);
}

TEST_F(UsersTest, ImportCreatesDomainsSkipsCommentsAndReportsTheLine) {
  std::istringstream in(
      "# address, hash, name, quota\n"
      "u1@imp.example\t{SSHA}aaa\tUser One\t1M\r\n"
      "\n"
      "u2@imp.example\t{SSHA}bbb\n");
  auto no_domain = users().import(in, "accounts.tsv", false);
  EXPECT_EQ(no_domain.code(), core::Code::invalid_argument);
  EXPECT_EQ(no_domain.status().client_message().rfind("accounts.tsv:2: ", 0), 0u);
  EXPECT_TRUE(users().list("imp.example")->empty());  // the batch was rolled back

  in.clear();
  in.seekg(0);
  auto added = users().import(in, "accounts.tsv", true);
  ASSERT_TRUE(added) << added.status().to_string();
  EXPECT_EQ(*added, 2u);
  auto u1 = users().show("u1@imp.example");
  ASSERT_TRUE(u1);
  EXPECT_EQ(u1->account.display_name, "User One");
  EXPECT_EQ(u1->account.quota_bytes, 1u << 20);

  in.clear();
  in.seekg(0);
  auto again = users().import(in, "accounts.tsv", true);
  EXPECT_EQ(again.code(), core::Code::already_exists);
  EXPECT_EQ(again.status().client_message().rfind("accounts.tsv:2: ", 0), 0u);

  std::istringstream broken("u3@example.com\t{SSHA}a\nbroken line\n");
  auto b = users().import(broken, "f", false);
  EXPECT_EQ(b.code(), core::Code::invalid_argument);
  EXPECT_EQ(b.status().client_message(), "f:2: expected address<TAB>{SCHEME}hash");
  std::istringstream bad_quota("u4@example.com\t{SSHA}a\tName\tbig\n");
  auto q = users().import(bad_quota, "f", false);
  EXPECT_EQ(q.code(), core::Code::invalid_argument);
  EXPECT_EQ(q.status().client_message().rfind("f:1: quota: ", 0), 0u);
}

}  // namespace
}  // namespace mailroom::service::testing
