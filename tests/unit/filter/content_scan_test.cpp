// The content scan chain runner (src/filter/content_scan.h): order, first decisive verdict
// stops, headers accumulate, replacement feeds the next scanner, junk/ads.
#include "src/filter/content_scan.h"

#include <gtest/gtest.h>

#include <mutex>

namespace mailroom::filter {
namespace {

class ScriptedScanner : public ContentScanner {
 public:
  ScriptedScanner(std::string name, ContentVerdict verdict)
      : name_(std::move(name)), verdict_(std::move(verdict)) {}
  std::string name() const override { return name_; }
  ContentVerdict scan(const ContentScanInput& in) override {
    std::lock_guard lock(mu_);
    seen.push_back(*in.message);
    return verdict_;
  }
  std::vector<std::string> seen;

 private:
  std::mutex mu_;
  std::string name_;
  ContentVerdict verdict_;
};

ContentVerdict verdict(ContentAction action, std::string reason = "",
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
  ContentVerdict v;
  v.action = action;
  v.reason = std::move(reason);
  v.add_headers = std::move(headers);
  return v;
}

ContentScanInput input(const std::string& message) {
  ContentScanInput in;
  in.message = std::make_shared<const std::string>(message);
  return in;
}

TEST(ContentScanChain, AllAcceptKeepsEveryHeaderInOrder) {
  auto a =
      std::make_shared<ScriptedScanner>("av", verdict(ContentAction::accept, "", {{"X-A", "1"}}));
  auto b =
      std::make_shared<ScriptedScanner>("spam", verdict(ContentAction::accept, "", {{"X-B", "2"}}));
  ContentScanChain chain({a, b});
  auto r = chain.run(input("m"));
  EXPECT_EQ(r.action, ContentAction::accept);
  EXPECT_EQ(r.decided_by, "");
  ASSERT_EQ(r.add_headers.size(), 2u);
  EXPECT_EQ(r.add_headers[0].first, "X-A");
  EXPECT_EQ(r.add_headers[1].first, "X-B");
  EXPECT_EQ(r.replacement, nullptr);
  EXPECT_EQ(b->seen, std::vector<std::string>{"m"});
}

TEST(ContentScanChain, RejectStopsTheChain) {
  for (auto action : {ContentAction::reject, ContentAction::tempfail, ContentAction::quarantine}) {
    auto a =
        std::make_shared<ScriptedScanner>("av", verdict(action, "Eicar FOUND", {{"X-A", "1"}}));
    auto b = std::make_shared<ScriptedScanner>("spam", verdict(ContentAction::accept));
    ContentScanChain chain({a, b});
    auto r = chain.run(input("m"));
    EXPECT_EQ(r.action, action);
    EXPECT_EQ(r.reason, "Eicar FOUND");
    EXPECT_EQ(r.decided_by, "av");
    EXPECT_EQ(r.add_headers.size(), 1u);
    EXPECT_TRUE(b->seen.empty()) << content_action_name(action);
  }
}

TEST(ContentScanChain, JunkDoesNotStopAndALaterDecisionWins) {
  auto a = std::make_shared<ScriptedScanner>("one", verdict(ContentAction::ads, "bulk"));
  auto b = std::make_shared<ScriptedScanner>("two", verdict(ContentAction::junk, "spam"));
  ContentScanChain chain({a, b});
  auto r = chain.run(input("m"));
  EXPECT_EQ(r.action, ContentAction::junk);
  EXPECT_EQ(r.decided_by, "two");
  EXPECT_EQ(b->seen.size(), 1u);

  auto c = std::make_shared<ScriptedScanner>("three", verdict(ContentAction::reject, "no"));
  ContentScanChain chain2({a, c});
  auto r2 = chain2.run(input("m"));
  EXPECT_EQ(r2.action, ContentAction::reject);
  EXPECT_EQ(r2.decided_by, "three");
}

TEST(ContentScanChain, ReplacementFeedsTheNextScanner) {
  ContentVerdict rewritten = verdict(ContentAction::accept);
  rewritten.replacement = "clean";
  auto a = std::make_shared<ScriptedScanner>("av", rewritten);
  auto b = std::make_shared<ScriptedScanner>("spam", verdict(ContentAction::accept));
  ContentScanChain chain({a, b});
  auto r = chain.run(input("infected"));
  ASSERT_NE(r.replacement, nullptr);
  EXPECT_EQ(*r.replacement, "clean");
  EXPECT_EQ(a->seen, std::vector<std::string>{"infected"});
  EXPECT_EQ(b->seen, std::vector<std::string>{"clean"});
}

TEST(ContentScanChain, EmptyChainAccepts) {
  ContentScanChain chain({});
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(chain.run(input("m")).action, ContentAction::accept);
}

TEST(FormatAddedHeaders, KeepsFoldsAndNeutralizesInjectedLines) {
  EXPECT_EQ(format_added_headers({{"X-Spam", "yes"}}), "X-Spam: yes\r\n");
  EXPECT_EQ(format_added_headers({{"X-R", "a\r\n\tb"}}), "X-R: a\r\n\tb\r\n");
  // A bare CRLF not followed by white space would start a new field: flattened.
  EXPECT_EQ(format_added_headers({{"X-R", "a\r\nBcc: x"}}), "X-R: a  Bcc: x\r\n");
  EXPECT_EQ(format_added_headers({{"X-R", "a\nb"}}), "X-R: a b\r\n");
  // Field names: no colon, space or control characters; an empty name is dropped.
  EXPECT_EQ(format_added_headers({{"Bad: Name\r\n", "v"}}), "BadName: v\r\n");
  EXPECT_EQ(format_added_headers({{"\r\n", "v"}}), "");
}

TEST(StripVerdictFields, RemovesOnlyVerdictFieldsWithTheirFoldsAndNothingInTheBody) {
  std::string m =
      "Subject: hi\r\nx-spam-flag: NO\r\nX-Spam-Status: No, score=-5\r\n\ttests=ALL_TRUSTED\r\n"
      "X-Virus-Scanned : clean\r\nX-Spamish: kept\r\n\r\nX-Spam-Flag: in the body stays\r\n";
  EXPECT_TRUE(strip_verdict_fields(m));
  EXPECT_EQ(m, "Subject: hi\r\nX-Spamish: kept\r\n\r\nX-Spam-Flag: in the body stays\r\n");
  std::string clean = "Subject: hi\r\n\r\nbody\r\n";
  EXPECT_FALSE(strip_verdict_fields(clean));
  EXPECT_EQ(clean, "Subject: hi\r\n\r\nbody\r\n");
}

}  // namespace
}  // namespace mailroom::filter
