#include "auth/local/local_directory.h"

#include <gtest/gtest.h>

#include <thread>

#include "auth/password/password_hash.h"
#include "src/db/sqlite.h"
#include "test_util.h"

namespace mailroom::auth {
namespace {

class LocalDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = LocalDirectory::open({tmp_.file("directory.db")});
    ASSERT_TRUE(d) << d.status().to_string();
    dir_ = *d;
    ASSERT_TRUE(dir_->add_domain(Domain{"example.com"}));
  }
  Account add(const std::string& address, const std::string& login = "") {
    Account a;
    a.address = address;
    a.login = login;
    a.display_name = "User " + address;
    a.password_hash = *password::hash("secret", password::Scheme::ssha512);
    auto r = dir_->add_account(a);
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? *r : Account{};
  }
  testing::TempDir tmp_;
  std::shared_ptr<LocalDirectory> dir_;
};

TEST_F(LocalDirectoryTest, AddAndFindAccount) {
  Account a = add("Alice@Example.COM");
  EXPECT_EQ(a.address, "alice@example.com");
  EXPECT_EQ(a.login, "alice@example.com");
  EXPECT_EQ(a.id.size(), 36u);
  auto by_addr = dir_->find_account_by_address("alice@example.com");
  ASSERT_TRUE(by_addr);
  EXPECT_EQ(by_addr->id, a.id);
  EXPECT_EQ(by_addr->display_name, "User Alice@Example.COM");
  EXPECT_TRUE(dir_->find_account_by_login("ALICE@example.com"));
  EXPECT_TRUE(dir_->find_account_by_id(a.id));
  EXPECT_EQ(dir_->find_account_by_address("bob@example.com").code(), Code::not_found);
  EXPECT_EQ(dir_->check_password(*by_addr, "secret"), PasswordCheck::ok);
  EXPECT_EQ(dir_->check_password(*by_addr, "Secret"), PasswordCheck::mismatch);
}

TEST_F(LocalDirectoryTest, AccountNeedsLocalDomain) {
  Account a;
  a.address = "x@other.org";
  auto r = dir_->add_account(a);
  EXPECT_EQ(r.code(), Code::invalid_argument);
  EXPECT_NE(r.status().client_message().find("other.org"), std::string::npos);
  a.address = "not an address";
  EXPECT_EQ(dir_->add_account(a).code(), Code::invalid_argument);
}

TEST_F(LocalDirectoryTest, LoginsAndAddressesAreUnique) {
  Account a = add("alice@example.com");
  Account dup;
  dup.address = "ALICE@example.com";
  EXPECT_EQ(dir_->add_account(dup).code(), Code::already_exists);
  // Another account may not take alice's address as its login, or as a secondary address.
  Account b;
  b.address = "bob@example.com";
  b.login = "alice@example.com";
  EXPECT_EQ(dir_->add_account(b).code(), Code::already_exists);
  b.login = "";
  b.other_addresses = {"alice@example.com"};
  EXPECT_EQ(dir_->add_account(b).code(), Code::already_exists);
  b.other_addresses = {"bobby@example.com"};
  auto rb = dir_->add_account(b);
  ASSERT_TRUE(rb);
  // alice cannot take bob's secondary address as primary
  EXPECT_EQ(dir_->set_primary_address(a.id, "bobby@example.com").code(), Code::already_exists);
  // a login that collides with another account's login
  Account c;
  c.address = "carol@example.com";
  c.login = "BOB@example.com";
  EXPECT_EQ(dir_->add_account(c).code(), Code::already_exists);
  auto found = dir_->find_account_by_address("bobby@example.com");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, rb->id);
}

TEST_F(LocalDirectoryTest, RenameKeepsTheId) {
  Account a = add("alice@example.com");
  ASSERT_TRUE(dir_->set_primary_address(a.id, "alice.liddell@example.com"));
  auto r = dir_->find_account_by_address("alice.liddell@example.com");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, a.id);
  EXPECT_EQ(r->login, "alice.liddell@example.com");  // login followed the address
  // The old address stays as a secondary address of the same account.
  auto old = dir_->find_account_by_address("alice@example.com");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->id, a.id);
  ASSERT_TRUE(dir_->rename_login(a.id, "aliceL"));
  auto by_login = dir_->find_account_by_login("alicel");
  ASSERT_TRUE(by_login);
  EXPECT_EQ(by_login->id, a.id);
  // Moving back to the old (secondary) address works.
  ASSERT_TRUE(dir_->set_primary_address(a.id, "alice@example.com"));
  EXPECT_EQ(dir_->find_account_by_id(a.id)->address, "alice@example.com");
}

