// SCIM 2.0 through the router against a real local directory: the request sequences Entra ID
// and Okta send when provisioning, the hostile cases (each with its status and scimType),
// domain scope, pagination and attribute selection.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "auth/local/local_directory.h"
#include "src/api/context.h"
#include "src/api/scim/routes.h"
#include "src/core/services.h"
#include "src/service/journal.h"
#include "tests/fakes/fake_directory.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::api {
namespace {

namespace json = boost::json;

// Tokens: "global" (global admin), "example" (domain admin of example.com), "auditor" (reads
// everything); anything else is refused.
class ScimTestCallers : public CallerAuthenticator {
 public:
  AuthResult authenticate(const http::Request& request, std::string_view front_end) override {
    auto h = request.header("authorization");
    service::Caller c;
    c.front_end = std::string(front_end);
    service::Grant g;
    if (h == "Bearer global") {
      g.role = service::Role::global_admin;
    } else if (h == "Bearer example") {
      g.role = service::Role::domain_admin;
      g.domains = {"example.com"};
    } else if (h == "Bearer auditor") {
      g.role = service::Role::auditor;
    } else {
      auto r = http::Response::problem(401, "Unauthorized", "a bearer token is required");
      r.set_header("WWW-Authenticate", "Bearer");
      return r;
    }
    c.name = "token:" + h->substr(7);
    c.grants.push_back(g);
    return c;
  }
};

struct ScimReply {
  int status = 0;
  json::value body;
  http::Response raw;
  std::string scim_type() const {
    auto* o = body.if_object();
    auto* t = o ? o->if_contains("scimType") : nullptr;
    return t && t->is_string() ? std::string(t->get_string()) : std::string();
  }
  const json::object& obj() const { return body.as_object(); }
};

class ScimRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth::LocalDirectoryOptions o;
    o.path = tmp_.file("directory.db");
    auto d = auth::LocalDirectory::open(o);
    ASSERT_TRUE(d) << d.status().to_string();
    dir_ = *d;
    for (const char* name : {"example.com", "example.org"}) {
      auth::Domain dom;
      dom.name = name;
      ASSERT_TRUE(dir_->add_domain(dom));
    }
    services_.directory = dir_;
    ctx_->services = &services_;
    ctx_->callers = std::make_shared<ScimTestCallers>();
    ctx_->hostname = "mail.example.com";
    add_scim_routes(router_, ctx_);
  }

  ScimReply call(const std::string& method, const std::string& target, const std::string& body = {},
                 const std::string& token = "global",
                 std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request req;
    req.method = method;
    req.target = target;
    auto q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    req.headers = std::move(headers);
    req.headers.emplace_back("host", "mail.example.com");
    if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
    if (!body.empty()) req.headers.emplace_back("content-type", "application/scim+json");
    req.body = body;
    req.tls = true;
    auto m = router_.match(method, req.path);
    ScimReply out;
    if (!m.route) {
      out.status = m.allow.empty() ? 404 : 405;
      return out;
    }
    req.params = m.params;
    out.raw = m.route->handler(req);
    out.status = out.raw.status;
    if (!out.raw.body.empty()) {
      json::error_code ec;
      out.body = json::parse(out.raw.body, ec);
      EXPECT_FALSE(ec) << out.raw.body;
    }
    return out;
  }

  static std::string q(const std::string& filter) { return http::percent_encode(filter); }

  std::string create_user(const std::string& user, const std::string& token = "global") {
    auto r = call("POST", "/scim/v2/Users",
                  R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":")" +
                      user + R"("})",
                  token);
    EXPECT_EQ(r.status, 201) << r.raw.body;
    if (r.status != 201) return {};
    return std::string(r.obj().at("id").as_string());
  }

  mailroom::testing::TempDir tmp_;
  std::shared_ptr<auth::LocalDirectory> dir_;
  core::Services services_;
  std::shared_ptr<Context> ctx_ = std::make_shared<Context>();
  http::Router router_;
};

