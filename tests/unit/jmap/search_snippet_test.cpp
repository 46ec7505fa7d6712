// SearchSnippet/get (RFC 8621 5) through the real routes.
#include "tests/unit/jmap/jmap_fixture.h"

namespace mailroom::jmap::testing {
namespace {

constexpr const char* kSnippetMessage =
    "From: bob@example.com\r\nTo: alice@example.com\r\n"
    "Subject: =?UTF-8?B?TFVOQ0gg5L2g5aW9IHBsYW5z?=\r\n"  // "LUNCH 你好 plans"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n"
    "We meet at the caf\xc3\xa9 & <friends>.\r\n\xe4\xbd\xa0\xe5\xa5\xbd everyone, lunch!\r\n";

class SnippetTest : public JmapTest {
 protected:
  json::object snippet(const std::string& id, const std::string& filter) {
    auto r = call1("SearchSnippet/get", "{" + acc() + ",\"emailIds\":[\"" + id +
                                            "\",\"Mnope\"],\"filter\":" + filter + "}");
    EXPECT_EQ(json::serialize(r.at("notFound")), "[\"Mnope\"]");
    return r.at("list").at(0).as_object();
  }
};

TEST_F(SnippetTest, TermsAreMarkedInTheSubjectAndPreview) {
  std::string id = "M" + put("INBOX", kSnippetMessage).guid;
  auto s = snippet(id, R"({"text":"你好"})");
  EXPECT_EQ(s.at("emailId").as_string(), id);
  EXPECT_EQ(s.at("subject").as_string(), "LUNCH <mark>你好</mark> plans");
  EXPECT_EQ(s.at("preview").as_string(),
            "We meet at the café &amp; &lt;friends&gt;. <mark>你好</mark> everyone, lunch!");
  // Case folding as Email/query matches; "subject" marks only the subject, "body" the preview.
  s = snippet(id, R"({"operator":"AND","conditions":[{"subject":"lunch"},{"body":"CAFÉ"}]})");
  EXPECT_EQ(s.at("subject").as_string(), "<mark>LUNCH</mark> 你好 plans");
  EXPECT_EQ(s.at("preview").as_string(),
            "We meet at the <mark>café</mark> &amp; &lt;friends&gt;. 你好 everyone, lunch!");
  // What a NOT excludes is not marked; no match is null.
  s = snippet(id, R"({"operator":"NOT","conditions":[{"text":"lunch"}]})");
  EXPECT_TRUE(s.at("subject").is_null());
  EXPECT_TRUE(s.at("preview").is_null());
  s = snippet(id, R"({"text":"absent"})");
  EXPECT_TRUE(s.at("subject").is_null());
  EXPECT_TRUE(s.at("preview").is_null());
  EXPECT_EQ(
      call_error("SearchSnippet/get", "{" + acc() + ",\"emailIds\":[],\"filter\":{\"nope\":1}}"),
      "unsupportedFilter");
  EXPECT_EQ(call_error("SearchSnippet/get", "{" + acc() + ",\"filter\":null}"), "invalidArguments");
}

TEST_F(SnippetTest, APreviewIsAWindowOfAtMost255Characters) {
  std::string body = std::string(600, 'a') + " needle " + std::string(600, 'b');
  std::string id = "M" + put("INBOX", "Subject: long\r\n\r\n" + body + "\r\n").guid;
  auto s = snippet(id, R"({"body":"needle"})");
  std::string p(s.at("preview").as_string());
  EXPECT_NE(p.find("<mark>needle</mark>"), std::string::npos);
  EXPECT_EQ(p.size(), 255u + std::string("<mark></mark>").size());
  EXPECT_EQ(p.find("<mark>"), 40u);  // 40 characters of context before the match
}

}  // namespace
}  // namespace mailroom::jmap::testing

namespace mailroom::jmap::testing {
namespace {

TEST_F(JmapTest, EmailQueryChangesAnswersAnUnchangedStateOnly) {
  put("INBOX", "Subject: one\r\n\r\nx\r\n");
  auto q = call1("Email/query", "{" + acc() + ",\"filter\":{\"subject\":\"one\"}}");
  std::string state(q.at("queryState").as_string());
  auto r = call1("Email/queryChanges",
                 "{" + acc() + ",\"filter\":{\"subject\":\"one\"},\"sinceQueryState\":\"" + state +
                     "\",\"calculateTotal\":true}");
  EXPECT_EQ(r.at("oldQueryState").as_string(), state);
  EXPECT_EQ(r.at("newQueryState").as_string(), state);
  EXPECT_TRUE(r.at("added").as_array().empty());
  EXPECT_TRUE(r.at("removed").as_array().empty());
  EXPECT_EQ(r.at("total").to_number<int>(), 1);
  // After a change: cannotCalculateChanges (RFC 8620 5.6), the client queries again.
  put("INBOX", "Subject: two\r\n\r\nx\r\n");
  EXPECT_EQ(
      call_error("Email/queryChanges", "{" + acc() + ",\"sinceQueryState\":\"" + state + "\"}"),
      "cannotCalculateChanges");
  // Malformed arguments, and the filter checked as Email/query checks it.
  EXPECT_EQ(call_error("Email/queryChanges", "{" + acc() + "}"), "invalidArguments");
  EXPECT_EQ(call_error("Email/queryChanges",
                       "{" + acc() + ",\"sinceQueryState\":\"x\",\"filter\":{\"nope\":1}}"),
            "unsupportedFilter");
}

}  // namespace
}  // namespace mailroom::jmap::testing
