// NOTIFY (RFC 5465) through the session (no sockets): [BADEVENT] for events unknown or not
// sent; STATUS for new, expunged and flag-changed messages of other mailboxes (SET STATUS at
// once); LIST for mailboxes created, deleted, renamed and (un)subscribed; the selected
// mailbox's EXISTS / FETCH with MessageNew's attributes (not setting \Seen) between commands,
// EXPUNGE held back with selected-delayed; events during IDLE; NOTIFY NONE; and the bounded
// queue ending in [NOTIFICATIONOVERFLOW]. ACL: session_acl_test.cpp (NotifyRespectsRights).
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/imap/metadata_events.h"
#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

// A transport where a client line starting with `prefix` (a command, or DONE in IDLE) first
// runs `hook` (another session's change) and then, when `wait_for` is set, is held back until
// the session has flushed that text by itself (at most ~5 s of 1 ms polls): what the session
// sends while it waits for the client.
class WaitingTransport : public ScriptedTransport {
 public:
  WaitingTransport(std::vector<std::string> segments, std::string prefix,
                   std::function<void()> hook, std::string wait_for = {})
      : ScriptedTransport(std::move(segments), true),
        prefix_(std::move(prefix)),
        hook_(std::move(hook)),
        wait_for_(std::move(wait_for)) {}
  boost::asio::awaitable<net::ReadStatus> read_command(std::string& line, std::size_t max,
                                                       bool* bare_lf) override {
    auto st = co_await ScriptedTransport::read_command(line, max, bare_lf);
    co_await maybe_hook(line);
    co_return st;
  }
  boost::asio::awaitable<net::ReadStatus> read_line(std::string& line, std::size_t max,
                                                    bool* bare_lf) override {
    auto st = co_await ScriptedTransport::read_line(line, max, bare_lf);
    co_await maybe_hook(line);
    co_return st;
  }
  using ScriptedTransport::read_command;
  using ScriptedTransport::read_line;
  size_t output_before_line = std::string::npos;  // output size when the held line went on

 private:
  boost::asio::awaitable<void> maybe_hook(const std::string& line) {
    if (!hook_ || line.rfind(prefix_, 0) != 0) co_return;
    hook_();
    hook_ = nullptr;
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
    for (int i = 0; i < 5000 && !wait_for_.empty() && output.find(wait_for_) == std::string::npos;
         ++i) {
      t.expires_after(std::chrono::milliseconds(1));
      co_await t.async_wait(boost::asio::use_awaitable);
    }
    output_before_line = output.size();
  }
  std::string prefix_;
  std::function<void()> hook_;
  std::string wait_for_;
};

class ImapNotify : public ImapSession {
 protected:
  ImapNotify() {
    for (const char* b : {"Work", "Lists", "Lists/Dev", "Other"})
      EXPECT_TRUE(services_.store->create_mailbox("acct-alice", b).is_ok()) << b;
    EXPECT_TRUE(services_.store->set_subscribed("acct-alice", "Lists/Dev", true).is_ok());
  }
  void deliver(const std::string& box, const std::string& subject, uint32_t flags = 0) {
    bodies_.push_back(message(subject));
    store::AppendRequest r;
    r.mailbox = box;
    r.message = bodies_.back();
    r.flags = flags;
    ASSERT_TRUE(services_.store->append("acct-alice", r).is_ok());
  }
  std::string uidvalidity(const std::string& box) {
    auto st = services_.store->mailbox_status("acct-alice", box);
    return st ? std::to_string(st->uid_validity) : "?";
  }
  // alice's session: LOGIN, `commands`, LOGOUT, with `hook` before the line starting `at`.
  std::string session(const std::string& commands, const std::string& at,
                      std::function<void()> hook, const std::string& wait_for = {},
                      WaitingTransport** seen = nullptr) {
    transport_ = std::make_unique<WaitingTransport>(
        std::vector<std::string>{"L LOGIN alice wonderland\r\n", commands, "Z LOGOUT\r\n"}, at,
        std::move(hook), wait_for);
    if (seen) *seen = transport_.get();
    return run(*transport_);
  }
  static bool has(const std::string& out, const std::string& text) {
    return out.find(text) != std::string::npos;
  }
  static std::vector<std::string> with(const std::vector<std::string>& lines,
                                       const std::string& text) {
    std::vector<std::string> out;
    for (const auto& l : lines)
      if (l.find(text) != std::string::npos) out.push_back(l);
    return out;
  }

  std::vector<std::string> bodies_;
  std::unique_ptr<WaitingTransport> transport_;
};

