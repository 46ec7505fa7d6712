// The web client's list query (Email/query with only inMailbox, by receivedAt) answered from
// the mailbox order kept between requests (src/jmap/list_order.h): the same ids, window, anchor
// and total as the general path, after appends, copies within the mailbox, expunges and flag
// changes; and the kept order rebuilt only when the mailbox's membership changes.
#include "src/jmap/list_order.h"

#include "tests/unit/jmap/jmap_fixture.h"

namespace mailroom::jmap::testing {
namespace {

std::string msg(const std::string& subject) {
  return "From: bob@example.com\r\nTo: alice@example.com\r\nSubject: " + subject + "\r\n\r\nhi\r\n";
}

class ListOrderTest : public JmapTest {
 protected:
  // The fast path's answer (filter {inMailbox}) and the general path's (the same condition
  // inside an AND, which the fast path does not take), with the same window arguments.
  std::pair<json::object, json::object> both(const std::string& extra) {
    std::string id = mailbox_id("INBOX");
    auto fast = call1("Email/query",
                      "{" + acc() + R"(,"filter":{"inMailbox":")" + id + "\"}" + extra + "}");
    auto slow = call1("Email/query",
                      "{" + acc() + R"(,"filter":{"operator":"AND","conditions":[{"inMailbox":")" +
                          id + "\"}]}" + extra + "}");
    return {fast, slow};
  }
  void expect_same(const std::string& what) {
    for (
        std::string extra :
        {std::string(
             R"(,"sort":[{"property":"receivedAt","isAscending":false}],"calculateTotal":true)"),
         std::string(
             R"(,"sort":[{"property":"receivedAt","isAscending":true}],"position":1,"limit":3,"calculateTotal":true)"),
         std::string(R"(,"sort":[{"property":"receivedAt"}],"position":-2)"),
         std::string(R"(,"sort":[{"property":"receivedAt","isAscending":false}],"position":99)")}) {
      auto [fast, slow] = both(extra);
      EXPECT_EQ(json::serialize(fast.at("ids")), json::serialize(slow.at("ids"))) << what << extra;
      EXPECT_EQ(fast.at("position"), slow.at("position")) << what << extra;
      EXPECT_EQ(fast.contains("total"), slow.contains("total"));
      if (slow.contains("total")) EXPECT_EQ(fast.at("total"), slow.at("total")) << what;
      EXPECT_EQ(fast.at("queryState"), slow.at("queryState")) << what;
    }
    // An anchor: the id after the second newest.
    auto [first, _] = both(R"(,"sort":[{"property":"receivedAt","isAscending":false}])");
    const auto& ids = first.at("ids").as_array();
    if (ids.size() >= 2) {
      std::string anchor = R"(,"sort":[{"property":"receivedAt","isAscending":false}],"anchor":")" +
                           std::string(ids[1].as_string()) + R"(","anchorOffset":1,"limit":2)";
      auto [fast, slow] = both(anchor);
      EXPECT_EQ(json::serialize(fast.at("ids")), json::serialize(slow.at("ids"))) << what;
      EXPECT_EQ(fast.at("position"), slow.at("position")) << what;
    }
  }
};

TEST_F(ListOrderTest, TheFastPathAnswersAsTheGeneralPathThroughChanges) {
  // Dates out of UID order, and two equal dates (ordered by guid on both paths).
  for (auto [subject, date] :
       {std::pair{"a", 1700000300}, std::pair{"b", 1700000100}, std::pair{"c", 1700000200},
        std::pair{"d", 1700000200}, std::pair{"e", 1700000050}})
    put("INBOX", msg(subject), 0, date);
  put("Sent", msg("elsewhere"), 0, 1700000400);
  expect_same("initial");
  put("INBOX", msg("f"), 0, 1700000250);
  expect_same("after an append");
  store::StoreFlagsRequest seen;
  seen.uids = {1, 2};
  seen.flags = store::kSeen;
  ASSERT_TRUE(services_.store->store_flags(kAlice, "INBOX", seen).is_ok());
  expect_same("after a flag change");
  // A copy within the mailbox is the same Email: listed once.
  ASSERT_TRUE(services_.store->copy(kAlice, "INBOX", {3}, "INBOX", {}).is_ok());
  expect_same("after a copy within the mailbox");
  auto [fast, slow] = both(R"(,"calculateTotal":true,"sort":[{"property":"receivedAt"}])");
  EXPECT_EQ(fast.at("total").as_int64(), 6);
  ASSERT_TRUE(services_.store->expunge(kAlice, "INBOX", {1, 4}).is_ok());
  expect_same("after an expunge");
  EXPECT_EQ(call_error("Email/query", "{" + acc() + R"(,"filter":{"inMailbox":"Fnope"}})"),
            "(no error)");  // an unknown mailbox: no results, as before
  auto none = call1("Email/query", "{" + acc() + R"(,"filter":{"inMailbox":"Fnope"}})");
  EXPECT_TRUE(none.at("ids").as_array().empty());
  EXPECT_EQ(
      call_error("Email/query", "{" + acc() + R"(,"filter":{"inMailbox":")" + mailbox_id("INBOX") +
                                    R"("},"sort":[{"property":"receivedAt"}],"anchor":"Mnope"})"),
      "anchorNotFound");
}

TEST_F(ListOrderTest, TheOrderIsRebuiltOnlyWhenMembershipChanges) {
  put("INBOX", msg("a"), 0, 1700000100);
  put("INBOX", msg("b"), 0, 1700000200);
  ListOrderCache cache;
  auto status = [&] { return *services_.store->mailbox_status(kAlice, "INBOX"); };
  auto first = cache.get(*services_.store, kAlice, status(), false);
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ((*first)->guids.size(), 2u);
  ASSERT_TRUE(cache.get(*services_.store, kAlice, status(), false).is_ok());
  EXPECT_EQ(cache.builds(), 1u);
  store::StoreFlagsRequest flag;
  flag.uids = {1};
  flag.flags = store::kFlagged;
  ASSERT_TRUE(services_.store->store_flags(kAlice, "INBOX", flag).is_ok());
  ASSERT_TRUE(cache.get(*services_.store, kAlice, status(), false).is_ok());
  EXPECT_EQ(cache.builds(), 1u);  // flags do not change the order
  put("INBOX", msg("c"), 0, 1700000150);
  auto after = cache.get(*services_.store, kAlice, status(), false);
  ASSERT_TRUE(after.is_ok());
  EXPECT_EQ(cache.builds(), 2u);
  ASSERT_EQ((*after)->guids.size(), 3u);
  ASSERT_TRUE(services_.store->expunge(kAlice, "INBOX", {2}).is_ok());
  after = cache.get(*services_.store, kAlice, status(), false);
  EXPECT_EQ(cache.builds(), 3u);
  EXPECT_EQ((*after)->guids.size(), 2u);
  // The other direction is its own entry; a tiny budget keeps nothing but still answers.
  ASSERT_TRUE(cache.get(*services_.store, kAlice, status(), true).is_ok());
  EXPECT_EQ(cache.builds(), 4u);
  ListOrderCache tiny(16);
  ASSERT_TRUE(tiny.get(*services_.store, kAlice, status(), false).is_ok());
  ASSERT_TRUE(tiny.get(*services_.store, kAlice, status(), false).is_ok());
  EXPECT_EQ(tiny.builds(), 2u);
  EXPECT_EQ(tiny.bytes(), 0u);
}

}  // namespace
}  // namespace mailroom::jmap::testing
