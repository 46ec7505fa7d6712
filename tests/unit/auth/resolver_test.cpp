// Every identity rule of DESIGN.md, against the in-memory FakeDirectory; the outage cases
// through the fault-injecting decorator.
#include "auth/resolver.h"

#include <gtest/gtest.h>

#include "tests/fakes/fake_directory.h"

namespace mailroom::auth {
namespace {

using testing::FakeDirectory;

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = std::make_shared<FakeDirectory>();
    fake_->add_domain("example.com");
    fake_->add_domain("example.net", "example.com");  // domain alias
    fake_->add_account("alice@example.com", "wonderland");
    fake_->add_account("bob@example.com", "builder");
    resolver_ = std::make_unique<Resolver>(fake_, ResolverOptions{});
  }
  Resolution resolve(const std::string& to, const std::string& from = "x@remote.org",
                     const std::string& from_id = "", bool verified = false) {
    return resolver_->resolve_recipient(to, from, from_id, verified);
  }
  // A trusted gateway vouches for the envelope sender.
  Resolution resolve_verified(const std::string& to, const std::string& from) {
    return resolve(to, from, "", true);
  }
  static std::vector<std::string> ids(const Resolution& r) {
    std::vector<std::string> out;
    for (const auto& d : r.destinations) {
      out.push_back(d.kind == Destination::Kind::mailbox ? d.account_id : "remote:" + d.address);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::shared_ptr<FakeDirectory> fake_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(ResolverTest, AccountIsDelivered) {
  auto r = resolve("alice@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver) << r.detail;
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].account_id, "id-alice@example.com");
  EXPECT_EQ(r.destinations[0].address, "alice@example.com");
  EXPECT_EQ(r.destinations[0].folder, "INBOX");
}

TEST_F(ResolverTest, CaseInsensitiveLocalPartAndDomain) {
  auto r = resolve("ALICE@Example.COM");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver);
  EXPECT_EQ(ids(r), std::vector<std::string>{"id-alice@example.com"});
}

TEST_F(ResolverTest, UnknownAndNotLocal) {
  EXPECT_EQ(resolve("nobody@example.com").outcome, RecipientOutcome::unknown);
  EXPECT_EQ(resolve("alice@elsewhere.org").outcome, RecipientOutcome::not_local);
  EXPECT_EQ(resolve("not-an-address").outcome, RecipientOutcome::unknown);
  EXPECT_EQ(resolve("").outcome, RecipientOutcome::unknown);
}

TEST_F(ResolverTest, AccountWinsOverAlias) {
  fake_->add_alias("alice@example.com", {"bob@example.com"});
  auto r = resolve("alice@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver);
  EXPECT_EQ(ids(r), std::vector<std::string>{"id-alice@example.com"});
}

TEST_F(ResolverTest, AliasExpandsToLocalAndRemoteTargets) {
  fake_->add_alias("info@example.com", {"alice@example.com", "Partner@Remote.org"});
  auto r = resolve("info@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver);
  EXPECT_EQ(ids(r),
            (std::vector<std::string>{"id-alice@example.com", "remote:partner@remote.org"}));
}

TEST_F(ResolverTest, OrderIsAccountAliasGroupCatchAll) {
  fake_->add_domain("example.com", "", "bob@example.com");  // catch-all -> bob
  fake_->add_alias("sales@example.com", {"alice@example.com"});
  fake_->add_group("sales@example.com", {"bob@example.com"});
  EXPECT_EQ(ids(resolve("sales@example.com")), std::vector<std::string>{"id-alice@example.com"});
  fake_->add_group("team@example.com", {"alice@example.com"});
  EXPECT_EQ(ids(resolve("team@example.com")), std::vector<std::string>{"id-alice@example.com"});
  auto r = resolve("whoever@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver) << r.detail;
  EXPECT_EQ(ids(r), std::vector<std::string>{"id-bob@example.com"});
}

TEST_F(ResolverTest, Subaddress) {
  auto r = resolve("alice+newsletters@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver);
  EXPECT_EQ(ids(r), std::vector<std::string>{"id-alice@example.com"});
  // An address that itself contains the separator wins over stripping.
  fake_->add_account("alice+special@example.com");
  EXPECT_EQ(ids(resolve("alice+special@example.com")),
            std::vector<std::string>{"id-alice+special@example.com"});
  EXPECT_EQ(resolve("nobody+tag@example.com").outcome, RecipientOutcome::unknown);
  ResolverOptions off;
  off.subaddress_separator = '\0';
  Resolver plain(fake_, off);
  EXPECT_EQ(plain.resolve_recipient("alice+x@example.com", "", "").outcome,
            RecipientOutcome::unknown);
}

TEST_F(ResolverTest, DomainAlias) {
  auto r = resolve("alice@example.net");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver) << r.detail;
  EXPECT_EQ(ids(r), std::vector<std::string>{"id-alice@example.com"});
  EXPECT_EQ(resolve("bob+x@EXAMPLE.NET").outcome, RecipientOutcome::deliver);
  EXPECT_EQ(resolve("nobody@example.net").outcome, RecipientOutcome::unknown);
}

TEST_F(ResolverTest, DisabledAndDeletedAccounts) {
  fake_->account("id-alice@example.com")->status = AccountStatus::disabled;
  EXPECT_EQ(resolve("alice@example.com").outcome, RecipientOutcome::disabled);
  fake_->account("id-alice@example.com")->status = AccountStatus::deleted;
  EXPECT_EQ(resolve("alice@example.com").outcome, RecipientOutcome::disabled);
  // A disabled member is skipped; the rest of the group still gets the mail.
  fake_->add_group("staff@example.com", {"alice@example.com", "bob@example.com"});
  auto r = resolve("staff@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver);
  EXPECT_EQ(ids(r), std::vector<std::string>{"id-bob@example.com"});
}

TEST_F(ResolverTest, HoldForDisabledAccounts) {
  ResolverOptions o;
  o.hold_for_disabled = true;
  resolver_ = std::make_unique<Resolver>(fake_, o);
  auto* alice = fake_->account("id-alice@example.com");
  alice->status = AccountStatus::disabled;
  alice->forward_to = {"elsewhere@remote.example"};
  // Held: into alice's own mailbox, never forwarded.
  auto r = resolve("alice@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver);
  EXPECT_EQ(ids(r), std::vector<std::string>{"id-alice@example.com"});
  EXPECT_NE(r.detail.find("held"), std::string::npos) << r.detail;
  // Through a group she is skipped as before; deleted accounts are rejected.
  fake_->add_group("staff@example.com", {"alice@example.com", "bob@example.com"});
  EXPECT_EQ(ids(resolve("staff@example.com")), std::vector<std::string>{"id-bob@example.com"});
  alice->status = AccountStatus::deleted;
  EXPECT_EQ(resolve("alice@example.com").outcome, RecipientOutcome::disabled);
}

TEST_F(ResolverTest, NestedGroupsWithLoopsAndDuplicates) {
  fake_->add_account("carol@example.com");
  fake_->add_group("all@example.com", {"staff@example.com", "alice@example.com", "ext@remote.org"});
  fake_->add_group("staff@example.com",
                   {"alice@example.com", "bob@example.com", "all@example.com"});
  fake_->add_group("loop1@example.com", {"loop2@example.com", "carol@example.com"});
  fake_->add_group("loop2@example.com", {"loop1@example.com"});
  auto r = resolve("all@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver) << r.detail;
  EXPECT_EQ(ids(r), (std::vector<std::string>{"id-alice@example.com", "id-bob@example.com",
                                              "remote:ext@remote.org"}));
  auto l = resolve("loop2@example.com");
  ASSERT_EQ(l.outcome, RecipientOutcome::deliver);
  EXPECT_EQ(ids(l), std::vector<std::string>{"id-carol@example.com"});
}

TEST_F(ResolverTest, GroupDepthLimit) {
  ResolverOptions o;
  o.max_group_depth = 3;
  Resolver r(fake_, o);
  // g0 -> g1 -> g2 -> g3 -> g4 -> alice: deeper than 3 levels.
  for (int i = 0; i < 5; ++i) {
    std::string member =
        i == 4 ? "alice@example.com" : "g" + std::to_string(i + 1) + "@example.com";
    fake_->add_group("g" + std::to_string(i) + "@example.com", {member});
  }
  EXPECT_EQ(r.resolve_recipient("g0@example.com", "", "").outcome, RecipientOutcome::too_many);
  EXPECT_EQ(r.resolve_recipient("g2@example.com", "", "").outcome, RecipientOutcome::deliver);
}

TEST_F(ResolverTest, FanOutLimit) {
  ResolverOptions o;
  o.max_expansion = 10;
  Resolver r(fake_, o);
  std::vector<std::string> members;
  for (int i = 0; i < 11; ++i) members.push_back("m" + std::to_string(i) + "@remote.org");
  fake_->add_group("big@example.com", members);
  members.pop_back();
  fake_->add_group("ok@example.com", members);
  EXPECT_EQ(r.resolve_recipient("big@example.com", "", "").outcome, RecipientOutcome::too_many);
  auto ok = r.resolve_recipient("ok@example.com", "", "");
  EXPECT_EQ(ok.outcome, RecipientOutcome::deliver);
  EXPECT_EQ(ok.destinations.size(), 10u);
}

TEST_F(ResolverTest, EmptyGroupIsUnknown) {
  fake_->add_group("empty@example.com", {});
  EXPECT_EQ(resolve("empty@example.com").outcome, RecipientOutcome::unknown);
}

// Group policies hold for unauthenticated mail: a local envelope sender counts only when the
// session vouches for it (authenticated, or a trusted gateway); issue 13, item 11.
TEST_F(ResolverTest, GroupPolicyDomain) {
  fake_->add_group("staff@example.com", {"alice@example.com"}, GroupSendPolicy::domain);
  EXPECT_EQ(resolve("staff@example.com", "x@remote.org").outcome, RecipientOutcome::not_allowed);
  EXPECT_EQ(resolve("staff@example.com", "").outcome, RecipientOutcome::not_allowed);
  EXPECT_EQ(resolve("staff@example.com", "bob@example.com").outcome,
            RecipientOutcome::not_allowed);  // forged on port 25
  EXPECT_EQ(resolve_verified("staff@example.com", "bob@example.com").outcome,
            RecipientOutcome::deliver);
  EXPECT_EQ(resolve_verified("staff@example.com", "bob@EXAMPLE.net").outcome,
            RecipientOutcome::deliver);
  EXPECT_EQ(resolve_verified("staff@example.com", "x@remote.org").outcome,
            RecipientOutcome::not_allowed);
  EXPECT_EQ(resolve("staff@example.com", "x@remote.org", "id-bob@example.com").outcome,
            RecipientOutcome::deliver);
}

TEST_F(ResolverTest, GroupPolicyMembersIncludingNested) {
  fake_->add_account("carol@example.com");
  fake_->add_group("inner@example.com", {"carol@example.com"});
  fake_->add_group("team@example.com", {"alice@example.com", "inner@example.com"},
                   GroupSendPolicy::members);
  EXPECT_EQ(resolve("team@example.com", "alice@example.com").outcome,
            RecipientOutcome::not_allowed);  // unauthenticated, local sender: not believed
  EXPECT_EQ(resolve_verified("team@example.com", "alice@example.com").outcome,
            RecipientOutcome::deliver);
  EXPECT_EQ(resolve_verified("team@example.com", "carol@example.com").outcome,
            RecipientOutcome::deliver);
  EXPECT_EQ(resolve_verified("team@example.com", "bob@example.com").outcome,
            RecipientOutcome::not_allowed);
  EXPECT_EQ(resolve("team@example.com", "x@remote.org", "id-carol@example.com").outcome,
            RecipientOutcome::deliver);
  EXPECT_EQ(resolve("team@example.com", "x@remote.org", "id-alice@example.com").outcome,
            RecipientOutcome::deliver);
  // Through an alias, the group's policy still applies.
  fake_->add_alias("t@example.com", {"team@example.com"});
  EXPECT_EQ(resolve_verified("t@example.com", "bob@example.com").outcome,
            RecipientOutcome::not_allowed);
}

TEST_F(ResolverTest, GroupPolicyModerators) {
  auto& g = fake_->add_group("announce@example.com", {"alice@example.com", "bob@example.com"},
                             GroupSendPolicy::moderators);
  g.allowed_senders = {"bob@example.com", "pr@agency.org"};
  EXPECT_EQ(resolve_verified("announce@example.com", "alice@example.com").outcome,
            RecipientOutcome::not_allowed);
  EXPECT_EQ(resolve("announce@example.com", "BOB@example.com").outcome,
            RecipientOutcome::not_allowed);  // forged local moderator on port 25
  EXPECT_EQ(resolve_verified("announce@example.com", "BOB@example.com").outcome,
            RecipientOutcome::deliver);
  EXPECT_EQ(resolve("announce@example.com", "", "id-bob@example.com").outcome,
            RecipientOutcome::deliver);
  // A moderator outside our domains can only be taken at their word.
  EXPECT_EQ(resolve("announce@example.com", "pr@agency.org").outcome, RecipientOutcome::deliver);
}

// RFC 5321 4.5.1: postmaster@ every local domain is accepted; without its own account it goes
// to [auth] postmaster.
TEST_F(ResolverTest, PostmasterOfEveryLocalDomain) {
  EXPECT_EQ(resolve("postmaster@example.com").outcome, RecipientOutcome::unknown);
  ResolverOptions o;
  o.postmaster = "alice@example.com";
  Resolver r(fake_, o);
  for (const char* to : {"postmaster@example.com", "PostMaster@example.net"}) {
    auto res = r.resolve_recipient(to, "x@remote.org", "");
    ASSERT_EQ(res.outcome, RecipientOutcome::deliver) << to;
    EXPECT_EQ(ids(res), std::vector<std::string>{"id-alice@example.com"});
  }
  EXPECT_EQ(r.resolve_recipient("postmaster@remote.org", "", "").outcome,
            RecipientOutcome::not_local);
  // A domain's own postmaster account wins.
  fake_->add_account("postmaster@example.com");
  EXPECT_EQ(ids(r.resolve_recipient("postmaster@example.com", "", "")),
            std::vector<std::string>{"id-postmaster@example.com"});
}

TEST_F(ResolverTest, ForwardingWithAndWithoutCopy) {
  auto* a = fake_->account("id-alice@example.com");
  a->forward_to = {"alice@home.org"};
  a->forward_keep_copy = true;
  auto kept = resolve("alice@example.com");
  EXPECT_EQ(ids(kept), (std::vector<std::string>{"id-alice@example.com", "remote:alice@home.org"}));
  // Mail recall: the forwarded copy names its forwarder, alice's own copy nobody.
  ASSERT_EQ(kept.destinations.size(), 2u);
  EXPECT_EQ(kept.destinations[0].forwarded_by, "");
  EXPECT_EQ(kept.destinations[1].forwarded_by, "alice@example.com");
  a->forward_keep_copy = false;
  EXPECT_EQ(ids(resolve("alice@example.com")), std::vector<std::string>{"remote:alice@home.org"});
  // Forward to a local account, and a forwarding loop back to alice.
  a->forward_to = {"bob@example.com"};
  fake_->account("id-bob@example.com")->forward_to = {"alice@example.com"};
  fake_->account("id-bob@example.com")->forward_keep_copy = true;
  auto r = resolve("alice@example.com");
  ASSERT_EQ(r.outcome, RecipientOutcome::deliver);
  EXPECT_EQ(ids(r), std::vector<std::string>{"id-bob@example.com"});
  EXPECT_EQ(r.destinations[0].forwarded_by, "alice@example.com");
  // A group member's copy is not a forward.
  fake_->account("id-bob@example.com")->forward_to.clear();
  fake_->add_group("team@example.com", {"bob@example.com"});
  EXPECT_EQ(resolve("team@example.com").destinations.at(0).forwarded_by, "");
}

TEST_F(ResolverTest, Utf8LocalParts) {
  fake_->add_account("用户@example.com");
  EXPECT_EQ(resolve("用户@example.com").outcome, RecipientOutcome::deliver);
  ResolverOptions o;
  o.allow_utf8_local_parts = false;
  Resolver ascii(fake_, o);
  EXPECT_EQ(ascii.resolve_recipient("用户@example.com", "", "").outcome, RecipientOutcome::unknown);
}

TEST_F(ResolverTest, UnavailableIsNeverUnknown) {
  fake_->fail_all = true;
  EXPECT_EQ(resolve("alice@example.com").outcome, RecipientOutcome::unavailable);
  EXPECT_EQ(resolve("nobody@example.com").outcome, RecipientOutcome::unavailable);
  fake_->fail_all = false;
  // Down only for one key deep inside a group expansion: the whole answer is "try later".
  fake_->add_group("staff@example.com", {"alice@example.com", "bob@example.com"});
  fake_->fail_keys = {"bob@example.com"};
  EXPECT_EQ(resolve("staff@example.com").outcome, RecipientOutcome::unavailable);
  // The account lookup of the one address failing.
  fake_->fail_keys = {"nobody@example.com"};
  EXPECT_EQ(resolve("nobody@example.com").outcome, RecipientOutcome::unavailable);
  // Domain lookup failing.
  fake_->fail_keys = {"example.com"};
  EXPECT_EQ(resolve("alice@example.com").outcome, RecipientOutcome::unavailable);
  EXPECT_EQ(resolver_->local_domain("example.com").code(), Code::unavailable);
}

TEST_F(ResolverTest, FindLoginMultiDomain) {
  auto a = resolver_->find_login("alice@example.com");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "id-alice@example.com");
  EXPECT_TRUE(resolver_->find_login("ALICE@EXAMPLE.NET"));  // domain alias
  // Only one local domain (example.net is an alias): the bare local part is unambiguous.
  EXPECT_TRUE(resolver_->find_login("alice"));
  fake_->add_domain("example.org");
  EXPECT_EQ(resolver_->find_login("alice").code(), Code::not_found);  // now ambiguous
  EXPECT_TRUE(resolver_->find_login("alice@example.com"));
  EXPECT_EQ(resolver_->find_login("alice@elsewhere.org").code(), Code::not_found);
  EXPECT_EQ(resolver_->find_login("").code(), Code::not_found);
  EXPECT_EQ(resolver_->find_login("al ice").code(), Code::not_found);
  // An explicit login name.
  fake_->account("id-bob@example.com")->login = "bob.b";
  EXPECT_EQ(resolver_->find_login("Bob.B")->id, "id-bob@example.com");
  // Disabled accounts are returned (the authenticator refuses them).
  fake_->account("id-alice@example.com")->status = AccountStatus::disabled;
  EXPECT_EQ(resolver_->find_login("alice@example.com")->status, AccountStatus::disabled);
}

TEST_F(ResolverTest, FindLoginSingleDomain) {
  fake_->add_domain("example.org");
  ResolverOptions o;
  o.default_domain = "Example.com";
  Resolver single(fake_, o);
  EXPECT_EQ(single.find_login("alice")->id, "id-alice@example.com");
  EXPECT_EQ(single.find_login("alice@example.com")->id, "id-alice@example.com");
  EXPECT_EQ(single.find_login("nobody").code(), Code::not_found);
  fake_->fail_all = true;
  EXPECT_EQ(single.find_login("alice").code(), Code::unavailable);
}

TEST_F(ResolverTest, MaySendAs) {
  auto alice = *fake_->find_account_by_id("id-alice@example.com");
  EXPECT_TRUE(*resolver_->may_send_as(alice, "alice@example.com"));
  EXPECT_TRUE(*resolver_->may_send_as(alice, "Alice+tag@example.com"));
  EXPECT_TRUE(*resolver_->may_send_as(alice, "alice@example.net"));
  EXPECT_FALSE(*resolver_->may_send_as(alice, "bob@example.com"));
  EXPECT_FALSE(*resolver_->may_send_as(alice, "alice@remote.org"));
  fake_->add_alias("info@example.com", {"alice@example.com"});
  EXPECT_TRUE(*resolver_->may_send_as(alice, "info@example.com"));
  // An alias naming alice on bob's address does not let alice send as bob.
  fake_->add_alias("bob@example.com", {"alice@example.com"});
  EXPECT_FALSE(*resolver_->may_send_as(alice, "bob@example.com"));
  auto& g = fake_->add_group("news@example.com", {}, GroupSendPolicy::moderators);
  g.allowed_senders = {"alice@example.com"};
  EXPECT_TRUE(*resolver_->may_send_as(alice, "news@example.com"));
  alice.send_as = {"ceo@remote.org"};
  EXPECT_TRUE(*resolver_->may_send_as(alice, "CEO@remote.org"));
  fake_->fail_keys = {"someone@example.com"};
  EXPECT_EQ(resolver_->may_send_as(alice, "someone@example.com").code(), Code::unavailable);
}

}  // namespace
}  // namespace mailroom::auth
