// POP3 sessions end to end against in-memory fakes: every command, every state, the error
// paths (wrong state, bad arguments, error limit, store failures, IN-USE) and STLS.
#include "src/pop3/session.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "src/core/base64.h"
#include "src/net/worker_pool.h"
#include "tests/fakes/fake_authenticator.h"
#include "tests/fakes/fake_store.h"
#include "tests/fakes/scripted_transport.h"

namespace mailroom::pop3 {
namespace {

using mailroom::testing::FakeAuthenticator;
using mailroom::testing::FakeStore;
using mailroom::testing::ScriptedTransport;

class Pop3Session : public ::testing::Test {
 protected:
  Pop3Session() : workers_(2) {
    services_.hostname = "mail.example.com";
    services_.store = std::shared_ptr<store::MailStore>(&store_, [](store::MailStore*) {});
    services_.authenticator =
        std::shared_ptr<auth::Authenticator>(&auth_, [](auth::Authenticator*) {});
    services_.workers = &workers_;
    auth_.plaintext_needs_tls = false;  // USER/PASS on the scripted clear connection
  }

  // Runs one session over `segments` and returns what the server wrote.
  std::string run(ScriptedTransport& t) {
    boost::asio::io_context io;
    Session session(t, services_, options_, locks_);
    bool done = false;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          co_await session.run();
          done = true;
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    io.run();
    EXPECT_TRUE(done);
    last_state_ = session.state();
    return t.output;
  }
  std::string run(std::vector<std::string> segments) {
    ScriptedTransport t(std::move(segments));
    return run(t);
  }

  static std::vector<std::string> lines_of(const std::string& out) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < out.size()) {
      std::size_t e = out.find("\r\n", pos);
      if (e == std::string::npos) break;
      lines.push_back(out.substr(pos, e - pos));
      pos = e + 2;
    }
    return lines;
  }

  FakeStore store_;
  FakeAuthenticator auth_;
  net::WorkerPool workers_;
  core::Services services_;
  Options options_;
  std::shared_ptr<MaildropLocks> locks_ = std::make_shared<MaildropLocks>();
  State last_state_ = State::authorization;
};

TEST_F(Pop3Session, GreetingAndCapaInAuthorization) {
  auto lines = lines_of(run({"CAPA\r\nQUIT\r\n"}));
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[0], "+OK mail.example.com POP3 server ready");
  EXPECT_EQ(lines[1], "+OK Capability list follows");
  std::vector<std::string> caps(lines.begin() + 2, lines.end() - 2);
  auto has = [&](const std::string& c) {
    return std::find(caps.begin(), caps.end(), c) != caps.end();
  };
  for (const char* c : {"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER",
                        "USER", "SASL PLAIN", "STLS", "IMPLEMENTATION Mailroom"}) {
    EXPECT_TRUE(has(c)) << c;
  }
  EXPECT_EQ(lines[lines.size() - 2], ".");
  EXPECT_EQ(lines.back(), "+OK Bye");
}

TEST_F(Pop3Session, CapaWithoutPlaintextOrStls) {
  auth_.plaintext_needs_tls = true;
  ScriptedTransport t({"CAPA\r\nUSER alice\r\nAUTH PLAIN =\r\nQUIT\r\n"}, false, false);
  std::string out = run(t);
  EXPECT_EQ(out.find("USER\r\n"), std::string::npos);
  EXPECT_EQ(out.find("SASL"), std::string::npos);
  EXPECT_EQ(out.find("STLS\r\n"), std::string::npos);
  EXPECT_NE(out.find("-ERR [AUTH] Plaintext authentication disallowed"), std::string::npos);
  EXPECT_NE(out.find("-ERR Unsupported authentication mechanism"), std::string::npos);
}

