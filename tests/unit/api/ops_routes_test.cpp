// GET /metrics, /healthz, /readyz (src/api/ops_routes.h): who may scrape, what the answers
// carry, and that readiness fails when the directory cannot tell or the store root takes no
// file.
#include "src/api/ops_routes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "src/core/metric_catalog.h"
#include "src/core/services.h"
#include "src/store/store_options.h"
#include "tests/fakes/fake_directory.h"
#include "tests/fakes/fake_store.h"

namespace mailroom::api {
namespace {

// Accepts "Bearer good" (an auditor), "Bearer members" (an auditor of a group's members),
// "Bearer bare" (a caller without any grant),
// "Bearer down" (the identity provider cannot answer); refuses anything else with 401.
class OpsFakeCallers : public CallerAuthenticator {
 public:
  AuthResult authenticate(const http::Request& request, std::string_view front_end) override {
    ++calls;
    last_front_end = std::string(front_end);
    auto h = request.header("authorization");
    if (h == "Bearer good") {
      service::Caller c;
      c.name = "token:prometheus";
      c.front_end = std::string(front_end);
      c.grants.push_back(service::Grant{service::Role::auditor, {}, "token:prometheus"});
      return c;
    }
    if (h == "Bearer members") {  // a group-scoped auditor
      service::Caller c;
      c.name = "token:sales-auditor";
      c.grants.push_back(
          service::Grant{service::Role::auditor, {}, "token:sales-auditor", "sales@example.com"});
      return c;
    }
    if (h == "Bearer bare") {
      service::Caller c;
      c.name = "token:nothing";
      return c;
    }
    if (h == "Bearer down") {
      return http::Response::problem(503, "Service Unavailable", "identity provider down");
    }
    auto r = http::Response::problem(401, "Unauthorized", "bad token");
    r.set_header("WWW-Authenticate", "Bearer");
    return r;
  }
  int calls = 0;
  std::string last_front_end;
};

class OpsTempDir {
 public:
  OpsTempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("mailroom-api-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~OpsTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

class OpsRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::make_shared<mailroom::testing::FakeDirectory>();
    directory_->add_domain("example.com");
    services_.directory = directory_;
    store::StoreOptions so;
    so.root = tmp_.path() + "/mail";
    std::filesystem::create_directories(so.root);
    services_.store = store::open_file_store(so);
    callers_ = std::make_shared<OpsFakeCallers>();
    ctx_.services = &services_;
    ctx_.callers = callers_;
    add_ops_routes(router_, ctx_);
  }

  // What the server would do: match, fill the captures, call the handler.
  http::Response call(const std::string& method, const std::string& path, bool loopback,
                      const std::string& authorization = "", bool* on_io_thread = nullptr,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto m = router_.match(method, path);
    EXPECT_TRUE(m.route) << method << " " << path;
    if (!m.route) return http::Response::text(404, "");
    if (on_io_thread) *on_io_thread = m.route->on_io_thread;
    http::Request req;
    req.method = method;
    req.target = path;
    req.path = path;
    req.params = m.params;
    req.headers = std::move(headers);
    req.loopback = loopback;
    req.remote_ip = loopback ? "127.0.0.1" : "192.0.2.7";
    if (!authorization.empty()) req.headers.emplace_back("authorization", authorization);
    return m.route->handler(req);
  }

  OpsTempDir tmp_;
  std::shared_ptr<mailroom::testing::FakeDirectory> directory_;
  core::Services services_;
  std::shared_ptr<OpsFakeCallers> callers_;
  Context ctx_;
  http::Router router_;
};

TEST_F(OpsRoutesTest, LoopbackScrapesWithoutCredentials) {
  metrics::messages_accepted("smtp").inc();
  bool io = true;
  auto r = call("GET", "/metrics", true, "", &io);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(io);  // authentication may block: the pool
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_NE(r.body.find("# TYPE mailroom_logins_total counter\n"), std::string::npos);
  EXPECT_NE(r.body.find("mailroom_smtp_messages_accepted_total{protocol=\"smtp\"} "),
            std::string::npos);
  EXPECT_EQ(callers_->calls, 0);
}

TEST_F(OpsRoutesTest, RemoteCallerMustAuthenticate) {
  auto none = call("GET", "/metrics", false);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.body.find("mailroom_"), std::string::npos);
  EXPECT_EQ(call("GET", "/metrics", false, "Bearer wrong").status, 401);
  // A proxy header naming loopback is not loopback: only the connection says so.
  auto spoof = call("GET", "/metrics", false, "", nullptr,
                    {{"x-forwarded-for", "127.0.0.1"}, {"forwarded", "for=127.0.0.1"}});
  EXPECT_EQ(spoof.status, 401);

