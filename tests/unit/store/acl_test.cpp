// Access control lists in the store (FORMAT.md "Access control lists"): rows per mailbox kept
// by rename and gone with delete, bounds on identifiers and rights, the accounts that have
// any, the shared mark, and the migration of a version-5 index.
#include <sqlite3.h>

#include <filesystem>

#include "src/store/file_store.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

using core::Code;

class AclStoreTest : public StoreTest {
 protected:
  std::vector<AclEntry> acl(const std::string& box) {
    auto r = store_->get_acl(kUser, box);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : std::vector<AclEntry>{};
  }
  void sql(const std::string& text) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((options_.root + "/" + kUser + "/index.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }
};

TEST_F(AclStoreTest, SetReplaceRemove) {
  ASSERT_TRUE(store_->create_mailbox(kUser, "Team").is_ok());
  EXPECT_TRUE(acl("Team").empty());
  ASSERT_TRUE(store_->set_acl(kUser, "Team", "u:bob", "lr").is_ok());
  ASSERT_TRUE(store_->set_acl(kUser, "Team", "g:staff", "lrs").is_ok());
  ASSERT_TRUE(store_->set_acl(kUser, "Team", "u:bob", "lrw").is_ok());
  auto a = acl("Team");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].identifier, "g:staff");
  EXPECT_EQ(a[1].rights, "lrw");
  ASSERT_TRUE(store_->set_acl(kUser, "Team", "u:bob", "").is_ok());
  EXPECT_EQ(acl("Team").size(), 1u);
  EXPECT_EQ(store_->get_acl(kUser, "Nope").code(), Code::not_found);
  EXPECT_EQ(store_->set_acl(kUser, "Nope", "u:bob", "l").code(), Code::not_found);
}

TEST_F(AclStoreTest, HostileIdentifiersAndRightsAreRefused) {
  ASSERT_TRUE(store_->create_mailbox(kUser, "Team").is_ok());
  for (const auto& [id, rights] : std::vector<std::pair<std::string, std::string>>{
           {"", "l"},
           {std::string(257, 'x'), "l"},
           {std::string("u:\0x", 4), "l"},
           {"u:a\nb", "l"},
           {"u:bob", "L"},
           {"u:bob", "l r"},
           {"u:bob", std::string(33, 'l')},
       }) {
    EXPECT_EQ(store_->set_acl(kUser, "Team", id, rights).code(), Code::invalid_argument) << id;
  }
  EXPECT_TRUE(acl("Team").empty());
}

TEST_F(AclStoreTest, KeptByRenameGoneWithDelete) {
  ASSERT_TRUE(store_->create_mailbox(kUser, "A/B").is_ok());
  ASSERT_TRUE(store_->set_acl(kUser, "A/B", "anyone", "l").is_ok());
  ASSERT_TRUE(store_->rename_mailbox(kUser, "A", "C").is_ok());
  ASSERT_EQ(acl("C/B").size(), 1u);
  auto all = store_->acls(kUser);
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].mailbox, "C/B");
  ASSERT_TRUE(store_->delete_mailbox(kUser, "C/B").is_ok());
  ASSERT_TRUE(store_->create_mailbox(kUser, "C/B").is_ok());
  EXPECT_TRUE(acl("C/B").empty());
  EXPECT_TRUE(store_->acls(kUser)->empty());
}

TEST_F(AclStoreTest, AccountsWithAnAclAndTheSharedMark) {
  EXPECT_TRUE(store_->acl_accounts()->empty());
  ASSERT_TRUE(store_->set_acl(kUser, "INBOX", "u:bob", "lr").is_ok());
  auto accounts = store_->acl_accounts();
  ASSERT_TRUE(accounts.is_ok());
  ASSERT_EQ(accounts->size(), 1u);
  EXPECT_EQ((*accounts)[0].account_id, kUser);
  EXPECT_FALSE((*accounts)[0].shared);
  ASSERT_TRUE(store_->mark_shared_account(kUser, true).is_ok());
  EXPECT_TRUE((*store_->acl_accounts())[0].shared);
  // Writing another entry keeps the mark.
  ASSERT_TRUE(store_->set_acl(kUser, "INBOX", "u:carol", "l").is_ok());
  EXPECT_TRUE((*store_->acl_accounts())[0].shared);
  ASSERT_TRUE(store_->mark_shared_account(kUser, false).is_ok());
  EXPECT_FALSE((*store_->acl_accounts())[0].shared);
  EXPECT_EQ(std::filesystem::status(options_.root + "/.acl/" + kUser).permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // An id that is no path component is refused before any file is written.
  EXPECT_FALSE(store_->mark_shared_account("../x", true).is_ok());
  EXPECT_FALSE(std::filesystem::exists(options_.root + "/x"));
}

TEST_F(AclStoreTest, Version5IndexGetsTheTable) {
  ASSERT_TRUE(store_->create_mailbox(kUser, "Team").is_ok());
  store_.reset();
  sql("DROP TABLE acl; UPDATE meta SET value=5 WHERE key='schema_version';");
  store_ = open_file_store(options_);
  EXPECT_TRUE(acl("Team").empty());
  ASSERT_TRUE(store_->set_acl(kUser, "Team", "u:bob", "lr").is_ok());
  EXPECT_EQ(acl("Team").size(), 1u);
}

}  // namespace
}  // namespace mailroom::store::testing