TEST_F(ScimRoutesTest, DiscoveryEndpoints) {
  auto r = call("GET", "/scim/v2/ServiceProviderConfig");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.raw.header("Content-Type"), "application/scim+json");
  EXPECT_EQ(r.obj().at("patch").at("supported"), json::value(true));
  EXPECT_EQ(r.obj().at("filter").at("maxResults"), json::value(1000));
  EXPECT_EQ(r.obj().at("bulk").at("supported"), json::value(false));
  r = call("GET", "/scim/v2/ResourceTypes");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.obj().at("totalResults"), json::value(2));
  r = call("GET", "/scim/v2/ResourceTypes/User");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.obj().at("endpoint"), json::value("/Users"));
  r = call("GET", "/scim/v2/Schemas");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.obj().at("totalResults"), json::value(3));
  r = call("GET",
           "/scim/v2/Schemas/" +
               http::percent_encode("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"));
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_NE(r.raw.body.find("employeeNumber"), std::string::npos);
  r = call("GET", "/scim/v2/Schemas/urn:nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.obj().at("status"), json::value("404"));
  // every route wants a token
  r = call("GET", "/scim/v2/ServiceProviderConfig", "", "");
  EXPECT_EQ(r.status, 401);
  r = call("GET", "/scim/v2/Users", "", "wrong");
  EXPECT_EQ(r.status, 401);
}

