// service::Mailboxes over a real file store and a fake directory: the user lookup (address,
// login, id; "not found" apart from "could not tell"), mailbox operations, fsck, export and
// import, quota.
#include "src/service/mailboxes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "src/service/change_sets.h"
#include "tests/fakes/fake_directory.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::service::testing {
namespace {

class MailboxesTest : public store::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    fake_ = std::make_shared<mailroom::testing::FakeDirectory>();
    auto& alice = fake_->add_account("alice@example.com", "", kId);
    alice.login = "alice";
    alice.quota_messages = 3;
  }
  Mailboxes mailboxes() { return Mailboxes(fake_.get(), store_.get()); }
  std::string write_mbox(int messages) {
    std::string path = dir_ + "/in.mbox";
    std::ofstream out(path);
    for (int i = 0; i < messages; ++i) {
      out << "From a Fri Nov 27 10:00:00 2026\nSubject: m" << i << "\n\n>From quoted\n\n";
    }
    return path;
  }

  static constexpr const char* kId = "11111111-2222-4333-8444-555555555555";
  std::shared_ptr<mailroom::testing::FakeDirectory> fake_;
};

TEST(ServiceValues, ParseUidList) {
  EXPECT_EQ(*parse_uid_list("1,5,4294967295"), (std::vector<uint32_t>{1, 5, 4294967295u}));
  for (const char* bad : {"x", "1,x", "0", "1,,2", "4294967296", "-1", "2 "}) {
    auto r = parse_uid_list(bad);
    EXPECT_EQ(r.code(), core::Code::invalid_argument) << bad;
    EXPECT_EQ(r.status().client_message(), std::string("invalid UID list: ") + bad);
  }
}

TEST_F(MailboxesTest, OwnerByAddressLoginOrIdAndItsErrors) {
  for (const char* name : {"alice@example.com", "alice", kId}) {
    auto a = mailboxes().owner(name);
    ASSERT_TRUE(a) << name;
    EXPECT_EQ(a->id, kId);
  }
  auto nobody = mailboxes().owner("nobody@example.com");
  EXPECT_EQ(nobody.code(), core::Code::not_found);
  EXPECT_EQ(nobody.status().client_message(), "user nobody@example.com not found");
  // A directory that cannot answer is not "no such user".
  fake_->fail_all = true;
  EXPECT_EQ(mailboxes().owner("alice@example.com").code(), core::Code::unavailable);
  // Nothing configured.
  EXPECT_EQ(Mailboxes(nullptr, store_.get()).owner("alice").code(), core::Code::unavailable);
  EXPECT_EQ(Mailboxes(fake_.get(), nullptr).list("alice").code(), core::Code::unavailable);
}

TEST_F(MailboxesTest, CreateRenameListDelete) {
  ASSERT_TRUE(mailboxes().create("alice", "Projects/2026"));
  EXPECT_EQ(mailboxes().create("alice", "Projects/2026").code(), core::Code::already_exists);
  EXPECT_EQ(mailboxes().create("alice", "../etc").code(), core::Code::invalid_argument);
  ASSERT_TRUE(mailboxes().rename("alice", "Projects", "Work"));
  EXPECT_EQ(mailboxes().rename("alice", "Nope", "Other").code(), core::Code::not_found);
  auto boxes = mailboxes().list("alice@example.com");
  ASSERT_TRUE(boxes);
  std::set<std::string> names;
  for (const auto& b : *boxes) names.insert(b.name);
  EXPECT_TRUE(names.count("Work/2026") && names.count("INBOX") && !names.count("Projects"));
  EXPECT_EQ(mailboxes().remove("alice", "Work", false).code(), core::Code::invalid_argument);
  ASSERT_TRUE(mailboxes().remove("alice", "Work", true));
  EXPECT_EQ(mailboxes().create("nobody", "X").code(), core::Code::not_found);
}

