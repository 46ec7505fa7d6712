// A JMAP server on a FileStore in a temp directory and the fake authenticator (alice /
// wonderland, account "id-alice"), driven through the real routes.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "auth/resolver.h"
#include "src/core/base64.h"
#include "src/core/services.h"
#include "src/jmap/jmap.h"
#include "src/mime/facts.h"
#include "src/store/mail_store.h"
#include "src/store/store_options.h"
#include "tests/fakes/fake_authenticator.h"
#include "tests/fakes/fake_directory.h"
#include "tests/fakes/fake_queue.h"

namespace mailroom::jmap::testing {

namespace json = boost::json;

inline constexpr const char* kAlice = "id-alice";
inline constexpr const char* kMailCaps =
    R"(["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail"])";
inline constexpr const char* kSubmissionCaps =
    R"(["urn:ietf:params:jmap:core","urn:ietf:params:jmap:mail","urn:ietf:params:jmap:submission"])";

class JmapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mailroom-jmap-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir_ = tmpl;
    store::StoreOptions o;
    o.root = dir_ + "/mail";
    o.fsync = false;
    o.facts = [](std::string_view m) { return mime::extract_facts(m); };
    services_.store = std::shared_ptr<store::MailStore>(store::open_file_store(o));
    services_.data_dir = dir_;
    services_.mail_root = o.root;
    // The directory behind send-as (Identity, EmailSubmission): alice's account as the fake
    // authenticator names it, an alias to her, and bob.
    directory_->add_domain("example.com");
    auto& alice = directory_->add_account("alice@example.com", "", kAlice);
    alice.display_name = "Alice Liddell";
    alice.other_addresses = {"a.liddell@example.com"};
    directory_->add_account("bob@example.com", "", "id-bob");
    directory_->add_alias("sales@example.com", {"alice@example.com"});
    services_.directory = directory_;
    services_.resolver = std::make_shared<auth::Resolver>(directory_, auth::ResolverOptions{});
    services_.queue = queue_;
    auto a = std::make_shared<mailroom::testing::FakeAuthenticator>();
    a->plaintext_needs_tls = false;
    services_.authenticator = a;
    options_.max_objects_in_get = 50;
    options_.max_calls_in_request = 8;
    options_.max_objects_in_set = 5;
    add_routes(router_, services_, options_);
  }
  void TearDown() override {
    services_.store.reset();
    std::filesystem::remove_all(dir_);
  }

  http::Response send(const std::string& method, const std::string& target, std::string body = "",
                      std::optional<std::string> credentials = "alice:wonderland",
                      std::string content_type = "application/json") {
    http::Request r;
    r.method = method;
    r.target = target;
    auto q = target.find('?');
    r.path = target.substr(0, q);
    r.query = q == std::string::npos ? "" : target.substr(q + 1);
    r.body = std::move(body);
    r.remote_ip = "127.0.0.1";
    r.loopback = true;
    r.headers.emplace_back("host", "mail.example.com");
    if (!content_type.empty()) r.headers.emplace_back("content-type", content_type);
    if (credentials)
      r.headers.emplace_back("authorization", "Basic " + core::base64_encode(*credentials));
    auto m = router_.match(r.method, r.path);
    if (!m.route) return http::Response::problem(m.allow.empty() ? 404 : 405, "no route", "");
    r.params = m.params;
    return m.route->handler(r);
  }

  // POSTs {using, methodCalls} and returns the methodResponses.
  json::array call(const std::string& method_calls, const char* using_caps = kMailCaps) {
    auto r =
        send("POST", "/jmap/api",
             std::string("{\"using\":") + using_caps + ",\"methodCalls\":" + method_calls + "}");
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return {};
    return json::parse(r.body).as_object().at("methodResponses").as_array();
  }
  // One call's response arguments (expects that method name back).
  json::object call1(const std::string& name, const std::string& args) {
    auto res = call("[[\"" + name + "\"," + args + ",\"c\"]]");
    EXPECT_EQ(res.size(), 1u);
    if (res.empty()) return {};
    EXPECT_EQ(res[0].as_array()[0].as_string(), name) << json::serialize(res[0]);
    return res[0].as_array()[1].as_object();
  }
  // The error type of a single failing call.
  std::string call_error(const std::string& name, const std::string& args) {
    auto res = call("[[\"" + name + "\"," + args + ",\"c\"]]");
    if (res.empty() || res[0].as_array()[0].as_string() != "error") return "(no error)";
    return std::string(res[0].as_array()[1].as_object().at("type").as_string());
  }
  std::string acc() const { return std::string("\"accountId\":\"") + kAlice + "\""; }

  store::AppendResult put(const std::string& mailbox, const std::string& message,
                          uint32_t flags = 0, int64_t date = 0) {
    store::AppendRequest r;
    r.mailbox = mailbox;
    r.message = message;
    r.flags = flags;
    r.internal_date = date;
    auto res = services_.store->append(kAlice, r);
    EXPECT_TRUE(res.is_ok()) << res.status().to_string();
    return res.is_ok() ? *res : store::AppendResult{};
  }
  // The JMAP id of a store mailbox.
  std::string mailbox_id(const std::string& name) {
    auto st = services_.store->mailbox_status(kAlice, name);
    EXPECT_TRUE(st.is_ok());
    return st.is_ok() ? "F" + st->object_id : "";
  }

  std::string dir_;
  std::shared_ptr<mailroom::testing::FakeDirectory> directory_ =
      std::make_shared<mailroom::testing::FakeDirectory>();
  std::shared_ptr<mailroom::testing::FakeQueue> queue_ =
      std::make_shared<mailroom::testing::FakeQueue>();
  core::Services services_;
  Options options_;
  http::Router router_;
};

}  // namespace mailroom::jmap::testing
