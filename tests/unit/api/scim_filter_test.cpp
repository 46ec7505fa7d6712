// SCIM filters (RFC 7644 3.4.2.2): the grammar on raw strings, precedence, evaluation with
// caseExact rules, and hostile input (depth, length, junk).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "src/api/scim/filter.h"

namespace mailroom::api::scim {
namespace {

namespace json = boost::json;

json::object scim_test_user() {
  return json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "externalId": "AbC-1",
    "userName": "Bjensen@Example.com",
    "displayName": "Babs Jensen",
    "active": true,
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
               {"value": "babs@jensen.org", "type": "home"}],
    "meta": {"lastModified": "2026-01-23T04:56:22Z", "resourceType": "User"},
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
      "employeeNumber": "701984", "department": "Tour Operations",
      "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
    "score": 42
  })")
      .as_object();
}

bool scim_test_match(const std::string& f) {
  auto parsed = parse_filter(f);
  EXPECT_TRUE(parsed) << f << ": " << parsed.status().to_string();
  if (!parsed) return false;
  return filter_matches(*parsed->root, scim_test_user());
}

TEST(ScimFilter, RfcExamplesMatchAsSpecified) {
  EXPECT_TRUE(scim_test_match(R"(userName eq "bjensen@example.com")"));  // caseExact false
  EXPECT_TRUE(scim_test_match(R"(name.familyName co "ens")"));
  EXPECT_TRUE(scim_test_match(R"(userName sw "bJ")"));
  EXPECT_TRUE(scim_test_match(R"(userName ew ".COM")"));
  EXPECT_TRUE(scim_test_match("title pr") == false);
  EXPECT_TRUE(scim_test_match("displayName pr"));
  EXPECT_TRUE(scim_test_match(R"(meta.lastModified gt "2026-01-01T00:00:00Z")"));
  EXPECT_FALSE(scim_test_match(R"(meta.lastModified lt "2026-01-01T00:00:00Z")"));
  EXPECT_TRUE(scim_test_match(R"(emails[type eq "work" and value co "@example.com"])"));
  EXPECT_FALSE(scim_test_match(R"(emails[type eq "home" and value co "@example.com"])"));
  EXPECT_TRUE(scim_test_match(R"(emails co "jensen.org")"));  // any value of a multi-valued
  EXPECT_TRUE(scim_test_match(R"(emails.type eq "home")"));
  EXPECT_TRUE(scim_test_match("active eq true"));
  EXPECT_FALSE(scim_test_match("active eq false"));
  EXPECT_TRUE(scim_test_match("score ge 42 and score lt 43"));
  EXPECT_TRUE(scim_test_match(
      R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984")"));
  EXPECT_TRUE(scim_test_match(
      R"(urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d")"));
  EXPECT_TRUE(scim_test_match(
      R"(urn:ietf:params:scim:schemas:core:2.0:User:userName eq "BJENSEN@example.com")"));
}

TEST(ScimFilter, CaseExactAttributesCompareExactly) {
  EXPECT_TRUE(scim_test_match(R"(externalId eq "AbC-1")"));
  EXPECT_FALSE(scim_test_match(R"(externalId eq "abc-1")"));
  EXPECT_FALSE(scim_test_match(R"(id eq "2819C223-7F76-453A-919D-413861904646")"));
}

TEST(ScimFilter, OperatorsKeywordsAndNamesAreCaseInsensitive) {
  EXPECT_TRUE(scim_test_match(R"(USERNAME EQ "bjensen@example.com" AND Active Eq TRUE)"));
  EXPECT_TRUE(scim_test_match(R"(NOT (userName eq "x") Or displayName eq "y")"));
  EXPECT_TRUE(scim_test_match(R"(EMAILS[TYPE EQ "WORK"])"));
}

TEST(ScimFilter, PrecedenceIsNotThenAndThenOr) {
  // "a or b and c" is "a or (b and c)": true or (false and false) = true.
  EXPECT_TRUE(scim_test_match(R"(active eq true or userName eq "x" and userName eq "y")"));
  // "(a or b) and c" with grouping: (true or false) and false = false.
  EXPECT_FALSE(scim_test_match(R"((active eq true or userName eq "x") and userName eq "y")"));
  // not binds tighter than and.
  EXPECT_FALSE(scim_test_match(R"(not (active eq true) and active eq true)"));
  EXPECT_TRUE(scim_test_match(R"(not(userName eq "x"))"));
}

TEST(ScimFilter, StringEscapesAreDecoded) {
  EXPECT_TRUE(scim_test_match(R"(displayName eq "Babs\u0020Jensen")"));
  EXPECT_FALSE(scim_test_match(R"(displayName eq "Babs \"Jensen\"")"));
}

TEST(ScimFilter, MissingAttributesMatchNothingButNot) {
  EXPECT_FALSE(scim_test_match(R"(nickName eq "x")"));
  EXPECT_FALSE(scim_test_match(R"(nickName ne "x")"));
  EXPECT_TRUE(scim_test_match(R"(not (nickName eq "x"))"));
}

TEST(ScimFilter, MalformedFiltersAreRefused) {
  const char* bad[] = {
      "",
      "userName",
      "userName eq",
      R"(userName xx "a")",
      R"(userName eq "unterminated)",
      R"(userName eq bare)",
      R"((userName eq "a")",
      R"(userName eq "a"))",
      R"(userName eq "a" and)",
      R"(userName eq "a" or or userName eq "b")",
      R"(emails[type eq "work")",
      R"(emails[type eq "work"]])",
      R"(emails[value[type eq "x"] pr])",  // value filters do not nest
      R"(name.givenName.x eq "a")",
      R"(1abc eq "a")",
      R"(active gt true)",  // RFC 7644: no ordering of booleans
      R"(userName co 5)",
      R"(userName gt null)",
      R"(not userName eq "a")",
      R"(userName eq "a" junk)",
      "userName eq \"a\x01\"",
  };
  for (const char* f : bad) {
    auto parsed = parse_filter(f);
    EXPECT_FALSE(parsed) << "accepted: " << f;
    if (!parsed) EXPECT_EQ(parsed.code(), core::Code::invalid_argument) << f;
  }
}

TEST(ScimFilter, DeepNestingIsRefusedNotACrash) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "(";
  EXPECT_FALSE(parse_filter(deep));  // too long, before any recursion
  std::string nested;
  for (int i = 0; i < kMaxFilterDepth + 1; ++i) nested += "not (";
  nested += R"(userName eq "a")";
  for (int i = 0; i < kMaxFilterDepth + 1; ++i) nested += ")";
  ASSERT_LE(nested.size(), kMaxFilterLength);
  auto parsed = parse_filter(nested);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.status().client_message().find("deep"), std::string::npos);
  // Just inside the limit parses and evaluates.
  std::string ok;
  for (int i = 0; i < kMaxFilterDepth / 2 - 1; ++i) ok += "not (";
  ok += R"(userName eq "a")";
  for (int i = 0; i < kMaxFilterDepth / 2 - 1; ++i) ok += ")";
  EXPECT_TRUE(parse_filter(ok)) << ok;
}

