// ACL (RFC 4314) and the shared namespaces (RFC 2342) through the session (no sockets): each
// right of "lrswipkxtea" refused without it and allowed with it; hostile identifiers and
// rights strings answered BAD/NO with the session going on; a user without "l" cannot tell a
// folder from one that does not exist; group grants follow the directory's current groups;
// the ACL kept by RENAME and gone with DELETE; quota charged to the owner.
#include <gtest/gtest.h>

#include <regex>

#include "auth/local/local_directory.h"
#include "auth/policy/policy_directory.h"
#include "src/imap/metadata_events.h"
#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

class ImapAcl : public ImapSession {
 protected:
  ImapAcl() {
    auto d = auth::LocalDirectory::open({(dir_ / "directory.db").string()});
    EXPECT_TRUE(d.is_ok()) << d.status().to_string();
    local_ = *d;
    EXPECT_TRUE(local_->add_domain({"example.com"}).is_ok());
    for (const char* u : {"alice", "bob", "carol"}) {
      auth::Account a;
      a.id = std::string("acct-") + u;
      a.login = u;
      a.address = std::string(u) + "@example.com";
      EXPECT_TRUE(local_->add_account(a).is_ok()) << u;
    }
    auth::Group g;
    g.address = "staff@example.com";
    g.members = {"carol@example.com"};
    EXPECT_TRUE(local_->add_group(g).is_ok());
    services_.directory = local_;
    services_.policies = std::make_shared<auth::PolicySource>(local_);
    auto* fake = static_cast<mailroom::testing::FakeAuthenticator*>(services_.authenticator.get());
    fake->users["carol"] = "secret";
    EXPECT_TRUE(services_.store->create_mailbox("acct-alice", "Box").is_ok());
    EXPECT_TRUE(services_.store->create_mailbox("acct-alice", "Secret").is_ok());
    EXPECT_TRUE(services_.store->append("acct-alice", req("Box", "one")).is_ok());
  }

  store::AppendRequest req(const std::string& box, const std::string& subject) {
    bodies_.push_back(message(subject));
    store::AppendRequest r;
    r.mailbox = box;
    r.message = bodies_.back();
    return r;
  }
  // alice's Box grants bob `rights` (stored form, as SETACL would write it).
  void grant(const std::string& rights, const std::string& who = "u:acct-bob",
             const std::string& box = "Box") {
    ASSERT_TRUE(services_.store->set_acl("acct-alice", box, who, rights).is_ok());
  }
  // bob's session running `commands` (tags of the caller's choice), after LOGIN.
  std::string as(const std::string& user, const std::string& commands) {
    std::string pass = user == "alice" ? "wonderland" : user == "bob" ? "builder" : "secret";
    return run({"L LOGIN " + user + " " + pass + "\r\n" + commands + "Z LOGOUT\r\n"});
  }
  static bool ok(const std::string& out, const std::string& tag) {
    return tagged(out, tag).rfind(tag + " OK", 0) == 0;
  }
  static bool has(const std::string& out, const std::string& text) {
    return out.find(text) != std::string::npos;
  }
  std::string group_id() {
    auto g = local_->find_group("staff@example.com");
    EXPECT_TRUE(g.is_ok());
    return g ? g->id : "";
  }

  std::shared_ptr<auth::LocalDirectory> local_;
  std::vector<std::string> bodies_;
};

TEST_F(ImapAcl, CapabilityAndNamespace) {
  std::string out = as("bob", "a CAPABILITY\r\nb NAMESPACE\r\n");
  EXPECT_TRUE(has(out, " ACL RIGHTS=texk")) << out;
  EXPECT_TRUE(
      has(out, "* NAMESPACE ((\"\" \"/\")) ((\"Other Users/\" \"/\")) ((\"Shared/\" \"/\"))"))
      << out;
}

TEST_F(ImapAcl, OwnerHasEveryRight) {
  std::string out = as("alice", "a MYRIGHTS INBOX\r\nb GETACL Box\r\nc LISTRIGHTS Box alice\r\n");
  EXPECT_TRUE(has(out, "* MYRIGHTS \"INBOX\" lrswipkxteacd")) << out;
  EXPECT_TRUE(has(out, "* ACL \"Box\" alice lrswipkxteacd\r\n")) << out;
  EXPECT_TRUE(has(out, "* LISTRIGHTS \"Box\" alice lrswipkxtea\r\n")) << out;
  EXPECT_TRUE(ok(out, "c")) << out;
}

