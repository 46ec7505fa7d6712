// parse_request (RFC 8620 3.3, 3.6.1) and resolve_references (RFC 8620 3.7) on raw JSON.
#include "src/jmap/request.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace mailroom::jmap {
namespace {
namespace json = boost::json;

std::string error_type(std::string_view body, RequestLimits limits = {}) {
  ApiRequest r;
  auto e = parse_request(body, limits, r);
  return e ? e->type.substr(kErrorPrefix.size()) : "";
}

TEST(JmapRequest, TypeSignatureErrorsGetTheirRfcTypes) {
  struct Case {
    const char* body;
    const char* type;
  } cases[] = {
      {"", "notJSON"},
      {"{", "notJSON"},
      {"{\"using\":[]", "notJSON"},
      {"[1,2]", "notRequest"},
      {"{}", "notRequest"},
      {"{\"using\":\"x\",\"methodCalls\":[]}", "notRequest"},
      {"{\"using\":[1],\"methodCalls\":[]}", "notRequest"},
      {"{\"using\":[],\"methodCalls\":{}}", "notRequest"},
      {"{\"using\":[],\"methodCalls\":[[\"a\",{}]]}", "notRequest"},
      {"{\"using\":[],\"methodCalls\":[[\"a\",[],\"c\"]]}", "notRequest"},
      {"{\"using\":[],\"methodCalls\":[[1,{},\"c\"]]}", "notRequest"},
      {"{\"using\":[],\"methodCalls\":[],\"createdIds\":[]}", "notRequest"},
      {"{\"using\":[],\"methodCalls\":[],\"createdIds\":{\"a\":1}}", "notRequest"},
      {"{\"using\":[],\"methodCalls\":[]}", ""},
      {"{\"using\":[\"urn:ietf:params:jmap:core\"],\"methodCalls\":[[\"Core/echo\",{},\"0\"]]}",
       ""},
  };
  for (const auto& c : cases) EXPECT_EQ(error_type(c.body), c.type) << c.body;
}

TEST(JmapRequest, LimitsAreEnforcedAndNamed) {
  RequestLimits l;
  l.max_calls_in_request = 2;
  ApiRequest r;
  auto e = parse_request(
      "{\"using\":[],\"methodCalls\":[[\"a\",{},\"1\"],[\"b\",{},\"2\"],[\"c\",{},\"3\"]]}", l, r);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, "urn:ietf:params:jmap:error:limit");
  EXPECT_EQ(e->limit, "maxCallsInRequest");
  l.max_size_request = 10;
  ApiRequest r2;
  e = parse_request("{\"using\":[],\"methodCalls\":[]}", l, r2);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->limit, "maxSizeRequest");
  // Nesting deeper than the parser's limit is not JSON it reads.
  std::string deep = "{\"using\":[],\"methodCalls\":[[\"a\",{\"x\":" + std::string(200, '[') +
                     std::string(200, ']') + "},\"1\"]]}";
  EXPECT_EQ(error_type(deep), "notJSON");
}

TEST(JmapRequest, CallsAndCreatedIdsAreKept) {
  ApiRequest r;
  ASSERT_FALSE(parse_request(
      "{\"using\":[\"u\"],\"methodCalls\":[[\"Mailbox/get\",{\"accountId\":\"a\"},\"c1\"]],"
      "\"createdIds\":{\"k\":\"Fabc\"}}",
      {}, r));
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].name, "Mailbox/get");
  EXPECT_EQ(r.calls[0].id, "c1");
  EXPECT_EQ(r.calls[0].args->at("accountId").as_string(), "a");
  EXPECT_TRUE(r.has_created_ids);
  EXPECT_EQ(r.created_ids["k"], "Fabc");
  EXPECT_EQ(r.using_capabilities, std::vector<std::string>{"u"});
}

std::vector<Reply> replies() {
  auto obj =
      json::parse(R"({"ids":["a","b"],"list":[{"id":"1","threadId":"t1","emailIds":["x","y"]},)"
                  R"({"id":"2","threadId":"t2","emailIds":["z"]}],"a/b":1,"m~n":2})")
          .as_object();
  return {Reply{"Email/get", std::make_shared<json::object>(obj), "c0"}};
}

json::value resolve(std::string args_text, std::string* type = nullptr) {
  auto args = json::parse(args_text).as_object();
  std::string t, d;
  bool ok = resolve_references(args, replies(), t, d);
  if (type) *type = ok ? "" : t;
  return ok ? json::value(args) : json::value(nullptr);
}

TEST(JmapRequest, ResultReferencesFollowJsonPointerWithStar) {
  auto ref = [](const char* path) {
    return std::string(R"({"#ids":{"resultOf":"c0","name":"Email/get","path":")") + path + "\"}}";
  };
  EXPECT_EQ(json::serialize(resolve(ref("/ids"))), R"({"ids":["a","b"]})");
  EXPECT_EQ(json::serialize(resolve(ref("/list/*/threadId"))), R"({"ids":["t1","t2"]})");
  // Arrays selected through '*' are flattened (RFC 8620 3.7).
  EXPECT_EQ(json::serialize(resolve(ref("/list/*/emailIds"))), R"({"ids":["x","y","z"]})");
  EXPECT_EQ(json::serialize(resolve(ref("/list/1/id"))), R"({"ids":"2"})");
  EXPECT_EQ(json::serialize(resolve(ref("/a~1b"))), R"({"ids":1})");
  EXPECT_EQ(json::serialize(resolve(ref("/m~0n"))), R"({"ids":2})");
  std::string type;
  for (const char* bad : {"/nope", "/list/2/id", "/list/01/id", "/list/-1", "/ids/*/x", "/a~2b",
                          "ids", "/list/99999999999999999999"}) {
    resolve(ref(bad), &type);
    EXPECT_EQ(type, "invalidResultReference") << bad;
  }
}

TEST(JmapRequest, ReferenceErrors) {
  std::string type;
  resolve(R"({"#ids":{"resultOf":"c9","name":"Email/get","path":"/ids"}})", &type);
  EXPECT_EQ(type, "invalidResultReference");
  resolve(R"({"#ids":{"resultOf":"c0","name":"Email/query","path":"/ids"}})", &type);
  EXPECT_EQ(type, "invalidResultReference");
  resolve(R"({"ids":[],"#ids":{"resultOf":"c0","name":"Email/get","path":"/ids"}})", &type);
  EXPECT_EQ(type, "invalidArguments");
  resolve(R"({"#ids":"c0"})", &type);
  EXPECT_EQ(type, "invalidArguments");
  resolve(R"({"#ids":{"resultOf":"c0","name":"Email/get"}})", &type);
  EXPECT_EQ(type, "invalidArguments");
  // "##ids" would leave an argument "#ids" that reads as a reference again (found by
  // fuzz.jmap_request); "#" names no argument at all.
  resolve(R"({"##ids":{"resultOf":"c0","name":"Email/get","path":"/ids"}})", &type);
  EXPECT_EQ(type, "invalidArguments");
  resolve(R"({"#":{"resultOf":"c0","name":"Email/get","path":"/ids"}})", &type);
  EXPECT_EQ(type, "invalidArguments");
}

}  // namespace
}  // namespace mailroom::jmap
