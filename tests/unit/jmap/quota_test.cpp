// Quota/get and Quota/changes (RFC 9425) over the store's usage and the directory's limits, and
// the quota capability in the session resource.
#include "tests/unit/jmap/jmap_fixture.h"

namespace mailroom::jmap::testing {
namespace {

constexpr const char* kQuotaCaps = R"(["urn:ietf:params:jmap:core","urn:ietf:params:jmap:quota"])";

class QuotaTest : public JmapTest {
 protected:
  json::object quota_call(const std::string& name, const std::string& args) {
    auto res = call("[[\"" + name + "\"," + args + ",\"c\"]]", kQuotaCaps);
    EXPECT_EQ(res.size(), 1u);
    if (res.empty()) return {};
    EXPECT_EQ(res[0].as_array()[0].as_string(), name) << json::serialize(res[0]);
    return res[0].as_array()[1].as_object();
  }
  std::string quota_error(const std::string& args) {
    auto res = call("[[\"Quota/changes\"," + args + ",\"c\"]]", kQuotaCaps);
    if (res.empty() || res[0].as_array()[0].as_string() != "error") return "(no error)";
    return std::string(res[0].as_array()[1].as_object().at("type").as_string());
  }
  void limits(uint64_t bytes, uint64_t messages) {
    auto* a = directory_->account(kAlice);
    ASSERT_NE(a, nullptr);
    a->quota_bytes = bytes;
    a->quota_messages = messages;
  }
};

TEST_F(QuotaTest, SessionAdvertisesTheCapability) {
  auto r = send("GET", "/.well-known/jmap");
  ASSERT_EQ(r.status, 200);
  auto s = json::parse(r.body).as_object();
  EXPECT_TRUE(s.at("capabilities").as_object().contains("urn:ietf:params:jmap:quota"));
  EXPECT_EQ(s.at("primaryAccounts").at("urn:ietf:params:jmap:quota").as_string(), kAlice);
}

TEST_F(QuotaTest, GetReportsUsageAgainstTheDirectoryLimits) {
  // No limits: no Quota objects (RFC 9425 2.1 hardLimit is required).
  auto r = quota_call("Quota/get", "{" + acc() + ",\"ids\":null}");
  EXPECT_TRUE(r.at("list").as_array().empty());
  limits(10000, 5);
  const std::string msg = "Subject: one\r\n\r\nbody\r\n";
  put("INBOX", msg);
  r = quota_call("Quota/get", "{" + acc() + ",\"ids\":null}");
  auto& list = r.at("list").as_array();
  ASSERT_EQ(list.size(), 2u) << json::serialize(r);
  auto octets = list[0].as_object();
  EXPECT_EQ(octets.at("id").as_string(), "mail-octets");
  EXPECT_EQ(octets.at("resourceType").as_string(), "octets");
  EXPECT_EQ(octets.at("used").as_int64(), static_cast<int64_t>(msg.size()));
  EXPECT_EQ(octets.at("hardLimit").as_int64(), 10000);
  EXPECT_EQ(octets.at("scope").as_string(), "account");
  EXPECT_EQ(json::serialize(octets.at("types")), R"(["Email"])");
  auto count = list[1].as_object();
  EXPECT_EQ(count.at("resourceType").as_string(), "count");
  EXPECT_EQ(count.at("used").as_int64(), 1);
  EXPECT_EQ(count.at("hardLimit").as_int64(), 5);
  // ids and properties.
  r = quota_call("Quota/get",
                 "{" + acc() + R"(,"ids":["mail-count","nope"],"properties":["used"]})");
  EXPECT_EQ(json::serialize(r.at("list")), R"([{"id":"mail-count","used":1}])");
  EXPECT_EQ(json::serialize(r.at("notFound")), R"(["nope"])");
  // The capability must be in "using"; unknown properties are refused.
  auto res = call(R"([["Quota/get",{"accountId":"id-alice"},"c"]])", kMailCaps);
  EXPECT_EQ(res[0].as_array()[1].as_object().at("type").as_string(), "unknownMethod");
  res = call("[[\"Quota/get\",{" + acc() + R"(,"properties":["x"]},"c"]])", kQuotaCaps);
  EXPECT_EQ(res[0].as_array()[0].as_string(), "error");
  // The directory down: serverUnavailable, not an empty list.
  directory_->fail_all = true;
  res = call("[[\"Quota/get\",{" + acc() + "},\"c\"]]", kQuotaCaps);
  EXPECT_EQ(res[0].as_array()[1].as_object().at("type").as_string(), "serverUnavailable");
}

TEST_F(QuotaTest, ChangesFollowUsageAndLimits) {
  limits(10000, 0);
  std::string s0(quota_call("Quota/get", "{" + acc() + "}").at("state").as_string());
  auto r = quota_call("Quota/changes", "{" + acc() + ",\"sinceState\":\"" + s0 + "\"}");
  EXPECT_TRUE(r.at("updated").as_array().empty());
  EXPECT_EQ(r.at("newState").as_string(), s0);
  put("INBOX", "Subject: one\r\n\r\nbody\r\n");
  limits(10000, 5);  // the count quota appears, the octets one moved
  r = quota_call("Quota/changes", "{" + acc() + ",\"sinceState\":\"" + s0 + "\"}");
  EXPECT_EQ(json::serialize(r.at("updated")), R"(["mail-octets"])");
  EXPECT_EQ(json::serialize(r.at("created")), R"(["mail-count"])");
  EXPECT_FALSE(r.at("hasMoreChanges").as_bool());
  std::string s1(r.at("newState").as_string());
  EXPECT_EQ(s1, quota_call("Quota/get", "{" + acc() + "}").at("state").as_string());
  // maxChanges 1: an intermediate state that reaches the rest next time.
  r = quota_call("Quota/changes", "{" + acc() + ",\"sinceState\":\"" + s0 + "\",\"maxChanges\":1}");
  EXPECT_TRUE(r.at("hasMoreChanges").as_bool());
  std::string mid(r.at("newState").as_string());
  r = quota_call("Quota/changes", "{" + acc() + ",\"sinceState\":\"" + mid + "\"}");
  EXPECT_EQ(json::serialize(r.at("created")), R"(["mail-count"])");
  EXPECT_EQ(r.at("newState").as_string(), s1);
  limits(0, 5);
  r = quota_call("Quota/changes", "{" + acc() + ",\"sinceState\":\"" + s1 + "\"}");
  EXPECT_EQ(json::serialize(r.at("destroyed")), R"(["mail-octets"])");
  // Hostile states and arguments.
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "a.b.c.d", "-1.0.0.0",
                          "99999999999999999999.0.0.0", "1..2.3", " 1.2.3.4"}) {
    EXPECT_EQ(quota_error("{" + acc() + ",\"sinceState\":\"" + bad + "\"}"),
              "cannotCalculateChanges")
        << bad;
  }
  EXPECT_EQ(quota_error("{" + acc() + ",\"sinceState\":\"" + s1 + "\",\"maxChanges\":0}"),
            "invalidArguments");
  EXPECT_EQ(quota_error("{" + acc() + "}"), "invalidArguments");
}

}  // namespace
}  // namespace mailroom::jmap::testing
