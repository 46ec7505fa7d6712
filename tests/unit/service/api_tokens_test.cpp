// service::ApiTokenStore on a real admin.db in a temp directory, with a manual clock: the
// token's shape, what verify() accepts and refuses (wrong secret, malformed, expired,
// revoked), last-use dating, names, lifetimes, grants (with a member scope: members_of), the
// file's mode and schema version, and the migration of a file written before member scopes.
#include "src/service/api_tokens.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "auth/resolver.h"
#include "src/db/sqlite.h"
#include "src/service/admin_store.h"
#include "tests/fakes/fake_directory.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::service {
namespace {

using std::chrono::seconds;

class ApiTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = AdminStore::open({tmp_.file("admin.db")});
    ASSERT_TRUE(db) << db.status().to_string();
    db_ = *db;
    dir_ = std::make_shared<mailroom::testing::FakeDirectory>();
    dir_->add_domain("example.com");
    dir_->add_account("alice@example.com");
    dir_->add_group("sales@example.com", {"alice@example.com"});
    resolver_ = std::make_shared<auth::Resolver>(dir_, auth::ResolverOptions{});
    store_ = std::make_unique<ApiTokenStore>(db_, clock_, resolver_);
  }
  ApiTokenStore::Created make(const std::string& name, std::vector<Grant> grants = {},
                              int64_t lifetime = 0) {
    if (grants.empty()) grants.push_back(Grant{Role::domain_admin, {"Example.COM"}, ""});
    auto c = store_->create(name, grants, lifetime, "test");
    EXPECT_TRUE(c) << c.status().to_string();
    return c ? *c : ApiTokenStore::Created{};
  }
  ApiTokenStore::Outcome outcome(std::string_view presented) {
    auto r = store_->verify(presented);
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? r->outcome : ApiTokenStore::Outcome::unknown;
  }
  std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  mailroom::testing::TempDir tmp_;
  core::ManualClock clock_;
  std::shared_ptr<AdminStore> db_;
  std::shared_ptr<mailroom::testing::FakeDirectory> dir_;
  std::shared_ptr<auth::Resolver> resolver_;
  std::unique_ptr<ApiTokenStore> store_;
};

TEST_F(ApiTokensTest, CreateShowsTheSecretOnceAndVerifies) {
  auto c = make("ci-provisioning");
  // mrt_ + 16 hex + _ + 48 hex (192 bits)
  ASSERT_EQ(c.secret.size(), 4u + 16 + 1 + 48);
  EXPECT_EQ(c.secret.substr(0, 4), "mrt_");
  EXPECT_EQ(c.secret.substr(4, 16), c.token.id);
  EXPECT_EQ(c.token.expires_at - c.token.created_at, kDefaultApiTokenLifetime);
  ASSERT_EQ(c.token.grants.size(), 1u);
  EXPECT_EQ(c.token.grants[0].domains, std::vector<std::string>{"example.com"});

  auto v = store_->verify(c.secret);
  ASSERT_TRUE(v) << v.status().to_string();
  ASSERT_EQ(v->outcome, ApiTokenStore::Outcome::valid);
  EXPECT_EQ(v->token.name, "ci-provisioning");
  ASSERT_EQ(v->token.grants.size(), 1u);
  EXPECT_EQ(v->token.grants[0].role, Role::domain_admin);
  EXPECT_EQ(v->token.grants[0].source, "token:ci-provisioning");

  // A second token's secret is different, and each verifies only as itself.
  auto d = make("other");
  EXPECT_NE(d.secret, c.secret);
  EXPECT_EQ(store_->verify(d.secret)->token.name, "other");

  // Only a digest is stored: the secret half is in no file of the database.
  std::string secret_half = c.secret.substr(21);
  for (const char* f : {"admin.db", "admin.db-wal"}) {
    EXPECT_EQ(file_bytes(tmp_.file(f)).find(secret_half), std::string::npos) << f;
  }
  auto listed = store_->list(false);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
}

