// service::DirectorySync: configuration errors, a backend with nothing to synchronize, and
// mailbox retention (dry run, archive, delete; once each). LDAP and SQL synchronization
// themselves run against slapd and MariaDB in tests/integration/ldap and sql.
#include "src/service/directory_sync.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "auth/local/local_directory.h"
#include "src/store/mail_store.h"
#include "src/store/store_options.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::service::testing {
namespace {

namespace fs = std::filesystem;

class DirectorySyncTest : public ::testing::Test {
 protected:
  void SetUp() override { data_ = tmp_.file("data"); }

  std::string config(const std::string& extra) {
    std::string path = tmp_.file("mailroom.toml");
    std::ofstream(path) << "[server]\ndata_dir = \"" << data_ << "\"\n" << extra;
    return path;
  }
  std::shared_ptr<auth::LocalDirectory> replica() {
    auth::LocalDirectoryOptions o;
    o.path = data_ + "/directory.db";
    return *auth::LocalDirectory::open(o);
  }
  // A disabled account the sync saw inactive at `since`, with one message when `mail`.
  std::string inactive_account(const std::string& address, int64_t since, bool mail) {
    auto dir = replica();
    auth::Domain d;
    d.name = "example.com";
    auto added = dir->add_domain(d);  // the second account finds the domain there
    EXPECT_TRUE(added.is_ok() || added.code() == core::Code::already_exists) << added.to_string();
    auth::Account a;
    a.address = address;
    a.password_hash = "{SSHA}x";
    a.status = auth::AccountStatus::disabled;
    auto stored = dir->add_account(a);
    EXPECT_TRUE(stored);
    EXPECT_TRUE(dir->set_sync_state("inactive_since:" + stored->id, std::to_string(since)));
    if (mail) {
      store::StoreOptions so;
      so.root = data_ + "/mail";
      so.fsync = false;
      auto st = store::open_file_store(so);
      store::AppendRequest r;
      r.mailbox = "INBOX";
      r.message = "Subject: kept\r\n\r\nbody\r\n";
      EXPECT_TRUE(st->append(stored->id, r));
    }
    return stored->id;
  }

  // Retention counts by the DirectorySync's clock; each test sets it to the time it asks at.
  DirectorySync* at(std::unique_ptr<DirectorySync>& sync, int64_t unix_seconds) {
    clock_.set_unix_seconds(unix_seconds);
    return sync.get();
  }

  core::ManualClock clock_;
  mailroom::testing::TempDir tmp_;
  std::string data_;
};

TEST_F(DirectorySyncTest, ConfigurationErrors) {
  auto missing = DirectorySync::open(tmp_.file("missing.toml"));
  EXPECT_EQ(missing.code(), core::Code::invalid_argument);
  std::string path = tmp_.file("no-data-dir.toml");
  std::ofstream(path) << "[server]\n";
  auto no_dir = DirectorySync::open(path);
  EXPECT_EQ(no_dir.code(), core::Code::invalid_argument);
  EXPECT_EQ(no_dir.status().client_message(), "no [server] data_dir in " + path);
}

TEST_F(DirectorySyncTest, TheLocalBackendHasNothingToSynchronize) {
  auto sync = DirectorySync::open(config(""));
  ASSERT_TRUE(sync) << sync.status().to_string();
  EXPECT_EQ((*sync)->backend(), "local");
  auto status = (*sync)->status();
  EXPECT_EQ(status.code(), core::Code::invalid_argument);
  EXPECT_NE(status.status().client_message().find("\"local\" has nothing to synchronize"),
            std::string::npos);
  EXPECT_EQ((*sync)->run(true).code(), core::Code::invalid_argument);
  EXPECT_EQ((*sync)->run(false).code(), core::Code::invalid_argument);
}

TEST_F(DirectorySyncTest, MissingUpstreamSectionIsNamed) {
#ifdef MAILROOM_TEST_HAVE_LDAP
  auto sync = DirectorySync::open(config("[directory]\nbackend = \"ldap\"\n"));
  ASSERT_TRUE(sync);
  auto status = (*sync)->status();
  EXPECT_EQ(status.code(), core::Code::invalid_argument);
  EXPECT_EQ(status.status().client_message(), "no [directory.ldap] section in the configuration");
#endif
#ifdef MAILROOM_TEST_HAVE_SQL
  auto sql = DirectorySync::open(config("[directory]\nbackend = \"sql\"\n"));
  ASSERT_TRUE(sql);
  EXPECT_EQ((*sql)->run(true).status().client_message(),
            "no [directory.sql] section in the configuration");
#endif
}

TEST_F(DirectorySyncTest, RetentionKeepDoesNothing) {
  inactive_account("gone@example.com", 1000, true);
  auto sync = DirectorySync::open(config("[directory]\nretention = \"1s\"\n"), clock_);
  ASSERT_TRUE(sync);
  auto r = at(*sync, 5000)->retention(false);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->action, "keep");
  EXPECT_TRUE(r->accounts.empty());
}

TEST_F(DirectorySyncTest, RetentionArchivesOnceAfterADryRun) {
  std::string id = inactive_account("gone@example.com", 1000, true);
  auto sync = DirectorySync::open(
      config("[directory]\nretention = \"100s\"\nretention_action = \"archive\"\n"), clock_);
  ASSERT_TRUE(sync);
  // Not due yet.
  EXPECT_TRUE(at(*sync, 1050)->retention(false)->accounts.empty());

  auto dry = at(*sync, 2000)->retention(true);
  ASSERT_TRUE(dry);
  ASSERT_EQ(dry->accounts.size(), 1u);
  EXPECT_EQ(dry->accounts[0].result, "would archive");
  EXPECT_EQ(dry->accounts[0].address, "gone@example.com");
  EXPECT_EQ(dry->accounts[0].due_at, 1100);
  EXPECT_TRUE(fs::exists(data_ + "/mail/" + id));

  auto done = at(*sync, 2000)->retention(false);
  ASSERT_TRUE(done) << done.status().to_string();
  ASSERT_EQ(done->accounts.size(), 1u);
  EXPECT_EQ(done->failures, 0);
  std::string archive = data_ + "/archive/" + id + "-19700101.mbox";
  EXPECT_EQ(done->accounts[0].result, "archive " + archive + " messages=1");
  EXPECT_TRUE(fs::exists(archive));
  EXPECT_EQ(fs::status(archive).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(fs::exists(data_ + "/mail/" + id));
  // Recorded: not due again.
  EXPECT_TRUE(at(*sync, 3000)->retention(false)->accounts.empty());
}

TEST_F(DirectorySyncTest, RetentionDeleteWithoutAMailbox) {
  inactive_account("never@example.com", 1000, false);
  auto sync = DirectorySync::open(
      config("[directory]\nretention = \"1s\"\nretention_action = \"delete\"\n"), clock_);
  ASSERT_TRUE(sync);
  auto r = at(*sync, 2000)->retention(false);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->accounts.size(), 1u);
  EXPECT_EQ(r->accounts[0].result, "delete (no mailbox)");
  EXPECT_FALSE(r->accounts[0].failed);
}

TEST_F(DirectorySyncTest, RetentionConfigurationErrors) {
  auto sync = DirectorySync::open(config("[directory]\nretention_action = \"shred\"\n"), clock_);
  ASSERT_TRUE(sync);
  EXPECT_EQ(at(*sync, 0)->retention(true).code(), core::Code::invalid_argument);
}

}  // namespace
}  // namespace mailroom::service::testing
