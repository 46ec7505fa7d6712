// SCIM PATCH (RFC 7644 3.5.2) on JSON resources, with the forms Entra ID and Okta send.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "src/api/scim/patch.h"

namespace mailroom::api::scim {
namespace {

namespace json = boost::json;

constexpr const char* kScimTestEnterprise =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

json::object scim_patch_user() {
  return json::parse(R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "u1", "userName": "alice@example.com", "active": true,
    "name": {"givenName": "Alice", "familyName": "Liddell"},
    "emails": [{"value": "alice@example.com", "type": "work", "primary": true}]
  })")
      .as_object();
}

std::optional<ScimError> scim_patch(json::object& r, const std::string& ops,
                                    ResourceKind kind = ResourceKind::user) {
  std::string body =
      R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":)" + ops + "}";
  return apply_patch(kind, r, json::parse(body));
}

TEST(ScimPatch, EntraReplaceWithCapitalisedOpAndStringBoolean) {
  auto r = scim_patch_user();
  auto e = scim_patch(r, R"([{"op":"Replace","path":"active","value":"False"}])");
  ASSERT_FALSE(e) << e->detail;
  EXPECT_EQ(r["active"], json::value(false));
  e = scim_patch(r, R"([{"op":"replace","value":{"active":"True"}}])");
  ASSERT_FALSE(e) << e->detail;
  EXPECT_EQ(r["active"], json::value(true));
}

TEST(ScimPatch, EntraPathsSubAttributesAndValueFilters) {
  auto r = scim_patch_user();
  auto e = scim_patch(r, R"([
    {"op":"Replace","path":"name.givenName","value":"Alicia"},
    {"op":"Replace","path":"emails[type eq \"work\"].value","value":"alicia@example.com"},
    {"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+886 2 1234"},
    {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Wonder"},
    {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"boss-id"},
    {"op":"Add","value":{"title":"Queen","name.familyName":"Hargreaves"}}
  ])");
  ASSERT_FALSE(e) << e->scim_type << ": " << e->detail;
  EXPECT_EQ(r["name"].at("givenName"), json::value("Alicia"));
  EXPECT_EQ(r["name"].at("familyName"), json::value("Hargreaves"));
  EXPECT_EQ(r["emails"].at(0).at("value"), json::value("alicia@example.com"));
  EXPECT_EQ(r["emails"].at(0).at("primary"), json::value(true));
  EXPECT_EQ(r["phoneNumbers"].at(0).at("type"), json::value("mobile"));
  EXPECT_EQ(r["phoneNumbers"].at(0).at("value"), json::value("+886 2 1234"));
  EXPECT_EQ(r["title"], json::value("Queen"));
  auto& ext = r[kScimTestEnterprise].as_object();
  EXPECT_EQ(ext["department"], json::value("Wonder"));
  EXPECT_EQ(ext["manager"].at("value"), json::value("boss-id"));  // Entra sends a bare id
}

TEST(ScimPatch, ExtensionObjectWithoutPath) {
  auto r = scim_patch_user();
  auto e = scim_patch(r, R"([{"op":"add","value":{
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":701984}}}])");
  ASSERT_FALSE(e) << e->detail;
  EXPECT_EQ(r[kScimTestEnterprise].at("employeeNumber"), json::value("701984"));
  e = scim_patch(
      r,
      R"([{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}])");
  ASSERT_FALSE(e) << e->detail;
  EXPECT_FALSE(r[kScimTestEnterprise].as_object().contains("employeeNumber"));
}

TEST(ScimPatch, GroupMembersAddAndRemoveAllForms) {
  auto g = json::parse(R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "id":"g@example.com","displayName":"G",
                           "members":[{"value":"a"},{"value":"b"}]})")
               .as_object();
  auto e = scim_patch(g, R"([{"op":"Add","path":"members","value":[{"value":"c"},{"value":"a"}]}])",
                      ResourceKind::group);
  ASSERT_FALSE(e) << e->detail;
  EXPECT_EQ(g["members"].as_array().size(), 3u);  // "a" is not added twice
  e = scim_patch(g, R"([{"op":"remove","path":"members[value eq \"b\"]"}])", ResourceKind::group);
  ASSERT_FALSE(e) << e->detail;
  EXPECT_EQ(g["members"].as_array().size(), 2u);
  // Entra ID: remove with a value list.
  e = scim_patch(g, R"([{"op":"Remove","path":"members","value":[{"value":"a"}]}])",
                 ResourceKind::group);
  ASSERT_FALSE(e) << e->detail;
  ASSERT_EQ(g["members"].as_array().size(), 1u);
  EXPECT_EQ(g["members"].at(0).at("value"), json::value("c"));
  // Removing a member that is not there again is not an error (clients retry).
  e = scim_patch(g, R"([{"op":"remove","path":"members[value eq \"b\"]"}])", ResourceKind::group);
  EXPECT_FALSE(e);
  // Okta: replace the whole list.
  e = scim_patch(g, R"([{"op":"replace","path":"members","value":[{"value":"z"}]}])",
                 ResourceKind::group);
  ASSERT_FALSE(e);
  EXPECT_EQ(g["members"].as_array().size(), 1u);
  e = scim_patch(g, R"([{"op":"remove","path":"members"}])", ResourceKind::group);
  ASSERT_FALSE(e);
  EXPECT_FALSE(g.contains("members"));
}

