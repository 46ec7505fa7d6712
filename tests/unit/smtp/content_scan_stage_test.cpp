// The content scan before the 250 (src/smtp/content_scan_stage.cpp) in a session without
// sockets: a scripted scanner decides, the session answers (554 5.7.1, 451 4.7.1, per recipient
// in LMTP), adds the scanners' headers, files to Junk/Ads and queues the rewritten message.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <mutex>

#include "src/filter/content_scan.h"
#include "src/queue/quarantine.h"
#include "tests/unit/smtp/session_fixture.h"

namespace mailroom::smtp {
namespace {

class FixedScanner : public filter::ContentScanner {
 public:
  explicit FixedScanner(filter::ContentVerdict v) : verdict_(std::move(v)) {}
  std::string name() const override { return "fixed"; }
  filter::ContentVerdict scan(const filter::ContentScanInput& in) override {
    std::lock_guard lock(mu_);
    inputs.push_back(in);
    return verdict_;
  }
  std::vector<filter::ContentScanInput> inputs;

 private:
  std::mutex mu_;
  filter::ContentVerdict verdict_;
};

class ContentScanStage : public testing::SessionFixture {
 protected:
  std::shared_ptr<FixedScanner> scanner(filter::ContentAction action, std::string reason = "",
                                        std::optional<std::string> replacement = {}) {
    filter::ContentVerdict v;
    v.action = action;
    v.reason = std::move(reason);
    v.add_headers = {{"X-Scanned", "yes"}};
    v.replacement = std::move(replacement);
    auto s = std::make_shared<FixedScanner>(v);
    services_.content_scan = std::make_shared<filter::ContentScanChain>(
        std::vector<std::shared_ptr<filter::ContentScanner>>{s});
    return s;
  }

  std::string run(const std::string& script, Mode mode = Mode::mx) {
    return SessionFixture::run(std::vector<std::string>{script}, mode);
  }