TEST_F(ImapNotify, AdvertisedAndBadEvent) {
  std::string out = session(
      "a CAPABILITY\r\n"
      "b NOTIFY SET (personal (MessageNew MessageExpunge x-Bogus))\r\n"
      "c NOTIFY SET (personal (MailboxMetadataChange))\r\n"
      "d NOTIFY SET (selected (AnnotationChange MessageNew MessageExpunge))\r\n"
      "e NOTIFY SET (selected (MessageNew MailboxName))\r\n"
      "f NOTIFY SET (personal (MessageNew (UID) MessageExpunge))\r\n"
      "g NOTIFY SET (selected (MessageNew (RFC822) MessageExpunge))\r\n"
      "h NOTIFY NONE\r\n"
      "i NOOP\r\n",
      "", nullptr);
  EXPECT_TRUE(has(tagged(out, "a"), "OK")) << out;
  EXPECT_TRUE(has(lines_of(out, "a")[0], " NOTIFY")) << out;
  // RFC 5465 3.1: NO [BADEVENT (what the server supports)], the session goes on.
  // AnnotationChange (per-message annotations, RFC 5257) is the one event not sent.
  const std::string badevent =
      "NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange "
      "MailboxMetadataChange ServerMetadataChange)]";
  for (const char* t : {"b", "d"})
    EXPECT_EQ(tagged(out, t).rfind(std::string(t) + " " + badevent, 0), 0u) << out;
  EXPECT_TRUE(has(tagged(out, "c"), "c OK")) << out;
  for (const char* t : {"e", "f", "g"}) EXPECT_TRUE(has(tagged(out, t), " BAD ")) << out;
  EXPECT_TRUE(has(tagged(out, "h"), "OK")) << out;
  EXPECT_TRUE(has(tagged(out, "i"), "OK")) << out;
}

TEST_F(ImapNotify, StatusForOtherMailboxes) {
  deliver("Work", "old");
  std::string v = uidvalidity("Work");
  std::string out = session(
      "a NOTIFY SET STATUS (personal (MessageNew MessageExpunge FlagChange))\r\n"
      "b SELECT INBOX\r\nc NOOP\r\n",
      "c NOOP", [&] {
        deliver("Work", "new");
        deliver("Other", "other");
        deliver("INBOX", "mine");
      });
  auto a = lines_of(out, "a");
  // SET STATUS: every mailbox now (RFC 5465 3.1).
  EXPECT_FALSE(
      with(a, "STATUS \"Work\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY " + v + " UNSEEN 1)").empty())
      << out;
  EXPECT_FALSE(with(a, "STATUS \"Lists/Dev\" (MESSAGES 0").empty()) << out;
  auto c = lines_of(out, "c");
  EXPECT_FALSE(
      with(c, "* STATUS \"Work\" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY " + v + " UNSEEN 2)").empty())
      << out;
  EXPECT_FALSE(with(c, "* STATUS \"Other\" (MESSAGES 1 UIDNEXT 2").empty()) << out;
  // The selected mailbox is told with EXISTS, not STATUS; unchanged ones are not told at all.
  EXPECT_TRUE(with(c, "STATUS \"INBOX\"").empty()) << out;
  EXPECT_FALSE(with(c, "* 1 EXISTS").empty()) << out;
  EXPECT_TRUE(with(c, "Lists").empty()) << out;
}

TEST_F(ImapNotify, MailboxNamesFollowTheSessionsEncoding) {
  // RFC 9051 5.1 / RFC 6855 3: an IMAP4rev2 (or UTF8=ACCEPT) session gets UTF-8 names in
  // NOTIFY's STATUS and LIST lines too, a rev1 session modified UTF-7 (RFC 3501 5.1.3).
  ASSERT_TRUE(services_.store->create_mailbox("acct-alice", "Entwürfe").is_ok());
  std::string rev2 = session(
      "e ENABLE IMAP4rev2\r\n"
      "a NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))\r\n"
      "c NOOP\r\n",
      "c NOOP", [&] {
        deliver("Entwürfe", "draft");
        EXPECT_TRUE(services_.store->create_mailbox("acct-alice", "Für alle").is_ok());
      });
  auto c = lines_of(rev2, "c");
  EXPECT_FALSE(with(c, "* STATUS \"Entwürfe\" (MESSAGES 1").empty()) << rev2;
  EXPECT_FALSE(with(c, "\"Für alle\"").empty()) << rev2;
  EXPECT_TRUE(with(c, "&APw-").empty()) << rev2;
  std::string rev1 = session(
      "a NOTIFY SET (personal (MessageNew MessageExpunge))\r\n"
      "c NOOP\r\n",
      "c NOOP", [&] { deliver("Entwürfe", "draft 2"); });
  EXPECT_FALSE(with(lines_of(rev1, "c"), "* STATUS \"Entw&APw-rfe\" (MESSAGES 2").empty()) << rev1;
}

