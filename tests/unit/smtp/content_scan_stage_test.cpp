// The content scan before the 250 (src/smtp/content_scan_stage.cpp) in a session without
// sockets: a scripted scanner decides, the session answers (554 5.7.1, 451 4.7.1, per recipient
// in LMTP), adds the scanners' headers, files to Junk/Ads and queues the rewritten message.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "auth/auth_options.h"
#include "src/filter/blocklist.h"
#include "src/filter/content_scan.h"
#include "src/queue/queue.h"
#include "src/smtp/session.h"
#include "tests/fakes/fake_directory.h"
#include "tests/fakes/fake_queue.h"
#include "tests/fakes/run_session.h"
#include "tests/fakes/scripted_transport.h"

namespace mailroom::smtp {
namespace {

using mailroom::testing::FakeDirectory;
using mailroom::testing::FakeQueue;
using mailroom::testing::ScriptedTransport;

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

class ContentScanStage : public ::testing::Test {
 protected:
  ContentScanStage() : workers_(1) {
    dir_ = std::make_shared<FakeDirectory>();
    dir_->add_domain("example.com");
    dir_->add_account("alice@example.com", "wonderland");
    dir_->add_account("bob@example.com", "builder");
    services_.hostname = "mail.example.com";
    services_.directory = dir_;
    services_.resolver = std::make_shared<auth::Resolver>(dir_, auth::ResolverOptions{});
    auth::AuthOptions ao;
    ao.installation_key = "test";
    services_.authenticator = auth::make_authenticator(services_.resolver, ao);
    services_.queue = queue_;
    services_.workers = &workers_;
    blocklist_path_ = std::filesystem::temp_directory_path() /
                      ("mailroom-content-scan-" + std::to_string(::getpid()) + ".txt");
  }

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
    ScriptedTransport t({script}, false);
    ServerContext ctx{services_,
                      options_,
                      mode,
                      mode == Mode::lmtp ? "lmtp" : "smtp",
                      std::make_shared<filter::Blocklist>(blocklist_path_.string()),
                      std::make_shared<RateLimiter>(0)};
    Session session(ctx, t);
    EXPECT_TRUE(mailroom::testing::run_session([&] { return session.run(); }));
    return t.output;
  }

  static constexpr const char* kTwoRecipients =
      "EHLO c\r\nMAIL FROM:<x@remote.example>\r\nRCPT TO:<alice@example.com>\r\n"
      "RCPT TO:<bob@example.com>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";

  std::shared_ptr<FakeDirectory> dir_;
  std::shared_ptr<FakeQueue> queue_ = std::make_shared<FakeQueue>();
  net::WorkerPool workers_;
  core::Services services_;
  Options options_;
  std::filesystem::path blocklist_path_;
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