TEST_F(ApiTokensTest, WrongOrMalformedTokensAreUnknown) {
  auto c = make("t");
  std::string wrong = c.secret;
  wrong.back() = wrong.back() == '0' ? '1' : '0';  // right id, wrong secret
  EXPECT_EQ(outcome(wrong), ApiTokenStore::Outcome::unknown);
  std::string upper = c.secret;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_EQ(outcome(upper), ApiTokenStore::Outcome::unknown);
  std::string other_id = c.secret;
  other_id[4] = other_id[4] == 'a' ? 'b' : 'a';
  EXPECT_EQ(outcome(other_id), ApiTokenStore::Outcome::unknown);
  for (std::string bad :
       {std::string(), std::string("mrt_"), c.secret.substr(0, c.secret.size() - 1), c.secret + "0",
        "MRT_" + c.secret.substr(4), "mrx_" + c.secret.substr(4),
        c.secret.substr(0, 20) + "-" + c.secret.substr(21),
        c.secret.substr(0, 30) + "g" + c.secret.substr(31),
        std::string("mrt_") + std::string(65, '0'),
        c.secret.substr(0, 40) + std::string("\0", 1) + c.secret.substr(41)}) {
    EXPECT_EQ(outcome(bad), ApiTokenStore::Outcome::unknown) << bad;
  }
  EXPECT_EQ(outcome(c.secret), ApiTokenStore::Outcome::valid);
}

TEST_F(ApiTokensTest, ExpiryIsExact) {
  auto c = make("short", {}, 3600);
  clock_.advance(seconds(3599));
  EXPECT_EQ(outcome(c.secret), ApiTokenStore::Outcome::valid);
  clock_.advance(seconds(1));
  EXPECT_EQ(outcome(c.secret), ApiTokenStore::Outcome::expired);
  auto listed = store_->list(false);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_STREQ((*listed)[0].state(clock_.unix_seconds()), "expired");
  // An expired token still holds its name until revoked.
  EXPECT_EQ(store_->create("short", {Grant{Role::auditor, {}, ""}}, 0, "t").code(),
            core::Code::already_exists);
}

TEST_F(ApiTokensTest, RevokeByNameOrIdAndReuseTheName) {
  auto a = make("a");
  auto b = make("b");
  auto r = store_->revoke("a", "admin");
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->id, a.token.id);
  EXPECT_EQ(outcome(a.secret), ApiTokenStore::Outcome::revoked);
  EXPECT_EQ(store_->revoke("a", "admin").code(), core::Code::not_found);
  ASSERT_TRUE(store_->revoke(b.token.id, "admin"));
  EXPECT_EQ(outcome(b.secret), ApiTokenStore::Outcome::revoked);
  EXPECT_EQ(store_->revoke("nope", "admin").code(), core::Code::not_found);

  EXPECT_TRUE(store_->list(false)->empty());
  EXPECT_EQ(store_->list(true)->size(), 2u);
  // A revoked token's name may be used again; the old secret stays revoked.
  auto a2 = make("a");
  EXPECT_EQ(outcome(a2.secret), ApiTokenStore::Outcome::valid);
  EXPECT_EQ(outcome(a.secret), ApiTokenStore::Outcome::revoked);
  // A name that looks like another token's id does not revoke that token.
  auto c = make(a2.token.id);
  ASSERT_TRUE(store_->revoke(a2.token.id, "admin"));
  EXPECT_EQ(outcome(a2.secret), ApiTokenStore::Outcome::revoked);
  EXPECT_EQ(outcome(c.secret), ApiTokenStore::Outcome::valid);
}

TEST_F(ApiTokensTest, LastUsedAtMostOnceAMinute) {
  auto c = make("t");
  EXPECT_EQ(c.token.last_used_at, 0);
  const int64_t t0 = clock_.unix_seconds();
  EXPECT_EQ(store_->verify(c.secret)->token.last_used_at, t0);
  clock_.advance(seconds(59));
  EXPECT_EQ(store_->verify(c.secret)->token.last_used_at, t0);
  EXPECT_EQ((*store_->list(false))[0].last_used_at, t0);
  clock_.advance(seconds(1));
  EXPECT_EQ(store_->verify(c.secret)->token.last_used_at, t0 + 60);
  EXPECT_EQ((*store_->list(false))[0].last_used_at, t0 + 60);
  // A wrong secret is not a use.
  clock_.advance(seconds(120));
  std::string wrong = c.secret;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  ASSERT_TRUE(store_->verify(wrong));
  EXPECT_EQ((*store_->list(false))[0].last_used_at, t0 + 60);
}