TEST(ScimFilter, LongFlatChainsParseWithinTheLengthLimit) {
  std::string chain = R"(userName eq "a")";
  while (chain.size() + 30 < kMaxFilterLength) chain += R"( or userName eq "a")";
  auto parsed = parse_filter(chain);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(filter_matches(*parsed->root, scim_test_user()));
  chain += std::string(kMaxFilterLength, ' ');
  EXPECT_FALSE(parse_filter(chain));
}

TEST(ScimFilter, EqualityKeysPickTheIndexOnlyForPlainEquality) {
  std::string attr, value;
  auto f = parse_filter(R"(userName eq "Alice@Example.com")");
  ASSERT_TRUE(f);
  EXPECT_TRUE(filter_equality_key(*f->root, {"username", "externalid"}, attr, value));
  EXPECT_EQ(attr, "username");
  EXPECT_EQ(value, "Alice@Example.com");
  f = parse_filter(R"(active eq true and externalId eq "x1")");
  ASSERT_TRUE(f);
  EXPECT_TRUE(filter_equality_key(*f->root, {"username", "externalid"}, attr, value));
  EXPECT_EQ(attr, "externalid");
  for (const char* no : {R"(userName ne "a")", R"(userName eq "a" or active eq true)",
                         R"(not (userName eq "a"))", R"(userName co "a")"}) {
    f = parse_filter(no);
    ASSERT_TRUE(f) << no;
    EXPECT_FALSE(filter_equality_key(*f->root, {"username", "externalid"}, attr, value)) << no;
  }
}

}  // namespace
}  // namespace mailroom::api::scim
