// The SMTP/LMTP session without sockets (issue 14's session kit): a scripted transport, the
// real resolver and SASL authenticator over an in-memory directory, a queue that records what
// it is given. The command flows the integration tests cover against mailroomd, here exact to
// the byte and fast: greeting, EHLO, pipelining, transactions, the smuggling defence, BDAT,
// AUTH (with the credentials marked secret), STARTTLS, send-as, LMTP replies, directory
// outages, limits.
#include "src/smtp/session.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "auth/auth_options.h"
#include "src/core/base64.h"
#include "src/filter/blocklist.h"
#include "src/queue/queue.h"
#include "tests/fakes/fake_directory.h"
#include "tests/fakes/fake_queue.h"
#include "tests/fakes/run_session.h"
#include "tests/fakes/scripted_transport.h"
#include "tests/unit/smtp/session_fixture.h"

namespace mailroom::smtp {
namespace {

using mailroom::testing::FakeDirectory;
using mailroom::testing::FakeQueue;
using mailroom::testing::ScriptedTransport;

class SmtpSession : public testing::SessionFixture {
 protected:
  SmtpSession() {
    dir_->add_account("full@example.com", "x");
    dir_->add_alias("info@example.com", {"alice@example.com"});
    dir_->add_group("board@example.com", {"alice@example.com"}, auth::GroupSendPolicy::members);
    queue_->fail_recipients["full@example.com"] = core::Code::over_quota;
    options_.max_message_size = 2000;
    options_.max_recipients = 3;
    options_.max_errors = 10;
  }

