// The admin API's scope rules, exhaustively: every route of the table × every role × an object
// inside / outside the caller's domains (and server-wide objects), through the real router,
// wrapper and handlers on a real local directory. The expectation is written here from the
// issue's role definitions, independently of service::Caller's implementation:
//   refused with 404 "no such object"  the object is in a domain the caller does not see
//   refused with 403                   the caller sees it but the role lacks the action
//   anything else                      the wrapper let the handler run
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "auth/local/local_directory.h"
#include "auth/resolver.h"
#include "src/api/admin_routes.h"
#include "src/core/services.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::api {
namespace {

using service::Action;
using service::Role;

struct FixedCaller : CallerAuthenticator {
  service::Caller caller;
  AuthResult authenticate(const http::Request&, std::string_view) override { return caller; }
};

// What each role may do inside its domains (issue 17's list).
const std::map<Role, std::set<Action>>& role_actions() {
  static const std::map<Role, std::set<Action>> m = {
      {Role::global_admin,
       {Action::read, Action::audit, Action::write, Action::reset_password, Action::unlock,
        Action::kick_session, Action::recall, Action::manage_domains, Action::manage_server}},
      {Role::domain_admin,
       {Action::read, Action::audit, Action::write, Action::reset_password, Action::unlock,
        Action::kick_session, Action::recall}},
      {Role::helpdesk,
       {Action::read, Action::reset_password, Action::unlock, Action::kick_session}},
      {Role::auditor, {Action::read, Action::audit}},
  };
  return m;
}

struct Persona {
  std::string name;
  Role role;
  std::vector<std::string> domains;  // empty: every domain
};

const std::vector<Persona>& personas() {
  static const std::vector<Persona> p = {
      {"global_admin", Role::global_admin, {}},
      {"domain_admin(a)", Role::domain_admin, {"a.example"}},
      {"helpdesk(a)", Role::helpdesk, {"a.example"}},
      {"helpdesk(all)", Role::helpdesk, {}},
      {"auditor(a)", Role::auditor, {"a.example"}},
      {"auditor(all)", Role::auditor, {}},
  };
  return p;
}

enum class Verdict { passed, not_found, forbidden };

const char* verdict_name(Verdict v) {
  return v == Verdict::passed ? "passed" : v == Verdict::not_found ? "404" : "403";
}

Verdict expected(const Persona& p, const AdminRouteSpec& spec, const std::string& domain) {
  bool sees = domain.empty() ? p.role == Role::global_admin
                             : p.domains.empty() || std::find(p.domains.begin(), p.domains.end(),
                                                              domain) != p.domains.end();
  if (!sees) return Verdict::not_found;
  return role_actions().at(p.role).count(spec.action) ? Verdict::passed : Verdict::forbidden;
}

class AdminMatrix : public ::testing::Test {
 protected:
  void SetUp() override { fresh(); }

  // A new data directory and directory with two domains, each with an account, an alias and
  // a group.
  void fresh() {
    tmp_ = std::make_unique<mailroom::testing::TempDir>();
    root_ = tmp_->file("data");
    std::filesystem::create_directories(root_ + "/run");
    auth::LocalDirectoryOptions o;
    o.path = root_ + "/directory.db";
    auto d = auth::LocalDirectory::open(o);
    ASSERT_TRUE(d) << d.status().to_string();
    dir_ = *d;
    for (const char* name : {"a.example", "b.example"}) {
      auth::Domain dom;
      dom.name = name;
      ASSERT_TRUE(dir_->add_domain(dom));
      std::string n = name;
      auth::Account acc;
      acc.address = "user@" + n;
      acc.login = acc.address;
      acc.password_hash = "{PLAIN}x";
      ASSERT_TRUE(dir_->add_account(acc));
      auth::Alias alias;
      alias.address = "alias@" + n;
      alias.targets = {"user@" + n};
      ASSERT_TRUE(dir_->add_alias(alias));
      auth::Group g;
      g.address = "group@" + n;
      g.members = {"user@" + n};
      ASSERT_TRUE(dir_->add_group(g));
    }
    services_ = core::Services{};
    services_.data_dir = root_;
    services_.mail_root = root_ + "/mail";
    services_.directory = dir_;
    services_.resolver =
        std::make_shared<auth::Resolver>(services_.directory, auth::ResolverOptions{});
    ctx_ = std::make_shared<Context>();
    ctx_->services = &services_;
    callers_ = std::make_shared<FixedCaller>();
    ctx_->callers = callers_;
    ctx_->config_path = root_ + "/none.toml";
    router_ = std::make_shared<http::Router>();
    add_admin_routes(*router_, ctx_);
  }

