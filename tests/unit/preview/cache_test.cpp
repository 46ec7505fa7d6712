#include "src/preview/cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mailroom::preview {
namespace {

namespace fs = std::filesystem;

std::string key(char c) { return std::string(64, c); }
std::string pdf(std::size_t n) { return "%PDF-" + std::string(n - 5, 'x'); }

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mailroom-pdfcache-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir() const { return (dir_ / "pdf").string(); }
  fs::path dir_;
};

TEST_F(CacheTest, PutGetAndModes) {
  PdfCache c(dir(), 1000);
  EXPECT_FALSE(c.get(key('a')));
  ASSERT_TRUE(c.put(key('a'), pdf(100)));
  auto got = c.get(key('a'));
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, pdf(100));
  struct stat st {};
  ASSERT_EQ(stat(dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((dir() + "/" + key('a') + ".pdf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(c.bytes(), 100u);
}

TEST_F(CacheTest, LeastRecentlyUsedGoesFirst) {
  PdfCache c(dir(), 300);
  ASSERT_TRUE(c.put(key('a'), pdf(100)));
  ASSERT_TRUE(c.put(key('b'), pdf(100)));
  ASSERT_TRUE(c.put(key('c'), pdf(100)));
  ASSERT_TRUE(c.get(key('a')));  // a is now the most recent; b the least
  ASSERT_TRUE(c.put(key('d'), pdf(100)));
  EXPECT_FALSE(c.get(key('b')));
  EXPECT_FALSE(fs::exists(dir() + "/" + key('b') + ".pdf"));
  EXPECT_TRUE(c.get(key('a')));
  EXPECT_TRUE(c.get(key('c')));
  EXPECT_TRUE(c.get(key('d')));
  EXPECT_EQ(c.bytes(), 300u);
  EXPECT_EQ(c.count(), 3u);
}

TEST_F(CacheTest, TooLargeIsNotKept) {
  PdfCache c(dir(), 100);
  auto st = c.put(key('a'), pdf(101));
  EXPECT_EQ(st.code(), core::Code::too_large);
  EXPECT_EQ(c.count(), 0u);
}

TEST_F(CacheTest, RestartKeepsEntriesAndDropsLeftovers) {
  {
    PdfCache c(dir(), 1000);
    ASSERT_TRUE(c.put(key('a'), pdf(50)));
    ASSERT_TRUE(c.put(key('b'), pdf(60)));
  }
  std::ofstream(dir() + "/" + key('c') + ".pdf.tmp") << "cut short";
  std::ofstream(dir() + "/not-a-key.pdf") << "%PDF-";
  PdfCache c(dir(), 1000);
  EXPECT_EQ(c.count(), 2u);
  EXPECT_EQ(c.bytes(), 110u);
  EXPECT_TRUE(c.get(key('b')));
  EXPECT_FALSE(fs::exists(dir() + "/" + key('c') + ".pdf.tmp"));
}

TEST_F(CacheTest, ChangedFileIsAMiss) {
  PdfCache c(dir(), 1000);
  ASSERT_TRUE(c.put(key('a'), pdf(50)));
  std::ofstream(dir() + "/" + key('a') + ".pdf", std::ios::trunc) << "<html>";
  EXPECT_FALSE(c.get(key('a')));
  EXPECT_EQ(c.count(), 0u);
}

TEST_F(CacheTest, KeysAreHex) {
  EXPECT_TRUE(PdfCache::valid_key(key('0')));
  EXPECT_FALSE(PdfCache::valid_key("../" + std::string(61, 'a')));
  EXPECT_FALSE(PdfCache::valid_key(std::string(64, 'A')));
  EXPECT_FALSE(PdfCache::valid_key(key('a') + "0"));
  PdfCache c(dir(), 1000);
  EXPECT_FALSE(c.put("../../etc/x", pdf(10)));
}

}  // namespace
}  // namespace mailroom::preview
