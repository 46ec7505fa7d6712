// \Recent claims (RFC 3501 2.3.2) kept across restarts (src/imap/recent.h).
#include "src/imap/recent.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mailroom::imap {
namespace {

class RecentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("recent-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    RecentTracker::instance().set_directory(dir_.string());
  }
  void TearDown() override {
    RecentTracker::instance().set_directory("");
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(RecentTest, OneClaimPerMessageSurvivesRestart) {
  auto& t = RecentTracker::instance();
  EXPECT_EQ(t.claim("acct-1", "INBOX", 7, 5), 0u);
  EXPECT_EQ(t.claim("acct-1", "INBOX", 7, 5), 5u);  // a second session gets nothing new
  EXPECT_EQ(t.claim("acct-1", "Work/台北 x", 7, 2), 0u);
  t.reset_memory();  // a restart
  EXPECT_EQ(t.peek("acct-1", "INBOX", 7), 5u);
  EXPECT_EQ(t.peek("acct-1", "Work/台北 x", 7), 2u);
  EXPECT_EQ(t.claim("acct-1", "INBOX", 7, 9), 5u);
  EXPECT_EQ(t.peek("acct-2", "INBOX", 7), 0u);
}

TEST_F(RecentTest, NewIncarnationStartsOver) {
  auto& t = RecentTracker::instance();
  t.claim("a", "Box", 1, 10);
  EXPECT_EQ(t.peek("a", "Box", 2), 0u);
  EXPECT_EQ(t.claim("a", "Box", 2, 3), 0u);
  t.reset_memory();
  EXPECT_EQ(t.peek("a", "Box", 2), 3u);
  EXPECT_EQ(t.peek("a", "Box", 1), 0u);
}

TEST_F(RecentTest, AccountIdsCannotEscapeTheDirectoryAndDamagedFilesAreSkipped) {
  auto& t = RecentTracker::instance();
  t.claim("../../etc/x", "INBOX", 1, 4);
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find('/'), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / ".." / ".." / "etc" / "x"));
  {
    std::ofstream f(dir_ / "broken");
    f << "garbage\n1 2\n3 4 INBOX\n";
  }
  t.reset_memory();
  EXPECT_EQ(t.peek("broken", "INBOX", 3), 4u);
  EXPECT_EQ(t.peek("../../etc/x", "INBOX", 1), 4u);
}

}  // namespace
}  // namespace mailroom::imap
