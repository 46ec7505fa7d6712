// mailroomctl dkim, driven through CLI11 against a temporary data dir: the zone-file output
// of create and show, and the key life cycle (list, activate, remove).
#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <iostream>
#include <regex>
#include <sstream>

#include "src/core/services.h"
#include "src/ctl/ctl.h"

namespace mailroom::ctl {
namespace {

class CtlDkimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = (std::filesystem::temp_directory_path() /
                 ("mailroom-ctl-dkim-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                    .string();
    std::filesystem::remove_all(data_dir_);
    std::filesystem::create_directories(data_dir_);
  }
  void TearDown() override { std::filesystem::remove_all(data_dir_); }

  // Runs one mailroomctl command line; returns the exit code, stdout in out_.
  int run(std::vector<std::string> args, bool json = false) {
    Context ctx;
    ctx.json = json;
    ctx.open_services = [this](Context& c) -> core::Services* {
      c.services_ = std::make_unique<core::Services>();
      c.services_->data_dir = data_dir_;
      c.data_dir_ = data_dir_;
      return c.services_.get();
    };
    CLI::App app{"mailroomctl"};
    int exit_code = -1;
    register_dkim_commands(app, ctx, &exit_code);
    std::reverse(args.begin(), args.end());
    std::stringstream captured, errors;
    auto* old_out = std::cout.rdbuf(captured.rdbuf());
    auto* old_err = std::cerr.rdbuf(errors.rdbuf());
    try {
      app.parse(args);
    } catch (const CLI::ParseError& e) {
      exit_code = app.exit(e) == 0 ? 0 : 1;
    }
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    out_ = captured.str();
    err_ = errors.str();
    return exit_code;
  }

  std::string data_dir_, out_, err_;
};

TEST_F(CtlDkimTest, CreateAndShowPrintAZoneRecord) {
  ASSERT_EQ(run({"dkim", "create", "Example.com", "--selector", "s2026"}), 0) << err_;
  // A comment, then: <selector>._domainkey.<domain>. IN TXT "<=255 bytes>" "<rest>"
  std::regex created(
      "; DKIM key s2026 for example\\.com \\(rsa-sha256, not active until: mailroomctl dkim "
      "activate example\\.com s2026\\)\n"
      "s2026\\._domainkey\\.example\\.com\\. IN TXT \"(v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{237})\" "
      "\"([A-Za-z0-9+/=]+)\"\n");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(out_, m, created)) << out_;
  const std::string first = m[1].str(), rest = m[2].str();  // m points into out_
  std::string txt = first + rest;
  EXPECT_EQ(first.size(), 255u);
  EXPECT_EQ(txt.size(), std::string("v=DKIM1; k=rsa; p=").size() + 392);  // 2048-bit SPKI

  // show without --selector wants an active key; with it, prints the same record.
  EXPECT_EQ(run({"dkim", "show", "example.com"}), 1);
  EXPECT_NE(err_.find("no active DKIM key for example.com"), std::string::npos) << err_;
  ASSERT_EQ(run({"dkim", "show", "example.com", "--selector", "s2026"}), 0) << err_;
  EXPECT_EQ(out_,
            "; DKIM key s2026 for example.com (rsa-sha256, not active)\n"
            "s2026._domainkey.example.com. IN TXT \"" +
                first + "\" \"" + rest + "\"\n");

  ASSERT_EQ(run({"dkim", "activate", "example.com", "s2026"}), 0) << err_;
  ASSERT_EQ(run({"dkim", "show", "example.com"}, /*json=*/true), 0) << err_;
  auto j = boost::json::parse(out_);
  EXPECT_EQ(j.at("selector").as_string(), "s2026");
  EXPECT_EQ(j.at("algorithm").as_string(), "rsa-sha256");
  EXPECT_TRUE(j.at("active").as_bool());
  EXPECT_EQ(j.at("name").as_string(), "s2026._domainkey.example.com.");
  EXPECT_EQ(j.at("txt").as_string(), txt);
}

TEST_F(CtlDkimTest, Ed25519DefaultSelectorAndActivate) {
  ASSERT_EQ(run({"dkim", "create", "example.org", "--algorithm", "ed25519", "--activate"}), 0)
      << err_;
  std::regex created(
      "; DKIM key (mr20[0-9]{2}(0[1-9]|1[0-2])) for example\\.org \\(ed25519-sha256, active\\)\n"
      "mr20[0-9]{4}\\._domainkey\\.example\\.org\\. IN TXT "
      "\"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=\"\n");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(out_, m, created)) << out_;
  const std::string selector = m[1].str();
  ASSERT_EQ(run({"dkim", "show", "example.org"}), 0) << err_;
  EXPECT_NE(out_.find("; DKIM key " + selector + " for example.org (ed25519-sha256, active)"),
            std::string::npos)
      << out_;
}

TEST_F(CtlDkimTest, ListActivateRemove) {
  ASSERT_EQ(run({"dkim", "list", "example.com"}), 0);
  EXPECT_EQ(out_, "(no DKIM keys for example.com)\n");
  ASSERT_EQ(run({"dkim", "create", "example.com", "--selector", "a", "--algorithm", "ed25519"}), 0);
  ASSERT_EQ(run({"dkim", "create", "example.com", "--selector", "b", "--algorithm", "ed25519",
                 "--activate"}),
            0);
  EXPECT_EQ(run({"dkim", "create", "example.com", "--selector", "b", "--algorithm", "ed25519"}),
            1);  // exists
  ASSERT_EQ(run({"dkim", "list", "example.com"}), 0);
  EXPECT_EQ(out_, "a ed25519-sha256\nb ed25519-sha256 active\n");
  EXPECT_EQ(run({"dkim", "remove", "example.com", "b"}), 1);  // the active key
  EXPECT_NE(err_.find("activate another first"), std::string::npos) << err_;
  ASSERT_EQ(run({"dkim", "activate", "example.com", "a"}), 0) << err_;
  ASSERT_EQ(run({"dkim", "remove", "example.com", "b"}), 0) << err_;
  ASSERT_EQ(run({"dkim", "list", "example.com"}, /*json=*/true), 0);
  auto j = boost::json::parse(out_).as_array();
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].at("selector").as_string(), "a");
  EXPECT_TRUE(j[0].at("active").as_bool());

  EXPECT_EQ(run({"dkim", "create", "example.com", "--selector", "../x"}), 1);
  EXPECT_EQ(run({"dkim", "create", "example.com", "--algorithm", "dsa"}), 1);
  EXPECT_EQ(run({"dkim", "create", "example.com", "--selector", "c", "--bits", "512"}), 1);
  EXPECT_EQ(run({"dkim", "activate", "example.com", "zz"}), 1);
}

}  // namespace
}  // namespace mailroom::ctl
