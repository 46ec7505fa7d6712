// mailroomctl mailbox commands, driven through CLI11 against a real store and a fake directory.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "auth/directory.h"
#include "src/ctl/ctl.h"
#include "src/store/maintenance.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

class FakeDirectory : public auth::Directory {
 public:
  std::string name() const override { return "fake"; }
  Result<auth::Domain> find_domain(const std::string&) override { return core::not_found("no"); }
  Result<auth::Account> find_account_by_address(const std::string& a) override {
    if (a == "alice@example.com") return alice();
    return core::not_found("no such user");
  }
  Result<auth::Account> find_account_by_login(const std::string& l) override {
    if (l == "alice") return alice();
    return core::not_found("no such user");
  }
  Result<auth::Account> find_account_by_id(const std::string& id) override {
    if (id == alice().id) return alice();
    return core::not_found("no such user");
  }
  Result<auth::Alias> find_alias(const std::string&) override { return core::not_found("no"); }
  Result<auth::Group> find_group(const std::string&) override { return core::not_found("no"); }
  auth::PasswordCheck check_password(const auth::Account&, const std::string&) override {
    return auth::PasswordCheck::mismatch;
  }
  static auth::Account alice() {
    auth::Account a;
    a.id = "11111111-2222-4333-8444-555555555555";
    a.address = "alice@example.com";
    a.login = "alice";
    a.quota_bytes = 1000000;
    return a;
  }
};

class CtlTest : public StoreTest {
 protected:
  // Runs one mailroomctl command line (--json); returns the exit code, stdout in out_.
  int run(std::vector<std::string> args) {
    ctl::Context ctx;
    ctx.json = true;
    ctx.open_services = [this](ctl::Context& c) -> core::Services* {
      c.services_ = std::make_unique<core::Services>();
      c.services_->store = std::shared_ptr<MailStore>(store_.get(), [](MailStore*) {});
      c.services_->directory = std::make_shared<FakeDirectory>();
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
  const std::string id_ = FakeDirectory::alice().id;
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