TEST_F(ImapAcl, SetGetDeleteAclWithNamesResolvedFromIds) {
  std::string out = as("alice",
                       "a SETACL Box bob lrs\r\n"
                       "b SETACL Box bob +w\r\n"
                       "c SETACL Box $staff@example.com lr\r\n"
                       "d SETACL Box -carol w\r\n"
                       "e SETACL Box anyone l\r\n"
                       "f GETACL Box\r\n"
                       "g DELETEACL Box bob\r\n"
                       "h SETACL Box $staff@example.com -r\r\n"
                       "i GETACL Box\r\n"
                       "j SETACL Box bob cd\r\n"
                       "k GETACL Box\r\n");
  for (const char* t : {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"})
    EXPECT_TRUE(ok(out, t)) << t << "\n" << out;
  auto f = lines_of(out, "f");
  ASSERT_GE(f.size(), 2u);
  // Stored by id; shown by login / group address.
  EXPECT_TRUE(has(f[0], " bob lrsw")) << f[0];  // none of k e t x: no "c", no "d"
  EXPECT_TRUE(has(f[0], "$staff@example.com lr")) << f[0];
  EXPECT_TRUE(has(f[0], "-carol w")) << f[0];
  EXPECT_TRUE(has(f[0], "anyone l")) << f[0];
  auto i = lines_of(out, "i");
  EXPECT_FALSE(has(i[0], "bob ")) << i[0];
  EXPECT_TRUE(has(i[0], "$staff@example.com l")) << i[0];
  // RFC 4314 2.1.1: "c" = k, "d" = e t x here; given back with the obsolete letters.
  auto k = lines_of(out, "k");
  EXPECT_TRUE(has(k[0], "bob kxtecd")) << k[0];
  auto stored = services_.store->get_acl("acct-alice", "Box");
  ASSERT_TRUE(stored.is_ok());
  bool by_id = false;
  for (const auto& e : *stored) by_id = by_id || e.identifier == "g:" + group_id();
  EXPECT_TRUE(by_id);
}

TEST_F(ImapAcl, HostileIdentifiersAndRightsKeepTheSessionAlive) {
  std::string long_id(300, 'x');
  std::string out = as("alice",
                       "a SETACL Box bob lrz\r\n"          // unknown right: BAD
                       "b SETACL Box nosuchuser lr\r\n"    // unknown identifier: NO
                       "c SETACL Box $nosuchgroup lr\r\n"  // unknown group: NO
                       "d SETACL Box " +
                           long_id +
                           " lr\r\n"                       // too long: NO
                           "e SETACL Box - lr\r\n"         // empty negative: NO
                           "f SETACL Box --bob lr\r\n"     // double negative: NO
                           "g SETACL Box bob\r\n"          // missing argument: BAD
                           "h SETACL Box alice r\r\n"      // the owner's own rights: NO
                           "i SETACL Nope bob lr\r\n"      // no such mailbox: NO
                           "j GETACL\r\n"                  // BAD
                           "k SETACL Box bob \"l r\"\r\n"  // a space is no right: BAD
                           "l LISTRIGHTS Box nosuchuser\r\n"
                           "m NOOP\r\n");
  EXPECT_TRUE(tagged(out, "a").rfind("a BAD", 0) == 0) << out;
  for (const char* t : {"b", "c", "d", "e", "f", "h", "i", "l"})
    EXPECT_TRUE(tagged(out, t).rfind(std::string(t) + " NO", 0) == 0) << t << "\n" << out;
  EXPECT_TRUE(tagged(out, "g").rfind("g BAD", 0) == 0) << out;
  EXPECT_TRUE(tagged(out, "j").rfind("j BAD", 0) == 0) << out;
  EXPECT_TRUE(tagged(out, "k").rfind("k BAD", 0) == 0) << out;
  EXPECT_TRUE(ok(out, "m")) << out;
  auto stored = services_.store->get_acl("acct-alice", "Box");
  ASSERT_TRUE(stored.is_ok());
  EXPECT_TRUE(stored->empty());
}

// RFC 4314 4 / 6: without "l" a folder answers exactly as one that does not exist.
TEST_F(ImapAcl, WithoutLookupTheFolderLooksNonExistent) {
  grant("r", "u:acct-bob", "Secret");
  std::string out = as("bob",
                       "a SELECT \"Other Users/alice/Secret\"\r\n"
                       "b SELECT \"Other Users/alice/Nothing\"\r\n"
                       "c STATUS \"Other Users/alice/Secret\" (MESSAGES)\r\n"
                       "d STATUS \"Other Users/alice/Nothing\" (MESSAGES)\r\n"
                       "e MYRIGHTS \"Other Users/alice/Secret\"\r\n"
                       "f MYRIGHTS \"Other Users/alice/Nothing\"\r\n"
                       "g LIST \"\" \"*\"\r\n"
                       "h SELECT \"Other Users/nobody/Secret\"\r\n");
  auto text = [&](const std::string& t) {
    std::string l = tagged(out, t);
    return l.substr(l.find(' '));
  };
  EXPECT_EQ(text("a"), text("b")) << out;
  EXPECT_EQ(text("c"), text("d")) << out;
  EXPECT_EQ(text("e"), text("f")) << out;
  EXPECT_EQ(text("a"), text("h")) << out;
  EXPECT_TRUE(has(text("a"), "NO [NONEXISTENT]")) << out;
  EXPECT_FALSE(has(out, "Secret\r\n")) << out;
  EXPECT_FALSE(has(out, "Other Users")) << out;
}

TEST_F(ImapAcl, LookupShowsTheFolderWithNoselectParents) {
  std::string before = as("bob", "a LIST \"\" \"*\"\r\n");
  EXPECT_FALSE(has(before, "Other Users")) << before;
  grant("l");
  std::string out = as("bob",
                       "a LIST \"\" \"*\"\r\n"
                       "b LIST \"\" \"%\"\r\n"
                       "c LIST \"\" \"Other Users/%\"\r\n"
                       "d LIST \"\" \"Other Users/alice/%\"\r\n");
  EXPECT_TRUE(has(out, "* LIST (\\Noselect \\HasChildren) \"/\" \"Other Users\"\r\n")) << out;
  EXPECT_TRUE(has(out, "* LIST (\\Noselect \\HasChildren) \"/\" \"Other Users/alice\"\r\n")) << out;
  EXPECT_TRUE(has(out, "* LIST (\\HasNoChildren) \"/\" \"Other Users/alice/Box\"\r\n")) << out;
  std::string b;
  for (const auto& l : lines_of(out, "b")) b += l + "\n";
  EXPECT_TRUE(has(b, "\"Other Users\"\n")) << b;
  EXPECT_FALSE(has(b, "Other Users/")) << b;
  auto c = lines_of(out, "c");
  ASSERT_EQ(c.size(), 2u) << out;
  EXPECT_TRUE(has(c[0], "\"Other Users/alice\"")) << out;
  auto d = lines_of(out, "d");
  ASSERT_EQ(d.size(), 2u) << out;
  EXPECT_TRUE(has(d[0], "\"Other Users/alice/Box\"")) << out;
}

TEST_F(ImapAcl, ReadRightForSelectAndExamine) {
  grant("l");
  std::string no =
      as("bob", "a SELECT \"Other Users/alice/Box\"\r\nb EXAMINE \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(has(tagged(no, "a"), "NO [NOPERM]")) << no;
  EXPECT_TRUE(has(tagged(no, "b"), "NO [NOPERM]")) << no;
  grant("lr");
  std::string out = as("bob",
                       "a SELECT \"Other Users/alice/Box\"\r\n"
                       "b FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n");
  // Only "lr": read-only (RFC 4314 4).
  EXPECT_TRUE(has(tagged(out, "a"), "OK [READ-ONLY]")) << out;
  EXPECT_TRUE(has(out, "* 1 EXISTS")) << out;
  EXPECT_TRUE(has(out, "Subject: one")) << out;
}

TEST_F(ImapAcl, SeenWriteAndDeleteRightsPerFlagKind) {
  const std::string sel = "s SELECT \"Other Users/alice/Box\"\r\n";
  grant("lrw");
  std::string out = as("bob", sel +
                                  "a STORE 1 +FLAGS (\\Seen)\r\nb STORE 1 +FLAGS (\\Deleted)\r\n"
                                  "c STORE 1 +FLAGS ($Label)\r\nd STORE 1 FLAGS ()\r\n");
  EXPECT_TRUE(has(tagged(out, "s"), "OK [READ-WRITE]")) << out;
  EXPECT_TRUE(has(tagged(out, "a"), "NO [NOPERM]")) << out;
  EXPECT_TRUE(has(tagged(out, "b"), "NO [NOPERM]")) << out;
  EXPECT_TRUE(ok(out, "c")) << out;
  EXPECT_TRUE(has(tagged(out, "d"), "NO [NOPERM]")) << out;
  grant("lrs");
  out = as("bob", sel + "a STORE 1 +FLAGS (\\Seen)\r\nc STORE 1 +FLAGS ($Other)\r\n");
  EXPECT_TRUE(ok(out, "a")) << out;
  EXPECT_TRUE(has(tagged(out, "c"), "NO [NOPERM]")) << out;
  grant("lrt");
  out = as("bob", sel + "b STORE 1 +FLAGS (\\Deleted)\r\n");
  EXPECT_TRUE(ok(out, "b")) << out;
  grant("lrswt");
  out = as("bob", sel + "d STORE 1 FLAGS (\\Seen)\r\n");
  EXPECT_TRUE(ok(out, "d")) << out;
}

TEST_F(ImapAcl, ExpungeRight) {
  grant("lrt");
  std::string out = as("bob",
                       "s SELECT \"Other Users/alice/Box\"\r\n"
                       "a STORE 1 +FLAGS.SILENT (\\Deleted)\r\nb EXPUNGE\r\n");
  EXPECT_TRUE(ok(out, "a")) << out;
  EXPECT_TRUE(has(tagged(out, "b"), "NO [NOPERM]")) << out;
  grant("lrte");
  out = as("bob", "s SELECT \"Other Users/alice/Box\"\r\nb EXPUNGE\r\n");
  EXPECT_TRUE(ok(out, "b")) << out;
  EXPECT_TRUE(has(out, "* 1 EXPUNGE")) << out;
}

TEST_F(ImapAcl, InsertRightForAppendCopyAndMove) {
  ASSERT_TRUE(services_.store->append("acct-bob", req("INBOX", "mine")).is_ok());
  std::string msg = message("appended");
  std::string app =
      "a APPEND \"Other Users/alice/Box\" {" + std::to_string(msg.size()) + "+}\r\n" + msg + "\r\n";
  grant("lr");
  std::string out = as("bob", app + "s SELECT INBOX\r\nb COPY 1 \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(has(tagged(out, "a"), "NO [NOPERM]")) << out;
  EXPECT_TRUE(has(tagged(out, "b"), "NO [NOPERM]")) << out;
  grant("lri");
  out = as("bob", app +
                      "s SELECT INBOX\r\nb COPY 1 \"Other Users/alice/Box\"\r\n"
                      "c MOVE 1 \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(has(tagged(out, "a"), "OK [APPENDUID")) << out;
  EXPECT_TRUE(has(tagged(out, "b"), "OK [COPYUID")) << out;
  EXPECT_TRUE(ok(out, "c")) << out;
  auto box = services_.store->mailbox_status("acct-alice", "Box");
  ASSERT_TRUE(box.is_ok());
  EXPECT_EQ(box->messages, 4u);  // one, appended, the copy and the moved one
  auto inbox = services_.store->mailbox_status("acct-bob", "INBOX");
  ASSERT_TRUE(inbox.is_ok());
  EXPECT_EQ(inbox->messages, 0u);
  // And out of the shared folder into bob's own INBOX: COPY needs only "r" there.
  out = as("bob", "s SELECT \"Other Users/alice/Box\"\r\nb COPY 1:2 INBOX\r\n");
  EXPECT_TRUE(has(tagged(out, "b"), "OK [COPYUID")) << out;
}

// RFC 4314 4: flags given with APPEND are kept only with the right to set them; \Seen (with
// [imap] shared_seen = "per-user", the default) is the reader's mark, not the owner's flag.
TEST_F(ImapAcl, AppendDropsFlagsWithoutTheirRights) {
  std::string msg = message("flagged");
  auto append_flags = [&](const std::string& rights) {
    grant(rights);
    std::string out = as("bob", "a APPEND \"Other Users/alice/Box\" (\\Seen \\Flagged $Work) {" +
                                    std::to_string(msg.size()) + "+}\r\n" + msg + "\r\n");
    EXPECT_TRUE(ok(out, "a")) << out;
    auto snap = services_.store->snapshot("acct-alice", "Box");
    EXPECT_TRUE(snap.is_ok());
    return snap->messages.back();
  };
  auto bare = append_flags("li");
  EXPECT_EQ(bare.flags, 0u);
  EXPECT_TRUE(bare.keywords.empty());
  auto bob_seen = [&](uint32_t uid) {
    auto marks = services_.store->reader_seen("acct-alice", "Box", "acct-bob", 0, {});
    EXPECT_TRUE(marks.is_ok());
    for (const auto& m : *marks)
      if (m.uid == uid) return m.seen;
    return false;
  };
  EXPECT_FALSE(bob_seen(bare.uid));
  auto seen = append_flags("lis");
  EXPECT_EQ(seen.flags, 0u);
  EXPECT_TRUE(bob_seen(seen.uid));
  auto all = append_flags("lisw");
  EXPECT_EQ(all.flags, static_cast<uint32_t>(store::kFlagged));
  EXPECT_TRUE(bob_seen(all.uid));
  EXPECT_EQ(all.keywords, std::vector<std::string>{"$Work"});
}

// [imap] shared_seen: "per-user" (default) keeps bob's \Seen apart from alice's and carol's;
// "shared" stores it on the message, for everyone.
TEST_F(ImapAcl, SharedSeenPerUserOrShared) {
  grant("lrs");
  ASSERT_TRUE(services_.store->set_acl("acct-alice", "Box", "u:acct-carol", "lrs").is_ok());
  const std::string select = "s SELECT \"Other Users/alice/Box\"\r\n";
  std::string out = as("bob", select + "a STORE 1 +FLAGS (\\Seen)\r\nb SEARCH UNSEEN\r\n");
  EXPECT_TRUE(has(out, "* 1 FETCH (FLAGS (\\Seen")) << out;
  EXPECT_TRUE(has(out, "* SEARCH\r\n")) << out;
  out = as("carol", select + "b SEARCH UNSEEN\r\n");
  EXPECT_TRUE(has(out, "* SEARCH 1\r\n")) << out;
  out = as("alice", "s SELECT Box\r\nb SEARCH UNSEEN\r\n");
  EXPECT_TRUE(has(out, "* SEARCH 1\r\n")) << out;
  options_.shared_seen_per_user = false;
  out = as("carol", select + "a STORE 1 +FLAGS (\\Seen)\r\n");
  EXPECT_TRUE(ok(out, "a")) << out;
  out = as("alice", "s SELECT Box\r\nb SEARCH UNSEEN\r\n");
  EXPECT_TRUE(has(out, "* SEARCH\r\n")) << out;
}

// Per-user \Seen: COPY and MOVE carry the \Seen the user sees, not the owner's flag: out of a
// shared folder into the user's own INBOX, within the owner's store (the user's mark follows
// the copy), and from the user's own folder into a shared one (a mark of the user there).
TEST_F(ImapAcl, CopyAndMoveCarryTheReadersSeen) {
  auto seen_by_alice = req("Box", "seen-by-alice");
  seen_by_alice.flags = store::kSeen;
  ASSERT_TRUE(services_.store->append("acct-alice", seen_by_alice).is_ok());  // UID 2
  ASSERT_TRUE(services_.store->create_mailbox("acct-alice", "Box2").is_ok());
  ASSERT_TRUE(services_.store->append("acct-bob", req("INBOX", "bobs")).is_ok());
  grant("lrsite");
  grant("lrsi", "u:acct-bob", "Box2");
  const std::string select = "s SELECT \"Other Users/alice/Box\"\r\n";
  std::string out = as("bob", select +
                                  "a STORE 1 +FLAGS.SILENT (\\Seen)\r\n"
                                  "b COPY 1:2 INBOX\r\n"
                                  "c COPY 1:2 \"Other Users/alice/Box2\"\r\n"
                                  "d MOVE 1 \"Other Users/alice/Box2\"\r\n"
                                  "e SELECT INBOX\r\nf STORE 1 +FLAGS.SILENT (\\Seen)\r\n"
                                  "g COPY 1 \"Other Users/alice/Box2\"\r\n"
                                  "h SELECT \"Other Users/alice/Box2\"\r\n"
                                  "i FETCH 1:* (UID FLAGS)\r\n"
                                  "j SELECT INBOX\r\nk FETCH 2:3 (UID FLAGS)\r\n");
  for (const char* t : {"a", "b", "c", "d", "f", "g", "i", "k"})
    EXPECT_TRUE(ok(out, t)) << t << out;
  // Into bob's own INBOX: the copy of 1 (seen by bob only) is \Seen, of 2 (alice's) is not.
  auto k = lines_of(out, "k");
  ASSERT_EQ(k.size(), 3u) << out;
  // (\Recent aside: the messages are new to these sessions.)
  auto seen = [](const std::string& line) { return line.find("\\Seen") != std::string::npos; };
  EXPECT_TRUE(seen(k[0]) && has(k[0], "* 2 FETCH (UID 2 ")) << out;
  EXPECT_TRUE(!seen(k[1]) && has(k[1], "* 3 FETCH (UID 3 ")) << out;
  // In Box2 bob sees: the copy of 1 seen, of 2 unseen, the moved 1 seen, his own message seen.
  auto i = lines_of(out, "i");
  ASSERT_EQ(i.size(), 5u) << out;
  EXPECT_TRUE(seen(i[0]) && has(i[0], "UID 1 ")) << out;
  EXPECT_TRUE(!seen(i[1]) && has(i[1], "UID 2 ")) << out;
  EXPECT_TRUE(seen(i[2]) && has(i[2], "UID 3 ")) << out;
  EXPECT_TRUE(seen(i[3]) && has(i[3], "UID 4 ")) << out;
  // alice's own flags are hers: only the copy of her seen message is \Seen for her -- not
  // the copy of bob's own message that bob has seen (his \Seen is his mark, as with APPEND).
  out = as("alice", "s SELECT Box2\r\ni FETCH 1:* (UID FLAGS)\r\n");
  i = lines_of(out, "i");
  ASSERT_EQ(i.size(), 5u) << out;
  EXPECT_TRUE(!seen(i[0]) && has(i[0], "UID 1 ")) << out;
  EXPECT_TRUE(seen(i[1]) && has(i[1], "UID 2 ")) << out;
  EXPECT_TRUE(!seen(i[2]) && has(i[2], "UID 3 ")) << out;
  EXPECT_TRUE(!seen(i[3]) && has(i[3], "UID 4 ")) << out;
}

TEST_F(ImapAcl, QuotaIsChargedToTheOwner) {
  grant("lri");
  auto alice_before = services_.store->quota_usage("acct-alice");
  auto bob_before = services_.store->quota_usage("acct-bob");
  ASSERT_TRUE(alice_before.is_ok() && bob_before.is_ok());
  std::string msg = message("charged");
  std::string out =
      as("bob", "a APPEND \"Other Users/alice/Box\" {" + std::to_string(msg.size()) + "+}\r\n" +
                    msg + "\r\nb GETQUOTAROOT \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(ok(out, "a")) << out;
  auto alice_after = services_.store->quota_usage("acct-alice");
  auto bob_after = services_.store->quota_usage("acct-bob");
  EXPECT_EQ(alice_after->messages, alice_before->messages + 1);
  EXPECT_EQ(bob_after->messages, bob_before->messages);
  // The owner's limits apply: alice at one message refuses the next append.
  ASSERT_TRUE(local_->set_quota("acct-alice", 0, alice_after->messages).is_ok());
  out = as("bob", "a APPEND \"Other Users/alice/Box\" {" + std::to_string(msg.size()) + "+}\r\n" +
                      msg + "\r\nb GETQUOTAROOT \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(has(tagged(out, "a"), "NO [OVERQUOTA]")) << out;
  EXPECT_TRUE(has(out, "* QUOTAROOT \"Other Users/alice/Box\" \"Other Users/alice\"")) << out;
}

TEST_F(ImapAcl, CreateRightBelowAndDeleteRight) {
  grant("lr");
  std::string out = as("bob",
                       "a CREATE \"Other Users/alice/Box/Sub\"\r\n"
                       "b DELETE \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(has(tagged(out, "a"), "NO [NOPERM]")) << out;
  EXPECT_TRUE(has(tagged(out, "b"), "NO [NOPERM]")) << out;
  grant("lrk");
  out = as("bob", "a CREATE \"Other Users/alice/Box/Sub\"\r\n");
  EXPECT_TRUE(ok(out, "a")) << out;
  EXPECT_TRUE(services_.store->mailbox_status("acct-alice", "Box/Sub").is_ok());
  grant("lrx", "u:acct-bob", "Box/Sub");
  out = as("bob", "b DELETE \"Other Users/alice/Box/Sub\"\r\n");
  EXPECT_TRUE(ok(out, "b")) << out;
  EXPECT_FALSE(services_.store->mailbox_status("acct-alice", "Box/Sub").is_ok());
}

TEST_F(ImapAcl, AdministerRightAndPostIsKept) {
  grant("lr");
  std::string out = as("bob",
                       "a GETACL \"Other Users/alice/Box\"\r\n"
                       "b SETACL \"Other Users/alice/Box\" carol lr\r\n"
                       "c MYRIGHTS \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(has(tagged(out, "a"), "NO [NOPERM]")) << out;
  EXPECT_TRUE(has(tagged(out, "b"), "NO [NOPERM]")) << out;
  EXPECT_TRUE(has(out, "* MYRIGHTS \"Other Users/alice/Box\" lr\r\n")) << out;
  grant("lrpa");
  out = as("bob",
           "a GETACL \"Other Users/alice/Box\"\r\n"
           "b SETACL \"Other Users/alice/Box\" carol lr\r\n"
           "c MYRIGHTS \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(ok(out, "a")) << out;
  EXPECT_TRUE(has(out, "* ACL \"Other Users/alice/Box\" alice lrswipkxteacd bob lrpa\r\n")) << out;
  EXPECT_TRUE(ok(out, "b")) << out;
  EXPECT_TRUE(has(out, "* MYRIGHTS \"Other Users/alice/Box\" lrpa\r\n")) << out;
  out = as("carol", "a MYRIGHTS \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(has(out, "* MYRIGHTS \"Other Users/alice/Box\" lr\r\n")) << out;
}

// Rights follow the directory's groups at the next command: no new login, no restart.
TEST_F(ImapAcl, GroupGrantFollowsCurrentMembership) {
  grant("lr", "g:" + group_id());
  grant("lr", "u:acct-bob");
  auto hook = [this] {
    ASSERT_TRUE(local_->remove_group_member("staff@example.com", "carol@example.com").is_ok());
  };
  HookedTransport t({"L LOGIN carol secret\r\na SELECT \"Other Users/alice/Box\"\r\n"
                     "b SELECT \"Other Users/alice/Box\"\r\nZ LOGOUT\r\n"},
                    "b ", hook);
  std::string out = run(t);
  EXPECT_TRUE(has(tagged(out, "a"), "OK [READ-ONLY]")) << out;
  EXPECT_TRUE(has(tagged(out, "b"), "NO [NONEXISTENT]")) << out;
  // A negative entry takes away what a group gives.
  ASSERT_TRUE(local_->add_group_member("staff@example.com", "bob@example.com").is_ok());
  grant("lrs", "g:" + group_id());
  grant("s", "-u:acct-bob");
  out = as("bob", "a MYRIGHTS \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(has(out, "* MYRIGHTS \"Other Users/alice/Box\" lr\r\n")) << out;
}

TEST_F(ImapAcl, AclKeptByRenameAndGoneWithDelete) {
  std::string out = as("alice",
                       "a SETACL Box bob lr\r\nb RENAME Box Renamed\r\nc GETACL Renamed\r\n"
                       "d DELETE Renamed\r\ne CREATE Renamed\r\nf GETACL Renamed\r\n");
  EXPECT_TRUE(has(out, "* ACL \"Renamed\" alice lrswipkxteacd bob lr\r\n")) << out;
  EXPECT_TRUE(ok(out, "d")) << out;
  EXPECT_TRUE(has(out, "* ACL \"Renamed\" alice lrswipkxteacd\r\n")) << out;
}

// The session on another account's folder follows the owner's shared view (the same
// (account, mailbox) watch and view): that it hears of the owner's new mail during IDLE is
// tested against mailroomd (tests/integration/imap/test_imap_acl.py), where the store's
// notices reach the session's strand as in production.
TEST_F(ImapAcl, SharedFolderUsesTheOwnersView) {
  grant("lr");
  std::string out = as("bob",
                       "a SELECT \"Other Users/alice/Box\"\r\nb STATUS \"Other Users/alice/Box\" "
                       "(MESSAGES UIDNEXT)\r\n");
  EXPECT_TRUE(has(out, "* STATUS \"Other Users/alice/Box\" (MESSAGES 1 UIDNEXT 2)")) << out;
  ASSERT_TRUE(services_.store->append("acct-alice", req("Box", "two")).is_ok());
  out = as("bob", "a EXAMINE \"Other Users/alice/Box\"\r\n");
  EXPECT_TRUE(has(out, "* 2 EXISTS")) << out;
}

TEST_F(ImapAcl, SubscribedSharedFolderInLsubAndListSubscribed) {
  grant("lr");
  std::string out = as("bob",
                       "a SUBSCRIBE \"Other Users/alice/Box\"\r\nb LSUB \"\" \"*\"\r\n"
                       "c LIST (SUBSCRIBED) \"\" \"*\"\r\n"
                       "d SUBSCRIBE \"Other Users/alice/Secret\"\r\n");
  EXPECT_TRUE(ok(out, "a")) << out;
  EXPECT_TRUE(has(out, "* LSUB () \"/\" \"Other Users/alice/Box\"")) << out;
  EXPECT_TRUE(has(out, "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Other Users/alice/Box\""))
      << out;
  EXPECT_TRUE(has(tagged(out, "d"), "NO [NONEXISTENT]")) << out;
}

// NOTIFY (RFC 5465) on another account's folders: STATUS only with "l" and "r", none for a
// folder without them (as for one that does not exist), and none once the rights are taken.
// RFC 5465 5.6 with RFC 5464 3.3 and RFC 4314: bob is told of alice's folder's /shared entries
// only while he may read them ("l" and "r"), of his own /private ones there, and never of
// alice's /private ones.
TEST_F(ImapAcl, NotifyMetadataRespectsRights) {
  grant("lr");
  grant("l", "u:acct-bob", "Secret");
  auto& events = MetadataEvents::instance();
  const std::string cmds =
      "a NOTIFY SET (mailboxes (\"Other Users/alice/Box\" \"Other Users/alice/Secret\") "
      "(MailboxMetadataChange))\r\nb NOOP\r\nc NOOP\r\n";
  auto bob = [&](std::function<void()> hook) {
    HookedTransport t({"L LOGIN bob builder\r\n" + cmds + "Z LOGOUT\r\n"}, "b NOOP",
                      std::move(hook));
    return run(t);
  };
  std::string out = bob([&] {
    events.publish({"acct-alice", "Box", {"/shared/comment"}, ""});
    events.publish({"acct-alice", "Box", {"/private/comment"}, "acct-alice"});
    events.publish({"acct-alice", "Secret", {"/shared/comment"}, ""});
    events.publish({"acct-alice", "Box", {"/private/mine"}, "acct-bob"});
  });
  EXPECT_TRUE(ok(out, "a")) << out;
  std::string b;
  for (const auto& l : lines_of(out, "b")) b += l + "\n";
  // One response per mailbox, its entries ascending.
  EXPECT_TRUE(has(b, "* METADATA \"Other Users/alice/Box\" /private/mine /shared/comment\n"))
      << out;
  EXPECT_FALSE(has(out, "/private/comment")) << out;
  EXPECT_FALSE(has(out, "Secret\" /shared")) << out;
  // The rights taken away after NOTIFY SET: the folder falls silent.
  out = bob([&] {
    grant("");
    events.publish({"acct-alice", "Box", {"/shared/comment"}, ""});
  });
  EXPECT_TRUE(ok(out, "a")) << out;
  EXPECT_FALSE(has(out, "* METADATA")) << out;
}

TEST_F(ImapAcl, NotifyRespectsRights) {
  grant("lr");
  grant("l", "u:acct-bob", "Secret");
  const std::string cmds =
      "a NOTIFY SET (mailboxes (\"Other Users/alice/Box\" \"Other Users/alice/Secret\" "
      "\"Other Users/alice/Nothing\") (MessageNew MessageExpunge))\r\nb NOOP\r\nc NOOP\r\n";
  auto bob = [&](std::function<void()> hook) {
    HookedTransport t({"L LOGIN bob builder\r\n" + cmds + "Z LOGOUT\r\n"}, "b NOOP",
                      std::move(hook));
    return run(t);
  };
  std::string out = bob([&] {
    ASSERT_TRUE(services_.store->append("acct-alice", req("Secret", "hidden")).is_ok());
    ASSERT_TRUE(services_.store->append("acct-alice", req("Box", "two")).is_ok());
  });
  EXPECT_TRUE(ok(out, "a")) << out;
  auto b = lines_of(out, "b");
  ASSERT_EQ(b.size(), 2u) << out;
  EXPECT_EQ(b[0].rfind("* STATUS \"Other Users/alice/Box\" (MESSAGES 2 UIDNEXT 3", 0), 0u) << out;
  EXPECT_FALSE(has(out, "Secret")) << out;
  // The rights taken away after NOTIFY SET: the folder falls silent.
  out = bob([&] {
    grant("");
    ASSERT_TRUE(services_.store->append("acct-alice", req("Box", "three")).is_ok());
  });
  EXPECT_TRUE(ok(out, "a")) << out;
  EXPECT_FALSE(has(out, "* STATUS")) << out;
}

}  // namespace
}  // namespace mailroom::imap