TEST_F(ImapNotify, ExpungeAndFlagChangesOfOtherMailboxes) {
  deliver("Work", "one");
  deliver("Work", "two");
  deliver("Lists", "three");
  std::string out = session(
      "a NOTIFY SET (mailboxes Work (MessageNew MessageExpunge FlagChange)) (subtree Lists "
      "(MessageNew MessageExpunge))\r\nb NOOP\r\nc NOOP\r\n",
      "b NOOP", [&] {
        ASSERT_TRUE(services_.store->expunge("acct-alice", "Work", {1}).is_ok());
        store::StoreFlagsRequest f;
        f.uids = {2};
        f.flags = store::kSeen;
        ASSERT_TRUE(services_.store->store_flags("acct-alice", "Work", f).is_ok());
        // Lists asked for no FlagChange: its UNSEEN is not told.
        f.uids = {1};
        ASSERT_TRUE(services_.store->store_flags("acct-alice", "Lists", f).is_ok());
      });
  auto b = lines_of(out, "b");
  EXPECT_FALSE(with(b, "* STATUS \"Work\" (MESSAGES 1 UIDNEXT 3 UIDVALIDITY").empty()) << out;
  EXPECT_FALSE(with(b, "UNSEEN 0)").empty()) << out;
  EXPECT_TRUE(with(b, "Lists").empty()) << out;
  EXPECT_EQ(lines_of(out, "c").size(), 1u) << out;  // nothing new: nothing sent again
}

TEST_F(ImapNotify, MailboxNameAndSubscriptionChange) {
  std::string out = session(
      "a NOTIFY SET (subtree Lists (MailboxName SubscriptionChange MessageNew MessageExpunge)) "
      "(personal (MailboxName))\r\nb NOOP\r\nc NOOP\r\n",
      "b NOOP", [&] {
        auto& st = *services_.store;
        ASSERT_TRUE(st.create_mailbox("acct-alice", "Lists/New").is_ok());
        ASSERT_TRUE(st.rename_mailbox("acct-alice", "Other", "Renamed").is_ok());
        ASSERT_TRUE(st.delete_mailbox("acct-alice", "Work").is_ok());
        ASSERT_TRUE(st.set_subscribed("acct-alice", "Lists", true).is_ok());
        // personal asked for no SubscriptionChange.
        ASSERT_TRUE(st.set_subscribed("acct-alice", "INBOX", true).is_ok());
      });
  auto b = lines_of(out, "b");
  EXPECT_FALSE(with(b, "* LIST () \"/\" \"Lists/New\"").empty()) << out;
  EXPECT_FALSE(with(b, "* LIST () \"/\" \"Renamed\" (\"OLDNAME\" (\"Other\"))").empty()) << out;
  EXPECT_FALSE(with(b, "* LIST (\\NonExistent) \"/\" \"Work\"").empty()) << out;
  EXPECT_FALSE(with(b, "* LIST (\\Subscribed) \"/\" \"Lists\"").empty()) << out;
  EXPECT_TRUE(with(b, "INBOX").empty()) << out;
  // The new mailbox is watched now (subtree Lists asks MessageNew).
  EXPECT_EQ(lines_of(out, "c").size(), 1u) << out;
}

TEST_F(ImapNotify, NewMailInTheNewMailboxIsToldAfterCreation) {
  std::string out = session(
      "a NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))\r\nb NOOP\r\nc NOOP\r\n",
      "b NOOP",
      [&] { ASSERT_TRUE(services_.store->create_mailbox("acct-alice", "Fresh").is_ok()); });
  EXPECT_FALSE(with(lines_of(out, "b"), "LIST () \"/\" \"Fresh\"").empty()) << out;
  // A second session: the store's change to Fresh reaches the first one's watch.
  out = session("a NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))\r\nb NOOP\r\n",
                "b NOOP", [&] { deliver("Fresh", "hi"); });
  EXPECT_FALSE(with(lines_of(out, "b"), "STATUS \"Fresh\" (MESSAGES 1").empty()) << out;
}

