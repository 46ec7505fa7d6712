// service::MailQueue (the spool as an administrator sees it), DeliveryLogSearch and
// Blocklists: results and error paths.
#include <gtest/gtest.h>

#include <future>

#include "src/queue/envelope_codec.h"
#include "src/queue/spool.h"
#include "src/service/blocklists.h"
#include "src/service/delivery_log_search.h"
#include "src/service/mail_queue.h"
#include "tests/fakes/fake_delivery_log.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::service::testing {
namespace {

queue::EnvelopeRecipient recipient(const std::string& address, bool remote) {
  queue::EnvelopeRecipient r;
  r.rcpt = address;
  r.destination.kind = remote ? auth::Destination::Kind::remote : auth::Destination::Kind::mailbox;
  r.destination.address = address;
  return r;
}

std::string envelope(std::vector<queue::EnvelopeRecipient> recipients) {
  queue::Envelope e;
  e.sender = "sender@example.org";
  e.received_at = 1700000000;
  e.recipients = std::move(recipients);
  return queue::encode_envelope(e);
}

TEST(MailQueue, ListsMessagesWithRecipientsStillToGo) {
  mailroom::testing::TempDir tmp;
  std::string dir = tmp.file("queue");
  // A spool that does not exist yet is empty.
  auto empty = MailQueue(dir).list();
  ASSERT_TRUE(empty) << empty.status().to_string();
  EXPECT_TRUE(empty->empty());
  {
    queue::SpoolOptions o;
    o.dir = dir;
    o.fsync = false;
    queue::Spool spool(o);
    std::vector<queue::SpoolRecord> recovered;
    ASSERT_TRUE(spool.open(&recovered));
    auto append = [&](const std::string& id, const std::string& env) {
      std::promise<core::Status> done;
      spool.append(id, env, "Subject: x\r\n\r\nbody\r\n",
                   [&](core::Status st) { done.set_value(st); });
      return done.get_future().get();
    };
    ASSERT_TRUE(append(
        "q1", envelope({recipient("a@example.com", false), recipient("b@remote.org", true)})));
    ASSERT_TRUE(append("q2", envelope({recipient("c@example.com", false)})));
    ASSERT_TRUE(append("q3", "not an envelope"));
    ASSERT_TRUE(spool.set_state("q1", 0, static_cast<uint8_t>(queue::RecipientState::delivered)));
    ASSERT_TRUE(spool.set_state("q2", 0, static_cast<uint8_t>(queue::RecipientState::delivered)));
    spool.close();
  }
  auto listed = MailQueue(dir).list();
  ASSERT_TRUE(listed) << listed.status().to_string();
  // q2 is done (waits for cleanup), q3 cannot be decoded: only q1 is shown.
  ASSERT_EQ(listed->size(), 1u);
  const SpooledMessage& m = (*listed)[0];
  EXPECT_EQ(m.queue_id, "q1");
  EXPECT_EQ(m.sender, "sender@example.org");
  EXPECT_EQ(m.received_at, 1700000000);
  EXPECT_EQ(m.size, std::string("Subject: x\r\n\r\nbody\r\n").size());
  ASSERT_EQ(m.recipients.size(), 2u);
  EXPECT_STREQ(recipient_state_name(m.recipients[0].state), "delivered");
  EXPECT_EQ(m.recipients[1].address, "b@remote.org");
  EXPECT_STREQ(recipient_state_name(m.recipients[1].state), "remote");
  EXPECT_STREQ(recipient_state_name(static_cast<queue::RecipientState>(9)), "unknown");
}

TEST(DeliveryLogSearch, AddressesAndDomainsInAnyCase) {
  mailroom::testing::FakeDeliveryLog log;
  queue::DeliveryRecord stored;
  stored.recipient = "bob@example.com";
  stored.envelope_sender = "alice@example.org";
  stored.message_id = "Mixed@Case";
  stored.subject = "Hello there";
  ASSERT_TRUE(log.record({stored}));
  queue::DeliveryQuery q;
  q.recipient = "Bob@Example.COM";
  q.envelope_sender = "Alice@Example.org";
  q.recipient_domain = "Example.COM";
  q.sender_domain = "EXAMPLE.org";
  q.message_id = "Mixed@Case";
  q.subject_prefix = "Hello";
  q.limit = 5;
  auto r = DeliveryLogSearch(&log).search(q);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].recipient, "bob@example.com");
  EXPECT_EQ(log.last_query().envelope_sender, "alice@example.org");
  EXPECT_EQ(log.last_query().recipient_domain, "example.com");
  EXPECT_EQ(log.last_query().sender_domain, "example.org");
  EXPECT_EQ(log.last_query().message_id, "Mixed@Case");  // Message-IDs are case-sensitive
  EXPECT_EQ(log.last_query().subject_prefix, "Hello");
  EXPECT_EQ(log.last_query().limit, 5u);
  log.fail_all = true;
  EXPECT_EQ(DeliveryLogSearch(&log).search(q).code(), core::Code::unavailable);
  auto none = DeliveryLogSearch(nullptr).search(q);
  EXPECT_EQ(none.code(), core::Code::unavailable);
  EXPECT_EQ(none.status().client_message(), "delivery log is not configured");
}

TEST(Blocklists, AddRemoveListAndErrors) {
  mailroom::testing::TempDir tmp;
  Blocklists lists(tmp.file(""));
  EXPECT_TRUE(lists.list()->empty());
  auto ip = lists.add("ip", "192.0.2.7");
  ASSERT_TRUE(ip) << ip.status().to_string();
  auto sender = lists.add("sender", "Spam@Bad.Example");
  ASSERT_TRUE(sender);
  EXPECT_EQ(sender->value, "spam@bad.example");
  ASSERT_TRUE(lists.add("domain", "bad.example"));

  auto dup = lists.add("sender", "spam@bad.example");
  EXPECT_EQ(dup.code(), core::Code::already_exists);
  EXPECT_EQ(dup.status().client_message(), "sender spam@bad.example is already blocked");
  EXPECT_EQ(lists.add("ip", "300.1.1.1").code(), core::Code::invalid_argument);
  EXPECT_EQ(lists.add("color", "red").code(), core::Code::invalid_argument);

  auto all = lists.list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].kind, "ip");
  ASSERT_TRUE(lists.remove("ip", "192.0.2.7"));
  auto gone = lists.remove("ip", "192.0.2.7");
  EXPECT_EQ(gone.code(), core::Code::not_found);
  EXPECT_EQ(gone.status().client_message(), "ip 192.0.2.7 is not blocked");
  EXPECT_EQ(Blocklists(tmp.file("")).list()->size(), 2u);  // written to the file
}

}  // namespace
}  // namespace mailroom::service::testing
