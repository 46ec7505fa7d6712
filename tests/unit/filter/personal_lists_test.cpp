// Personal block and allow lists (src/filter/personal_lists.h): entries, the file (format,
// 0600, damaged lines), matching (envelope and From:, domains and subdomains, allow over block,
// DMARC failures), and the delivery scanner's verdicts per folder and per user choice.
#include "src/filter/personal_lists.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace mailroom::filter {
namespace {

namespace fs = std::filesystem;

class PersonalListsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mailroom-personal-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  PersonalEntry entry(const std::string& text) {
    auto e = make_personal_entry(text);
    EXPECT_TRUE(e) << text;
    return e ? *e : PersonalEntry{};
  }

  std::string root_;
};

TEST_F(PersonalListsTest, Entries) {
  EXPECT_EQ(entry("Spam@Bad.Example"), (PersonalEntry{"sender", "spam@bad.example"}));
  EXPECT_EQ(entry("Bad.Example"), (PersonalEntry{"domain", "bad.example"}));
  EXPECT_EQ(entry("@bad.example"), (PersonalEntry{"domain", "bad.example"}));
  for (const char* bad : {"", "@", "a b", "x@", "bad example", "[192.0.2.1]", "a@@b"}) {
    EXPECT_FALSE(make_personal_entry(bad)) << bad;
  }
}

TEST_F(PersonalListsTest, MissingFileIsTheDefaults) {
  auto l = read_personal_lists(root_, "acct-1");
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->block.empty());
  EXPECT_TRUE(l->allow.empty());
  EXPECT_FALSE(l->ads_in_inbox);
  EXPECT_EQ(l->blocked, BlockedAction::junk);
  EXPECT_FALSE(read_personal_lists(root_, "../etc"));
  EXPECT_FALSE(read_personal_lists(root_, ""));
}