TEST_F(ApiTokensTest, NamesLifetimesAndGrantsAreChecked) {
  const std::vector<Grant> ok{Grant{Role::auditor, {}, ""}};
  auto code = [&](const std::string& name, std::vector<Grant> g, int64_t life) {
    return store_->create(name, std::move(g), life, "t").code();
  };
  EXPECT_EQ(code("", ok, 0), core::Code::invalid_argument);
  EXPECT_EQ(code(std::string(65, 'x'), ok, 0), core::Code::invalid_argument);
  EXPECT_EQ(code(std::string(64, 'x'), ok, 0), core::Code::ok);
  EXPECT_EQ(code("has space", ok, 0), core::Code::invalid_argument);
  EXPECT_EQ(code("new\nline", ok, 0), core::Code::invalid_argument);
  EXPECT_EQ(code("slash/", ok, 0), core::Code::invalid_argument);
  EXPECT_EQ(code("no-grants", {}, 0), core::Code::invalid_argument);
  EXPECT_EQ(code("neg", ok, -1), core::Code::invalid_argument);
  EXPECT_EQ(code("too-long", ok, kMaxApiTokenLifetime + 1), core::Code::invalid_argument);
  EXPECT_EQ(code("longest", ok, kMaxApiTokenLifetime), core::Code::ok);
  EXPECT_EQ(code("da-nodomain", {Grant{Role::domain_admin, {}, ""}}, 0),
            core::Code::invalid_argument);
  EXPECT_EQ(code("ga-domain", {Grant{Role::global_admin, {"example.com"}, ""}}, 0),
            core::Code::invalid_argument);
  for (const char* bad : {"exa mple.com", "", ".example.com", "example..com", "example.com.",
                          "ex,ample.com", "ex;ample.com", "exämple.com"}) {
    EXPECT_EQ(code("bad-domain", {Grant{Role::helpdesk, {bad}, ""}}, 0),
              core::Code::invalid_argument)
        << bad;
  }
  // Several grants, duplicate domains folded, order normalised.
  auto c = store_->create("multi",
                          {Grant{Role::helpdesk, {"B.example", "a.example", "b.example"}, ""},
                           Grant{Role::auditor, {}, ""}},
                          0, "t");
  ASSERT_TRUE(c) << c.status().to_string();
  auto v = store_->verify(c->secret);
  ASSERT_TRUE(v);
  ASSERT_EQ(v->token.grants.size(), 2u);
  EXPECT_EQ(v->token.grants[0].domains, (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(v->token.grants[1].role, Role::auditor);
  EXPECT_TRUE(v->token.grants[1].domains.empty());
}

TEST_F(ApiTokensTest, MemberScopedGrantsRoundTrip) {
  auto c = make("compliance", {Grant{Role::auditor, {"example.com"}, "", "Sales@Example.COM"},
                               Grant{Role::auditor, {"example.com"}, ""}});
  ASSERT_EQ(c.token.grants.size(), 2u);
  EXPECT_EQ(c.token.grants[0].members_of, "sales@example.com");
  EXPECT_EQ(c.token.grants[1].members_of, "");

  auto v = store_->verify(c.secret);
  ASSERT_TRUE(v) << v.status().to_string();
  ASSERT_EQ(v->outcome, ApiTokenStore::Outcome::valid);
  ASSERT_EQ(v->token.grants.size(), 2u);
  EXPECT_EQ(v->token.grants[0].members_of, "sales@example.com");
  EXPECT_EQ(v->token.grants[0].source, "token:compliance");
  EXPECT_EQ(v->token.grants[1].members_of, "");
  auto listed = store_->list(false);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].grants[0].members_of, "sales@example.com");

  // As a caller: the member grant is no domain grant.
  Caller caller;
  caller.grants = {v->token.grants[0]};
  EXPECT_FALSE(caller.can(Action::audit, "example.com"));
  EXPECT_EQ(caller.member_grants(Action::audit, "example.com").size(), 1u);

  // A name stays unique whatever the scope.
  EXPECT_EQ(
      store_->create("compliance", {Grant{Role::auditor, {}, "", "sales@example.com"}}, 0, "t")
          .code(),
      core::Code::already_exists);
}