  // The reply codes in order ("250" for every line of a multi-line reply counts once).
  static std::vector<std::string> codes(const std::string& out) {
    std::vector<std::string> v;
    std::size_t pos = 0;
    while (pos < out.size()) {
      std::size_t e = out.find("\r\n", pos);
      if (e == std::string::npos) break;
      std::string line = out.substr(pos, e - pos);
      if (line.size() >= 4 && line[3] == ' ') v.push_back(line.substr(0, 3));
      pos = e + 2;
    }
    return v;
  }
  static std::string plain(const std::string& user, const std::string& pw) {
    return core::base64_encode(std::string("\0", 1) + user + std::string("\0", 1) + pw);
  }
};

TEST_F(SmtpSession, GreetingEhloAndQuit) {
  std::string out = run({"EHLO client.example\r\nQUIT\r\n"});
  EXPECT_EQ(out.rfind("220 mail.example.com ESMTP Mailroom\r\n", 0), 0u) << out;
  for (const char* ext : {"250-PIPELINING", "250-SIZE 2000", "250-8BITMIME", "250-SMTPUTF8",
                          "250-ENHANCEDSTATUSCODES", "250-CHUNKING", "STARTTLS"}) {
    EXPECT_NE(out.find(ext), std::string::npos) << ext << "\n" << out;
  }
  EXPECT_EQ(codes(out), (std::vector<std::string>{"220", "250", "221"}));
}

TEST_F(SmtpSession, OneTransactionPipelinedIsQueuedWithItsTraceHeader) {
  ScriptedTransport t(
      {"EHLO c\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
       "RCPT TO:<info@example.com>\r\nDATA\r\n",
       "Subject: hi\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n"});
  std::string out = run(t);
  EXPECT_EQ(codes(out),
            (std::vector<std::string>{"220", "250", "250", "250", "250", "354", "250", "221"}));
  // RFC 2920: three writes: the greeting; the replies to the pipelined batch together with
  // DATA's 354; the end of data's 250 with QUIT's 221.
  EXPECT_EQ(t.flushes, 3);
  ASSERT_EQ(queue_->submitted.size(), 1u);
  const auto& s = queue_->submitted[0];
  EXPECT_EQ(s.envelope.sender, "x@remote.example");
  ASSERT_EQ(s.envelope.recipients.size(), 2u);  // alice, and info@ -> alice (two RCPTs)
  EXPECT_EQ(s.message.rfind("Received: from c ([192.0.2.7])\r\n\tby mail.example.com", 0), 0u)
      << s.message;
  EXPECT_NE(s.message.find("\r\nSubject: hi\r\n\r\nbody\r\n.dot\r\n"), std::string::npos);
}

TEST_F(SmtpSession, RecipientOutcomes) {
  std::string out =
      run({"EHLO c\r\nMAIL FROM:<x@remote.example>\r\n"
           "RCPT TO:<nobody@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\n"
           "RCPT TO:<board@example.com>\r\nRCPT TO:<postmaster>\r\n"
           "DATA\r\nQUIT\r\n"});
  // Unknown, relay denied, group policy (members only), postmaster without a configured
  // target (unknown here), then DATA without a valid recipient.
  EXPECT_EQ(codes(out), (std::vector<std::string>{"220", "250", "250", "550", "554", "550", "550",
                                                  "554", "221"}));
  EXPECT_TRUE(queue_->submitted.empty());
}

TEST_F(SmtpSession, DirectoryOutageIsTemporary) {
  dir_->fail_all = true;
  std::string out =
      run({"EHLO c\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
           "QUIT\r\n"});
  EXPECT_NE(out.find("451 4.4.3 Directory unavailable"), std::string::npos) << out;
}

TEST_F(SmtpSession, OutOfSequenceAndLimits) {
  std::string out =
      run({"MAIL FROM:<a@b.example>\r\nEHLO c\r\nDATA\r\nRCPT TO:<alice@example.com>\r\n"
           "MAIL FROM:<a@b.example> SIZE=99999\r\nMAIL FROM:<a@b.example>\r\n"
           "RCPT TO:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\n"
           "RCPT TO:<info@example.com>\r\nRCPT TO:<full@example.com>\r\nQUIT\r\n"});
  EXPECT_EQ(codes(out), (std::vector<std::string>{"220", "503", "250", "503", "503", "552", "250",
                                                  "250", "250", "250", "452", "221"}));
}

TEST_F(SmtpSession, SmuggledTransactionIsPartOfTheRefusedMessage) {
  std::string out =
      run({"EHLO c\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<bob@example.com>\r\n"
           "DATA\r\n",
           "Subject: a\r\n\r\nhello\n.\r\nMAIL FROM:<ceo@example.com>\r\n"
           "RCPT TO:<bob@example.com>\r\nDATA\r\nevil\r\n.\r\nNOOP\r\n"});
  EXPECT_EQ(codes(out),
            (std::vector<std::string>{"220", "250", "250", "250", "354", "554", "250"}));
  EXPECT_TRUE(queue_->submitted.empty());
}

TEST_F(SmtpSession, BdatChunksAndRefusedChunkStaysInSync) {
  std::string out =
      run({"EHLO c\r\nBDAT 5\r\nhelloMAIL FROM:<x@remote.example>\r\n"
           "RCPT TO:<bob@example.com>\r\nBDAT 14\r\nSubject: a\r\n\r\n"
           "BDAT 6 LAST\r\nbody\r\nQUIT\r\n"});
  EXPECT_EQ(codes(out),
            (std::vector<std::string>{"220", "250", "503", "250", "250", "250", "250", "221"}));
  ASSERT_EQ(queue_->submitted.size(), 1u);
  EXPECT_NE(queue_->submitted[0].message.find("Subject: a\r\n\r\nbody\r\n"), std::string::npos);
}

TEST_F(SmtpSession, AuthPlainNeedsTlsThenWorksAndMarksTheResponseSecret) {
  std::string out =
      run({"EHLO c\r\nAUTH PLAIN " + plain("alice@example.com", "wonderland") + "\r\nQUIT\r\n"},
          Mode::submission, /*tls=*/false);
  EXPECT_NE(out.find("538 5.7.11"), std::string::npos) << out;

  ScriptedTransport t({"EHLO c\r\nAUTH PLAIN\r\n", plain("alice@example.com", "wonderland") +
                                                       "\r\nMAIL FROM:<alice@example.com>\r\n"
                                                       "QUIT\r\n"},
                      /*tls=*/true);
  out = run(t, Mode::submission);
  EXPECT_NE(out.find("334 \r\n"), std::string::npos) << out;  // empty challenge (RFC 4954 4)
  EXPECT_NE(out.find("235 2.7.0"), std::string::npos) << out;
  EXPECT_EQ(t.account, "id-alice@example.com");
  // The protocol trace sees the SASL response as secret (src/net/sasl_dialogue.cpp).
  EXPECT_EQ(t.secret_lines, std::vector<std::string>{plain("alice@example.com", "wonderland")});
}

TEST_F(SmtpSession, AuthFailuresCancelAndBadBase64) {
  std::string out = run({"EHLO c\r\nAUTH PLAIN " + plain("alice@example.com", "nope") +
                         "\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN !!!\r\nAUTH LOGIN\r\n!!!\r\nQUIT\r\n"},
                        Mode::submission, true);
  EXPECT_EQ(codes(out), (std::vector<std::string>{"220", "250", "535", "334", "501", "501", "334",
                                                  "501", "221"}));
}

TEST_F(SmtpSession, StarttlsDiscardsPipelinedPlaintext) {
  ScriptedTransport t(
      {"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n", "EHLO c\r\nQUIT\r\n"});
  std::string out = run(t);
  EXPECT_EQ(codes(out), (std::vector<std::string>{"220", "250", "220", "250", "221"}));
  EXPECT_TRUE(t.is_tls());
}

TEST_F(SmtpSession, SendAsIsCheckedOnEveryFromAndSender) {
  auto session = [&](const std::string& header) {
    queue_->submitted.clear();
    return codes(run({"EHLO c\r\nAUTH PLAIN " + plain("alice@example.com", "wonderland") +
                      "\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\n"
                      "DATA\r\n" +
                      header + "\r\n\r\nhi\r\n.\r\nQUIT\r\n"},
                     Mode::submission, true));
  };
  EXPECT_EQ(session("From: Alice <alice@example.com>").at(6), "250");
  EXPECT_EQ(session("From: info@example.com").at(6), "250");  // alias of alice
  EXPECT_EQ(session("From : bob@example.com").at(6), "553");
  EXPECT_EQ(session("From: alice@example.com\r\nSender: bob@example.com").at(6), "553");
  EXPECT_EQ(session("Subject: x\rFrom: bob@example.com").at(6), "553");
  EXPECT_TRUE(queue_->submitted.empty());
}

TEST_F(SmtpSession, LmtpAnswersPerRecipientAndRefusalsToo) {
  std::string out =
      run({"LHLO gw\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
           "RCPT TO:<full@example.com>\r\nDATA\r\nSubject: a\r\n\r\nhi\r\n.\r\n"
           "MAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
           "RCPT TO:<bob@example.com>\r\nDATA\r\nbad\nline\r\n.\r\nQUIT\r\n"},
          Mode::lmtp);
  // RFC 2033 4.2: one reply per accepted recipient after the data, also for a refusal.
  EXPECT_EQ(codes(out),
            (std::vector<std::string>{"220", "250", "250", "250", "250", "354", "250", "452", "250",
                                      "250", "250", "354", "554", "554", "221"}));
}

TEST_F(SmtpSession, TooManyErrorsEndsTheSession) {
  options_.max_errors = 5;
  std::string out = run({"BOGUS\r\nBOGUS\r\nBOGUS\r\nBOGUS\r\nBOGUS\r\nNOOP\r\n"});
  EXPECT_NE(out.find("421 4.7.0"), std::string::npos) << out;
  EXPECT_EQ(out.find("250 2.0.0 Ok"), std::string::npos);  // the NOOP was never answered
}

// commands_before_mail: EHLO/HELO, RSET, NOOP, VRFY, EXPN and HELP count; MAIL, RCPT and
// STARTTLS do not, and a delivered message starts the count again.
TEST_F(SmtpSession, CommandsThatMoveNoMailAreLimited) {
  options_.max_commands_before_mail = 4;
  std::string out = run({"EHLO c\r\nNOOP\r\nRSET\r\nVRFY x\r\nHELP\r\nNOOP\r\n"});
  // The fifth such command is answered, then the session ends; the last NOOP never is.
  EXPECT_EQ(codes(out), (std::vector<std::string>{"220", "250", "250", "250", "252", "214", "421"}))
      << out;
  EXPECT_NE(out.find("Too many commands"), std::string::npos) << out;

  out =
      run({"EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
           "RCPT TO:<bob@example.com>\r\nNOOP\r\nQUIT\r\n"});
  EXPECT_EQ(codes(out), (std::vector<std::string>{"220", "250", "250", "250", "250", "250", "221"}))
      << out;
}

TEST_F(SmtpSession, SilentClientGetsTheTimeoutReply) {
  ScriptedTransport t({"EHLO c\r\n"});
  t.end_with_timeout = true;
  std::string out = run(t);
  EXPECT_NE(out.find("421 4.4.2 mail.example.com Timeout"), std::string::npos) << out;
}

}  // namespace
}  // namespace mailroom::smtp