TEST_F(Pop3Session, FullTransactionAndUpdate) {
  store_.add("id-alice", "Subject: one\r\n\r\nhello\r\n");
  // Stored with bare LF: sizes and RETR must be of the CRLF form.
  uint32_t uid2 = store_.add("id-alice", "Subject: two\n\n.dot line\nlast\n");
  store_.add("id-alice", "Subject: three\r\n\r\n1\r\n2\r\n3\r\n");
  std::string out =
      run({"USER alice\r\nPASS wonderland\r\nSTAT\r\nLIST\r\nLIST 2\r\n"
           "UIDL\r\nUIDL 3\r\nRETR 2\r\nTOP 3 1\r\nTOP 1 5\r\nDELE 1\r\n"
           "DELE 1\r\nLIST 1\r\nRETR 1\r\nSTAT\r\nRSET\r\nDELE 3\r\nNOOP\r\n"
           "QUIT\r\n"});
  // Message 2 is 33 octets in the CRLF form the client sees ("Subject: two\r\n\r\n.dot
  // line\r\nlast\r\n"), not the 29 of its stored bare-LF form.
  std::string expected =
      "+OK mail.example.com POP3 server ready\r\n"
      "+OK Send your password\r\n"
      "+OK Logged in, maildrop has 3 messages (83 octets)\r\n"
      "+OK 3 83\r\n"
      "+OK 3 messages (83 octets)\r\n1 23\r\n2 33\r\n3 27\r\n.\r\n"
      "+OK 2 33\r\n"
      "+OK Unique-id listing follows\r\n1 1700000000.1\r\n2 1700000000.2\r\n"
      "3 1700000000.3\r\n.\r\n"
      "+OK 3 1700000000.3\r\n"
      "+OK 33 octets\r\nSubject: two\r\n\r\n..dot line\r\nlast\r\n.\r\n"
      "+OK Top of message follows\r\nSubject: three\r\n\r\n1\r\n.\r\n"
      "+OK Top of message follows\r\nSubject: one\r\n\r\nhello\r\n.\r\n"
      "+OK Message 1 deleted\r\n"
      "-ERR Message 1 already deleted\r\n"
      "-ERR Message 1 already deleted\r\n"
      "-ERR Message 1 already deleted\r\n"
      "+OK 2 60\r\n"
      "+OK Maildrop has 3 messages (83 octets)\r\n"
      "+OK Message 3 deleted\r\n"
      "+OK\r\n"
      "+OK Bye, 1 messages deleted\r\n";
  EXPECT_EQ(out, expected);
  EXPECT_EQ(last_state_, State::update);
  EXPECT_TRUE(store_.has_uid("id-alice", 1));
  EXPECT_TRUE(store_.has_uid("id-alice", uid2));
  EXPECT_FALSE(store_.has_uid("id-alice", 3));
  // RETR 2 and TOP 1 5 (whole message) are retrievals; TOP 3 1 is not.
  auto marks = store_.marks("id-alice");
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks[0].uid, uid2);
  EXPECT_EQ(marks[0].ip, "192.0.2.7");
  EXPECT_GT(marks[0].when, 1600000000);
  EXPECT_EQ(marks[1].uid, 1u);
  EXPECT_FALSE(locks_->is_locked("id-alice"));
}

TEST_F(Pop3Session, DropWithoutQuitDeletesNothing) {
  store_.add("id-alice", "a\r\n");
  store_.add("id-alice", "b\r\n");
  std::string out = run({"USER alice\r\nPASS wonderland\r\nDELE 1\r\nDELE 2\r\n"});
  EXPECT_NE(out.find("+OK Message 2 deleted"), std::string::npos);
  EXPECT_TRUE(store_.has_uid("id-alice", 1));
  EXPECT_TRUE(store_.has_uid("id-alice", 2));
  EXPECT_EQ(last_state_, State::transaction);
  EXPECT_FALSE(locks_->is_locked("id-alice"));
}

TEST_F(Pop3Session, DroppedSessionSyncsItsMarks) {
  store_.add("id-alice", "a\r\n");
  store_.add("id-alice", "b\r\n");
  run({"USER alice\r\nPASS wonderland\r\nRETR 2\r\n"});
  auto marks = store_.marks("id-alice");
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_FALSE(marks[0].written_with_sync);
  EXPECT_TRUE(marks[0].durable);
  EXPECT_EQ(store_.syncs(), 1);
  // Nothing retrieved: nothing to sync.
  run({"USER alice\r\nPASS wonderland\r\nSTAT\r\n"});
  EXPECT_EQ(store_.syncs(), 1);
}

TEST_F(Pop3Session, TimeoutDeletesNothing) {
  store_.add("id-alice", "a\r\n");
  ScriptedTransport t({"USER alice\r\nPASS wonderland\r\nDELE 1\r\n"});
  t.end_with_timeout = true;
  std::string out = run(t);
  EXPECT_NE(out.find("-ERR Autologout"), std::string::npos);
  EXPECT_TRUE(store_.has_uid("id-alice", 1));
}