// The sequence Microsoft Entra ID's provisioning service sends (its SCIM validator's shapes).
TEST_F(ScimRoutesTest, EntraIdProvisioning) {
  const std::string token = "example";  // the enterprise app's token: one domain
  // Find before create.
  auto r =
      call("GET", "/scim/v2/Users?filter=" + q(R"(userName eq "alice@example.com")"), "", token);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.obj().at("totalResults"), json::value(0));
  EXPECT_EQ(r.obj().at("Resources").as_array().size(), 0u);

  r = call("POST", "/scim/v2/Users", R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Alice@example.com",
    "active": true,
    "displayName": "Alice Liddell",
    "emails": [{"primary": true, "type": "work", "value": "Alice@example.com"}],
    "name": {"formatted": "Alice Liddell", "familyName": "Liddell", "givenName": "Alice"},
    "title": "Explorer",
    "phoneNumbers": [{"type": "mobile", "value": "+44 1865 000"}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
      "employeeNumber": "1865", "department": "Wonderland"}
  })",
           token);
  ASSERT_EQ(r.status, 201) << r.raw.body;
  std::string alice = std::string(r.obj().at("id").as_string());
  EXPECT_EQ(r.raw.header("Location"), "https://mail.example.com/scim/v2/Users/" + alice);
  ASSERT_TRUE(r.raw.header("ETag"));
  EXPECT_EQ(*r.raw.header("ETag"), std::string(r.obj().at("meta").at("version").as_string()));
  auto acc = dir_->find_account_by_id(alice);
  ASSERT_TRUE(acc);
  EXPECT_EQ(acc->address, "alice@example.com");
  EXPECT_EQ(acc->login, "alice@example.com");
  EXPECT_EQ(acc->display_name, "Alice Liddell");
  EXPECT_EQ(acc->status, auth::AccountStatus::active);
  EXPECT_EQ(
      r.obj().at("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").at("department"),
      json::value("Wonderland"));

  // Found by userName in any case and by externalId (the indexed lookups).
  r = call("GET", "/scim/v2/Users?filter=" + q(R"(userName eq "ALICE@EXAMPLE.COM")"), "", token);
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.obj().at("totalResults"), json::value(1));
  EXPECT_EQ(r.obj().at("Resources").at(0).at("id"), json::value(alice));
  r = call("GET",
           "/scim/v2/Users?filter=" + q(R"(externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")"),
           "", token);
  ASSERT_EQ(r.obj().at("totalResults"), json::value(1));
  r = call("GET",
           "/scim/v2/Users?filter=" + q(R"(externalId eq "0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF")"),
           "", token);
  EXPECT_EQ(r.obj().at("totalResults"), json::value(0));  // externalId is caseExact

  std::string bob = create_user("bob@example.com", token);

  // Update attributes the way Entra ID writes them.
  r = call("PATCH", "/scim/v2/Users/" + alice,
           R"({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
      {"op": "Replace", "path": "displayName", "value": "Alice L."},
      {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alice.liddell@example.com"},
      {"op": "Add", "path": "name.givenName", "value": "Alicia"},
      {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": ")" +
               bob + R"("},
      {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "1866"}
    ]})",
           token);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  acc = dir_->find_account_by_id(alice);
  EXPECT_EQ(acc->display_name, "Alice L.");
  EXPECT_EQ(acc->address, "alice.liddell@example.com");
  EXPECT_EQ(acc->login, "alice@example.com");  // userName did not change
  auto& ext = r.obj().at("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
  EXPECT_EQ(ext.at("manager").at("value"), json::value(bob));
  EXPECT_EQ(ext.at("employeeNumber"), json::value("1866"));
  EXPECT_EQ(r.obj().at("name").at("givenName"), json::value("Alicia"));

  // Disable: active as the string "False".
  r = call("PATCH", "/scim/v2/Users/" + alice,
           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"Replace","path":"active","value":"False"}]})",
           token);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(dir_->find_account_by_id(alice)->status, auth::AccountStatus::disabled);
  EXPECT_EQ(r.obj().at("active"), json::value(false));

  // Groups: find, create by name (the app's one domain gives the address), members.
  r = call("GET",
           "/scim/v2/Groups?filter=" + q(R"(displayName eq "Sales Team")") +
               "&excludedAttributes=members",
           "", token);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.obj().at("totalResults"), json::value(0));
  r = call("POST", "/scim/v2/Groups",
           R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
               "externalId":"g-ext-1","displayName":"Sales Team","members":[]})",
           token);
  ASSERT_EQ(r.status, 201) << r.raw.body;
  std::string group = std::string(r.obj().at("id").as_string());
  EXPECT_EQ(group, "sales-team@example.com");
  r = call("PATCH", "/scim/v2/Groups/" + http::percent_encode(group),
           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"Add","path":"members","value":[{"value":")" +
               alice + R"("},{"value":")" + bob + R"("}]}]})",
           token);
  ASSERT_EQ(r.status, 204) << r.raw.body;
  auto g = dir_->find_group(group);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->members.size(), 2u);
  r = call("GET",
           "/scim/v2/Groups?filter=" +
               q(R"(id eq ")" + group + R"(" and members[value eq ")" + bob + R"("])"),
           "", token);
  EXPECT_EQ(r.obj().at("totalResults"), json::value(1)) << r.raw.body;
  r = call("PATCH", "/scim/v2/Groups/" + http::percent_encode(group),
           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"Remove","path":"members","value":[{"value":")" +
               alice + R"("}]}]})",
           token);
  ASSERT_EQ(r.status, 204) << r.raw.body;
  g = dir_->find_group(group);
  ASSERT_EQ(g->members.size(), 1u);
  EXPECT_EQ(g->members[0], "bob@example.com");
  r = call("GET", "/scim/v2/Groups?filter=" + q(R"(externalId eq "g-ext-1")"), "", token);
  EXPECT_EQ(r.obj().at("totalResults"), json::value(1));

  // Delete: 204, then 404 (with the SCIM error body).
  r = call("DELETE", "/scim/v2/Users/" + alice, "", token);
  EXPECT_EQ(r.status, 204);
  EXPECT_FALSE(dir_->find_account_by_id(alice));
  r = call("GET", "/scim/v2/Users/" + alice, "", token);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.obj().at("schemas").at(0),
            json::value("urn:ietf:params:scim:api:messages:2.0:Error"));
  // its overlay went with it: externalId no longer finds anything
  EXPECT_TRUE(dir_->find_scim_external_id("User", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")->empty());
  r = call("DELETE", "/scim/v2/Groups/" + http::percent_encode(group), "", token);
  EXPECT_EQ(r.status, 204);
  EXPECT_FALSE(dir_->find_group(group));
}

// The sequence Okta's SCIM 2.0 integration sends.
TEST_F(ScimRoutesTest, OktaProvisioning) {
  auto r = call("GET", "/scim/v2/Users?filter=" + q(R"(userName eq "carol@example.org")") +
                           "&startIndex=1&count=100");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.obj().at("totalResults"), json::value(0));
  r = call("POST", "/scim/v2/Users", R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "carol@example.org",
    "name": {"givenName": "Carol", "familyName": "Danvers"},
    "emails": [{"primary": true, "value": "carol@example.org", "type": "work"},
               {"value": "carol.private@gmail.example", "type": "home"}],
    "displayName": "Carol Danvers",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mH@ppy2BeHere",
    "active": true
  })");
  ASSERT_EQ(r.status, 201) << r.raw.body;
  std::string carol = std::string(r.obj().at("id").as_string());
  auto acc = dir_->find_account_by_id(carol);
  ASSERT_TRUE(acc);
  EXPECT_EQ(dir_->check_password(*acc, "1mH@ppy2BeHere"), auth::PasswordCheck::ok);
  EXPECT_TRUE(acc->other_addresses.empty());  // the private address is not a local domain
  EXPECT_EQ(r.obj().at("emails").as_array().size(), 2u);  // but it is kept and returned
  EXPECT_FALSE(r.obj().contains("password"));             // writeOnly: never returned

  r = call("GET", "/scim/v2/Users/" + carol);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.obj().at("locale"), json::value("en-US"));

  // Okta updates with PUT (the whole user)...
  r = call("PUT", "/scim/v2/Users/" + carol, R"({
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": ")" + carol + R"(",
    "userName": "carol@example.org",
    "name": {"givenName": "Carol", "familyName": "Marvel"},
    "emails": [{"primary": true, "value": "carol@example.org", "type": "work"},
               {"value": "captain@example.org", "type": "other"}],
    "displayName": "Captain Marvel",
    "active": true
  })");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  acc = dir_->find_account_by_id(carol);
  EXPECT_EQ(acc->display_name, "Captain Marvel");
  ASSERT_EQ(acc->other_addresses.size(), 1u);
  EXPECT_EQ(acc->other_addresses[0], "captain@example.org");
  EXPECT_FALSE(r.obj().contains("locale"));  // PUT replaced the attributes

  // ...and deactivates with a path-less PATCH.
  r = call("PATCH", "/scim/v2/Users/" + carol,
           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"replace","value":{"active":false}}]})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(dir_->find_account_by_id(carol)->status, auth::AccountStatus::disabled);

  // Password change through PATCH.
  r = call("PATCH", "/scim/v2/Users/" + carol,
           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"replace","value":{"password":"n3w-Secret!"}}]})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  acc = dir_->find_account_by_id(carol);
  EXPECT_EQ(dir_->check_password(*acc, "n3w-Secret!"), auth::PasswordCheck::ok);

  // Push groups: create with an address as the name (two domains exist), rename, members.
  r = call("POST", "/scim/v2/Groups",
           R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
               "displayName":"heroes@example.org","members":[{"value":")" +
               carol + R"("}]})");
  ASSERT_EQ(r.status, 201) << r.raw.body;
  std::string group = std::string(r.obj().at("id").as_string());
  EXPECT_EQ(r.obj().at("members").at(0).at("value"), json::value(carol));
  EXPECT_EQ(r.obj().at("members").at(0).at("type"), json::value("User"));
  r = call("PATCH", "/scim/v2/Groups/" + http::percent_encode(group),
           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"replace","value":{"id":")" +
               group + R"(","displayName":"Heroes"}}]})");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(dir_->find_group(group)->display_name, "Heroes");
  std::string dave = create_user("dave@example.org");
  r = call("PATCH", "/scim/v2/Groups/" + http::percent_encode(group),
           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"remove","path":"members[value eq \")" +
               carol + R"(\"]"},
                             {"op":"add","path":"members","value":[{"value":")" +
               dave + R"("}]}]})");
  ASSERT_EQ(r.status, 204) << r.raw.body;
  auto g = dir_->find_group(group);
  ASSERT_EQ(g->members.size(), 1u);
  EXPECT_EQ(g->members[0], "dave@example.org");

  r = call("DELETE", "/scim/v2/Users/" + carol);
  EXPECT_EQ(r.status, 204);
  r = call("DELETE", "/scim/v2/Groups/" + http::percent_encode(group));
  EXPECT_EQ(r.status, 204);
}