TEST_F(LocalDirectoryTest, SettersAndStatus) {
  Account a = add("alice@example.com");
  ASSERT_TRUE(dir_->set_status(a.id, AccountStatus::disabled));
  EXPECT_EQ(dir_->find_account_by_id(a.id)->status, AccountStatus::disabled);
  ASSERT_TRUE(dir_->set_quota(a.id, 1ULL << 30, 5000));
  auto r = dir_->find_account_by_id(a.id);
  EXPECT_EQ(r->quota_bytes, 1ULL << 30);
  EXPECT_EQ(r->quota_messages, 5000u);
  ASSERT_TRUE(dir_->set_forwarding(a.id, {"Remote@Elsewhere.org"}, false));
  r = dir_->find_account_by_id(a.id);
  ASSERT_EQ(r->forward_to.size(), 1u);
  EXPECT_EQ(r->forward_to[0], "remote@elsewhere.org");
  EXPECT_FALSE(r->forward_keep_copy);
  ASSERT_TRUE(
      dir_->set_password(a.id, *password::hash("new", password::Scheme::ssha), "SCRAM-SHA-256$x"));
  r = dir_->find_account_by_id(a.id);
  EXPECT_EQ(dir_->check_password(*r, "new"), PasswordCheck::ok);
  EXPECT_EQ(*dir_->scram_secret(*r), "SCRAM-SHA-256$x");
  EXPECT_EQ(dir_->set_status("no-such-id", AccountStatus::active).code(), Code::not_found);
  EXPECT_EQ(dir_->set_forwarding(a.id, {"bad address"}, true).code(), Code::invalid_argument);
}

TEST_F(LocalDirectoryTest, RemoveAccountRemovesMemberships) {
  Account a = add("alice@example.com");
  ASSERT_TRUE(
      dir_->add_group(Group{"staff@example.com", "", {"alice@example.com", "x@remote.org"}}));
  ASSERT_TRUE(dir_->remove_account(a.id));
  EXPECT_EQ(dir_->find_account_by_id(a.id).code(), Code::not_found);
  auto g = dir_->find_group("staff@example.com");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->members, std::vector<std::string>{"x@remote.org"});
  EXPECT_EQ(dir_->remove_account(a.id).code(), Code::not_found);
}

TEST_F(LocalDirectoryTest, DomainsAliasesAndCatchAll) {
  EXPECT_EQ(dir_->add_domain(Domain{"EXAMPLE.com"}).code(), Code::already_exists);
  Domain alias{"example.net", DomainKind::alias, "example.com", ""};
  ASSERT_TRUE(dir_->add_domain(alias));
  Domain bad{"example.org", DomainKind::alias, "nowhere.com", ""};
  EXPECT_EQ(dir_->add_domain(bad).code(), Code::invalid_argument);
  Domain chain{"example.org", DomainKind::alias, "example.net", ""};
  EXPECT_EQ(dir_->add_domain(chain).code(), Code::invalid_argument);
  auto d = dir_->find_domain("example.net");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, DomainKind::alias);
  EXPECT_EQ(d->alias_of, "example.com");
  Domain ca = *dir_->find_domain("example.com");
  ca.catch_all = "Postmaster@example.com";
  ASSERT_TRUE(dir_->change_domain(ca));
  EXPECT_EQ(dir_->find_domain("example.com")->catch_all, "postmaster@example.com");
  auto all = dir_->list_domains();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
  // A domain in use cannot be removed without force.
  add("alice@example.com");
  auto st = dir_->remove_domain("example.com");
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_NE(st.client_message().find("example.com"), std::string::npos);
  ASSERT_TRUE(dir_->remove_domain("example.com", true));
  EXPECT_EQ(dir_->find_account_by_address("alice@example.com").code(), Code::not_found);
  EXPECT_EQ(dir_->find_domain("example.net").code(), Code::not_found);
}