TEST_F(Pop3Session, InUseWhileAnotherSessionHoldsTheMaildrop) {
  auto held = locks_->try_lock("id-alice");
  std::string out = run({"USER alice\r\nPASS wonderland\r\nSTAT\r\nQUIT\r\n"});
  EXPECT_NE(out.find("-ERR [IN-USE] "), std::string::npos) << out;
  EXPECT_NE(out.find("-ERR Not allowed before authentication"), std::string::npos);
  held.reset();
  out = run({"USER alice\r\nPASS wonderland\r\nSTAT\r\nQUIT\r\n"});
  EXPECT_NE(out.find("+OK 0 0\r\n"), std::string::npos) << out;
}

TEST_F(Pop3Session, AuthFailuresAndCodes) {
  std::string out =
      run({"PASS x\r\nUSER alice\r\nPASS wrong\r\nPASS wonderland\r\n"
           "USER nobody\r\nPASS x\r\nQUIT\r\n"});
  auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 8u) << out;
  EXPECT_EQ(lines[1], "-ERR Send USER first");
  EXPECT_EQ(lines[2], "+OK Send your password");
  EXPECT_EQ(lines[3], "-ERR [AUTH] Authentication failed");
  EXPECT_EQ(lines[4], "-ERR Send USER first");  // USER must be repeated after a failure
  EXPECT_EQ(lines[6], "-ERR [AUTH] Authentication failed");
  auth_.forced = auth::AuthOutcome::unavailable;
  out = run({"USER alice\r\nPASS wonderland\r\n"});
  EXPECT_NE(out.find("-ERR [SYS/TEMP] Authentication temporarily unavailable"), std::string::npos);
}

