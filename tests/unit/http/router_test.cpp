#include <gtest/gtest.h>

#include "src/http/http.h"

namespace mailroom::http {
namespace {

Handler named(std::string name) {
  return [name](Request&) { return Response::text(200, name); };
}

std::string call(const Router& r, std::string_view method, std::string_view path,
                 std::vector<std::string>* params = nullptr) {
  auto m = r.match(method, path);
  if (m.bad_path) return "bad";
  if (!m.route) return m.allow.empty() ? "404" : "405:" + m.allow;
  Request req;
  req.params = m.params;
  if (params) *params = m.params;
  return m.route->handler(req).body;
}

TEST(HttpRouter, LiteralsCapturesAndMethods) {
  Router r;
  r.add("GET", "/api/v1/users", named("list"));
  r.add("POST", "/api/v1/users", named("add"));
  r.add("GET", "/api/v1/users/{user}", named("show"));
  r.add("DELETE", "/api/v1/users/{user}/app-passwords/{name}", named("revoke"));
  r.add("GET", "/files/{path...}", named("file"));
  std::vector<std::string> p;
  EXPECT_EQ(call(r, "GET", "/api/v1/users"), "list");
  EXPECT_EQ(call(r, "POST", "/api/v1/users"), "add");
  EXPECT_EQ(call(r, "HEAD", "/api/v1/users"), "list");  // HEAD is GET without the body
  EXPECT_EQ(call(r, "GET", "/api/v1/users/alice%40example.com", &p), "show");
  EXPECT_EQ(p, std::vector<std::string>{"alice@example.com"});
  EXPECT_EQ(call(r, "DELETE", "/api/v1/users/a/app-passwords/my%20phone", &p), "revoke");
  EXPECT_EQ(p, (std::vector<std::string>{"a", "my phone"}));
  EXPECT_EQ(call(r, "GET", "/files/a/b%2Fc", &p), "file");
  EXPECT_EQ(p, std::vector<std::string>{"a/b/c"});
  EXPECT_EQ(call(r, "GET", "/files"), "404");
  EXPECT_EQ(call(r, "PUT", "/api/v1/users"), "405:GET, POST, HEAD");
  EXPECT_EQ(call(r, "GET", "/api/v1/users/"), "404");  // an empty capture is no object
  EXPECT_EQ(call(r, "GET", "/api/v1/users/a/b"), "404");
  EXPECT_EQ(call(r, "GET", "/api/v1/users/%4"), "bad");
  EXPECT_EQ(call(r, "get", "/api/v1/users"), "405:GET, POST, HEAD");  // methods are case-sensitive
}

TEST(HttpRouter, FirstMatchWins) {
  Router r;
  r.add("GET", "/a/special", named("special"));
  r.add("GET", "/a/{x}", named("any"));
  EXPECT_EQ(call(r, "GET", "/a/special"), "special");
  EXPECT_EQ(call(r, "GET", "/a/other"), "any");
}

TEST(HttpQuery, DecodingAndRepeats) {
  Request q;
  q.query = "a=1&b=x+y&c=%C3%A9&a=2&bad=%zz&flag&=v";
  auto all = q.query_params();
  ASSERT_EQ(all.size(), 6u);  // the malformed pair is dropped
  EXPECT_EQ(q.query_param("a"), "1");
  EXPECT_EQ(q.query_param("b"), "x y");
  EXPECT_EQ(q.query_param("c"), "\xC3\xA9");
  EXPECT_EQ(q.query_param("flag"), "");
  EXPECT_FALSE(q.query_param("bad").has_value());
  EXPECT_FALSE(q.query_param("missing").has_value());
}

TEST(HttpResponse, ProblemDetailsEscapeAndHeaders) {
  auto r = Response::problem(400, "Bad Request", "bad \"x\"\n\x01");
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  EXPECT_EQ(r.body,
            "{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400,"
            "\"detail\":\"bad \\\"x\\\"\\n\\u0001\"}");
  r.set_header("Content-Type", "text/plain");
  EXPECT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(percent_encode("a b@c/d~"), "a%20b%40c%2Fd~");
  Request h;
  h.headers = {{"accept", "a"}, {"x", "1"}, {"accept", "b"}};
  EXPECT_EQ(h.header("accept"), "a, b");
  EXPECT_FALSE(h.header("Accept").has_value());  // names are stored lower-case
}

// RFC 7617 2: "Basic" in any case, base64 of user-id ":" password; the first ':' ends the
// user-id and the password keeps the rest, colons included.
TEST(HttpBasicCredentials, ParsesAndRefuses) {
  auto c = parse_basic_credentials("Basic YWxpY2U6czNjcjN0");  // alice:s3cr3t
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "s3cr3t");
  c = parse_basic_credentials("bAsIc   YTpiOmM= ");  // a:b:c, extra spaces
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "a");
  EXPECT_EQ(c->password, "b:c");
  c = parse_basic_credentials("Basic Og==");  // ":": empty user and password
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "");
  EXPECT_EQ(c->password, "");
  EXPECT_FALSE(parse_basic_credentials("Bearer YWxpY2U6czNjcjN0"));
  EXPECT_FALSE(parse_basic_credentials("Basically YWxpY2U6czNjcjN0"));
  EXPECT_FALSE(parse_basic_credentials("Basic"));
  EXPECT_FALSE(parse_basic_credentials("Basic YWxpY2U="));     // alice, no ':'
  EXPECT_FALSE(parse_basic_credentials("Basic not*base64!"));  // malformed
  EXPECT_FALSE(parse_basic_credentials(""));
}

}  // namespace
}  // namespace mailroom::http