TEST_F(LocalDirectoryTest, AliasesGroupsAndConflicts) {
  Account a = add("alice@example.com");
  ASSERT_TRUE(dir_->add_alias(Alias{"info@example.com", {"alice@example.com", "Ext@remote.org"}}));
  EXPECT_EQ(dir_->add_alias(Alias{"info@example.com", {"x@y.org"}}).code(), Code::already_exists);
  EXPECT_EQ(dir_->add_alias(Alias{"x@example.com", {}}).code(), Code::invalid_argument);
  auto al = dir_->find_alias("info@example.com");
  ASSERT_TRUE(al);
  EXPECT_EQ(al->targets, (std::vector<std::string>{"alice@example.com", "ext@remote.org"}));
  // An alias on an account's address is allowed (the account wins) and reported.
  ASSERT_TRUE(dir_->add_alias(Alias{"alice@example.com", {"bob@remote.org"}}));
  ASSERT_TRUE(dir_->add_group(
      Group{"staff@example.com", "Staff", {"alice@example.com"}, GroupSendPolicy::members, {}}));
  EXPECT_EQ(dir_->add_group(Group{"staff@example.com"}).code(), Code::already_exists);
  ASSERT_TRUE(dir_->add_group_member("staff@example.com", "Bob@Example.com"));
  EXPECT_EQ(dir_->add_group_member("staff@example.com", "bob@example.com").code(),
            Code::already_exists);
  auto g = dir_->find_group("staff@example.com");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->members, (std::vector<std::string>{"alice@example.com", "bob@example.com"}));
  EXPECT_EQ(g->send_policy, GroupSendPolicy::members);
  ASSERT_TRUE(dir_->remove_group_member("staff@example.com", "bob@example.com"));
  EXPECT_EQ(dir_->remove_group_member("staff@example.com", "bob@example.com").code(),
            Code::not_found);

  auto c = dir_->conflicts();
  ASSERT_TRUE(c);
  ASSERT_EQ(c->size(), 1u);
  EXPECT_EQ((*c)[0].address, "alice@example.com");
  EXPECT_EQ((*c)[0].account_id, a.id);
  EXPECT_EQ((*c)[0].kind, "alias");

  ASSERT_TRUE(dir_->remove_alias("INFO@example.com"));
  EXPECT_EQ(dir_->find_alias("info@example.com").code(), Code::not_found);
  EXPECT_EQ(dir_->remove_alias("info@example.com").code(), Code::not_found);
  ASSERT_TRUE(dir_->remove_group("staff@example.com"));
  EXPECT_EQ(dir_->find_group("staff@example.com").code(), Code::not_found);
}

// The replica keeps the directory's password change time (migration 002); a new value is an
// update (it revokes app passwords), the same value is not.
TEST_F(LocalDirectoryTest, PasswordChangeTimeIsKeptAndCompared) {
  AccountRecord r;
  r.account.id = "entryuuid-pw";
  r.account.address = "dave@example.com";
  r.account.password_changed = "20261201000000Z";
  r.source = "ldap";
  ASSERT_EQ(*dir_->upsert_account_by_id(r), UpsertResult::created);
  EXPECT_EQ(dir_->find_account_by_id("entryuuid-pw")->password_changed, "20261201000000Z");
  EXPECT_EQ(*dir_->upsert_account_by_id(r), UpsertResult::unchanged);
  r.account.password_changed = "20261205000000Z";
  EXPECT_EQ(*dir_->upsert_account_by_id(r), UpsertResult::updated);
  EXPECT_EQ(dir_->find_account_by_login("dave@example.com")->password_changed, "20261205000000Z");
  // A local password change keeps the column (local accounts are told apart by their hash).
  ASSERT_TRUE(dir_->set_password("entryuuid-pw", "{SSHA}y"));
  EXPECT_EQ(dir_->find_account_by_id("entryuuid-pw")->password_changed, "20261205000000Z");
}

// Migration 002 on a replica made by version 1: the column appears and the sync cookies go,
// so the next pass reads every entry and fills it (a stale '' would look like a change).
TEST_F(LocalDirectoryTest, Migration002DropsSyncCookies) {
  add("alice@example.com");
  ASSERT_TRUE(dir_->set_sync_state("ldap.cookie", "rid=000,csn=x"));
  ASSERT_TRUE(dir_->set_sync_state("grace:old@example.com", "123"));
  dir_.reset();
  {
    auto raw = db::Sqlite::open({tmp_.file("directory.db")});
    ASSERT_TRUE(raw) << raw.status().to_string();
    // Version 1 had neither migration 002's column nor 004's group ids and policy tables,
    // nor 005's manager.
    ASSERT_TRUE((*raw)->exec(
        "DROP TABLE policy_assignments; DROP TABLE policies; DROP INDEX mail_groups_id; "
        "ALTER TABLE mail_groups DROP COLUMN id; ALTER TABLE accounts DROP COLUMN manager; "
        "ALTER TABLE accounts DROP COLUMN password_changed; PRAGMA user_version = 1;"));
  }
  auto d = LocalDirectory::open({tmp_.file("directory.db")});
  ASSERT_TRUE(d) << d.status().to_string();
  EXPECT_EQ((*d)->get_sync_state("ldap.cookie").code(), Code::not_found);
  auto kept = (*d)->get_sync_state("grace:old@example.com");
  ASSERT_TRUE(kept) << kept.status().to_string();
  EXPECT_EQ(*kept, "123");
  auto alice = (*d)->find_account_by_address("alice@example.com");
  ASSERT_TRUE(alice) << alice.status().to_string();
  EXPECT_EQ(alice->password_changed, "");
  EXPECT_EQ(alice->manager, "");
}

