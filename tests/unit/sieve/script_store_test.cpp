// The per-account script store (RFC 5804's operations underneath ManageSieve) and the
// expiring record files of vacation, duplicate and notices.
#include "src/sieve/script_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace mailroom::sieve {
namespace {

class ScriptStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sieve-store-XXXXXX";
    root_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(ScriptStoreTest, PutListActivateRenameDelete) {
  StoreLimits limits;
  limits.max_scripts = 2;
  limits.max_script_bytes = 100;
  limits.max_total_bytes = 150;
  ScriptStore store(root_, limits);
  EXPECT_TRUE(store.list("acct")->empty());
  EXPECT_EQ(store.active("acct").code(), core::Code::not_found);
  ASSERT_TRUE(store.put("acct", "Mein Filter ✓", "keep;"));
  ASSERT_TRUE(store.put("acct", "b", "discard;"));
  struct stat st {};
  ASSERT_EQ(::stat((store.dir("acct") + "/scripts").c_str(), &st), 0);
  auto list = store.list("acct");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "Mein Filter ✓");
  EXPECT_EQ(*store.get("acct", "b"), "discard;");
  // Quota: a third script, one too large, the total.
  EXPECT_EQ(store.put("acct", "c", "keep;").code(), core::Code::over_quota);
  EXPECT_EQ(store.have_space("acct", "b", 101).code(), core::Code::too_large);
  EXPECT_EQ(store.have_space("acct", "new", 10).code(), core::Code::over_quota);  // 3 scripts
  EXPECT_TRUE(store.have_space("acct", "b", 99));  // replaces b: 5 + 99 octets in all
  limits.max_total_bytes = 100;
  ScriptStore small(root_, limits);
  EXPECT_EQ(small.have_space("acct", "b", 99).code(), core::Code::over_quota);  // 104 > 100
  EXPECT_TRUE(store.put("acct", "b", "keep; keep;"));  // replacing does not count twice
  // Active script: delete refused, rename carries the mark, "" deactivates.
  EXPECT_EQ(store.set_active("acct", "nope").code(), core::Code::not_found);
  ASSERT_TRUE(store.set_active("acct", "b"));
  EXPECT_EQ(store.active("acct")->first, "b");
  EXPECT_EQ(store.remove("acct", "b").code(), core::Code::permission_denied);
  EXPECT_EQ(store.rename("acct", "b", "Mein Filter ✓").code(), core::Code::already_exists);
  ASSERT_TRUE(store.rename("acct", "b", "renamed"));
  EXPECT_EQ(store.active("acct")->first, "renamed");
  EXPECT_EQ(store.active("acct")->second, "keep; keep;");
  ASSERT_TRUE(store.set_active("acct", ""));
  EXPECT_EQ(store.active("acct").code(), core::Code::not_found);
  ASSERT_TRUE(store.remove("acct", "renamed"));
  EXPECT_EQ(store.remove("acct", "renamed").code(), core::Code::not_found);
  // Files are private; names are checked (RFC 5804 1.6: no control characters).
  ASSERT_EQ(::stat((store.dir("acct") + "/scripts").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const auto& e : std::filesystem::directory_iterator(store.dir("acct") + "/scripts")) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_FALSE(store.valid_name(""));
  EXPECT_FALSE(store.valid_name("a\nb"));
  EXPECT_FALSE(store.valid_name(std::string(200, 'a')));
  EXPECT_EQ(store.put("acct", "../x", "keep;").code(), core::Code::ok);  // hex-encoded on disk
  EXPECT_FALSE(std::filesystem::exists(store.dir("acct") + "/x"));
}

TEST_F(ScriptStoreTest, RecordFileExpiresAndIsBounded) {
  RecordFile r(root_ + "/acct/sieve/vacation.rec", 3);
  EXPECT_FALSE(r.contains("k", 100));
  ASSERT_TRUE(r.add("k", 200, 100));
  EXPECT_TRUE(r.contains("k", 150));
  EXPECT_FALSE(r.contains("k", 200));  // expired
  ASSERT_TRUE(r.add("a", 1000, 100));
  ASSERT_TRUE(r.add("b", 1001, 100));
  ASSERT_TRUE(r.add("c", 1002, 100));
  EXPECT_FALSE(r.contains("k", 150));  // the oldest went first
  EXPECT_TRUE(r.contains("a", 150));
  ASSERT_TRUE(r.add("d", 1003, 100));
  EXPECT_FALSE(r.contains("a", 150));
  EXPECT_TRUE(r.contains("d", 150));
}

}  // namespace
}  // namespace mailroom::sieve