TEST_F(ScimRoutesTest, HostileRequestsGetTheRfcErrors) {
  std::string id = create_user("erin@example.com");
  const std::string user_body =
      R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"frank@example.com"})";
  struct Case {
    std::string method, target, body;
    int status;
    std::string scim_type;
  } cases[] = {
      {"POST", "/scim/v2/Users", R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],)",
       400, "invalidSyntax"},
      {"POST", "/scim/v2/Users", "[1,2]", 400, "invalidSyntax"},
      {"POST", "/scim/v2/Users", "", 400, "invalidSyntax"},
      {"POST", "/scim/v2/Users", R"({"userName":"frank@example.com"})", 400, "invalidSyntax"},
      {"POST", "/scim/v2/Users",
       R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"frank@example.com","shoeSize":44})",
       400, "invalidSyntax"},
      {"POST", "/scim/v2/Users",
       R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"frank@example.com","active":"perhaps"})",
       400, "invalidValue"},
      {"POST", "/scim/v2/Users", R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]})",
       400, "invalidValue"},
      {"POST", "/scim/v2/Users",
       R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"frank"})", 400,
       "invalidValue"},  // no address anywhere
      {"POST", "/scim/v2/Users",
       R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"frank@elsewhere.test"})",
       400, "invalidValue"},  // not a local domain
      {"POST", "/scim/v2/Users",
       R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ERIN@example.com"})",
       409, "uniqueness"},
      {"POST", "/scim/v2/Users",
       R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"erin2",
           "emails":[{"value":"erin@example.com","primary":true}]})",
       409, "uniqueness"},  // the address belongs to erin
      {"POST", "/scim/v2/Users", std::string(kMaxScimBody + 1, ' '), 413, ""},
      {"GET", "/scim/v2/Users?filter=" + q(R"(userName eq)"), "", 400, "invalidFilter"},
      {"GET", "/scim/v2/Users?filter=" + q(R"(userName zz "a")"), "", 400, "invalidFilter"},
      {"GET", "/scim/v2/Users?filter=" + q(std::string(5000, '(')), "", 400, "invalidFilter"},
      {"GET", "/scim/v2/Groups?filter=" + q(R"(members[value eq "x")"), "", 400, "invalidFilter"},
      {"GET", "/scim/v2/Users?count=ten", "", 400, "invalidValue"},
      {"GET", "/scim/v2/Users?sortOrder=sideways", "", 400, "invalidValue"},
      {"GET", "/scim/v2/Users?attributes=" + q("userName,$$$"), "", 400, "invalidValue"},
      {"GET", "/scim/v2/Users/no-such-id", "", 404, ""},
      {"GET", "/scim/v2/Groups/nobody@example.com", "", 404, ""},
      {"PUT", "/scim/v2/Users/no-such-id", user_body, 404, ""},
      {"PUT", "/scim/v2/Users/" + id, R"({"userName":"erin@example.com"})", 400, "invalidSyntax"},
      {"PATCH", "/scim/v2/Users/" + id,
       R"({"Operations":[{"op":"replace","path":"active","value":false}]})", 400, "invalidSyntax"},
      {"PATCH", "/scim/v2/Users/" + id,
       R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"id","value":"x"}]})",
       400, "mutability"},
      {"PATCH", "/scim/v2/Users/" + id,
       R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"shoeSize","value":1}]})",
       400, "invalidPath"},
      {"PATCH", "/scim/v2/Users/" + id,
       R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"emails[type eq \"fax\"]"}]})",
       400, "noTarget"},
      {"POST", "/scim/v2/Groups",
       R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Ops"})", 400,
       "invalidValue"},  // a name, and two domains: which one?
      {"POST", "/scim/v2/Groups",
       R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"ops@example.com","members":[{"value":"ghost"}]})",
       400, "invalidValue"},
  };
  for (const auto& c : cases) {
    auto r = call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " " << c.body.substr(0, 200)
                                  << " -> " << r.raw.body;
    EXPECT_EQ(r.scim_type(), c.scim_type) << c.method << " " << c.target << " -> " << r.raw.body;
    if (r.status >= 400) {
      ASSERT_TRUE(r.body.is_object()) << r.raw.body;
      EXPECT_EQ(r.obj().at("status"), json::value(std::to_string(c.status)));
      EXPECT_EQ(r.raw.header("Content-Type"), "application/scim+json");
    }
  }
  // Nothing of the refused creates was stored.
  EXPECT_EQ(*dir_->count_accounts(), 1u);
}

