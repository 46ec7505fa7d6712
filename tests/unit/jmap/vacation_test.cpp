// VacationResponse/get and /set (RFC 8621 8) through the real routes, and what delivery does
// with it: the Sieve filter's plan for a message to the user (src/sieve/vacation_response.h).
#include "src/sieve/delivery.h"
#include "src/sieve/script_store.h"
#include "src/sieve/vacation_response.h"
#include "tests/unit/jmap/jmap_fixture.h"

namespace mailroom::jmap::testing {
namespace {

inline constexpr const char* kVacationCaps =
    R"(["urn:ietf:params:jmap:core","urn:ietf:params:jmap:vacationresponse"])";

class VacationTest : public JmapTest {
 protected:
  void SetUp() override {
    JmapTest::SetUp();
    services_.sieve_scripts =
        std::make_shared<sieve::ScriptStore>(dir_ + "/mail", sieve::StoreLimits{});
  }
  json::array vac(const std::string& calls) { return call(calls, kVacationCaps); }
  json::object get() {
    auto r = vac("[[\"VacationResponse/get\",{" + acc() + ",\"ids\":null},\"g\"]]");
    return r[0].at(1).as_object();
  }
  json::object set(const std::string& args) {
    auto r = vac("[[\"VacationResponse/set\",{" + acc() + "," + args + "},\"s\"]]");
    EXPECT_EQ(r[0].at(0).as_string(), "VacationResponse/set") << json::serialize(r);
    return r[0].at(1).as_object();
  }
  // The Sieve filter's plan for a message from carol to alice.
  queue::DeliveryPlan deliver(const std::string& subject) {
    sieve::Options o;
    auto filter = sieve::SieveFilter::open(o, services_.sieve_scripts, services_.store,
                                           services_.resolver, "mail.example.com");
    EXPECT_TRUE(filter.is_ok());
    std::string message =
        "From: carol@remote.example\r\nTo: alice@example.com\r\nSubject: " + subject +
        "\r\nMessage-ID: <" + subject + "@remote.example>\r\n\r\nhi\r\n";
    queue::FilterInput in{
        message, "carol@remote.example", "alice@example.com", "alice@example.com", kAlice, "INBOX"};
    return (*filter)->plan(in);
  }
  static size_t replies(const queue::DeliveryPlan& p) {
    size_t n = 0;
    for (const auto& o : p.outgoing) n += o.kind == "vacation";
    return n;
  }
};

TEST_F(VacationTest, TheSingletonIsOffUntilSetAndCannotBeCreatedOrDestroyed) {
  auto g = get();
  ASSERT_EQ(g.at("list").as_array().size(), 1u);
  auto v = g.at("list").at(0).as_object();
  EXPECT_EQ(v.at("id").as_string(), "singleton");
  EXPECT_FALSE(v.at("isEnabled").as_bool());
  EXPECT_TRUE(v.at("subject").is_null());
  auto r = set(R"("create":{"x":{"isEnabled":true}},"destroy":["singleton"])");
  EXPECT_EQ(r.at("notCreated").at("x").at("type").as_string(), "singleton");
  EXPECT_EQ(r.at("notDestroyed").at("singleton").at("type").as_string(), "singleton");
  EXPECT_EQ(call_error("VacationResponse/get", "{" + acc() + "}"), "unknownMethod");
  // Without a setting there is no reply.
  EXPECT_EQ(replies(deliver("no vacation")), 0u);
}

TEST_F(VacationTest, SetIsStoredWithTheScriptsAndDeliveryReplies) {
  std::string state(get().at("state").as_string());
  auto r = set(R"("update":{"singleton":{"isEnabled":true,"subject":"Away",
      "textBody":"Back on Monday.","fromDate":"2020-01-01T00:00:00Z"}})");
  ASSERT_TRUE(r.at("updated").as_object().contains("singleton")) << json::serialize(r);
  EXPECT_EQ(r.at("oldState").as_string(), state);
  EXPECT_NE(r.at("newState").as_string(), state);
  auto v = get().at("list").at(0).as_object();
  EXPECT_TRUE(v.at("isEnabled").as_bool());
  EXPECT_EQ(v.at("subject").as_string(), "Away");
  EXPECT_EQ(v.at("fromDate").as_string(), "2020-01-01T00:00:00Z");
  EXPECT_TRUE(v.at("toDate").is_null());
  auto path = dir_ + "/mail/" + kAlice + "/sieve/jmap-vacation";
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  auto plan = deliver("question one");
  ASSERT_EQ(replies(plan), 1u);
  ASSERT_EQ(plan.copies.size(), 1u);
  EXPECT_EQ(plan.copies[0].mailbox, "INBOX");  // the message is kept as without vacation
  const auto& reply = plan.outgoing[0];
  EXPECT_EQ(reply.envelope.sender, "");
  EXPECT_NE(reply.message.find("Subject: Away"), std::string::npos);
  EXPECT_NE(reply.message.find("Back on Monday."), std::string::npos);
  EXPECT_NE(reply.message.find("Auto-Submitted: auto-replied"), std::string::npos);
  // Once per sender and period.
  EXPECT_EQ(replies(deliver("question two")), 0u);
  // A period that ended: no reply (even to a new text).
  set(R"("update":{"singleton":{"toDate":"2021-01-01T00:00:00Z","textBody":"new"}})");
  EXPECT_EQ(replies(deliver("question three")), 0u);
  // ifInState that is not the state.
  auto res = vac("[[\"VacationResponse/set\",{" + acc() + ",\"ifInState\":\"" + state +
                 "\",\"update\":{}},\"s\"]]");
  EXPECT_EQ(res[0].at(1).at("type").as_string(), "stateMismatch");
}