TEST_F(ApiTokensTest, MemberScopeMustNameAGroup) {
  auto code = [&](std::vector<Grant> g) {
    return store_->create("t", std::move(g), 0, "t").code();
  };
  EXPECT_EQ(code({Grant{Role::auditor, {}, "", "nogroup@example.com"}}), core::Code::not_found);
  EXPECT_EQ(code({Grant{Role::auditor, {}, "", "alice@example.com"}}), core::Code::not_found);
  // Every grant is checked, not only the first.
  EXPECT_EQ(code({Grant{Role::auditor, {}, ""}, Grant{Role::auditor, {}, "", "no@example.com"}}),
            core::Code::not_found);
  EXPECT_EQ(code({Grant{Role::auditor, {}, "", "sales"}}), core::Code::invalid_argument);
  EXPECT_EQ(code({Grant{Role::global_admin, {}, "", "sales@example.com"}}),
            core::Code::invalid_argument);
  EXPECT_EQ(code({Grant{Role::domain_admin, {}, "", "sales@example.com"}}),
            core::Code::invalid_argument);
  dir_->fail_keys = {"sales@example.com"};
  EXPECT_EQ(code({Grant{Role::auditor, {}, "", "sales@example.com"}}), core::Code::unavailable);
  dir_->fail_keys.clear();
  // Without a directory to ask, a member scope cannot be checked: refused, never stored blind.
  ApiTokenStore blind(db_, clock_);
  EXPECT_EQ(blind.create("t", {Grant{Role::auditor, {}, "", "sales@example.com"}}, 0, "t").code(),
            core::Code::unavailable);
  EXPECT_TRUE(blind.create("plain", {Grant{Role::auditor, {}, ""}}, 0, "t"));
  EXPECT_EQ(store_->list(true)->size(), 1u);
  EXPECT_EQ(code({Grant{Role::domain_admin, {"example.com"}, "", "sales@example.com"}}),
            core::Code::ok);
}

TEST_F(ApiTokensTest, AnAdminDbOfSchemaOneIsMigrated) {
  store_.reset();
  db_.reset();
  const std::string path = tmp_.file("old.db");
  {
    db::SqliteOptions o;
    o.path = path;
    auto raw = db::Sqlite::open(o);
    ASSERT_TRUE(raw) << raw.status().to_string();
    // The tables of schema version 1, verbatim, with a token of that time.
    ASSERT_TRUE((*raw)->exec(
        "CREATE TABLE api_tokens ("
        " id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_sha256 BLOB NOT NULL,"
        " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
        " last_used_at INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER NOT NULL DEFAULT 0,"
        " created_by TEXT NOT NULL DEFAULT '');"
        "CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens(name) WHERE revoked_at = 0;"
        "CREATE TABLE api_token_grants ("
        " token_id TEXT NOT NULL REFERENCES api_tokens(id), seq INTEGER NOT NULL,"
        " role TEXT NOT NULL, domains TEXT NOT NULL DEFAULT '', PRIMARY KEY (token_id, seq));"
        "CREATE TABLE role_grants ("
        " id TEXT PRIMARY KEY, role TEXT NOT NULL, domains TEXT NOT NULL DEFAULT '',"
        " principal_kind TEXT NOT NULL CHECK (principal_kind IN ('account', 'group')),"
        " principal TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,"
        " created_by TEXT NOT NULL DEFAULT '');"
        "CREATE UNIQUE INDEX role_grants_unique ON role_grants(principal_kind, principal, role,"
        " domains);"
        "INSERT INTO api_tokens(id, name, secret_sha256, created_at, expires_at, created_by)"
        " VALUES ('00112233445566ff', 'old', x'00', 1, 4102444800, 'old');"
        "INSERT INTO api_token_grants(token_id, seq, role, domains)"
        " VALUES ('00112233445566ff', 0, 'helpdesk', 'a.example,b.example');"
        "PRAGMA user_version = 1;"));
  }
  for (int open = 0; open < 2; ++open) {  // the second open finds nothing to migrate
    auto db = AdminStore::open({path});
    ASSERT_TRUE(db) << db.status().to_string();
    ApiTokenStore store(*db, clock_, resolver_);
    auto listed = store.list(false);
    ASSERT_TRUE(listed) << listed.status().to_string();
    ASSERT_EQ(listed->size(), open == 0 ? 1u : 2u);
    const ApiToken& old = listed->back();
    EXPECT_EQ(old.name, "old");
    ASSERT_EQ(old.grants.size(), 1u);
    EXPECT_EQ(old.grants[0].role, Role::helpdesk);
    EXPECT_EQ(old.grants[0].domains, (std::vector<std::string>{"a.example", "b.example"}));
    EXPECT_EQ(old.grants[0].members_of, "");
    if (open == 0) {
      auto c = store.create("new", {Grant{Role::auditor, {}, "", "sales@example.com"}}, 0, "t");
      ASSERT_TRUE(c) << c.status().to_string();
      EXPECT_EQ(store.verify(c->secret)->token.grants[0].members_of, "sales@example.com");
    } else {
      EXPECT_EQ(listed->front().grants[0].members_of, "sales@example.com");
    }
  }
}