TEST_F(ImapNotify, SelectedBetweenCommandsWithFetchAttributes) {
  deliver("INBOX", "first");
  WaitingTransport* t = nullptr;
  std::string out = session(
      "a SELECT INBOX\r\n"
      "b NOTIFY SET (selected (MessageNew (UID BODY[HEADER.FIELDS (Subject)]) MessageExpunge))\r\n"
      "c FETCH 2 (FLAGS)\r\n",
      "c FETCH", [&] { deliver("INBOX", "pushed"); }, "Subject: pushed", &t);
  ASSERT_NE(t->output_before_line, std::string::npos);
  // Sent before the client's next command was read: EXISTS, then the FETCH it asked for.
  std::string early = out.substr(0, t->output_before_line);
  size_t exists = early.find("* 2 EXISTS\r\n");
  size_t fetch = early.find("* 2 FETCH (UID 2 BODY[HEADER.FIELDS (Subject)] {");
  EXPECT_NE(exists, std::string::npos) << out;
  EXPECT_NE(fetch, std::string::npos) << out;
  EXPECT_LT(exists, fetch) << out;
  // Not marked \Seen by the notification.
  EXPECT_FALSE(with(lines_of(out, "c"), "\\Seen").size()) << out;
  EXPECT_TRUE(has(tagged(out, "c"), "OK")) << out;
}

TEST_F(ImapNotify, SelectedDelayedHoldsExpungeUntilACommandAllowsIt) {
  deliver("INBOX", "one");
  deliver("INBOX", "two");
  WaitingTransport* t = nullptr;
  std::string out = session(
      "a SELECT INBOX\r\nb NOTIFY SET (selected-delayed (MessageNew MessageExpunge))\r\n"
      "c FETCH 1:* (FLAGS)\r\nd NOOP\r\n",
      "c FETCH",
      [&] {
        ASSERT_TRUE(services_.store->expunge("acct-alice", "INBOX", {1}).is_ok());
        deliver("INBOX", "three");
      },
      "* 3 EXISTS", &t);
  std::string early = out.substr(0, t->output_before_line);
  EXPECT_TRUE(has(early, "* 3 EXISTS")) << out;
  EXPECT_FALSE(has(early, "EXPUNGE")) << out;
  // FETCH (RFC 3501 7.4.1) may not expunge either; NOOP does, and the ghost kept its number.
  EXPECT_TRUE(with(lines_of(out, "c"), "EXPUNGE").empty()) << out;
  EXPECT_FALSE(with(lines_of(out, "c"), "* 1 FETCH").empty()) << out;
  EXPECT_FALSE(with(lines_of(out, "d"), "* 1 EXPUNGE").empty()) << out;
}

TEST_F(ImapNotify, SelectedSendsExpungeBetweenCommands) {
  deliver("INBOX", "one");
  deliver("INBOX", "two");
  WaitingTransport* t = nullptr;
  std::string out = session(
      "a SELECT INBOX\r\nb NOTIFY SET (selected (MessageNew MessageExpunge))\r\nc NOOP\r\n",
      "c NOOP", [&] { ASSERT_TRUE(services_.store->expunge("acct-alice", "INBOX", {2}).is_ok()); },
      "* 2 EXPUNGE", &t);
  EXPECT_TRUE(has(out.substr(0, t->output_before_line), "* 2 EXPUNGE")) << out;
}

TEST_F(ImapNotify, WithoutSelectedGroupTheSelectedMailboxWaitsForCommands) {
  WaitingTransport* t = nullptr;
  std::string out = session(
      "a SELECT INBOX\r\nb NOTIFY SET (personal (MessageNew MessageExpunge))\r\nc NOOP\r\n",
      "c NOOP",
      [&] {
        deliver("INBOX", "quiet");
        deliver("Work", "loud");
      },
      "STATUS \"Work\"", &t);
  std::string early = out.substr(0, t->output_before_line);
  EXPECT_TRUE(has(early, "* STATUS \"Work\" (MESSAGES 1")) << out;
  EXPECT_FALSE(has(early, "* 1 EXISTS")) << out;
  EXPECT_FALSE(with(lines_of(out, "c"), "* 1 EXISTS").empty()) << out;
}