TEST_F(ScimRoutesTest, ETagsAndIfMatch) {
  std::string id = create_user("gina@example.com");
  auto r = call("GET", "/scim/v2/Users/" + id);
  ASSERT_EQ(r.status, 200);
  std::string etag = *r.raw.header("ETag");
  ASSERT_EQ(etag.rfind("W/\"", 0), 0u);
  r = call("GET", "/scim/v2/Users/" + id, "", "global", {{"if-none-match", etag}});
  EXPECT_EQ(r.status, 304);
  const std::string patch =
      R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
          "Operations":[{"op":"replace","path":"title","value":"Chief"}]})";
  r = call("PATCH", "/scim/v2/Users/" + id, patch, "global",
           {{"if-match", "W/\"0000000000000000\""}});
  EXPECT_EQ(r.status, 412);
  EXPECT_EQ(r.obj().at("status"), json::value("412"));
  r = call("PATCH", "/scim/v2/Users/" + id, patch, "global", {{"if-match", etag}});
  ASSERT_EQ(r.status, 200) << r.raw.body;
  std::string etag2 = *r.raw.header("ETag");
  EXPECT_NE(etag2, etag);
  // the old ETag no longer matches: PUT and DELETE are refused with it
  r = call("DELETE", "/scim/v2/Users/" + id, "", "global", {{"if-match", etag}});
  EXPECT_EQ(r.status, 412);
  EXPECT_TRUE(dir_->find_account_by_id(id));
  r = call("DELETE", "/scim/v2/Users/" + id, "", "global", {{"if-match", "*"}});
  EXPECT_EQ(r.status, 204);
}

