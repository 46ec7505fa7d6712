// The session resource, authentication, request-level errors, dispatch, result references and
// the Mailbox methods (RFC 8620 2, 3; RFC 8621 2).
#include "tests/unit/jmap/jmap_fixture.h"

namespace mailroom::jmap::testing {
namespace {

TEST_F(JmapTest, SessionNeedsCredentialsAndAnswersWithTheAccount) {
  auto r = send("GET", "/.well-known/jmap", "", std::nullopt);
  EXPECT_EQ(r.status, 401);
  bool basic = false, bearer = false;
  for (const auto& [k, v] : r.headers) {
    if (k != "WWW-Authenticate") continue;
    basic = basic || v.starts_with("Basic ");
    bearer = bearer || v.starts_with("Bearer ");
  }
  EXPECT_TRUE(basic && bearer);
  EXPECT_EQ(send("GET", "/.well-known/jmap", "", "alice:wrong").status, 401);
  EXPECT_EQ(send("GET", "/.well-known/jmap", "", "alice").status, 401);  // no ':'
  // A bearer token the authenticator refuses (the fake knows no OAUTHBEARER): invalid_token.
  http::Request token_request;
  token_request.method = "GET";
  token_request.path = token_request.target = "/.well-known/jmap";
  token_request.headers.emplace_back("authorization", "Bearer abc.def.ghi");
  auto m = router_.match("GET", token_request.path);
  ASSERT_TRUE(m.route);
  auto br = m.route->handler(token_request);
  EXPECT_EQ(br.status, 401);
  bool invalid_token = false;
  for (const auto& [k, v] : br.headers)
    invalid_token =
        invalid_token || (k == "WWW-Authenticate" && v.find("invalid_token") != std::string::npos);
  EXPECT_TRUE(invalid_token);
  r = send("GET", "/.well-known/jmap");
  ASSERT_EQ(r.status, 200) << r.body;
  auto s = json::parse(r.body).as_object();
  EXPECT_TRUE(s.at("capabilities").as_object().contains("urn:ietf:params:jmap:core"));
  EXPECT_TRUE(s.at("capabilities").as_object().contains("urn:ietf:params:jmap:mail"));
  auto core = s.at("capabilities").at("urn:ietf:params:jmap:core").as_object();
  EXPECT_EQ(core.at("maxObjectsInGet").to_number<uint64_t>(), 50u);
  EXPECT_EQ(core.at("maxCallsInRequest").to_number<uint64_t>(), 8u);
  EXPECT_TRUE(s.at("accounts").as_object().contains(kAlice));
  EXPECT_EQ(s.at("primaryAccounts").at("urn:ietf:params:jmap:mail").as_string(), kAlice);
  EXPECT_EQ(s.at("apiUrl").as_string(), "http://mail.example.com/jmap/api");
  EXPECT_TRUE(s.contains("eventSourceUrl"));  // push (push_test.cpp)
  EXPECT_FALSE(s.at("state").as_string().empty());
}

TEST_F(JmapTest, RequestLevelErrorsAreProblemsWithTheRfcTypes) {
  auto type_of = [](const http::Response& r) {
    EXPECT_EQ(r.header("Content-Type").value_or(""), "application/problem+json");
    return std::string(json::parse(r.body).at("type").as_string());
  };
  auto r = send("POST", "/jmap/api", "{nope");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(type_of(r), "urn:ietf:params:jmap:error:notJSON");
  r = send("POST", "/jmap/api", "{\"using\":[],\"methodCalls\":[]}", "alice:wonderland",
           "text/plain");
  EXPECT_EQ(type_of(r), "urn:ietf:params:jmap:error:notJSON");
  r = send("POST", "/jmap/api", "{\"methodCalls\":[]}");
  EXPECT_EQ(type_of(r), "urn:ietf:params:jmap:error:notRequest");
  r = send("POST", "/jmap/api", "{\"using\":[\"urn:example:nope\"],\"methodCalls\":[]}");
  EXPECT_EQ(type_of(r), "urn:ietf:params:jmap:error:unknownCapability");
  std::string many = "[";
  for (int i = 0; i < 9; ++i)
    many += std::string(i ? "," : "") + "[\"Core/echo\",{},\"" + std::to_string(i) + "\"]";
  r = send("POST", "/jmap/api",
           "{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":" + many + "]}");
  EXPECT_EQ(type_of(r), "urn:ietf:params:jmap:error:limit");
  EXPECT_EQ(json::parse(r.body).at("limit").as_string(), "maxCallsInRequest");
  EXPECT_EQ(send("POST", "/jmap/api", "{}", "alice:bad").status, 401);
}

TEST_F(JmapTest, MethodLevelErrors) {
  auto res = call(R"([["Core/echo",{"hello":[1,"二"]},"e"],["Nope/get",{},"n"]])");
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(json::serialize(res[0]), R"(["Core/echo",{"hello":[1,"二"]},"e"])");
  EXPECT_EQ(res[1].at(0).as_string(), "error");
  EXPECT_EQ(res[1].at(1).at("type").as_string(), "unknownMethod");
  // A method of a capability the request does not use.
  res =
      call(R"([["Mailbox/get",{"accountId":"id-alice"},"m"]])", R"(["urn:ietf:params:jmap:core"])");
  EXPECT_EQ(res[0].at(1).at("type").as_string(), "unknownMethod");
  EXPECT_EQ(call_error("Mailbox/get", R"({"accountId":"id-bob"})"), "accountNotFound");
  EXPECT_EQ(call_error("Mailbox/get", R"({})"), "invalidArguments");
  EXPECT_EQ(call_error("Mailbox/get", "{" + acc() + R"(,"bogus":1})"), "invalidArguments");
  EXPECT_EQ(call_error("Mailbox/get", "{" + acc() + R"(,"properties":["nope"]})"),
            "invalidArguments");
  std::string ids;
  for (int i = 0; i < 51; ++i) ids += std::string(i ? "," : "") + "\"x" + std::to_string(i) + "\"";
  EXPECT_EQ(call_error("Mailbox/get", "{" + acc() + ",\"ids\":[" + ids + "]}"), "requestTooLarge");
  // Hostile shapes: more objects than maxObjectsInSet, a filter nested past the limit, ids
  // and arguments of the wrong types.
  EXPECT_EQ(call_error("Email/set", "{" + acc() + R"(,"destroy":["a","b","c","d","e","f"]})"),
            "requestTooLarge");
  std::string deep = R"({"subject":"x"})";
  for (int i = 0; i < 20; ++i) deep = R"({"operator":"NOT","conditions":[)" + deep + "]}";
  EXPECT_EQ(call_error("Email/query", "{" + acc() + ",\"filter\":" + deep + "}"),
            "unsupportedFilter");
  EXPECT_EQ(call_error("Email/get", "{" + acc() + R"(,"ids":[1,2]})"), "invalidArguments");
  EXPECT_EQ(call_error("Email/get", "{" + acc() + R"(,"ids":["#unknown"]})"), "invalidArguments");
  EXPECT_EQ(call_error("Email/query", "{" + acc() + R"(,"limit":-1})"), "invalidArguments");
  EXPECT_EQ(
      call_error("Email/query", "{" + acc() + R"(,"filter":{"operator":"XOR","conditions":[]}})"),
      "unsupportedFilter");
  EXPECT_EQ(call_error("Email/query", "{" + acc() + R"(,"filter":{"hasKeyword":"bad word"}})"),
            "invalidArguments");
  EXPECT_EQ(call_error("Mailbox/set", "{" + acc() + R"(,"create":[]})"), "invalidArguments");
}

TEST_F(JmapTest, MailboxGetShowsRolesCountsAndRights) {
  put("INBOX", "Subject: a\r\n\r\nx\r\n");
  put("INBOX", "Subject: b\r\n\r\ny\r\n", store::kSeen);
  auto r = call1("Mailbox/get", "{" + acc() + "}");
  std::map<std::string, json::object> by_role;
  for (const auto& m : r.at("list").as_array()) {
    const auto& o = m.as_object();
    if (o.at("role").is_string()) by_role[std::string(o.at("role").as_string())] = o;
  }
  ASSERT_TRUE(by_role.count("inbox"));
  for (const char* role : {"sent", "drafts", "trash", "junk"})
    EXPECT_TRUE(by_role.count(role)) << role;
  EXPECT_EQ(by_role["inbox"].at("totalEmails").as_int64(), 2);
  EXPECT_EQ(by_role["inbox"].at("unreadEmails").as_int64(), 1);
  EXPECT_EQ(by_role["inbox"].at("totalThreads").as_int64(), 2);
  EXPECT_EQ(by_role["inbox"].at("id").as_string(), mailbox_id("INBOX"));
  EXPECT_TRUE(by_role["inbox"].at("myRights").at("mayReadItems").as_bool());
  EXPECT_TRUE(by_role["inbox"].at("isSubscribed").as_bool());
  r = call1("Mailbox/get", "{" + acc() + R"(,"ids":["Fnope"],"properties":["name"]})");
  EXPECT_EQ(r.at("list").as_array().size(), 0u);
  EXPECT_EQ(json::serialize(r.at("notFound")), R"(["Fnope"])");
}

TEST_F(JmapTest, ResultReferencesChainQueryIntoGet) {
  auto res = call(
      R"([["Mailbox/query",{"accountId":"id-alice","filter":{"role":"inbox"}},"q"],)"
      R"(["Mailbox/get",{"accountId":"id-alice","#ids":{"resultOf":"q","name":"Mailbox/query","path":"/ids"},"properties":["name","role"]},"g"]])");
  ASSERT_EQ(res.size(), 2u);
  const auto& list = res[1].at(1).at("list").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("role").as_string(), "inbox");
  res = call(
      R"([["Mailbox/get",{"accountId":"id-alice","#ids":{"resultOf":"zz","name":"Mailbox/query","path":"/ids"}},"g"]])");
  EXPECT_EQ(res[0].at(1).at("type").as_string(), "invalidResultReference");
}

TEST_F(JmapTest, MailboxSetCreatesRenamesAndDestroys) {
  auto r = call1("Mailbox/set", "{" + acc() +
                                    R"(,"create":{"p":{"name":"Projects","isSubscribed":true},)"
                                    R"("c":{"name":"客戶","parentId":"#p"}}})");
  ASSERT_TRUE(r.at("created").is_object()) << json::serialize(r);
  std::string p = std::string(r.at("created").at("p").at("id").as_string());
  std::string c = std::string(r.at("created").at("c").at("id").as_string());
  auto list = services_.store->list_mailboxes(kAlice);
  ASSERT_TRUE(list);
  bool found = false;
  for (const auto& m : *list) found = found || m.name == "Projects/客戶";
  EXPECT_TRUE(found);
  EXPECT_EQ(mailbox_id("Projects/客戶"), c);
  // Errors: a name with the separator, a duplicate, a parent that does not exist.
  r = call1(
      "Mailbox/set",
      "{" + acc() +
          R"(,"create":{"a":{"name":"x/y"},"b":{"name":"Projects"},"d":{"name":"z","parentId":"Fnope"}}})");
  EXPECT_EQ(r.at("notCreated").at("a").at("type").as_string(), "invalidProperties");
  EXPECT_EQ(r.at("notCreated").at("b").at("type").as_string(), "alreadyExists");
  EXPECT_EQ(r.at("notCreated").at("d").at("type").as_string(), "invalidProperties");
  // Rename and move to the top.
  r = call1("Mailbox/set",
            "{" + acc() + R"(,"update":{")" + c + R"(":{"name":"Clients","parentId":null}}})");
  EXPECT_TRUE(r.at("updated").as_object().contains(c)) << json::serialize(r);
  EXPECT_EQ(mailbox_id("Clients"), c);  // the id survives the rename
  // Destroy: children and messages are refused unless asked.
  put("Projects", "Subject: p\r\n\r\nx\r\n");
  call1("Mailbox/set", "{" + acc() + R"(,"update":{")" + c + R"(":{"parentId":")" + p + R"("}}})");
  r = call1("Mailbox/set", "{" + acc() + R"(,"destroy":[")" + p + R"("]})");
  EXPECT_EQ(r.at("notDestroyed").at(p).at("type").as_string(), "mailboxHasChild");
  r = call1("Mailbox/set", "{" + acc() + R"(,"destroy":[")" + c + R"("]})");
  EXPECT_EQ(json::serialize(r.at("destroyed")), "[\"" + c + "\"]");
  r = call1("Mailbox/set", "{" + acc() + R"(,"destroy":[")" + p + R"("]})");
  EXPECT_EQ(r.at("notDestroyed").at(p).at("type").as_string(), "mailboxHasEmail");
  r = call1("Mailbox/set",
            "{" + acc() + R"(,"destroy":[")" + p + R"("],"onDestroyRemoveEmails":true})");
  EXPECT_EQ(json::serialize(r.at("destroyed")), "[\"" + p + "\"]");
  r = call1("Mailbox/set", "{" + acc() + R"(,"destroy":[")" + mailbox_id("INBOX") + R"("]})");
  EXPECT_EQ(r.at("notDestroyed").at(mailbox_id("INBOX")).at("type").as_string(), "forbidden");
  EXPECT_EQ(call_error("Mailbox/set", "{" + acc() + R"(,"ifInState":"m,old"})"), "stateMismatch");
}

TEST_F(JmapTest, MailboxChangesSeeCreatesCountsAndDestroys) {
  auto r = call1("Mailbox/get", "{" + acc() + R"(,"ids":[]})");
  std::string s0(r.at("state").as_string());
  put("INBOX", "Subject: a\r\n\r\nx\r\n");
  r = call1("Mailbox/changes", "{" + acc() + R"(,"sinceState":")" + s0 + "\"}");
  EXPECT_EQ(json::serialize(r.at("updated")), "[\"" + mailbox_id("INBOX") + "\"]");
  EXPECT_TRUE(r.at("updatedProperties").is_array());  // only the counts changed
  std::string s1(r.at("newState").as_string());
  ASSERT_TRUE(services_.store->create_mailbox(kAlice, "New").is_ok());
  r = call1("Mailbox/changes", "{" + acc() + R"(,"sinceState":")" + s1 + "\"}");
  EXPECT_EQ(json::serialize(r.at("created")), "[\"" + mailbox_id("New") + "\"]");
  std::string s2(r.at("newState").as_string());
  std::string gone = mailbox_id("New");
  ASSERT_TRUE(services_.store->delete_mailbox(kAlice, "New").is_ok());
  r = call1("Mailbox/changes", "{" + acc() + R"(,"sinceState":")" + s2 + "\"}");
  EXPECT_EQ(json::serialize(r.at("destroyed")), "[\"" + gone + "\"]");
  EXPECT_EQ(call_error("Mailbox/changes", "{" + acc() + R"(,"sinceState":"garbage"})"),
            "cannotCalculateChanges");
}

TEST_F(JmapTest, MailboxQueryFiltersAndSorts) {
  ASSERT_TRUE(services_.store->create_mailbox(kAlice, "Alpha").is_ok());
  ASSERT_TRUE(services_.store->create_mailbox(kAlice, "Alpha/Beta").is_ok());
  auto r = call1("Mailbox/query", "{" + acc() + R"(,"filter":{"parentId":")" + mailbox_id("Alpha") +
                                      R"("},"calculateTotal":true})");
  EXPECT_EQ(json::serialize(r.at("ids")), "[\"" + mailbox_id("Alpha/Beta") + "\"]");
  EXPECT_EQ(r.at("total").as_int64(), 1);
  r = call1(
      "Mailbox/query",
      "{" + acc() +
          R"(,"filter":{"operator":"AND","conditions":[{"hasAnyRole":false},{"name":"alp"}]}})");
  EXPECT_EQ(json::serialize(r.at("ids")), "[\"" + mailbox_id("Alpha") + "\"]");
  EXPECT_EQ(call_error("Mailbox/query", "{" + acc() + R"(,"filter":{"nope":1}})"),
            "unsupportedFilter");
  EXPECT_EQ(call_error("Mailbox/query", "{" + acc() + R"(,"sort":[{"property":"nope"}]})"),
            "unsupportedSort");
}

}  // namespace
}  // namespace mailroom::jmap::testing