TEST(ScimPatch, ErrorsCarryTheRfcScimType) {
  struct Case {
    const char* ops;
    int status;
    const char* scim_type;
  } cases[] = {
      {R"([{"op":"replace","path":"id","value":"x"}])", 400, "mutability"},
      {R"([{"op":"replace","path":"meta.version","value":"x"}])", 400, "mutability"},
      {R"([{"op":"add","path":"groups","value":[{"value":"g"}]}])", 400, "mutability"},
      {R"([{"op":"replace","path":"favouriteColour","value":"x"}])", 400, "invalidPath"},
      {R"([{"op":"replace","path":"name.middleInitial","value":"x"}])", 400, "invalidPath"},
      {R"([{"op":"replace","path":"emails[type eq ","value":"x"}])", 400, "invalidPath"},
      {R"([{"op":"replace","path":"userName[type eq \"x\"]","value":"x"}])", 400, "invalidPath"},
      {R"([{"op":"remove"}])", 400, "noTarget"},
      {R"([{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"x@y"}}])", 400,
       "noTarget"},
      {R"([{"op":"remove","path":"emails[type eq \"home\"]"}])", 400, "noTarget"},
      {R"([{"op":"replace","path":"active","value":"maybe"}])", 400, "invalidValue"},
      {R"([{"op":"replace","path":"userName","value":{"a":1}}])", 400, "invalidValue"},
      {R"([{"op":"add","path":"title"}])", 400, "invalidValue"},
      {R"([{"op":"add","value":"not an object"}])", 400, "invalidValue"},
      {R"([{"op":"add","value":{"emails":[{"value":"a@b","colour":"red"}]}}])", 400,
       "invalidSyntax"},
      {R"([{"op":"move","path":"title","value":"x"}])", 400, "invalidSyntax"},
      {R"([])", 400, "invalidSyntax"},
      {R"("nope")", 400, "invalidSyntax"},
  };
  for (const auto& c : cases) {
    auto r = scim_patch_user();
    auto e = scim_patch(r, c.ops);
    ASSERT_TRUE(e) << "accepted: " << c.ops;
    EXPECT_EQ(e->status, c.status) << c.ops;
    EXPECT_EQ(e->scim_type, c.scim_type) << c.ops << " -> " << e->detail;
  }
  // Not a PatchOp message at all.
  auto r = scim_patch_user();
  auto e = apply_patch(ResourceKind::user, r, json::parse(R"({"Operations":[]})"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->scim_type, "invalidSyntax");
}

TEST(ScimPatch, OnlyOneValueStaysPrimary) {
  auto r = scim_patch_user();
  auto e = scim_patch(r, R"([{"op":"add","path":"emails","value":[
    {"value":"a2@example.com","type":"other","primary":"True"}]}])");
  ASSERT_FALSE(e) << e->detail;
  auto& emails = r["emails"].as_array();
  ASSERT_EQ(emails.size(), 2u);
  EXPECT_FALSE(emails[0].as_object().contains("primary"));
  EXPECT_EQ(emails[1].at("primary"), json::value(true));
}

TEST(ScimPatch, NormalizeGivesCanonicalNames) {
  auto info = find_attribute(ResourceKind::user, "", "EMAILS");
  ASSERT_TRUE(info);
  json::value v = json::parse(R"([{"VALUE":"a@b","Primary":"true"}])");
  ASSERT_FALSE(normalize_attribute_value(ResourceKind::user, *info, v));
  EXPECT_EQ(v.at(0).at("value"), json::value("a@b"));
  EXPECT_EQ(v.at(0).at("primary"), json::value(true));
}

}  // namespace
}  // namespace mailroom::api::scim