TEST_F(MailboxesTest, ImportWithinTheQuotaExportAndQuota) {
  auto n = mailboxes().import_mbox("alice", "Imported", write_mbox(2));
  ASSERT_TRUE(n) << n.status().to_string();
  EXPECT_EQ(*n, 2u);
  // The account allows 3 messages: the second import stops at the quota.
  auto over = mailboxes().import_mbox("alice", "Imported", write_mbox(2));
  EXPECT_EQ(over.code(), core::Code::over_quota);

  auto q = mailboxes().quota("alice");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->account.id, kId);
  EXPECT_EQ(q->usage.messages, 3u);
  EXPECT_EQ(q->account.quota_messages, 3u);

  std::string out = dir_ + "/out.mbox";
  auto written = mailboxes().export_mbox("alice", {}, out);
  ASSERT_TRUE(written);
  EXPECT_EQ(*written, 3u);
  EXPECT_EQ(*mailboxes().export_mbox("alice", {"Imported"}, out), 3u);
  EXPECT_FALSE(mailboxes().export_mbox("alice", {"Nope"}, out));

  std::string zip = dir_ + "/save.zip";
  ASSERT_TRUE(mailboxes().export_zip("alice", "Imported", {2}, zip));
  EXPECT_TRUE(std::filesystem::exists(zip));
  EXPECT_FALSE(mailboxes().export_zip("alice", "Imported", {99}, zip));
  EXPECT_EQ(mailboxes().export_zip("nobody", "Imported", {}, zip).code(), core::Code::not_found);
}

TEST_F(MailboxesTest, FsckOneOrAllAndRepair) {
  FsckRequest neither;
  EXPECT_EQ(mailboxes().fsck(neither).code(), core::Code::invalid_argument);
  FsckRequest both{"alice", true, {}};
  EXPECT_EQ(mailboxes().fsck(both).code(), core::Code::invalid_argument);
  FsckRequest unknown{"nobody", false, {}};
  EXPECT_EQ(mailboxes().fsck(unknown).code(), core::Code::not_found);

  ASSERT_TRUE(mailboxes().import_mbox("alice", "INBOX", write_mbox(2)));
  FsckRequest all{"", true, {}};
  auto reports = mailboxes().fsck(all);
  ASSERT_TRUE(reports) << reports.status().to_string();
  ASSERT_EQ(reports->size(), 1u);
  EXPECT_EQ((*reports)[0].account_id, kId);
  EXPECT_TRUE((*reports)[0].consistent());

  auto snap = store_->snapshot(kId, "INBOX");
  std::string g = snap->messages[0].guid;
  std::filesystem::remove(options_.root + "/" + kId + "/msg/" + g.substr(0, 2) + "/" + g + ".eml");
  FsckRequest one{"alice", false, {}};
  EXPECT_FALSE((*mailboxes().fsck(one))[0].consistent());
  one.options.repair = true;
  EXPECT_FALSE((*mailboxes().fsck(one))[0].repaired.empty());
  one.options.repair = false;
  EXPECT_TRUE((*mailboxes().fsck(one))[0].consistent());
}

}  // namespace
}  // namespace mailroom::service::testing

namespace mailroom::service::testing {
namespace {

// Mailbox writes are journaled (not revertible, no dry run); a failed one records nothing.
TEST_F(MailboxesTest, WritesAreJournaled) {
  ChangeJournal journal(dir_ + "/journal.db");
  Caller caller{"token:ops", "api", {}};
  std::vector<ChangeRecord> made;
  ChangeContext c{&caller, &journal, false, "", &made};
  Mailboxes m(fake_.get(), store_.get(), c);
  ASSERT_TRUE(m.create("alice", "Projects"));
  ASSERT_TRUE(m.rename("alice", "Projects", "Archive"));
  EXPECT_EQ(m.remove("alice", "Nope", false).code(), core::Code::not_found);
  ASSERT_TRUE(m.remove("alice", "Archive", false));
  ASSERT_EQ(made.size(), 3u);
  EXPECT_EQ(made[0].operation, "mailbox.create");
  EXPECT_EQ(made[0].object, "mailbox:alice@example.com:Projects");
  EXPECT_EQ(made[0].object_id, kId);
  EXPECT_EQ(made[1].operation, "mailbox.rename");
  EXPECT_NE(made[1].after.find("\"name\":\"Archive\""), std::string::npos) << made[1].after;
  EXPECT_EQ(made[2].after, "null");
  JournalFilter f;
  EXPECT_EQ(journal.list(f)->size(), 3u);
  ChangeSets sets(journal, nullptr, dir_, nullptr, c);
  EXPECT_EQ(sets.revert(made[2].change_set).code(), core::Code::invalid_argument);

  ChangeContext dry = c;
  dry.dry_run = true;
  EXPECT_EQ(Mailboxes(fake_.get(), store_.get(), dry).create("alice", "X").code(),
            core::Code::invalid_argument);
  EXPECT_EQ(journal.list(f)->size(), 3u);
}

}  // namespace
}  // namespace mailroom::service::testing