  static constexpr const char* kTwoRecipients =
      "EHLO c\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
      "RCPT TO:<bob@example.com>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";
};

TEST_F(ContentScanStage, AcceptQueuesWithTheScannersHeadersAndSeesTheEnvelope) {
  auto s = scanner(filter::ContentAction::accept);
  std::string out = run(kTwoRecipients);
  EXPECT_NE(out.find("250 2.0.0 Ok: queued as MR1"), std::string::npos) << out;
  ASSERT_EQ(queue_->submitted.size(), 1u);
  EXPECT_EQ(queue_->submitted[0].message.rfind("X-Scanned: yes\r\nReceived: from c", 0), 0u)
      << queue_->submitted[0].message;
  ASSERT_EQ(s->inputs.size(), 1u);
  const auto& in = s->inputs[0];
  EXPECT_EQ(*in.message, "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(in.envelope_sender, "x@remote.example");
  EXPECT_EQ(in.recipients, (std::vector<std::string>{"alice@example.com", "bob@example.com"}));
  EXPECT_EQ(in.client_ip, "192.0.2.7");
  EXPECT_EQ(in.helo, "c");
  EXPECT_FALSE(in.trusted_hop);
  for (const auto& r : queue_->submitted[0].envelope.recipients) {
    EXPECT_NE(r.destination.folder, "Junk");
  }
}

TEST_F(ContentScanStage, ASendersOwnVerdictFieldsAreRemovedWithTheirFoldedLines) {
  // Sieve's spamtest/virustest and mail clients read these fields: only ours may be there.
  auto s = scanner(filter::ContentAction::accept);
  std::string out =
      run("EHLO c\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n"
          "x-spam-score: -99\r\nSubject: hi\r\nX-Spam-Status: No,\r\n\tscore=-99\r\n"
          "X-Virus-Status : Clean\r\nX-Spam-Scored: kept (another field)\r\n\r\n"
          "X-Spam-Score: -1 (in the body: kept)\r\n.\r\nQUIT\r\n");
  EXPECT_NE(out.find("250 2.0.0 Ok: queued"), std::string::npos) << out;
  ASSERT_EQ(s->inputs.size(), 1u);
  EXPECT_EQ(*s->inputs[0].message,
            "Subject: hi\r\nX-Spam-Scored: kept (another field)\r\n\r\n"
            "X-Spam-Score: -1 (in the body: kept)\r\n");
  ASSERT_EQ(queue_->submitted.size(), 1u);
  EXPECT_EQ(queue_->submitted[0].message.find("-99"), std::string::npos);
}

TEST_F(ContentScanStage, VerdictFieldsAreRemovedWithoutScannersToo) {
  std::string out =
      run("EHLO c\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\nDATA\r\n"
          "Subject: hi\r\nX-Spam-Flag: NO\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  ASSERT_EQ(queue_->submitted.size(), 1u) << out;
  EXPECT_EQ(queue_->submitted[0].message.find("X-Spam-Flag"), std::string::npos);
  EXPECT_NE(queue_->submitted[0].message.find("Subject: hi\r\n\r\nbody"), std::string::npos);
}

TEST_F(ContentScanStage, RejectIs554AndNothingIsQueued) {
  scanner(filter::ContentAction::reject, "Virus found: Eicar-Test");
  std::string out = run(kTwoRecipients);
  EXPECT_NE(out.find("554 5.7.1 Message rejected: Virus found: Eicar-Test\r\n"), std::string::npos)
      << out;
  EXPECT_TRUE(queue_->submitted.empty());
  EXPECT_NE(out.find("221"), std::string::npos);  // the session goes on
}

TEST_F(ContentScanStage, TempfailIs451) {
  scanner(filter::ContentAction::tempfail, "virus scanner unavailable");
  std::string out = run(kTwoRecipients);
  EXPECT_NE(out.find("451 4.7.1 "), std::string::npos) << out;
  EXPECT_TRUE(queue_->submitted.empty());
}

TEST_F(ContentScanStage, QuarantineWithoutAStoreKeepsTheMailWithTheSender) {
  scanner(filter::ContentAction::quarantine, "held");
  std::string out = run(kTwoRecipients);
  EXPECT_NE(out.find("451 4.7.1 "), std::string::npos) << out;
  EXPECT_TRUE(queue_->submitted.empty());
}

// The quarantine keeps entries by queue id, which must look like a real one.
class RealIdQueue : public mailroom::testing::FakeQueue {
 public:
  std::string new_queue_id() override {
    char id[23];
    std::snprintf(id, sizeof id, "MR%020d", ++n_);
    return id;
  }

 private:
  int n_ = 0;
};

TEST_F(ContentScanStage, QuarantinedMailIsStoredAndAcceptedOncePerLmtpRecipient) {
  queue_ = std::make_shared<RealIdQueue>();
  services_.queue = queue_;
  auto dir = std::filesystem::temp_directory_path() /
             ("mr-stage-quarantine-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);  // the data directory
  services_.quarantine = std::make_shared<queue::Quarantine>((dir / "q").string());
  scanner(filter::ContentAction::quarantine, "Virus found: X");
  std::string out = run(kTwoRecipients);
  EXPECT_NE(out.find("250 2.0.0 Ok: queued as MR"), std::string::npos) << out;
  out =
      run("LHLO gw\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
          "RCPT TO:<bob@example.com>\r\nDATA\r\nSubject: a\r\n\r\nhi\r\n.\r\nQUIT\r\n",
          Mode::lmtp);
  EXPECT_NE(out.find("250 2.0.0 <alice@example.com> accepted as MR"), std::string::npos) << out;
  EXPECT_NE(out.find("250 2.0.0 <bob@example.com> accepted as MR"), std::string::npos) << out;
  EXPECT_TRUE(queue_->submitted.empty());
  auto held = services_.quarantine->list();
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].reason, "Virus found: X");
  EXPECT_EQ(held[0].envelope.recipients.size(), 2u);
  auto m = services_.quarantine->message(held[0].id);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rfind("X-Scanned: yes\r\nReceived: ", 0), 0u) << *m;
  std::filesystem::remove_all(dir);
}

TEST_F(ContentScanStage, LmtpRepeatsARefusalPerRecipient) {
  scanner(filter::ContentAction::reject, "no");
  std::string out =
      run("LHLO gw\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
          "RCPT TO:<bob@example.com>\r\nDATA\r\nSubject: a\r\n\r\nhi\r\n.\r\nQUIT\r\n",
          Mode::lmtp);
  size_t n = 0;
  for (size_t p = out.find("554 5.7.1"); p != std::string::npos; p = out.find("554 5.7.1", p + 1)) {
    ++n;
  }
  EXPECT_EQ(n, 2u) << out;  // RFC 2033 4.2
  EXPECT_TRUE(queue_->submitted.empty());
}

TEST_F(ContentScanStage, JunkAndAdsChooseTheMailboxFolder) {
  for (auto [action, folder] : {std::pair{filter::ContentAction::junk, "Junk"},
                                std::pair{filter::ContentAction::ads, "Ads"}}) {
    queue_->submitted.clear();
    scanner(action, "spam");
    std::string out = run(kTwoRecipients);
    ASSERT_EQ(queue_->submitted.size(), 1u) << out;
    for (const auto& r : queue_->submitted[0].envelope.recipients) {
      EXPECT_EQ(r.destination.folder, folder);
    }
  }
}

TEST_F(ContentScanStage, ReplacementIsWhatIsQueued) {
  scanner(filter::ContentAction::accept, "", "Subject: cleaned\r\n\r\nnotice\r\n");
  std::string out = run(kTwoRecipients);
  ASSERT_EQ(queue_->submitted.size(), 1u) << out;
  const auto& m = queue_->submitted[0].message;
  EXPECT_NE(m.find("\r\nSubject: cleaned\r\n\r\nnotice\r\n"), std::string::npos) << m;
  EXPECT_EQ(m.find("body"), std::string::npos) << m;
}

}  // namespace
}  // namespace mailroom::smtp
