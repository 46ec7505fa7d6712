#include "src/webmail/sessions.h"

#include <gtest/gtest.h>

#include <set>

namespace mailroom::webmail {
namespace {

class SessionStoreTest : public ::testing::Test {
 protected:
  SessionLimits limits() {
    SessionLimits l;
    l.idle_seconds = 100;
    l.absolute_seconds = 1000;
    l.max_per_account = 3;
    l.max_total = 5;
    return l;
  }
  int64_t now_ = 1000;
  SessionStore store_{limits(), [this] { return now_; }};
};

TEST_F(SessionStoreTest, TokensAreLongRandomAndFindTheirSession) {
  auto a = store_.create("id-alice", "alice", "alice@example.com");
  auto b = store_.create("id-alice", "alice", "alice@example.com");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->token.size(), 64u);  // 256 bits as hex
  EXPECT_EQ(a->token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a->token, b->token);
  EXPECT_NE(a->session.csrf, b->session.csrf);
  EXPECT_NE(a->token, a->session.csrf);
  auto s = store_.find(a->token);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->account_id, "id-alice");
  EXPECT_EQ(s->csrf, a->session.csrf);
  EXPECT_FALSE(store_.find(std::string(64, '0')));
  EXPECT_FALSE(store_.find(""));
  EXPECT_FALSE(store_.find(a->token + "0"));
  EXPECT_FALSE(store_.find(a->token.substr(0, 63)));
}

TEST_F(SessionStoreTest, IdleAndAbsoluteTimeouts) {
  auto a = store_.create("id-alice", "alice", "");
  ASSERT_TRUE(a);
  for (int i = 0; i < 9; ++i) {
    now_ += 99;  // used just within the idle time: stays
    ASSERT_TRUE(store_.find(a->token)) << i;
  }
  now_ = 1000 + 1000;  // the absolute lifetime is over however busy it was
  EXPECT_FALSE(store_.find(a->token));
  EXPECT_EQ(store_.size(), 0u);
  auto b = store_.create("id-alice", "alice", "");
  now_ += 100;  // idle too long
  EXPECT_FALSE(store_.find(b->token));
}

TEST_F(SessionStoreTest, AFindWithoutRenewalKeepsTheIdleClock) {
  // A push stream's recheck (renew = false) sees the session but is not the user's use: an
  // open stream must not keep an idle session alive.
  auto a = store_.create("id-alice", "alice", "");
  ASSERT_TRUE(a);
  now_ += 60;
  auto seen = store_.find(a->token, false);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->last_used, now_);  // the copy says "now" (the account check's clock)
  now_ += 60;                        // 120 s after the last real use: idle too long
  EXPECT_FALSE(store_.find(a->token, false));
  auto b = store_.create("id-alice", "alice", "");
  now_ += 60;
  ASSERT_TRUE(store_.find(b->token));  // a real use renews
  now_ += 60;
  EXPECT_TRUE(store_.find(b->token, false));
}

TEST_F(SessionStoreTest, PerAccountBoundEndsTheLeastRecentlyUsed) {
  auto first = store_.create("id-alice", "alice", "");
  now_ += 1;
  auto second = store_.create("id-alice", "alice", "");
  now_ += 1;
  auto third = store_.create("id-alice", "alice", "");
  now_ += 1;
  ASSERT_TRUE(store_.find(first->token));  // first is now the most recently used
  now_ += 1;
  auto fourth = store_.create("id-alice", "alice", "");
  ASSERT_TRUE(fourth);
  EXPECT_EQ(store_.size(), 3u);
  EXPECT_TRUE(store_.find(first->token));
  EXPECT_FALSE(store_.find(second->token));
  EXPECT_TRUE(store_.find(third->token));
  EXPECT_TRUE(store_.find(fourth->token));
}

TEST_F(SessionStoreTest, TotalBoundRefusesUntilSessionsExpire) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) {
    auto c = store_.create("id-" + std::to_string(i), "u", "");
    ASSERT_TRUE(c);
    tokens.push_back(c->token);
  }
  EXPECT_FALSE(store_.create("id-late", "late", ""));  // full: never someone else's session
  for (const auto& t : tokens) EXPECT_TRUE(store_.find(t));
  now_ += 100;  // all idle: the next sign-in clears them
  EXPECT_TRUE(store_.create("id-late", "late", ""));
  EXPECT_EQ(store_.size(), 1u);
}

TEST_F(SessionStoreTest, RemoveAndRemoveAccount) {
  auto a1 = store_.create("id-alice", "alice", "");
  auto a2 = store_.create("id-alice", "alice", "");
  auto b = store_.create("id-bob", "bob", "");
  EXPECT_TRUE(store_.remove(a1->token));
  EXPECT_FALSE(store_.remove(a1->token));
  EXPECT_EQ(store_.remove_account("id-alice"), 1u);
  EXPECT_FALSE(store_.find(a2->token));
  EXPECT_TRUE(store_.find(b->token));
}

TEST(SessionHelpers, ConstantTimeEqualityAndRandomHex) {
  EXPECT_TRUE(SessionStore::equal_constant_time("abc", "abc"));
  EXPECT_FALSE(SessionStore::equal_constant_time("abc", "abd"));
  EXPECT_FALSE(SessionStore::equal_constant_time("abc", "ab"));
  EXPECT_FALSE(SessionStore::equal_constant_time("", "a"));
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(SessionStore::random_hex(32));
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace mailroom::webmail