  // The request for a route with its object in `domain` ("" for server-wide routes).
  http::Request request_for(const AdminRouteSpec& spec, const std::string& domain) {
    http::Request r;
    r.method = spec.method;
    std::string path = spec.pattern;
    auto replace = [&](const std::string& name, const std::string& value) {
      auto at = path.find("{" + name + "}");
      if (at != std::string::npos) path.replace(at, name.size() + 2, http::percent_encode(value));
    };
    replace("domain", domain);
    replace("user", "user@" + domain);
    replace("address",
            std::string(path.find("/groups/") != std::string::npos ? "group@" : "alias@") + domain);
    replace("name", "phone");
    replace("member", "user@" + domain);
    replace("action", "flush");
    replace("kind", "ip");
    replace("list", "blocklist");
    replace("entry", "spam.example");
    replace("value", "192.0.2.1");
    r.path = path;
    r.headers.emplace_back("content-type", "application/json");
    if (spec.scope == ObjectScope::body) {
      // The body names the new object's domain (each resource its own members).
      std::string extra = path.ends_with("/users")     ? ",\"password_hash\":\"{PLAIN}x\""
                          : path.ends_with("/aliases") ? ",\"targets\":[\"user@" + domain + "\"]"
                                                       : "";
      r.body = "{\"address\":\"new@" + domain + "\"" + extra + "}";
    } else if (spec.scope == ObjectScope::listing) {
      r.query = "domain=" + domain;
    } else {
      r.body = "{}";
    }
    return r;
  }

  Verdict run(const Persona& p, const AdminRouteSpec& spec, const std::string& domain,
              int* status) {
    callers_->caller = service::Caller{p.name, "api", {service::Grant{p.role, p.domains, "test"}}};
    auto req = request_for(spec, domain);
    auto m = router_->match(req.method, req.path);
    EXPECT_TRUE(m.route) << spec.method << " " << req.path;
    if (!m.route) return Verdict::passed;
    req.params = m.params;
    auto resp = m.route->handler(req);
    *status = resp.status;
    if (resp.status == 404 && resp.body.find("no such object") != std::string::npos) {
      return Verdict::not_found;
    }
    if (resp.status == 403 && resp.body.find("your role does not allow") != std::string::npos) {
      return Verdict::forbidden;
    }
    return Verdict::passed;
  }

