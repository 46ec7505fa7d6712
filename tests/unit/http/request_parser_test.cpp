#include "src/http/request_parser.h"

#include <gtest/gtest.h>

namespace mailroom::http {
namespace {

RequestHead head_of(std::initializer_list<std::string_view> fields, int minor = 1) {
  RequestHead h;
  h.method = "POST";
  h.version_minor = minor;
  for (auto f : fields) EXPECT_EQ(parse_field_line(f, h), 0) << f;
  return h;
}

TEST(HttpRequestLine, OriginAbsoluteAndAsteriskForms) {
  RequestHead h;
  ASSERT_EQ(parse_request_line("GET /a/b?x=1&y HTTP/1.1", h), 0);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.path, "/a/b");
  EXPECT_EQ(h.query, "x=1&y");
  RequestHead a;
  ASSERT_EQ(parse_request_line("GET https://mail.example.com/api?q HTTP/1.1", a), 0);
  EXPECT_EQ(a.path, "/api");
  EXPECT_EQ(a.query, "q");
  RequestHead s;
  EXPECT_EQ(parse_request_line("OPTIONS * HTTP/1.1", s), 0);
  EXPECT_EQ(parse_request_line("GET * HTTP/1.1", s), 400);
  RequestHead old;
  ASSERT_EQ(parse_request_line("GET / HTTP/1.0", old), 0);
  EXPECT_EQ(old.version_minor, 0);
}

TEST(HttpRequestLine, RefusesMalformedLines) {
  for (auto line :
       {"GET /", "GET  / HTTP/1.1", "GET / HTTP/1.1 ", "GET / http/1.1", "GET / HTTP/11",
        "G(T / HTTP/1.1", " GET / HTTP/1.1", "GET /a\"b HTTP/1.1", "GET ftp://x/ HTTP/1.1",
        "GET example.com:443 HTTP/1.1", "", "GET /\t HTTP/1.1"}) {
    RequestHead h;
    EXPECT_EQ(parse_request_line(line, h), 400) << line;
  }
  RequestHead h;
  EXPECT_EQ(parse_request_line("GET / HTTP/2.0", h), 505);
  EXPECT_EQ(parse_request_line("GET / HTTP/0.9", h), 505);
}

TEST(HttpFields, NamesLowerCasedValuesTrimmed) {
  RequestHead h;
  ASSERT_EQ(parse_field_line("Content-Type:  application/json \t", h), 0);
  ASSERT_EQ(parse_field_line("X-Empty:", h), 0);
  ASSERT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(h.headers[0].first, "content-type");
  EXPECT_EQ(h.headers[0].second, "application/json");
  EXPECT_EQ(h.headers[1].second, "");
}

TEST(HttpFields, RefusesWhatProxiesReadDifferently) {
  for (std::string_view line : std::initializer_list<std::string_view>{
           "Host : x", " folded", "\tfolded", "No-Colon", ": empty-name", "X\x01: y", "X: a\rb",
           std::string_view("X: a\0b", 6), "X: \x7f", "Bad Name: y"}) {
    RequestHead h;
    EXPECT_EQ(parse_field_line(line, h), 400) << line;
  }
}

TEST(HttpBody, LengthChunkedAndNone) {
  auto none = plan_body(head_of({"Host: x"}), 100);
  EXPECT_EQ(none.error, 0);
  EXPECT_EQ(none.kind, BodyPlan::Kind::none);
  auto len = plan_body(head_of({"Host: x", "Content-Length: 42"}), 100);
  EXPECT_EQ(len.kind, BodyPlan::Kind::length);
  EXPECT_EQ(len.length, 42u);
  // The same value twice (or as a list) is one length (RFC 9112 6.3).
  EXPECT_EQ(
      plan_body(head_of({"Host: x", "Content-Length: 7, 7", "Content-Length: 7"}), 100).length, 7u);
  auto chunked = plan_body(head_of({"Host: x", "Transfer-Encoding: Chunked"}), 100);
  EXPECT_EQ(chunked.error, 0);
  EXPECT_EQ(chunked.kind, BodyPlan::Kind::chunked);
}

TEST(HttpBody, SmugglingShapesAreErrors) {
  EXPECT_EQ(
      plan_body(head_of({"Host: x", "Content-Length: 3", "Transfer-Encoding: chunked"}), 100).error,
      400);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Content-Length: 3", "Content-Length: 4"}), 100).error,
            400);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Content-Length: 3, 4"}), 100).error, 400);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Content-Length: -1"}), 100).error, 400);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Content-Length: 0x10"}), 100).error, 400);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Content-Length: 99999999999999999999"}), 100).error,
            400);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Content-Length:"}), 100).error, 400);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Transfer-Encoding: chunked, chunked"}), 100).error, 501);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Transfer-Encoding: gzip, chunked"}), 100).error, 501);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Transfer-Encoding: chunked, gzip"}), 100).error, 400);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Transfer-Encoding: xchunked"}), 100).error, 400);
  // Transfer-Encoding in HTTP/1.0 is not to be trusted (RFC 9112 6.1).
  EXPECT_EQ(plan_body(head_of({"Transfer-Encoding: chunked"}, 0), 100).error, 400);
}

TEST(HttpBody, HostRulesLimitsAndPersistence) {
  EXPECT_EQ(plan_body(head_of({}), 100).error, 400);  // HTTP/1.1 needs Host
  EXPECT_EQ(plan_body(head_of({"Host: a", "Host: b"}), 100).error, 400);
  EXPECT_EQ(plan_body(head_of({}, 0), 100).error, 0);  // HTTP/1.0 may omit it
  EXPECT_FALSE(plan_body(head_of({}, 0), 100).keep_alive);
  EXPECT_TRUE(plan_body(head_of({"Connection: keep-alive"}, 0), 100).keep_alive);
  EXPECT_FALSE(plan_body(head_of({"Host: x", "Connection: foo, Close"}), 100).keep_alive);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Content-Length: 101"}), 100).error, 413);
  EXPECT_TRUE(plan_body(head_of({"Host: x", "Expect: 100-Continue"}), 100).expect_continue);
  EXPECT_EQ(plan_body(head_of({"Host: x", "Expect: something"}), 100).error, 417);
}

TEST(HttpChunks, SizeLines) {
  EXPECT_EQ(parse_chunk_size("0"), 0u);
  EXPECT_EQ(parse_chunk_size("1a"), 26u);
  EXPECT_EQ(parse_chunk_size("FF;name=value"), 255u);
  EXPECT_EQ(parse_chunk_size("10 ;x"), 16u);
  EXPECT_EQ(parse_chunk_size("ffffffffff"), 0xffffffffffu);
  for (auto bad : {"", " 1", "-1", "0x10", "g", "fffffffffff", "1;\x01", ";x"}) {
    EXPECT_FALSE(parse_chunk_size(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace mailroom::http
