// mailroomctl mailbox commands, driven through CLI11 against a real store and a fake directory.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "src/ctl/ctl.h"
#include "src/store/maintenance.h"
#include "tests/fakes/fake_directory.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

class CtlTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto& alice = directory_->add_account("alice@example.com", "", id_);
    alice.login = "alice";
    alice.quota_bytes = 1000000;
  }
  // Runs one mailroomctl command line (--json); returns the exit code, stdout in out_.
  int run(std::vector<std::string> args) {
    ctl::Context ctx;
    ctx.json = true;
    ctx.open_services = [this](ctl::Context& c) -> core::Services* {
      c.services_ = std::make_unique<core::Services>();
      c.services_->store = std::shared_ptr<MailStore>(store_.get(), [](MailStore*) {});
      c.services_->directory = directory_;
      return c.services_.get();
    };
    CLI::App app{"mailroomctl"};
    int exit_code = -1;
    ctl::register_mailbox_commands(app, ctx, &exit_code);
    std::reverse(args.begin(), args.end());
    std::stringstream captured;
    auto* old = std::cout.rdbuf(captured.rdbuf());
    try {
      app.parse(args);
    } catch (const CLI::ParseError& e) {
      exit_code = app.exit(e) == 0 ? 0 : 1;
    }
    std::cout.rdbuf(old);
    out_ = captured.str();
    return exit_code;
  }
  boost::json::value json() { return boost::json::parse(out_); }
  std::string out_;
  const std::string id_ = "11111111-2222-4333-8444-555555555555";
  std::shared_ptr<mailroom::testing::FakeDirectory> directory_ =
      std::make_shared<mailroom::testing::FakeDirectory>();
};

TEST_F(CtlTest, MailboxCommands) {
  ASSERT_EQ(run({"mailbox", "create", "alice@example.com", "Projects/2026"}), 0) << out_;
  ASSERT_EQ(run({"mailbox", "rename", "alice", "Projects", "Work"}), 0) << out_;
  ASSERT_EQ(run({"mailbox", "list", id_}), 0) << out_;
  std::set<std::string> names;
  auto listing = json();
  for (auto& b : listing.at("mailboxes").as_array())
    names.insert(std::string(b.at("name").as_string()));
  EXPECT_TRUE(names.count("Work/2026") && names.count("Ads") && !names.count("Projects"));
  EXPECT_EQ(run({"mailbox", "delete", "alice", "Work"}), 1);  // has children
  EXPECT_EQ(run({"mailbox", "delete", "alice", "Work", "--recursive"}), 0) << out_;
  EXPECT_EQ(run({"mailbox", "create", "alice", "../etc"}), 1);
  EXPECT_EQ(std::string(json().at("code").as_string()), "invalid_argument");
  EXPECT_EQ(run({"mailbox", "list", "nobody@example.com"}), 1);
  EXPECT_NE(out_.find("not found"), std::string::npos);
}

TEST_F(CtlTest, ImportExportQuotaFsck) {
  std::string mbox = dir_ + "/in.mbox";
  std::ofstream(mbox) << "From a Fri Nov 27 10:00:00 2026\nSubject: one\n\n>From quoted\n\n"
                         "From b Fri Nov 27 11:00:00 2026\nSubject: two\n\nbody\n";
  ASSERT_EQ(run({"import", "mbox", "alice", "Imported", mbox}), 0) << out_;
  EXPECT_EQ(json().at("imported").as_int64(), 2);
  ASSERT_EQ(run({"quota", "alice@example.com"}), 0) << out_;
  auto usage = store_->quota_usage(id_);
  EXPECT_EQ(json().at("bytes").as_int64(), static_cast<int64_t>(usage->bytes));
  EXPECT_EQ(json().at("messages").as_int64(), 2);
  EXPECT_EQ(json().at("quota_bytes").as_int64(), 1000000);

  std::string out = dir_ + "/out.mbox";
  ASSERT_EQ(run({"export", "mbox", "alice", "--all", "--out", out}), 0) << out_;
  EXPECT_EQ(json().at("messages").as_int64(), 2);
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("\n>From quoted\n"), std::string::npos);
  EXPECT_EQ(run({"export", "mbox", "alice", "--out", out}), 1);  // neither MAILBOX nor --all

  std::string zip = dir_ + "/save.zip";
  ASSERT_EQ(run({"export", "zip", "alice", "Imported", "--uids", "2", "--out", zip}), 0) << out_;
  EXPECT_TRUE(std::filesystem::exists(zip));
  EXPECT_EQ(run({"export", "zip", "alice", "Imported", "--uids", "2,x", "--out", zip}), 1);
  EXPECT_EQ(run({"export", "zip", "alice", "Imported", "--uids", "99", "--out", zip}), 1);

  ASSERT_EQ(run({"fsck", "--all"}), 0) << out_;
  auto fsck_json = json();
  auto accounts = fsck_json.at("accounts").as_array();
  ASSERT_EQ(accounts.size(), 1u);
  EXPECT_TRUE(accounts[0].at("consistent").as_bool());
  EXPECT_EQ(accounts[0].at("messages").as_int64(), 2);
  // Break it: fsck reports (exit 1), --repair fixes.
  auto snap = store_->snapshot(id_, "Imported");
  std::string g = snap->messages[0].guid;
  std::filesystem::remove(options_.root + "/" + id_ + "/msg/" + g.substr(0, 2) + "/" + g + ".eml");
  EXPECT_EQ(run({"fsck", "alice"}), 1) << out_;
  EXPECT_EQ(run({"fsck", "alice", "--repair"}), 0) << out_;
  EXPECT_EQ(run({"fsck", "alice"}), 0) << out_;
  EXPECT_EQ(run({"fsck"}), 1);  // neither USER nor --all
}

}  // namespace
}  // namespace mailroom::store::testing