  std::unique_ptr<mailroom::testing::TempDir> tmp_;
  std::string root_;
  std::shared_ptr<auth::LocalDirectory> dir_;
  core::Services services_;
  std::shared_ptr<Context> ctx_;
  std::shared_ptr<FixedCaller> callers_;
  std::shared_ptr<http::Router> router_;
};

// The OpenAPI document names every admin route with its method and action, and the
// self-recall operation with its own Basic scheme and body.
TEST(OpenApi, EveryRouteAndSelfRecall) {
  auto doc = boost::json::parse(openapi_document("https://mail.example.com")).as_object();
  EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
  const auto& paths = doc.at("paths").as_object();
  for (const auto& spec : admin_route_specs()) {
    std::string method = spec.method;
    for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_TRUE(paths.contains(spec.pattern)) << spec.pattern;
    ASSERT_TRUE(paths.at(spec.pattern).as_object().contains(method))
        << spec.method << " " << spec.pattern;
  }
  ASSERT_TRUE(paths.contains("/api/v1/self/recall"));
  const auto& op = paths.at("/api/v1/self/recall").at("post").as_object();
  EXPECT_EQ(op.at("security").as_array().at(0).as_object().count("basic"), 1u);
  const auto& schema =
      op.at("requestBody").at("content").at("application/json").at("schema").as_object();
  EXPECT_EQ(schema.at("required").as_array().at(0).as_string(), "message_id");
  const auto& schemes = doc.at("components").at("securitySchemes").as_object();
  EXPECT_EQ(schemes.at("basic").at("scheme").as_string(), "basic");
  EXPECT_EQ(schemes.at("bearer").at("scheme").as_string(), "bearer");
}

TEST_F(AdminMatrix, EveryRouteEveryRoleInAndOutOfScope) {
  int checked = 0;
  for (const auto& spec : admin_route_specs()) {
    std::vector<std::string> domains;
    if (spec.scope == ObjectScope::server) {
      domains = {""};
    } else {
      domains = {"a.example", "b.example"};
    }
    for (const auto& p : personas()) {
      for (const auto& d : domains) {
        // Destructive handlers change the fixture; each case gets a fresh one.
        fresh();
        int status = 0;
        Verdict got = run(p, spec, d, &status);
        Verdict want = expected(p, spec, d);
        EXPECT_EQ(verdict_name(got), std::string(verdict_name(want)))
            << p.name << " " << spec.method << " " << spec.pattern << " in '" << d << "' answered "
            << status;
        ++checked;
      }
    }
  }
  // 42 routes; a change to the table shows here.
  EXPECT_GE(checked, 400);
}

TEST_F(AdminMatrix, ListingsShowOnlyTheCallersDomains) {
  callers_->caller =
      service::Caller{"d", "api", {service::Grant{Role::domain_admin, {"a.example"}, "t"}}};
  for (const char* path :
       {"/api/v1/users", "/api/v1/aliases", "/api/v1/groups", "/api/v1/domains"}) {
    http::Request req;
    req.method = "GET";
    req.path = path;
    auto m = router_->match("GET", path);
    ASSERT_TRUE(m.route);
    auto resp = m.route->handler(req);
    ASSERT_EQ(resp.status, 200) << path << resp.body;
    EXPECT_NE(resp.body.find("a.example"), std::string::npos) << path;
    EXPECT_EQ(resp.body.find("b.example"), std::string::npos) << path << ": " << resp.body;
  }
}

TEST_F(AdminMatrix, ADomainAdminCannotMoveAnAccountOutOfItsDomains) {
  callers_->caller =
      service::Caller{"d", "api", {service::Grant{Role::domain_admin, {"a.example"}, "t"}}};
  http::Request req;
  req.method = "PATCH";
  req.path = "/api/v1/users/user%40a.example";
  req.headers.emplace_back("content-type", "application/json");
  for (std::string body :
       {R"({"primary_address":"user2@b.example"})", R"({"add_addresses":["x@b.example"]})"}) {
    req.body = body;
    auto m = router_->match("PATCH", req.path);
    req.params = m.params;
    auto resp = m.route->handler(req);
    EXPECT_EQ(resp.status, 404) << body;
  }
  auto acc = dir_->find_account_by_address("user@a.example");
  ASSERT_TRUE(acc);
  EXPECT_TRUE(acc->other_addresses.empty());
  // Creating an account in another domain, or with a secondary address there, is refused too.
  req.method = "POST";
  req.path = "/api/v1/users";
  req.body =
      R"({"address":"n@a.example","password_hash":"{PLAIN}x","other_addresses":["n@b.example"]})";
  auto m = router_->match("POST", req.path);
  req.params = m.params;
  EXPECT_EQ(m.route->handler(req).status, 404);
  EXPECT_FALSE(dir_->find_account_by_address("n@a.example"));
}

// A grant limited to a group's members (issue 18) is no domain grant: every object of every
// route is out of its sight (404), and a listing lets it in only to find nothing.
TEST_F(AdminMatrix, AMemberScopedAuditorSeesNoDomainObject) {
  const service::Caller officer{
      "officer", "api", {service::Grant{Role::auditor, {"a.example"}, "t", "group@a.example"}}};
  int checked = 0;
  for (const auto& spec : admin_route_specs()) {
    std::vector<std::string> domains = {""};
    if (spec.scope != ObjectScope::server) domains = {"a.example", "b.example"};
    for (const auto& d : domains) {
      fresh();
      callers_->caller = officer;
      auto req = request_for(spec, d);
      auto m = router_->match(req.method, req.path);
      ASSERT_TRUE(m.route) << spec.method << " " << req.path;
      req.params = m.params;
      auto resp = m.route->handler(req);
      EXPECT_EQ(resp.status, 404) << spec.method << " " << spec.pattern << " in '" << d
                                  << "': " << resp.body;
      ++checked;
    }
  }
  EXPECT_GE(checked, 80);

  // Listings without ?domain=: audit and read pass the wrapper (the recall service narrows
  // them to the members' mail), and the directory listings show nothing.
  fresh();
  callers_->caller = officer;
  for (const char* path : {"/api/v1/users", "/api/v1/aliases", "/api/v1/groups", "/api/v1/domains",
                           "/api/v1/conflicts", "/api/v1/sessions", "/api/v1/journal"}) {
    http::Request req;
    req.method = "GET";
    req.path = path;
    auto m = router_->match("GET", path);
    ASSERT_TRUE(m.route) << path;
    auto resp = m.route->handler(req);
    EXPECT_EQ(resp.status, 200) << path << resp.body;
    EXPECT_EQ(resp.body.find("a.example"), std::string::npos) << path << ": " << resp.body;
    EXPECT_EQ(resp.body.find("b.example"), std::string::npos) << path << ": " << resp.body;
  }
  // An action its role lacks is refused before any handler runs.
  http::Request req;
  req.method = "POST";
  req.path = "/api/v1/recalls";
  req.headers.emplace_back("content-type", "application/json");
  req.body = "{}";
  auto m = router_->match("POST", req.path);
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->handler(req).status, 403);
}

}  // namespace
}  // namespace mailroom::api