TEST_F(ScimRoutesTest, DomainScope) {
  std::string in = create_user("hal@example.com");
  std::string out = create_user("ivy@example.org");
  // A domain admin sees only its domain: the other user is 404, not 403.
  auto r = call("GET", "/scim/v2/Users/" + out, "", "example");
  EXPECT_EQ(r.status, 404);
  r = call("DELETE", "/scim/v2/Users/" + out, "", "example");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(dir_->find_account_by_id(out));
  r = call("GET", "/scim/v2/Users?filter=" + q(R"(userName eq "ivy@example.org")"), "", "example");
  EXPECT_EQ(r.obj().at("totalResults"), json::value(0));
  r = call("GET", "/scim/v2/Users", "", "example");
  ASSERT_EQ(r.obj().at("totalResults"), json::value(1));
  EXPECT_EQ(r.obj().at("Resources").at(0).at("id"), json::value(in));
  r = call("GET", "/scim/v2/Users?filter=" + q(R"(userName co "i")"), "", "example");
  EXPECT_EQ(r.obj().at("totalResults"), json::value(0)) << r.raw.body;  // ivy is not visible
  // Creating in a domain it cannot write is 403.
  r = call(
      "POST", "/scim/v2/Users",
      R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"joe@example.org"})",
      "example");
  EXPECT_EQ(r.status, 403);
  // Moving its user into the other domain is 403 as well.
  r = call("PATCH", "/scim/v2/Users/" + in,
           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"hal@example.org"}]})",
           "example");
  EXPECT_EQ(r.status, 403) << r.raw.body;
  EXPECT_EQ(dir_->find_account_by_id(in)->address, "hal@example.com");
  // A group member from an invisible domain is unknown.
  r = call(
      "POST", "/scim/v2/Groups",
      R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"mixed@example.com",
               "members":[{"value":")" +
          out + R"("}]})",
      "example");
  EXPECT_EQ(r.status, 400);
  // An auditor reads everything and writes nothing.
  r = call("GET", "/scim/v2/Users/" + out, "", "auditor");
  EXPECT_EQ(r.status, 200);
  r = call("PATCH", "/scim/v2/Users/" + out,
           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"replace","path":"active","value":false}]})",
           "auditor");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(dir_->find_account_by_id(out)->status, auth::AccountStatus::active);
}