  auto ok = call("GET", "/metrics", false, "Bearer good");
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.body.find("# TYPE mailroom_connections_open gauge"), std::string::npos);
  EXPECT_EQ(callers_->last_front_end, "api");

  auto bare = call("GET", "/metrics", false, "Bearer bare");
  EXPECT_EQ(bare.status, 403);
  EXPECT_EQ(bare.body.find("mailroom_"), std::string::npos);
  auto members = call("GET", "/metrics", false, "Bearer members");
  EXPECT_EQ(members.status, 403);
  EXPECT_EQ(members.body.find("mailroom_"), std::string::npos);

  auto down = call("GET", "/metrics", false, "Bearer down");
  EXPECT_EQ(down.status, 503);
}

TEST_F(OpsRoutesTest, WithoutCallerAuthenticatorOnlyLoopbackScrapes) {
  ctx_.callers = nullptr;
  auto r = call("GET", "/metrics", false, "Bearer good");
  EXPECT_EQ(r.status, 401);
  EXPECT_TRUE(r.header("www-authenticate").has_value());
  EXPECT_EQ(call("GET", "/metrics", true).status, 200);
}

TEST_F(OpsRoutesTest, MethodsAndHead) {
  EXPECT_TRUE(router_.match("HEAD", "/metrics").route);
  auto post = router_.match("POST", "/metrics");
  EXPECT_FALSE(post.route);
  EXPECT_NE(post.allow.find("GET"), std::string::npos);
  EXPECT_FALSE(router_.match("GET", "/metrics/extra").route);
}

TEST_F(OpsRoutesTest, HealthzAnswersOnTheIoThread) {
  bool io = false;
  directory_->fail_all = true;  // liveness ignores the directory
  auto r = call("GET", "/healthz", false, "", &io);
  EXPECT_TRUE(io);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(OpsRoutesTest, ReadyWhenDirectoryAnswersAndStoreIsWritable) {
  bool io = true;
  auto r = call("GET", "/readyz", false, "", &io);
  EXPECT_FALSE(io);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"status":"ready","checks":{"directory":"ok","store":"ok"}})");
  // The probe file is gone again.
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.path() + "/mail"));
}

TEST_F(OpsRoutesTest, NotReadyWhenDirectoryCannotTell) {
  directory_->fail_all = true;
  auto r = call("GET", "/readyz", false);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find(R"("status":"not_ready")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("directory":"directory unavailable)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("store":"ok")"), std::string::npos) << r.body;
  EXPECT_TRUE(r.header("retry-after").has_value());
  // An unknown domain is an answer, not a failure: the probe name is not one of ours.
  directory_->fail_all = false;
  EXPECT_EQ(call("GET", "/readyz", false).status, 200);
}

TEST_F(OpsRoutesTest, NotReadyWhenStoreRootTakesNoFile) {
  // Root may write anywhere, so the root is made to vanish rather than lose its mode bits.
  std::filesystem::remove_all(tmp_.path() + "/mail");
  auto r = call("GET", "/readyz", false);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find(R"("store":"store root not writable: )"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("directory":"ok")"), std::string::npos) << r.body;
  // A file where the root should be.
  {
    std::FILE* f = std::fopen((tmp_.path() + "/mail").c_str(), "w");
    std::fclose(f);
  }
  EXPECT_EQ(call("GET", "/readyz", false).status, 503);
}

TEST_F(OpsRoutesTest, NotReadyWithoutServices) {
  ctx_.services = nullptr;
  auto r = call("GET", "/readyz", true);
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("no directory configured"), std::string::npos);
}

TEST_F(OpsRoutesTest, OtherStoresHaveNothingOnDiskToCheck) {
  services_.store = std::make_shared<mailroom::testing::FakeStore>();
  EXPECT_EQ(ops_check_store(ctx_), "");
}

}  // namespace
}  // namespace mailroom::api
