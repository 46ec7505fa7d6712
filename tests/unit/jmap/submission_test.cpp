// EmailSubmission/set, /get, /changes, /query (RFC 8621 7) through the real routes: a stored
// draft goes to the (fake) queue after SMTP submission's checks, with the implicit Email/set.
#include "src/filter/content_scan.h"
#include "tests/unit/jmap/jmap_fixture.h"

namespace mailroom::jmap::testing {
namespace {

std::string draft(const std::string& from, const std::string& to, const std::string& extra = "") {
  return "From: " + from + "\r\nTo: " + to + "\r\n" + extra +
         "Subject: hello\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHi there.\r\n";
}

class SubmissionTest : public JmapTest {
 protected:
  void SetUp() override {
    JmapTest::SetUp();
    // The store's default mailboxes include Drafts and Sent.
    ASSERT_TRUE(services_.store->mailbox_status(kAlice, "Drafts").is_ok());
    ASSERT_TRUE(services_.store->mailbox_status(kAlice, "Sent").is_ok());
  }
  json::array sub(const std::string& calls) { return call(calls, kSubmissionCaps); }
  std::string identity(const std::string& email) {
    auto r = sub("[[\"Identity/get\",{" + acc() + "},\"i\"]]");
    for (const auto& v : r[0].at(1).at("list").as_array())
      if (v.at("email").as_string() == email) return std::string(v.at("id").as_string());
    return "";
  }
  std::string stored(const std::string& message) {
    return "M" + put("Drafts", message, store::kDraft).guid;
  }
  // One create; the EmailSubmission/set response arguments.
  json::object submit(const std::string& email_id, const std::string& extra = "") {
    auto r = sub("[[\"EmailSubmission/set\",{" + acc() + ",\"create\":{\"k\":{\"identityId\":\"" +
                 identity("alice@example.com") + "\",\"emailId\":\"" + email_id + "\"" + extra +
                 "}}},\"s\"]]");
    EXPECT_EQ(r[0].at(0).as_string(), "EmailSubmission/set") << json::serialize(r);
    return r[0].at(1).as_object();
  }
  std::string refusal(const json::object& r) {
    const auto* nc = r.if_contains("notCreated");
    if (!nc || nc->is_null() || !nc->as_object().contains("k")) return "(created)";
    return std::string(nc->at("k").at("type").as_string());
  }
};

TEST_F(SubmissionTest, ADraftIsQueuedAndMovedToSentByTheImplicitEmailSet) {
  std::string id = stored(draft("Alice <alice@example.com>", "bob@example.com, far@remote.example",
                                "Bcc: hidden@remote.example\r\n"));
  std::string drafts = mailbox_id("Drafts"), sent = mailbox_id("Sent");
  auto r = sub("[[\"EmailSubmission/set\",{" + acc() + ",\"create\":{\"k\":{\"identityId\":\"" +
               identity("alice@example.com") + "\",\"emailId\":\"" + id +
               "\"}},\"onSuccessUpdateEmail\":{\"#k\":{\"mailboxIds/" + drafts +
               "\":null,\"mailboxIds/" + sent + "\":true,\"keywords/$draft\":null}}},\"s\"]]");
  ASSERT_EQ(r.size(), 2u) << json::serialize(r);
  auto created = r[0].at(1).at("created").at("k").as_object();
  EXPECT_EQ(created.at("undoStatus").as_string(), "final");
  EXPECT_EQ(r[1].at(0).as_string(), "Email/set");
  EXPECT_EQ(r[1].at(2).as_string(), "s");
  EXPECT_TRUE(r[1].at(1).at("updated").as_object().contains(id)) << json::serialize(r[1]);
  // The draft moved to Sent without $draft.
  auto in_sent = services_.store->snapshot(kAlice, "Sent");
  ASSERT_TRUE(in_sent.is_ok());
  ASSERT_EQ(in_sent->messages.size(), 1u);
  EXPECT_EQ(in_sent->messages[0].flags & store::kDraft, 0u);
  EXPECT_EQ(services_.store->snapshot(kAlice, "Drafts")->messages.size(), 0u);

  ASSERT_EQ(queue_->submitted.size(), 1u);
  const auto& q = queue_->submitted[0];
  EXPECT_EQ(q.envelope.sender, "alice@example.com");
  EXPECT_EQ(q.envelope.auth_account_id, kAlice);
  ASSERT_EQ(q.envelope.recipients.size(), 3u);  // bob's mailbox, two remote addresses
  EXPECT_EQ(q.envelope.recipients[0].destination.kind, auth::Destination::Kind::mailbox);
  EXPECT_EQ(q.envelope.recipients[0].destination.account_id, "id-bob");
  EXPECT_EQ(q.envelope.recipients[1].destination.kind, auth::Destination::Kind::remote);
  EXPECT_EQ(q.envelope.recipients[2].rcpt, "hidden@remote.example");  // from Bcc:
  EXPECT_TRUE(q.message.starts_with("Received: by "));
  EXPECT_EQ(q.message.find("\r\nBcc:"), std::string::npos);  // RFC 8621 7.5
  EXPECT_NE(q.message.find("\r\nMessage-ID: <"), std::string::npos);
  EXPECT_NE(q.message.find("\r\nDate: "), std::string::npos);

  // The record: get, query, changes.
  std::string sid(created.at("id").as_string());
  auto g = sub("[[\"EmailSubmission/get\",{" + acc() + ",\"ids\":null},\"g\"]]");
  auto list = g[0].at(1).at("list").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("emailId").as_string(), id);
  EXPECT_EQ(list[0].at("envelope").at("mailFrom").at("email").as_string(), "alice@example.com");
  EXPECT_EQ(list[0].at("deliveryStatus").at("bob@example.com").at("delivered").as_string(),
            "queued");
  auto qr = sub("[[\"EmailSubmission/query\",{" + acc() + ",\"filter\":{\"emailIds\":[\"" + id +
                "\"]}},\"q\"]]");
  EXPECT_EQ(json::serialize(qr[0].at(1).at("ids")), "[\"" + sid + "\"]");
  auto ch = sub("[[\"EmailSubmission/changes\",{" + acc() + ",\"sinceState\":\"0\"},\"c\"]]");
  EXPECT_EQ(json::serialize(ch[0].at(1).at("created")), "[\"" + sid + "\"]");
  // Final: it cannot be canceled; it can be forgotten.
  auto u = sub("[[\"EmailSubmission/set\",{" + acc() + ",\"update\":{\"" + sid +
               "\":{\"undoStatus\":\"canceled\"}},\"destroy\":[\"" + sid + "\"]},\"u\"]]");
  EXPECT_EQ(u[0].at(1).at("notUpdated").at(sid).at("type").as_string(), "cannotUnsend");
  EXPECT_EQ(json::serialize(u[0].at(1).at("destroyed")), "[\"" + sid + "\"]");
}

TEST_F(SubmissionTest, TheSendAsRuleRefusesAndNothingIsQueued) {
  EXPECT_EQ(refusal(submit(stored(draft("bob@example.com", "bob@example.com")))), "forbiddenFrom");
  EXPECT_EQ(refusal(submit(stored(
                draft("alice@example.com", "bob@example.com", "Sender: boss@remote.example\r\n")))),
            "forbiddenFrom");
  EXPECT_EQ(refusal(submit(stored(draft("no address", "bob@example.com")))), "invalidEmail");
  auto ok = stored(draft("alice@example.com", "bob@example.com"));
  EXPECT_EQ(refusal(submit(ok, R"(,"envelope":{"mailFrom":{"email":"bob@example.com"},
      "rcptTo":[{"email":"bob@example.com"}]})")),
            "forbiddenMailFrom");
  EXPECT_TRUE(queue_->submitted.empty());
  // An alias that points to alice is hers to send as (Resolver::may_send_as).
  EXPECT_EQ(refusal(submit(stored(draft("sales@example.com", "bob@example.com")))), "(created)");
  EXPECT_EQ(queue_->submitted.size(), 1u);
}

// A scanner with a fixed verdict, counting what it saw.
class FixedScanner final : public filter::ContentScanner {
 public:
  explicit FixedScanner(filter::ContentVerdict v) : verdict_(std::move(v)) {}
  std::string name() const override { return "fixed"; }
  filter::ContentVerdict scan(const filter::ContentScanInput& in) override {
    seen.push_back(in);
    return verdict_;
  }
  std::vector<filter::ContentScanInput> seen;