TEST_F(LocalDirectoryTest, UpsertByIdIsIdempotent) {
  AccountRecord r;
  r.account.id = "entryuuid-1";
  r.account.address = "carol@example.com";
  r.account.display_name = "Carol";
  r.source = "ldap";
  auto first = dir_->upsert_account_by_id(r);
  ASSERT_TRUE(first) << first.status().to_string();
  EXPECT_EQ(*first, UpsertResult::created);
  EXPECT_EQ(*dir_->upsert_account_by_id(r), UpsertResult::unchanged);
  auto before = dir_->get_account_record("entryuuid-1");
  r.account.address = "carol.new@example.com";  // renamed upstream: same id
  EXPECT_EQ(*dir_->upsert_account_by_id(r), UpsertResult::updated);
  auto after = dir_->find_account_by_address("carol.new@example.com");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->id, "entryuuid-1");
  EXPECT_EQ(dir_->list_account_ids("ldap")->size(), 1u);
  EXPECT_TRUE(dir_->list_account_ids("local")->empty());
  // keep_empty_secrets: a stored hash survives an upsert without one.
  ASSERT_TRUE(dir_->set_password("entryuuid-1", "{SSHA}x"));
  EXPECT_EQ(*dir_->upsert_account_by_id(*dir_->get_account_record("entryuuid-1")),
            UpsertResult::unchanged);
  r.account.address = "carol.new@example.com";
  EXPECT_EQ(*dir_->upsert_account_by_id(r), UpsertResult::unchanged);
  EXPECT_EQ(dir_->find_account_by_id("entryuuid-1")->password_hash, "{SSHA}x");
  ASSERT_TRUE(dir_->disable_account_by_id("entryuuid-1"));
  EXPECT_EQ(dir_->find_account_by_id("entryuuid-1")->status, AccountStatus::disabled);
  ASSERT_TRUE(dir_->delete_account_by_id("entryuuid-1"));
  EXPECT_EQ(dir_->find_account_by_id("entryuuid-1").code(), Code::not_found);
  AccountRecord no_id;
  no_id.account.address = "x@example.com";
  EXPECT_EQ(dir_->upsert_account_by_id(no_id).code(), Code::invalid_argument);
  (void)before;
}

TEST_F(LocalDirectoryTest, UpsertAliasesAndGroups) {
  EXPECT_EQ(*dir_->upsert_alias(Alias{"a@example.com", {"x@y.org"}}, "ldap"),
            UpsertResult::created);
  EXPECT_EQ(*dir_->upsert_alias(Alias{"a@example.com", {"x@y.org"}}, "ldap"),
            UpsertResult::unchanged);
  EXPECT_EQ(*dir_->upsert_alias(Alias{"a@example.com", {"z@y.org"}}, "ldap"),
            UpsertResult::updated);
  EXPECT_EQ(*dir_->list_alias_addresses("ldap"), std::vector<std::string>{"a@example.com"});
  Group g{"g@example.com", "G", {"m@example.com"}};
  EXPECT_EQ(*dir_->upsert_group(g, "ldap"), UpsertResult::created);
  EXPECT_EQ(*dir_->upsert_group(g, "ldap"), UpsertResult::unchanged);
  g.members.push_back("n@example.com");
  EXPECT_EQ(*dir_->upsert_group(g, "ldap"), UpsertResult::updated);
  EXPECT_EQ(dir_->find_group("g@example.com")->members.size(), 2u);
  EXPECT_EQ(*dir_->list_group_addresses("ldap"), std::vector<std::string>{"g@example.com"});
}

TEST_F(LocalDirectoryTest, SyncState) {
  EXPECT_EQ(dir_->get_sync_state("ldap.csn").code(), Code::not_found);
  ASSERT_TRUE(dir_->set_sync_state("ldap.csn", "20261127000000Z#1"));
  ASSERT_TRUE(dir_->set_sync_state("ldap.csn", "20261128000000Z#2"));
  EXPECT_EQ(*dir_->get_sync_state("ldap.csn"), "20261128000000Z#2");
}