// RFC 5465 5.6, 5.7 with RFC 5464 4.4.2: SETMETADATA (this session's or another's) tells the
// groups that ask for MailboxMetadataChange / ServerMetadataChange an unsolicited METADATA with
// the entry names: only for the mailboxes those groups name, the server's entries only with
// ServerMetadataChange, nothing after NOTIFY NONE; between commands too.
TEST_F(ImapNotify, MetadataChangesOfMailboxesAndServer) {
  WaitingTransport* t = nullptr;
  std::string out = session(
      "b NOTIFY SET (mailboxes Work (MailboxMetadataChange)) (personal (ServerMetadataChange))\r\n"
      "c SETMETADATA Work (/private/comment \"w\")\r\n"
      "d SETMETADATA Other (/shared/comment \"o\")\r\n"
      "e SETMETADATA \"\" (/private/comment \"srv\")\r\n"
      "f SETMETADATA Work (/shared/comment NIL /private/vendor/x/y \"1\" /private/comment NIL)\r\n"
      "g NOOP\r\n"
      "h NOTIFY NONE\r\ni SETMETADATA Work (/private/comment \"z\")\r\n",
      "g NOOP",
      [&] {
        // Another session's change: a SETMETADATA published while this one waits.
        MetadataEvents::instance().publish({"acct-alice", "Work", {"/shared/vendor/v"}, ""});
        // Another user's /private entries of alice's mailbox, and another account's: not hers.
        MetadataEvents::instance().publish({"acct-alice", "Work", {"/private/x"}, "acct-bob"});
        MetadataEvents::instance().publish({"acct-bob", "Work", {"/shared/comment"}, ""});
      },
      "/shared/vendor/v", &t);
  for (const char* tag : {"b", "c", "d", "e", "f", "g", "h", "i"})
    EXPECT_TRUE(has(tagged(out, tag), " OK")) << tag << "\n" << out;
  EXPECT_EQ(lines_of(out, "c")[0], "* METADATA \"Work\" /private/comment") << out;
  EXPECT_EQ(lines_of(out, "d").size(), 1u) << out;  // "Other" is in no such group
  EXPECT_EQ(lines_of(out, "e")[0], "* METADATA \"\" /private/comment") << out;
  // Several entries of one command in one response (names ascending).
  EXPECT_EQ(lines_of(out, "f")[0],
            "* METADATA \"Work\" /private/comment /private/vendor/x/y /shared/comment")
      << out;
  // Between commands, before the client's next line; nothing of bob's.
  ASSERT_NE(t->output_before_line, std::string::npos);
  EXPECT_TRUE(has(out.substr(0, t->output_before_line), "* METADATA \"Work\" /shared/vendor/v\r\n"))
      << out;
  EXPECT_FALSE(has(out, "/private/x")) << out;
  EXPECT_EQ(with(lines_of(out, "g"), "METADATA").size(), 1u) << out;  // that one only
  EXPECT_EQ(lines_of(out, "i").size(), 1u) << out;                    // NOTIFY NONE: no more events
}

TEST_F(ImapNotify, EventsDuringIdle) {
  WaitingTransport* t = nullptr;
  std::string out = session(
      "a NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))\r\nb IDLE\r\nDONE\r\n",
      "DONE",
      [&] {
        deliver("Work", "idle");
        ASSERT_TRUE(services_.store->create_mailbox("acct-alice", "Idle").is_ok());
      },
      "LIST () \"/\" \"Idle\"", &t);
  std::string early = out.substr(0, t->output_before_line);
  EXPECT_TRUE(has(early, "* STATUS \"Work\" (MESSAGES 1")) << out;
  EXPECT_TRUE(has(early, "* LIST () \"/\" \"Idle\"")) << out;
  EXPECT_TRUE(has(tagged(out, "b"), "OK")) << out;
}

TEST_F(ImapNotify, NoneStopsEvents) {
  std::string out =
      session("a NOTIFY SET (personal (MessageNew MessageExpunge))\r\nb NOTIFY NONE\r\nc NOOP\r\n",
              "c NOOP", [&] { deliver("Work", "x"); });
  EXPECT_FALSE(has(out, "* STATUS")) << out;
}

TEST_F(ImapNotify, OverflowEndsNotify) {
  options_.notify_max_pending = 2;
  std::string out = session(
      "a NOTIFY SET (personal (MessageNew MessageExpunge))\r\nb NOOP\r\nc NOOP\r\n", "b NOOP", [&] {
        deliver("Work", "1");
        deliver("Other", "2");
        deliver("Lists", "3");
        deliver("Lists/Dev", "4");
      });
  auto b = lines_of(out, "b");
  EXPECT_FALSE(with(b, "* OK [NOTIFICATIONOVERFLOW]").empty()) << out;
  EXPECT_TRUE(with(b, "STATUS").empty()) << out;
  EXPECT_TRUE(has(tagged(out, "c"), "OK")) << out;
  // RFC 5465 5.8: as after NOTIFY NONE.
  out = session("a NOTIFY SET (personal (MessageNew MessageExpunge))\r\nb NOOP\r\nc NOOP\r\n",
                "b NOOP", [&] {
                  for (int i = 0; i < 3; ++i) deliver("Other", "again");
                });
  EXPECT_FALSE(with(lines_of(out, "b"), "STATUS \"Other\" (MESSAGES 4").empty()) << out;
}

}  // namespace
}  // namespace mailroom::imap