TEST_F(Pop3Session, SaslPlain) {
  store_.add("id-bob", "x\r\n");
  std::string ir = core::base64_encode(std::string("\0bob\0builder", 12));
  std::string out = run({"AUTH\r\nAUTH PLAIN " + ir + "\r\nSTAT\r\nQUIT\r\n"});
  EXPECT_NE(out.find("+OK Methods supported:\r\nPLAIN\r\n.\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("+OK Logged in, maildrop has 1 messages (3 octets)"), std::string::npos);
  // Challenge / response, then cancel, then a malformed response.
  out = run({"AUTH PLAIN\r\n", ir + "\r\n", "QUIT\r\n"});
  EXPECT_NE(out.find("+ \r\n+OK Logged in"), std::string::npos) << out;
  out = run({"AUTH plain\r\n", "*\r\n", "AUTH PLAIN\r\n", "!!!\r\n", "AUTH PLAIN\r\n",
             core::base64_encode(std::string("\0bob\0nope", 9)) + "\r\n", "AUTH X\r\n",
             "AUTH PLAIN bad*\r\n", "QUIT\r\n"});
  EXPECT_NE(out.find("-ERR Authentication cancelled"), std::string::npos) << out;
  EXPECT_NE(out.find("-ERR Malformed authentication response"), std::string::npos);
  EXPECT_NE(out.find("-ERR [AUTH] Authentication failed"), std::string::npos);
  EXPECT_NE(out.find("-ERR Unsupported authentication mechanism"), std::string::npos);
  EXPECT_NE(out.find("-ERR Malformed initial response"), std::string::npos);
  EXPECT_NE(out.find("+OK Bye"), std::string::npos);
}

TEST_F(Pop3Session, BadInputAndWrongState) {
  store_.add("id-alice", "a\r\n");
  options_.max_errors = 100;
  std::vector<std::string> expected = {
      "+OK mail.example.com POP3 server ready",
      "-ERR Not allowed before authentication",
      "-ERR Not allowed before authentication",
      "-ERR Unknown command",
      "-ERR APOP not supported",
      "-ERR Command line too long (RFC 2449: 255 octets)",
      "+OK Send your password",
      "+OK Logged in, maildrop has 1 messages (3 octets)",
      "-ERR Not allowed after authentication",
      "-ERR Missing argument",
      "-ERR No such message",
      "-ERR No such message",
      "-ERR Invalid message number",
      "-ERR Too many arguments",
      "-ERR Missing argument",
      "-ERR Invalid number of lines",
      "-ERR Invalid message number",
      "-ERR Not allowed after authentication",
      "+OK Bye",
  };
  std::string out =
      run({"STAT\r\nRETR 1\r\nXYZZY\r\nAPOP alice abc\r\n" + std::string(300, 'A') +
           "\r\nUSER alice\r\nPASS wonderland\r\nUSER alice\r\nRETR\r\nRETR 0\r\nRETR 2\r\n"
           "RETR x\r\nRETR 1 2\r\nTOP 1\r\nTOP 1 -1\r\nLIST 99999999999\r\nSTLS\r\nQUIT\r\n"});
  EXPECT_EQ(lines_of(out), expected);
}

TEST_F(Pop3Session, ErrorLimitClosesTheSession) {
  options_.max_errors = 3;
  std::string out = run({"FOO\r\nBAR\r\nBAZ\r\nCAPA\r\n"});
  auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 4u) << out;
  EXPECT_EQ(lines[3], "-ERR Unknown command; too many errors, closing connection");
}

TEST_F(Pop3Session, StoreFailuresAreTemporaryOrPermanent) {
  store_.add("id-alice", "a\r\n");
  store_.fail(FakeStore::Op::snapshot, core::Code::unavailable);
  std::string out = run({"USER alice\r\nPASS wonderland\r\nQUIT\r\n"});
  EXPECT_NE(out.find("-ERR [SYS/TEMP] Temporary failure of the mail store"), std::string::npos);
  EXPECT_FALSE(locks_->is_locked("id-alice"));
  store_.fail(FakeStore::Op::snapshot, core::Code::ok);
  store_.fail(FakeStore::Op::read_message, core::Code::internal);
  store_.fail(FakeStore::Op::expunge, core::Code::io_error);
  out = run({"USER alice\r\nPASS wonderland\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n"});
  EXPECT_NE(out.find("-ERR [SYS/PERM] Mail store error"), std::string::npos) << out;
  EXPECT_NE(out.find("-ERR [SYS/TEMP] Some deleted messages not removed"), std::string::npos);
  EXPECT_TRUE(store_.has_uid("id-alice", 1));
  EXPECT_TRUE(store_.marks("id-alice").empty());
}

// A message taken out after the session listed it (a mail recall, another session's expunge):
// RETR answers a plain -ERR about that message, not a [SYS/PERM] server failure; DELE of it and
// QUIT still succeed (issue 18).
TEST_F(Pop3Session, AMessageRemovedSinceTheListingIsAnAnswerNotAFailure) {
  store_.add("id-alice", "a\r\n");
  store_.fail(FakeStore::Op::read_message, core::Code::not_found);  // gone since STAT
  std::string out = run({"USER alice\r\nPASS wonderland\r\nSTAT\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n"});
  EXPECT_NE(out.find("-ERR No such message: it was removed from the mailbox"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("SYS/PERM"), std::string::npos) << out;
  EXPECT_NE(out.find("+OK Bye"), std::string::npos) << out;
}

TEST_F(Pop3Session, MarksAreCommittedBeforeSendingAndSyncedInBatchesAndAtQuit) {
  for (int i = 0; i < 5; ++i) store_.add("id-alice", "Subject: m\r\n\r\nbody\r\n");
  options_.retrieval_sync_messages = 3;
  options_.retrieval_sync_ms = 600000;
  std::string out =
      run({"USER alice\r\nPASS wonderland\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\n"
           "RETR 4\r\nTOP 5 0\r\nTOP 5 9\r\nQUIT\r\n"});
  EXPECT_NE(out.find("+OK Bye"), std::string::npos);
  auto marks = store_.marks("id-alice");
  ASSERT_EQ(marks.size(), 5u);
  // Each mark is written on its own, unsynced; the third RETR syncs the first three, and 4
  // and 5 are synced at QUIT, before +OK.
  std::vector<int> synced_by;
  for (const auto& m : marks) {
    EXPECT_FALSE(m.written_with_sync) << m.uid;
    synced_by.push_back(m.synced_by);
  }
  EXPECT_EQ(synced_by, (std::vector<int>{1, 1, 1, 2, 2}));
  EXPECT_EQ(store_.syncs(), 2);
  for (const auto& m : marks) EXPECT_TRUE(m.durable) << m.uid;
}

TEST_F(Pop3Session, SequentialDownloadReadsEachMessageOnceAndOutOfOrderStillWorks) {
  // 60 messages of 0.7 to 42 KB: several read-ahead batches (256 KiB each).
  std::vector<std::string> stored;
  for (int i = 1; i <= 60; ++i) {
    stored.push_back(
        "Subject: m" + std::to_string(i) + "\r\n\r\n" +
        std::string(static_cast<std::size_t>(i) * 700, static_cast<char>('a' + i % 26)) + "\r\n");
    store_.add("id-alice", stored.back());
  }
  auto answer = [&](int n) {
    const std::string& m = stored[static_cast<std::size_t>(n - 1)];
    return "+OK " + std::to_string(m.size()) + " octets\r\n" + m + ".\r\n";
  };
  std::string cmds = "USER alice\r\nPASS wonderland\r\nDELE 7\r\n";
  std::string expected;
  for (int i = 1; i <= 60; ++i) {
    if (i == 7) continue;
    cmds += "RETR " + std::to_string(i) + "\r\n";
    expected += answer(i);
  }
  std::string out = run({cmds + "RSET\r\nQUIT\r\n"});
  EXPECT_NE(out.find(expected), std::string::npos);
  // Read ahead exactly once each; the deleted message is never read.
  EXPECT_EQ(store_.calls(FakeStore::Op::read_message), 59);
  EXPECT_EQ(store_.marks("id-alice").size(), 59u);

  // Out of order, back again, then in order from the middle: every answer still matches.
  out =
      run({"USER alice\r\nPASS wonderland\r\nRETR 3\r\nRETR 50\r\nRETR 51\r\n"
           "RETR 4\r\nRETR 52\r\nRETR 53\r\nQUIT\r\n"});
  EXPECT_NE(out.find(answer(3) + answer(50) + answer(51) + answer(4) + answer(52) + answer(53)),
            std::string::npos)
      << out.substr(0, 300);
  // A message asked for again after the read-ahead handed it out (a client retrying) comes
  // whole again, read afresh, not from the emptied read-ahead slot.
  out =
      run({"USER alice\r\nPASS wonderland\r\nRETR 10\r\nRETR 11\r\nRETR 12\r\n"
           "RETR 12\r\nRETR 13\r\nRETR 11\r\nRETR 14\r\nRETR 14\r\nQUIT\r\n"});
  EXPECT_NE(out.find(answer(10) + answer(11) + answer(12) + answer(12) + answer(13) + answer(11) +
                     answer(14) + answer(14)),
            std::string::npos)
      << out.substr(0, 300);
}

TEST_F(Pop3Session, NoMessageWithoutItsMark) {
  store_.add("id-alice", "Subject: a\r\n\r\nbody\r\n");
  store_.fail(FakeStore::Op::mark_retrieved, core::Code::io_error);
  std::string out =
      run({"USER alice\r\nPASS wonderland\r\nRETR 1\r\nTOP 1 0\r\nTOP 1 5\r\n"
           "QUIT\r\n"});
  auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 10u) << out;
  EXPECT_EQ(lines[3], "-ERR [SYS/TEMP] Temporary failure of the mail store, try again later");
  // Headers only is not a retrieval: no mark needed.
  EXPECT_EQ(lines[4], "+OK Top of message follows");
  EXPECT_EQ(lines[7], ".");
  EXPECT_EQ(lines[8], "-ERR [SYS/TEMP] Temporary failure of the mail store, try again later");
  EXPECT_EQ(out.find("body"), std::string::npos);
}

TEST_F(Pop3Session, StlsDiscardsPipelinedPlaintext) {
  auth_.plaintext_needs_tls = true;
  ScriptedTransport t({"STLS\r\nUSER alice\r\n",
                       "CAPA\r\nUSER alice\r\nPASS wonderland\r\n"
                       "STLS\r\nQUIT\r\n"});
  std::string out = run(t);
  EXPECT_EQ(t.discarded, "USER alice\r\n");
  EXPECT_TRUE(t.is_tls());
  auto lines = lines_of(out);
  EXPECT_EQ(lines[1], "+OK Begin TLS negotiation");
  EXPECT_EQ(lines[2], "+OK Capability list follows");
  EXPECT_NE(out.find("USER\r\n"), std::string::npos);
  EXPECT_EQ(out.find("STLS\r\n"), std::string::npos);
  EXPECT_NE(out.find("+OK Logged in"), std::string::npos);
  EXPECT_NE(out.find("-ERR Not allowed after authentication"), std::string::npos);
}

TEST_F(Pop3Session, PipelinedCommandsAreAnsweredInOneFlush) {
  store_.add("id-alice", "a\r\n");
  const std::string batch = "USER alice\r\nPASS wonderland\r\nSTAT\r\nLIST\r\nUIDL\r\nQUIT\r\n";
  // The client's batch was already there when the session started: the greeting and every
  // answer leave together, in the one flush after QUIT.
  ScriptedTransport t({batch});
  run(t);
  EXPECT_EQ(t.flushes, 1);
  EXPECT_NE(t.output.find("+OK 1 3\r\n"), std::string::npos);
  // The usual order: nothing received yet, so the greeting goes out alone; then the whole
  // batch is answered in one flush (QUIT's, the last).
  ScriptedTransport u({"", batch});
  run(u);
  EXPECT_EQ(u.flushes, 2);
  EXPECT_EQ(u.output, t.output);
}

}  // namespace
}  // namespace mailroom::pop3