 private:
  filter::ContentVerdict verdict_;
};

TEST_F(SubmissionTest, TheContentScannersSmtpRunsDecideToo) {
  auto scanner_with = [this](filter::ContentAction action) {
    filter::ContentVerdict v;
    v.action = action;
    v.reason = "Eicar-Test-Signature FOUND";
    v.add_headers = {{"X-Scanned", "fixed"}};
    auto s = std::make_shared<FixedScanner>(v);
    services_.content_scan = std::make_shared<filter::ContentScanChain>(
        std::vector<std::shared_ptr<filter::ContentScanner>>{s});
    return s;
  };
  for (auto action : {filter::ContentAction::reject, filter::ContentAction::quarantine}) {
    auto scanner = scanner_with(action);
    auto r = submit(stored(draft("alice@example.com", "bob@example.com")));
    EXPECT_EQ(refusal(r), "forbiddenToSend");
    EXPECT_NE(json::serialize(r).find("Eicar-Test-Signature"), std::string::npos);
    ASSERT_EQ(scanner->seen.size(), 1u);
    EXPECT_EQ(scanner->seen[0].auth_account_id, kAlice);
    EXPECT_EQ(scanner->seen[0].envelope_sender, "alice@example.com");
    EXPECT_TRUE(scanner->seen[0].message->starts_with("Received: by "));
  }
  EXPECT_TRUE(queue_->submitted.empty());
  // A scanner that cannot answer: the whole call is serverUnavailable, nothing sent.
  scanner_with(filter::ContentAction::tempfail);
  auto id = stored(draft("alice@example.com", "bob@example.com"));
  auto r = sub("[[\"EmailSubmission/set\",{" + acc() + ",\"create\":{\"k\":{\"identityId\":\"" +
               identity("alice@example.com") + "\",\"emailId\":\"" + id + "\"}}},\"s\"]]");
  EXPECT_EQ(r[0].at(0).as_string(), "error") << json::serialize(r);
  EXPECT_EQ(r[0].at(1).at("type").as_string(), "serverUnavailable");
  EXPECT_TRUE(queue_->submitted.empty());
  // Accepted: sent with the scanner's fields on top, the sender's own verdict fields gone.
  auto accepted = scanner_with(filter::ContentAction::accept);
  EXPECT_EQ(refusal(submit(stored(draft("alice@example.com", "bob@example.com",
                                        "X-Spam-Flag: NO\r\nX-Spam-Score: -100\r\n")))),
            "(created)");
  ASSERT_EQ(queue_->submitted.size(), 1u);
  EXPECT_TRUE(queue_->submitted[0].message.starts_with("X-Scanned: fixed\r\nReceived: by "));
  EXPECT_EQ(queue_->submitted[0].message.find("X-Spam-"), std::string::npos);
  ASSERT_EQ(accepted->seen.size(), 1u);
  EXPECT_EQ(accepted->seen[0].message->find("X-Spam-"), std::string::npos);
}

TEST_F(SubmissionTest, RecipientsAndSizesAreCheckedAsSmtpChecksThem) {
  EXPECT_EQ(refusal(submit(stored(draft("alice@example.com", "undisclosed-recipients:;")))),
            "noRecipients");
  auto r = submit(stored(draft("alice@example.com", "bob@example.com, nobody@example.com")));
  ASSERT_EQ(refusal(r), "invalidRecipients");
  EXPECT_EQ(json::serialize(r.at("notCreated").at("k").at("invalidRecipients")),
            "[\"nobody@example.com\"]");
  auto id = stored(draft("alice@example.com", "bob@example.com"));
  EXPECT_EQ(refusal(submit(id, R"(,"envelope":{"mailFrom":{"email":"alice@example.com"},
      "rcptTo":[{"email":"bob@example.com","parameters":{"NOTIFY":"NEVER"}}]})")),
            "invalidProperties");
  EXPECT_EQ(refusal(submit("Mffffffffffffffffffffffffffffffff")), "invalidProperties");
  auto bad_identity =
      sub("[[\"EmailSubmission/set\",{" + acc() +
          ",\"create\":{\"k\":{\"identityId\":\"Inope\",\"emailId\":\"" + id + "\"}}},\"s\"]]");
  EXPECT_EQ(bad_identity[0].at(1).at("notCreated").at("k").at("type").as_string(),
            "invalidProperties");
  EXPECT_TRUE(queue_->submitted.empty());
}

class SubmissionLimitsTest : public SubmissionTest {
 protected:
  void SetUp() override {
    SubmissionTest::SetUp();
    router_ = http::Router();
    options_.max_recipients = 2;
    options_.max_message_size = 400;
    add_routes(router_, services_, options_);
  }
};

TEST_F(SubmissionLimitsTest, TooManyRecipientsAndTooLarge) {
  auto r = submit(
      stored(draft("alice@example.com", "a@remote.example, b@remote.example, bob@example.com")));
  ASSERT_EQ(refusal(r), "tooManyRecipients");
  EXPECT_EQ(r.at("notCreated").at("k").at("maxRecipients").to_number<int>(), 2);
  r = submit(stored(
      draft("alice@example.com", "bob@example.com", "X-Pad: " + std::string(400, 'x') + "\r\n")));
  ASSERT_EQ(refusal(r), "tooLarge");
  EXPECT_EQ(r.at("notCreated").at("k").at("maxSize").to_number<int>(), 400);
  EXPECT_TRUE(queue_->submitted.empty());
}

}  // namespace
}  // namespace mailroom::jmap::testing
