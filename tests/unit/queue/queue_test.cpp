// SpoolQueue: delivery into a store, delivery log records, remote recipients staying queued,
// deferral, scanner verdicts, and exactly-once delivery after a crash that lost journal lines.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>

#include "src/core/metric_catalog.h"
#include "src/core/services.h"
#include "src/queue/envelope_codec.h"
#include "src/queue/spool_queue.h"
#include "tests/fakes/fake_delivery_log.h"
#include "tests/fakes/fake_scanner.h"
#include "tests/fakes/fake_store.h"

namespace fs = std::filesystem;

namespace mailroom::queue {
namespace {

using mailroom::testing::FakeStore;

// The shared FakeStore with overlap detection for parallel delivery: with wait_for_company
// set, the first append waits (up to 30 s) until a second append is running at the same time.
// most_in_flight is the largest number of appends that ever ran at once.
class OverlapStore : public FakeStore {
 public:
  bool wait_for_company = false;
  int most_in_flight = 0;

  core::Result<store::AppendResult> append(const std::string& account,
                                           const store::AppendRequest& request) override {
    {
      std::unique_lock l(mu_);
      most_in_flight = std::max(most_in_flight, ++in_flight_);
      cv_.notify_all();
      if (wait_for_company && !waited_) {
        waited_ = true;
        cv_.wait_for(l, std::chrono::seconds(30), [&] { return in_flight_ >= 2; });
      }
    }
    auto result = FakeStore::append(account, request);
    std::lock_guard l(mu_);
    --in_flight_;
    return result;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  bool waited_ = false;
};

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("queue-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    store_ = std::make_shared<OverlapStore>();
    log_ = std::make_shared<mailroom::testing::FakeDeliveryLog>();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<SpoolQueue> make_queue(
      size_t threads = 2, std::vector<std::shared_ptr<filter::Scanner>> scanners = {}) {
    Options o;
    o.spool_dir = dir_.string();
    o.delivery_threads = threads;
    o.retry_seconds = 1;
    return std::make_shared<SpoolQueue>(o, store_, log_, std::move(scanners));
  }

  static Envelope envelope(std::vector<std::string> accounts) {
    Envelope e;
    e.sender = "sender@remote.example";
    e.client_ip = "127.0.0.1";
    for (auto& a : accounts) {
      EnvelopeRecipient r;
      r.rcpt = a + "@example.com";
      if (a.rfind("remote", 0) == 0) {
        r.destination.kind = auth::Destination::Kind::remote;
        r.destination.address = a + "@elsewhere.example";
      } else {
        r.destination.account_id = a;
        r.destination.address = a + "@example.com";
        r.destination.folder = "INBOX";
      }
      e.recipients.push_back(r);
    }
    return e;
  }

  static std::string message(const std::string& qid) {
    return "Received: from client by mx id " + qid +
           ";\r\nFrom: Sender <sender@remote.example>\r\nSubject: =?UTF-8?Q?h=C3=A9llo?=\r\n"
           "Message-ID: <m1@remote.example>\r\n\r\nbody\r\n";
  }

  static std::string submit(Queue& q, Envelope e) {
    std::string id = q.new_queue_id();
    std::promise<core::Result<std::string>> p;
    q.submit(id, std::move(e), message(id), [&](core::Result<std::string> r) { p.set_value(r); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.is_ok());
    return r.is_ok() ? r.value() : "";
  }

  fs::path dir_;
  std::shared_ptr<OverlapStore> store_;
  std::shared_ptr<DeliveryLog> log_;
};

TEST_F(QueueTest, QueueIdsAreUniqueAndWellFormed) {
  auto q = make_queue();
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(q->new_queue_id());
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(ids.begin()->size(), 22u);
  EXPECT_EQ(queue_ids_in_headers("Received: id " + *ids.begin() + "\r\n\r\n").size(), 1u);
}

TEST_F(QueueTest, DeliversToEveryLocalRecipientOnceAndLogs) {
  auto q = make_queue();
  ASSERT_TRUE(q->start().is_ok());
  auto e = envelope({"alice", "bob", "alice"});  // alice twice (e.g. alias + direct)
  std::string id = submit(*q, e);
  ASSERT_TRUE(q->wait_idle(10000));
  EXPECT_EQ(store_->count("alice"), 1u);
  EXPECT_EQ(store_->count("bob"), 1u);
  auto stored = store_->read_message("alice", "INBOX", 1);
  ASSERT_TRUE(stored.is_ok());
  EXPECT_EQ(stored->rfind(
                "Return-Path: <sender@remote.example>\r\nDelivered-To: alice@example.com\r\n", 0),
            0u);
  DeliveryQuery query;
  query.queue_id = id;
  auto records = log_->query(query);
  ASSERT_TRUE(records.is_ok());
  ASSERT_EQ(records->size(), 2u);
  for (auto& r : *records) {
    EXPECT_EQ(r.result, DeliveryResult::delivered);
    EXPECT_EQ(r.message_id, "m1@remote.example");
    EXPECT_EQ(r.subject, "h\xc3\xa9llo");
    EXPECT_EQ(r.envelope_sender, "sender@remote.example");
    EXPECT_EQ(r.uid, 1u);
    // The stored copy's guid (mail recall follows it through MOVE and COPY).
    auto snap = store_->snapshot(r.account_id, "INBOX");
    ASSERT_TRUE(snap.is_ok());
    ASSERT_EQ(snap->messages.size(), 1u);
    EXPECT_EQ(r.guid, snap->messages[0].guid);
    EXPECT_FALSE(r.guid.empty());
  }
  EXPECT_TRUE(q->list().empty());
  q->stop();
}

TEST_F(QueueTest, RemoteRecipientsStayQueuedAcrossRestart) {
  {
    auto q = make_queue();
    ASSERT_TRUE(q->start().is_ok());
    submit(*q, envelope({"alice", "remote1"}));
    ASSERT_TRUE(q->wait_idle(10000));
    EXPECT_EQ(store_->count("alice"), 1u);
    auto l = q->list();
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].states[0], RecipientState::delivered);
    EXPECT_EQ(l[0].states[1], RecipientState::remote);
    q->stop();
  }
  auto q = make_queue();
  ASSERT_TRUE(q->start().is_ok());
  ASSERT_TRUE(q->wait_idle(10000));
  EXPECT_EQ(q->list().size(), 1u);
  EXPECT_EQ(store_->count("alice"), 1u);  // not delivered again
  q->stop();
}

TEST_F(QueueTest, TemporaryStoreFailureIsRetried) {
  store_->fail(FakeStore::Op::append, core::Code::unavailable, 1);
  auto q = make_queue();
  ASSERT_TRUE(q->start().is_ok());
  submit(*q, envelope({"alice"}));
  for (int i = 0; i < 100 && store_->count("alice") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(store_->count("alice"), 1u);
  EXPECT_EQ(store_->calls(FakeStore::Op::append), 2);
  q->stop();
}

TEST_F(QueueTest, MessageLargerThanQuotaFailsPermanently) {
  store_->fail(FakeStore::Op::append, core::Code::too_large, 1);
  auto q = make_queue();
  ASSERT_TRUE(q->start().is_ok());
  std::string id = submit(*q, envelope({"alice"}));
  ASSERT_TRUE(q->wait_idle(10000));
  EXPECT_EQ(store_->count("alice"), 0u);
  EXPECT_TRUE(q->list().empty());
  DeliveryQuery query;
  query.queue_id = id;
  auto r = log_->query(query);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].result, DeliveryResult::failed);
  q->stop();
}

// A crash after the store append but before the journal line: the restarted queue must find
// the message in the store (by queue id) and not deliver it again.
TEST_F(QueueTest, ExactlyOnceWhenJournalLinesAreLost) {
  {
    auto q = make_queue();
    ASSERT_TRUE(q->start().is_ok());
    submit(*q, envelope({"alice", "bob"}));
    ASSERT_TRUE(q->wait_idle(10000));
    q->stop();
  }
  // Bring the segment back as if it had never been retired and the journal were lost.
  // (The current segment is kept after retirement, so the record is still there.)
  fs::remove(dir_ / "state.log");
  auto q = make_queue();
  ASSERT_TRUE(q->start().is_ok());
  ASSERT_TRUE(q->wait_idle(10000));
  EXPECT_EQ(store_->count("alice"), 1u);
  EXPECT_EQ(store_->count("bob"), 1u);
  EXPECT_TRUE(q->list().empty());
  q->stop();
}

// Spooled but never delivered (crash right after the 250): delivered once after restart.
TEST_F(QueueTest, SpooledMessageIsDeliveredAfterRestart) {
  {
    Spool s(SpoolOptions{dir_.string(), 1 << 20, true, {}});
    std::vector<SpoolRecord> rec;
    ASSERT_TRUE(s.open(&rec).is_ok());
    auto e = envelope({"alice"});
    e.received_at = std::time(nullptr);
    std::promise<core::Status> p;
    s.append("MR00000000000000000001", encode_envelope(e), message("MR00000000000000000001"),
             [&](core::Status st) { p.set_value(st); });
    ASSERT_TRUE(p.get_future().get().is_ok());
    s.close();
  }
  for (int round = 0; round < 2; ++round) {
    auto q = make_queue();
    ASSERT_TRUE(q->start().is_ok());
    ASSERT_TRUE(q->wait_idle(10000));
    q->stop();
    EXPECT_EQ(store_->count("alice"), 1u) << "round " << round;
  }
}

TEST_F(QueueTest, ManyRecipientsOneSpooledMessage) {
  auto q = make_queue();
  ASSERT_TRUE(q->start().is_ok());
  std::vector<std::string> members;
  for (int i = 0; i < 500; ++i) members.push_back("user" + std::to_string(i));
  submit(*q, envelope(members));
  ASSERT_TRUE(q->wait_idle(20000));
  EXPECT_EQ(q->spool().records_written(), 1u);
  for (int i = 0; i < 500; i += 97) EXPECT_EQ(store_->count("user" + std::to_string(i)), 1u);
  EXPECT_EQ(store_->calls(FakeStore::Op::append), 500);
  q->stop();
}

// A large group is delivered in parallel parts: still one copy per mailbox when several
// recipients reach the same mailbox, one log record per recipient, and after a lost journal
// the restarted queue (whose parts verify the store concurrently) delivers nothing twice.
TEST_F(QueueTest, LargeFanOutInPartsOneCopyPerMailboxAndExactlyOnce) {
  constexpr int kUsers = 300;
  std::vector<std::string> rcpts;
  for (int i = 0; i < kUsers; ++i) rcpts.push_back("user" + std::to_string(i));
  for (int i = 0; i < kUsers; i += 3) rcpts.push_back("user" + std::to_string(i));  // again
  rcpts.push_back("remote1");
  {
    // In parallel parts: the first store append waits until another one runs beside it,
    // which only a second part (on another delivery thread) can provide.
    store_->wait_for_company = true;
    auto q = make_queue(4);
    ASSERT_TRUE(q->start().is_ok());
    std::string id = submit(*q, envelope(rcpts));
    ASSERT_TRUE(q->wait_idle(60000));
    EXPECT_GE(store_->most_in_flight, 2) << "the parts did not run in parallel";
    EXPECT_EQ(store_->calls(FakeStore::Op::append), kUsers);
    for (int i = 0; i < kUsers; ++i) EXPECT_EQ(store_->count("user" + std::to_string(i)), 1u);
    DeliveryQuery query;
    query.queue_id = id;
    query.limit = 10000;
    auto recs = log_->query(query);
    ASSERT_TRUE(recs.is_ok());
    size_t delivered = 0, remote = 0;
    for (const auto& r : *recs) {
      delivered += r.result == DeliveryResult::delivered;
      remote += r.result == DeliveryResult::queued_remote;
    }
    EXPECT_EQ(delivered, static_cast<size_t>(kUsers));
    EXPECT_EQ(remote, 1u);
    auto left = q->list();  // only the remote recipient keeps the message queued
    ASSERT_EQ(left.size(), 1u);
    for (size_t i = 0; i + 1 < left[0].states.size(); ++i)
      EXPECT_EQ(left[0].states[i], RecipientState::delivered) << i;
    EXPECT_EQ(left[0].states.back(), RecipientState::remote);
    q->stop();
  }
  fs::remove(dir_ / "state.log");  // every "delivered" line lost
  auto q = make_queue(4);
  ASSERT_TRUE(q->start().is_ok());
  ASSERT_TRUE(q->wait_idle(20000));
  EXPECT_EQ(store_->calls(FakeStore::Op::append), kUsers);
  for (int i = 0; i < kUsers; i += 7) EXPECT_EQ(store_->count("user" + std::to_string(i)), 1u);
  q->stop();
}

// The Scanner hook: per recipient, the first verdict other than accept decides (reject: not
// stored, logged as rejected; folder: stored there; tempfail: tried again later).
TEST_F(QueueTest, ScannerVerdictsDecideEachRecipient) {
  auto scanner = std::make_shared<mailroom::testing::FakeScanner>();
  scanner->verdicts["bob@example.com"] = {filter::VerdictKind::folder, "Junk", "spam"};
  scanner->verdicts["carol@example.com"] = {filter::VerdictKind::reject, "", "virus found"};
  scanner->verdicts["dave@example.com"] = {filter::VerdictKind::tempfail, "", "scanner busy"};
  auto q = make_queue(2, {scanner});
  std::string id = q->new_queue_id();
  auto results = q->deliver_now(id, envelope({"alice", "bob", "carol", "dave"}), message(id));
  ASSERT_EQ(results.size(), 4u);
  EXPECT_TRUE(results[0].is_ok());
  EXPECT_TRUE(results[1].is_ok());
  EXPECT_EQ(results[2].code(), core::Code::permission_denied);
  EXPECT_EQ(results[3].code(), core::Code::unavailable);
  EXPECT_EQ(scanner->scanned(),
            (std::vector<std::string>{"alice@example.com", "bob@example.com", "carol@example.com",
                                      "dave@example.com"}));
  EXPECT_EQ(store_->count("alice"), 1u);
  EXPECT_EQ(store_->count("bob"), 0u);
  EXPECT_EQ(store_->count("bob", "Junk"), 1u);
  EXPECT_EQ(store_->count("carol"), 0u);
  EXPECT_EQ(store_->count("dave"), 0u);
  DeliveryQuery query;
  query.recipient = "carol@example.com";
  auto rejected = log_->query(query);
  ASSERT_TRUE(rejected.is_ok());
  ASSERT_EQ(rejected->size(), 1u);
  EXPECT_EQ((*rejected)[0].result, DeliveryResult::rejected);
  EXPECT_EQ((*rejected)[0].detail, "virus found");
}

// A discard verdict (a personal block list): not stored, no bounce and no retry, logged as
// rejected with the reason; the scanner is told the folder the message was going to.
TEST_F(QueueTest, DiscardVerdictStoresNothingAndIsFinal) {
  auto scanner = std::make_shared<mailroom::testing::FakeScanner>();
  scanner->verdicts["bob@example.com"] = {filter::VerdictKind::discard, "",
                                          "discarded: sender on the recipient's block list"};
  auto q = make_queue(2, {scanner});
  std::string id = q->new_queue_id();
  auto results = q->deliver_now(id, envelope({"alice", "bob"}), message(id));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].is_ok());
  EXPECT_TRUE(results[1].is_ok());  // nothing for the sender to hear about
  EXPECT_EQ(store_->count("alice"), 1u);
  EXPECT_EQ(store_->count("bob"), 0u);
  EXPECT_EQ(store_->count("bob", "Junk"), 0u);
  DeliveryQuery query;
  query.recipient = "bob@example.com";
  auto logged = log_->query(query);
  ASSERT_TRUE(logged.is_ok());
  ASSERT_EQ(logged->size(), 1u);
  EXPECT_EQ((*logged)[0].result, DeliveryResult::rejected);
  EXPECT_EQ((*logged)[0].detail, "discarded: sender on the recipient's block list");
  EXPECT_EQ(scanner->folders(), (std::vector<std::string>{"INBOX", "INBOX"}));
}

}  // namespace
}  // namespace mailroom::queue