TEST_F(VacationTest, TheUsersOwnScriptKeepsWorkingAndItsVacationWins) {
  set(R"("update":{"singleton":{"isEnabled":true,"htmlBody":"<p>Away &amp; offline</p>"}})");
  auto& scripts = *services_.sieve_scripts;
  ASSERT_TRUE(scripts.put(kAlice, "mine", "require \"fileinto\";\r\nfileinto \"Work\";\r\n"));
  ASSERT_TRUE(scripts.set_active(kAlice, "mine"));
  auto plan = deliver("filed");
  ASSERT_EQ(plan.copies.size(), 1u);
  EXPECT_EQ(plan.copies[0].mailbox, "Work");  // the user's rule
  ASSERT_EQ(replies(plan), 1u);               // and the JMAP reply, text made from the HTML
  EXPECT_NE(plan.outgoing[0].message.find("multipart/alternative"), std::string::npos);
  EXPECT_NE(plan.outgoing[0].message.find("Away & offline"), std::string::npos);
  // A user script with a vacation of its own: one reply, the script's.
  ASSERT_TRUE(scripts.put(kAlice, "mine",
                          "require \"vacation\";\r\nvacation :subject \"Mine\" \"own text\";\r\n"));
  plan = deliver("own vacation");
  ASSERT_EQ(replies(plan), 1u);  // (another :handle than the JMAP reply carol already got)
  EXPECT_NE(plan.outgoing[0].message.find("Subject: Mine"), std::string::npos);
  EXPECT_EQ(plan.outgoing[0].message.find("multipart/alternative"), std::string::npos);
}

TEST_F(VacationTest, MalformedPatchesAreInvalidProperties) {
  auto r = set(R"("update":{"singleton":{"isEnabled":"yes","fromDate":"tomorrow",
      "subject":"two\r\nlines","nope":1},"other":{}})");
  auto err = r.at("notUpdated").at("singleton").as_object();
  EXPECT_EQ(err.at("type").as_string(), "invalidProperties");
  EXPECT_EQ(err.at("properties").as_array().size(), 4u);
  EXPECT_EQ(r.at("notUpdated").at("other").at("type").as_string(), "notFound");
  r = set(R"("update":{"singleton":{"textBody":")" + std::string(70000, 'x') + "\"}}");
  EXPECT_EQ(r.at("notUpdated").at("singleton").at("type").as_string(), "invalidProperties");
  EXPECT_FALSE(get().at("list").at(0).at("isEnabled").as_bool());  // nothing changed
}

TEST(VacationResponseFormat, RoundTripsAndRefusesDamagedText) {
  sieve::VacationResponse v;
  v.enabled = true;
  v.from_date = 1700000000;
  v.subject = "Wèg \"quoted\" \\";
  v.text_body = "line1\nline2";
  auto text = sieve::serialize_vacation_response(v);
  auto back = sieve::parse_vacation_response(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, v);
  for (std::string bad : {"", "enabled 2\n", "enabled 1\nfrom x\n", "enabled 1\nsubject !!\n",
                          "enabled 1\nwhat 1\n", "enabled 1\nfrom 99999999999999999999\n"})
    EXPECT_FALSE(sieve::parse_vacation_response(bad)) << bad;
  // The generated script parses (quotes and backslashes escaped).
  EXPECT_TRUE(sieve::parse(sieve::vacation_response_script(v)).is_ok());
  EXPECT_TRUE(sieve::vacation_response_active(v, 1700000000));
  EXPECT_FALSE(sieve::vacation_response_active(v, 1699999999));
}

}  // namespace
}  // namespace mailroom::jmap::testing