TEST_F(ScimRoutesTest, PaginationSortingAndAttributeSelection) {
  for (const char* u :
       {"u3@example.com", "u1@example.com", "u5@example.com", "u2@example.com", "u4@example.com"})
    create_user(u);
  auto r = call("GET", "/scim/v2/Users?sortBy=userName&startIndex=2&count=2");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.obj().at("totalResults"), json::value(5));
  EXPECT_EQ(r.obj().at("startIndex"), json::value(2));
  EXPECT_EQ(r.obj().at("itemsPerPage"), json::value(2));
  EXPECT_EQ(r.obj().at("Resources").at(0).at("userName"), json::value("u2@example.com"));
  EXPECT_EQ(r.obj().at("Resources").at(1).at("userName"), json::value("u3@example.com"));
  r = call("GET", "/scim/v2/Users?sortBy=userName&sortOrder=descending&count=1");
  EXPECT_EQ(r.obj().at("Resources").at(0).at("userName"), json::value("u5@example.com"));
  // count=0: only the total; past the end: an empty page
  r = call("GET", "/scim/v2/Users?count=0");
  EXPECT_EQ(r.obj().at("totalResults"), json::value(5));
  EXPECT_TRUE(r.obj().at("Resources").as_array().empty());
  r = call("GET", "/scim/v2/Users?startIndex=99");
  EXPECT_TRUE(r.obj().at("Resources").as_array().empty());
  // attributes: only those (plus id and schemas)
  r = call("GET", "/scim/v2/Users?filter=" + q(R"(userName eq "u1@example.com")") +
                      "&attributes=userName,emails.value");
  auto& u1 = r.obj().at("Resources").at(0).as_object();
  EXPECT_TRUE(u1.contains("id"));
  EXPECT_TRUE(u1.contains("userName"));
  EXPECT_FALSE(u1.contains("active"));
  EXPECT_FALSE(u1.contains("meta"));
  EXPECT_FALSE(u1.at("emails").at(0).as_object().contains("type"));
  r = call("GET", "/scim/v2/Users?excludedAttributes=emails,id&count=1");
  auto& any = r.obj().at("Resources").at(0).as_object();
  EXPECT_FALSE(any.contains("emails"));
  EXPECT_TRUE(any.contains("id"));  // returned "always"
  // the same search by POST /.search
  r = call("POST", "/scim/v2/Users/.search",
           R"j({"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
               "filter":"userName sw \"u\" and not (userName eq \"u3@example.com\")",
               "sortBy":"userName","startIndex":1,"count":10,"attributes":["userName"]})j");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(r.obj().at("totalResults"), json::value(4));
  EXPECT_EQ(r.obj().at("Resources").at(2).at("userName"), json::value("u4@example.com"));
}