TEST_F(PersonalListsTest, WriteReadRoundTripIsPrivate) {
  PersonalLists l;
  l.block = {entry("spam@bad.example"), entry("worse.example")};
  l.allow = {entry("boss@corp.example")};
  l.ads_in_inbox = true;
  l.blocked = BlockedAction::discard;
  ASSERT_TRUE(write_personal_lists(root_, "acct-1", l));
  struct stat st {};
  ASSERT_EQ(::stat(personal_lists_path(root_, "acct-1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = read_personal_lists(root_, "acct-1");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->block, l.block);
  EXPECT_EQ(back->allow, l.allow);
  EXPECT_TRUE(back->ads_in_inbox);
  EXPECT_EQ(back->blocked, BlockedAction::discard);
}

TEST_F(PersonalListsTest, DamagedFileIsAnError) {
  fs::create_directories(root_ + "/acct-1");
  for (const char* text :
       {"block sender not-an-address\n", "allow everything x\n", "option ads maybe\n",
        "block sender a@b.example extra\n", "block domain a@b.example\n"}) {
    std::ofstream(personal_lists_path(root_, "acct-1"), std::ios::trunc) << text;
    auto l = read_personal_lists(root_, "acct-1");
    ASSERT_FALSE(l) << text;
    EXPECT_NE(l.status().log_detail().find(":1:"), std::string::npos) << l.status().log_detail();
  }
}

TEST_F(PersonalListsTest, UpdateIsReadModifyWrite) {
  auto add = [&](const std::string& text) {
    return update_personal_lists(root_, "acct-1", [&](PersonalLists& l) {
      l.block.push_back(entry(text));
      return core::Status::ok();
    });
  };
  ASSERT_TRUE(add("a.example"));
  ASSERT_TRUE(add("b.example"));
  auto failed = update_personal_lists(root_, "acct-1", [](PersonalLists& l) {
    l.block.clear();
    return core::invalid_argument("no");
  });
  EXPECT_FALSE(failed);
  auto l = read_personal_lists(root_, "acct-1");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->block.size(), 2u);  // the failed edit wrote nothing
}

TEST_F(PersonalListsTest, Matching) {
  PersonalLists l;
  l.block = {entry("spam@bad.example"), entry("worse.example")};
  l.allow = {entry("boss@corp.example"), entry("partner.example")};
  const std::string plain = "Subject: hi\r\n\r\nbody\r\n";
  EXPECT_EQ(match_personal_lists(l, "SPAM@bad.example", plain), PersonalMatch::blocked);
  EXPECT_EQ(match_personal_lists(l, "other@bad.example", plain), PersonalMatch::none);
  EXPECT_EQ(match_personal_lists(l, "x@mx.worse.example", plain), PersonalMatch::blocked);
  EXPECT_EQ(match_personal_lists(l, "x@notworse.example", plain), PersonalMatch::none);
  EXPECT_EQ(match_personal_lists(l, "", "From: \"Spam, Inc\" <spam@bad.example>\r\n\r\n"),
            PersonalMatch::blocked);
  EXPECT_EQ(
      match_personal_lists(l, "bounce@list.example", "From: Boss <BOSS@corp.example>\r\n\r\n"),
      PersonalMatch::allowed);
  // Allow wins over block (a trusted partner sending through a blocked domain's relay).
  EXPECT_EQ(match_personal_lists(l, "x@worse.example", "From: a@partner.example\r\n\r\n"),
            PersonalMatch::allowed);
  // A forged From: (our DMARC result failed) does not get the allow list's favour.
  EXPECT_EQ(match_personal_lists(l, "x@elsewhere.example",
                                 "Authentication-Results: mx.example.com; spf=none;\r\n"
                                 "\tdmarc=fail header.from=corp.example\r\n"
                                 "From: boss@corp.example\r\n\r\n"),
            PersonalMatch::none);
  // Display names and comments with '@' are not addresses.
  EXPECT_EQ(match_personal_lists(l, "", "From: \"boss@corp.example\" <x@y.example>\r\n\r\n"),
            PersonalMatch::none);
}

TEST_F(PersonalListsTest, ScannerVerdicts) {
  PersonalLists l;
  l.block = {entry("spam@bad.example")};
  l.allow = {entry("boss@corp.example")};
  ASSERT_TRUE(write_personal_lists(root_, "acct-1", l));
  PersonalListScanner scanner(root_);
  const std::string msg = "Subject: x\r\n\r\nbody\r\n";
  auto scan = [&](const std::string& sender, const std::string& folder) {
    ScanInput in{msg, sender, "u@example.com", "acct-1", "192.0.2.1", folder};
    return scanner.scan(in);
  };
  auto v = scan("spam@bad.example", "INBOX");
  EXPECT_EQ(v.kind, VerdictKind::folder);
  EXPECT_EQ(v.folder, "Junk");
  v = scan("boss@corp.example", "Junk");
  EXPECT_EQ(v.kind, VerdictKind::folder);
  EXPECT_EQ(v.folder, "INBOX");
  EXPECT_EQ(scan("boss@corp.example", "INBOX").kind, VerdictKind::accept);
  EXPECT_EQ(scan("x@shop.example", "Ads").kind, VerdictKind::accept);
  EXPECT_EQ(scan("x@shop.example", "INBOX").kind, VerdictKind::accept);

  // The user's choices: discard blocked mail, keep ads; the scanner sees the new file.
  l.blocked = BlockedAction::discard;
  l.ads_in_inbox = true;
  ASSERT_TRUE(write_personal_lists(root_, "acct-1", l));
  EXPECT_EQ(scan("spam@bad.example", "INBOX").kind, VerdictKind::discard);
  v = scan("x@shop.example", "Ads");
  EXPECT_EQ(v.kind, VerdictKind::folder);
  EXPECT_EQ(v.folder, "INBOX");
  EXPECT_EQ(scan("x@shop.example", "Junk").kind, VerdictKind::accept);

  // No file for this account, or a damaged one: no verdict.
  ScanInput other{msg, "spam@bad.example", "v@example.com", "acct-2", "192.0.2.1", "INBOX"};
  EXPECT_EQ(scanner.scan(other).kind, VerdictKind::accept);
  std::ofstream(personal_lists_path(root_, "acct-1"), std::ios::trunc) << "garbage line\n";
  EXPECT_EQ(scan("spam@bad.example", "INBOX").kind, VerdictKind::accept);
}

}  // namespace
}  // namespace mailroom::filter