TEST_F(LocalDirectoryTest, TransactionRollsBack) {
  auto st = dir_->transaction([&]() -> Status {
    Account a;
    a.address = "t@example.com";
    auto r = dir_->add_account(a);
    if (!r) return r.status();
    return core::invalid_argument("abort");
  });
  EXPECT_EQ(st.code(), Code::invalid_argument);
  EXPECT_EQ(dir_->find_account_by_address("t@example.com").code(), Code::not_found);
}

// A dry run sees its own writes, returns the body's status and keeps nothing; inside a
// transaction it rolls back only its savepoint (the outer writes commit).
TEST_F(LocalDirectoryTest, DryRunKeepsNothingAndNests) {
  bool seen_inside = false;
  auto st = dir_->dry_run([&]() -> Status {
    Account a;
    a.address = "d@example.com";
    auto r = dir_->add_account(a);
    if (!r) return r.status();
    seen_inside = dir_->find_account_by_address("d@example.com").is_ok();
    return Status::ok();
  });
  EXPECT_TRUE(st) << st.to_string();
  EXPECT_TRUE(seen_inside);
  EXPECT_EQ(dir_->find_account_by_address("d@example.com").code(), Code::not_found);
  Account dup = add("e@example.com");
  auto again = dir_->dry_run([&]() -> Status { return dir_->add_account(dup).status(); });
  EXPECT_EQ(again.code(), Code::already_exists);

  ASSERT_TRUE(dir_->transaction([&]() -> Status {
    Account outer;
    outer.address = "outer@example.com";
    if (auto r = dir_->add_account(outer); !r) return r.status();
    auto inner = dir_->dry_run([&]() -> Status {
      Account a;
      a.address = "inner@example.com";
      return dir_->add_account(a).status();
    });
    EXPECT_TRUE(inner);
    EXPECT_FALSE(dir_->dry_run([&] { return dir_->add_account(dup).status(); }));
    return Status::ok();
  }));
  EXPECT_TRUE(dir_->find_account_by_address("outer@example.com"));
  EXPECT_EQ(dir_->find_account_by_address("inner@example.com").code(), Code::not_found);
}

// Two connections (as mailroomd and mailroomctl would hold): a write through one is visible
// to the other at once, and reopening keeps the schema (migrations run once).
TEST_F(LocalDirectoryTest, SecondConnectionSeesWritesImmediately) {
  auto other = LocalDirectory::open({tmp_.file("directory.db")});
  ASSERT_TRUE(other) << other.status().to_string();
  EXPECT_EQ((*other)->find_account_by_address("alice@example.com").code(), Code::not_found);
  Account a = add("alice@example.com");
  auto seen = (*other)->find_account_by_address("alice@example.com");
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->id, a.id);
  ASSERT_TRUE((*other)->set_status(a.id, AccountStatus::disabled));
  EXPECT_EQ(dir_->find_account_by_id(a.id)->status, AccountStatus::disabled);
}

TEST_F(LocalDirectoryTest, ConcurrentWritersFromThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto conn = LocalDirectory::open({tmp_.file("directory.db")});
      if (!conn) return;
      for (int i = 0; i < 25; ++i) {
        Account a;
        a.address = "u" + std::to_string(t) + "-" + std::to_string(i) + "@example.com";
        if ((*conn)->add_account(a)) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(*dir_->count_accounts(), 100u);
  EXPECT_EQ(dir_->list_accounts("example.com")->size(), 100u);
}

TEST(LocalDirectoryOpen, MissingFileWithoutCreate) {
  testing::TempDir tmp;
  LocalDirectoryOptions o;
  o.path = tmp.file("nope.db");
  o.create = false;
  EXPECT_EQ(LocalDirectory::open(o).code(), Code::not_found);
}

TEST(LocalDirectoryOpen, UnwritablePathIsAnError) {
  LocalDirectoryOptions o;
  o.path = "/proc/mailroom-cannot-be-here/directory.db";
  auto d = LocalDirectory::open(o);
  EXPECT_FALSE(d);
  EXPECT_NE(d.code(), Code::ok);
}

TEST(LocalDirectoryUuid, Version4) {
  auto u = LocalDirectory::new_uuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(u, LocalDirectory::new_uuid());
}

}  // namespace
}  // namespace mailroom::auth