namespace mailroom::queue {
namespace {

// /metrics (src/core/metric_catalog.h): deliveries, a local deferral, a permanent failure,
// the delivery latency and the queue depth move with what the queue did.
TEST_F(QueueTest, MetricsFollowDeliveriesDeferralsFailuresAndDepth) {
  auto& delivered = metrics::recipients_delivered_local();
  auto& deferred = metrics::recipients_deferred("local");
  auto& bounced = metrics::recipients_bounced();
  auto& latency = metrics::delivery_latency();
  const uint64_t delivered0 = delivered.value(), deferred0 = deferred.value(),
                 bounced0 = bounced.value(), latency0 = latency.snapshot().count;

  store_->fail(FakeStore::Op::append, core::Code::unavailable, 1);  // the first append: 4xx
  auto q = make_queue();
  ASSERT_TRUE(q->start().is_ok());
  submit(*q, envelope({"alice", "bob"}));
  for (int i = 0; i < 100 && store_->count("alice") + store_->count("bob") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(q->wait_idle(10000));
  EXPECT_EQ(delivered.value() - delivered0, 2u);
  EXPECT_EQ(deferred.value() - deferred0, 1u);
  EXPECT_EQ(latency.snapshot().count - latency0, 2u);  // one per stored recipient
  EXPECT_EQ(metrics::queue_messages().value(), 0);     // retired

  store_->fail(FakeStore::Op::append, core::Code::too_large, 1);  // permanent
  submit(*q, envelope({"carol", "remote1"}));
  ASSERT_TRUE(q->wait_idle(10000));
  EXPECT_EQ(bounced.value() - bounced0, 1u);
  EXPECT_EQ(delivered.value() - delivered0, 2u);
  EXPECT_EQ(metrics::queue_messages().value(), 1);  // the remote recipient waits (no transport)
  q->stop();
}

}  // namespace
}  // namespace mailroom::queue