// Members-only PATCHes (the fast path) behave as the general path: same errors, same result.
TEST_F(ScimRoutesTest, GroupMemberPatchFastPathMatchesTheGeneralPath) {
  std::string u1 = create_user("m1@example.com");
  std::string u2 = create_user("m2@example.com");
  auto r = call(
      "POST", "/scim/v2/Groups",
      R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"big@example.com"})");
  ASSERT_EQ(r.status, 201) << r.raw.body;
  const std::string path = "/scim/v2/Groups/big%40example.com";
  auto ops = [](const std::string& list) {
    return R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":)" + list +
           "}";
  };
  r = call("PATCH", path,
           ops(R"([{"op":"add","path":"members","value":[{"value":")" + u1 + R"("},{"value":")" +
               u2 + R"("},{"value":")" + u1 + R"("}]}])"));
  ASSERT_EQ(r.status, 204) << r.raw.body;
  EXPECT_EQ(dir_->find_group("big@example.com")->members.size(), 2u);
  // an unknown value is refused and nothing of the request is written
  r = call("PATCH", path,
           ops(R"([{"op":"remove","path":"members[value eq \")" + u1 +
               R"(\"]"},{"op":"add","path":"members","value":[{"value":"ghost"}]}])"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.scim_type(), "invalidValue");
  EXPECT_EQ(dir_->find_group("big@example.com")->members.size(), 2u);
  // removing a non-member (or a gone user) is no change
  r = call("PATCH", path, ops(R"([{"op":"remove","path":"members[value eq \"nobody\"]"}])"));
  EXPECT_EQ(r.status, 204);
  r = call("PATCH", path,
           ops(R"([{"op":"Remove","path":"members","value":[{"value":")" + u2 + R"("}]}])"));
  EXPECT_EQ(r.status, 204);
  auto g = dir_->find_group("big@example.com");
  ASSERT_EQ(g->members.size(), 1u);
  EXPECT_EQ(g->members[0], "m1@example.com");
  // unknown sub-attributes take the general path and its error
  r = call(
      "PATCH", path,
      ops(R"([{"op":"add","path":"members","value":[{"value":")" + u2 + R"(","colour":"red"}]}])"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.scim_type(), "invalidSyntax");
  // with If-Match: the general path, which checks the ETag
  r = call("PATCH", path,
           ops(R"([{"op":"add","path":"members","value":[{"value":")" + u2 + R"("}]}])"), "global",
           {{"if-match", "W/\"nope\""}});
  EXPECT_EQ(r.status, 412);
  // a domain admin of another domain does not see the group
  auto other = create_user("n1@example.org");
  r = call(
      "POST", "/scim/v2/Groups",
      R"({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"far@example.org"})");
  ASSERT_EQ(r.status, 201);
  r = call("PATCH", "/scim/v2/Groups/far%40example.org",
           ops(R"([{"op":"add","path":"members","value":[{"value":")" + other + R"("}]}])"),
           "example");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(dir_->find_group("far@example.org")->members.empty());
}

// Every SCIM write lands in the change journal with the caller and front end "scim".
TEST_F(ScimRoutesTest, WritesAreJournaled) {
  auto journal = std::make_shared<service::ChangeJournal>(tmp_.file("journal.db"));
  ctx_->journal = journal;
  std::string id = create_user("kim@example.com", "example");
  auto r = call("PATCH", "/scim/v2/Users/" + id,
                R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations":[{"op":"Replace","path":"active","value":"False"}]})",
                "example");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  r = call("DELETE", "/scim/v2/Users/" + id, "", "example");
  ASSERT_EQ(r.status, 204);
  service::JournalFilter f;
  f.front_end = "scim";
  auto records = journal->list(f);
  ASSERT_TRUE(records) << records.status().to_string();
  std::vector<std::string> ops;
  for (const auto& rec : *records) {
    ops.push_back(rec.operation);
    EXPECT_EQ(rec.who, "token:example");
    EXPECT_EQ(rec.object_id, id);
  }
  // newest first
  EXPECT_EQ(ops, (std::vector<std::string>{"user.remove", "user.change", "user.add"}));
  // a refused write leaves no record
  r = call("PATCH", "/scim/v2/Users/nobody",
           R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      "Operations":[{"op":"Replace","path":"active","value":false}]})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(journal->list(f)->size(), 3u);
}

TEST_F(ScimRoutesTest, AnotherDirectoryBackendIsRefusedClearly) {
  core::Services other;
  other.directory = std::make_shared<mailroom::testing::FakeDirectory>();
  auto ctx = std::make_shared<Context>();
  ctx->services = &other;
  ctx->callers = std::make_shared<ScimTestCallers>();
  http::Router router;
  add_scim_routes(router, ctx);
  http::Request req;
  req.method = "GET";
  req.path = req.target = "/scim/v2/Users";
  req.headers = {{"authorization", "Bearer global"}};
  auto m = router.match("GET", req.path);
  ASSERT_TRUE(m.route);
  auto resp = m.route->handler(req);
  EXPECT_EQ(resp.status, 501);
  EXPECT_NE(resp.body.find("source of truth"), std::string::npos);
  // discovery still answers
  req.path = req.target = "/scim/v2/ServiceProviderConfig";
  m = router.match("GET", req.path);
  EXPECT_EQ(m.route->handler(req).status, 200);
}

}  // namespace
}  // namespace mailroom::api