TEST_F(ApiTokensTest, ParseLifetime) {
  EXPECT_EQ(parse_token_lifetime("90d"), 90 * 86400);
  EXPECT_EQ(parse_token_lifetime("90"), 90 * 86400);
  EXPECT_EQ(parse_token_lifetime("12h"), 12 * 3600);
  EXPECT_EQ(parse_token_lifetime("2w"), 14 * 86400);
  EXPECT_EQ(parse_token_lifetime("30m"), 1800);
  EXPECT_EQ(parse_token_lifetime("3600s"), 3600);
  for (const char* bad : {"", "d", "0d", "-1d", "1y", "1.5d", " 1d", "1d ", "9999999999d", "1dd"}) {
    EXPECT_EQ(parse_token_lifetime(bad), std::nullopt) << bad;
  }
}

TEST_F(ApiTokensTest, FileIsPrivateAndSurvivesReopen) {
  auto c = make("persist");
  struct stat st {};
  ASSERT_EQ(::stat(tmp_.file("admin.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  store_.reset();
  db_.reset();
  auto db = AdminStore::open({tmp_.file("admin.db")});
  ASSERT_TRUE(db) << db.status().to_string();
  ApiTokenStore again(*db, clock_);
  EXPECT_EQ(again.verify(c.secret)->outcome, ApiTokenStore::Outcome::valid);
}

TEST_F(ApiTokensTest, NewerSchemaIsRefused) {
  store_.reset();
  db_.reset();
  {
    db::SqliteOptions o;
    o.path = tmp_.file("admin.db");
    auto raw = db::Sqlite::open(o);
    ASSERT_TRUE(raw);
    ASSERT_TRUE((*raw)->exec("PRAGMA user_version = 99"));
  }
  auto db = AdminStore::open({tmp_.file("admin.db")});
  ASSERT_FALSE(db);
  EXPECT_EQ(db.code(), core::Code::internal);
}

TEST_F(ApiTokensTest, SharedByConcurrentWorkers) {
  auto c = make("shared");
  std::vector<std::thread> threads;
  std::atomic<int> valid{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 25; ++n) {
        auto v = store_->verify(c.secret);
        if (v && v->outcome == ApiTokenStore::Outcome::valid) ++valid;
        if (n == 0)
          (void)store_->create("w" + std::to_string(i), {Grant{Role::auditor, {}, ""}}, 0, "t");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(valid.load(), 100);
  EXPECT_EQ(store_->list(false)->size(), 5u);
}

}  // namespace
}  // namespace mailroom::service
