// Local delivery through a DeliveryFilter (Sieve's plan): several copies with flags, discard,
// refusal, outgoing messages, and exactly-once after a crash that lost journal lines: a
// replayed plan does not store a second copy in any of its folders.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "src/queue/spool_queue.h"
#include "tests/fakes/fake_delivery_log.h"
#include "tests/fakes/fake_store.h"

namespace fs = std::filesystem;

namespace mailroom::queue {
namespace {

class PlanFilter : public DeliveryFilter {
 public:
  DeliveryPlan plan(const FilterInput& in) override {
    ++calls;
    DeliveryPlan p;
    if (in.account_id == "refuser") {
      p.refuse = true;
      p.refuse_reason = "not wanted";
      return p;
    }
    if (in.account_id == "discarder") return p;
    p.copies.push_back({"Lists", store::kSeen, {"$List"}, true});
    p.copies.push_back({"INBOX", 0, {}, false});
    if (in.account_id == "redirector") {
      OutgoingMessage o;
      o.kind = "redirect";
      o.envelope.sender = in.envelope_sender;
      EnvelopeRecipient r;
      r.rcpt = "target@example.com";
      r.destination.account_id = "target";
      r.destination.address = "target@example.com";
      o.envelope.recipients.push_back(r);
      o.message = "X-Sieve-Redirected-By: x\r\n" + std::string(in.message);
      p.outgoing.push_back(std::move(o));
    }
    p.commit = [this] { ++commits; };
    return p;
  }
  std::atomic<int> calls{0};
  std::atomic<int> commits{0};
};

class FilteredDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("filtered-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    store_ = std::make_shared<mailroom::testing::FakeStore>();
    log_ = std::make_shared<mailroom::testing::FakeDeliveryLog>();
    filter_ = std::make_shared<PlanFilter>();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<SpoolQueue> make_queue() {
    Options o;
    o.spool_dir = dir_.string();
    o.delivery_threads = 2;
    o.retry_seconds = 1;
    auto q = std::make_shared<SpoolQueue>(o, store_, log_,
                                          std::vector<std::shared_ptr<filter::Scanner>>{});
    q->set_delivery_filter(filter_);
    return q;
  }
  static Envelope envelope(const std::string& account) {
    Envelope e;
    e.sender = "sender@remote.example";
    EnvelopeRecipient r;
    r.rcpt = account + "@example.com";
    r.destination.account_id = account;
    r.destination.address = account + "@example.com";
    r.destination.folder = "INBOX";
    e.recipients.push_back(r);
    return e;
  }
  static std::string message(const std::string& qid) {
    return "Received: from client by mx id " + qid + ";\r\nSubject: s\r\n\r\nbody\r\n";
  }
  std::string submit(Queue& q, Envelope e) {
    std::string id = q.new_queue_id();
    std::promise<core::Result<std::string>> p;
    q.submit(id, std::move(e), message(id), [&](core::Result<std::string> r) { p.set_value(r); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.is_ok());
    return id;
  }

  fs::path dir_;
  std::shared_ptr<mailroom::testing::FakeStore> store_;
  std::shared_ptr<DeliveryLog> log_;
  std::shared_ptr<PlanFilter> filter_;
};

TEST_F(FilteredDeliveryTest, CopiesDiscardRefusalAndOutgoing) {
  auto q = make_queue();
  ASSERT_TRUE(q->start().is_ok());
  submit(*q, envelope("alice"));
  submit(*q, envelope("discarder"));
  submit(*q, envelope("redirector"));
  ASSERT_TRUE(q->wait_idle(10000));
  EXPECT_EQ(store_->count("alice", "Lists"), 1u);
  EXPECT_EQ(store_->count("alice", "INBOX"), 1u);
  EXPECT_EQ(store_->count("discarder", "INBOX"), 0u);
  EXPECT_EQ(store_->count("redirector", "INBOX"), 1u);
  // The redirect went through the queue and, in turn, through the filter for "target" (it is
  // spooled while the first delivery runs: wait for it too).
  for (int i = 0; i < 200 && store_->count("target", "Lists") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(q->wait_idle(10000));
  }
  EXPECT_EQ(store_->count("target", "Lists"), 1u);
  EXPECT_EQ(filter_->commits.load(), 3);  // alice, redirector, target
  // LMTP: a refusal is this recipient's permission_denied with the reason.
  std::string id = q->new_queue_id();
  auto results = q->deliver_now(id, envelope("refuser"), message(id));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code(), core::Code::permission_denied);
  EXPECT_EQ(results[0].client_message(), "not wanted");
  q->stop();
}

TEST_F(FilteredDeliveryTest, ExactlyOnceInEveryFolderWhenJournalLinesAreLost) {
  {
    auto q = make_queue();
    ASSERT_TRUE(q->start().is_ok());
    submit(*q, envelope("alice"));
    ASSERT_TRUE(q->wait_idle(10000));
    q->stop();
  }
  ASSERT_EQ(store_->count("alice", "Lists"), 1u);
  // As if the process died after the appends and before the "delivered" journal line.
  fs::remove(dir_ / "state.log");
  auto q = make_queue();
  ASSERT_TRUE(q->start().is_ok());
  ASSERT_TRUE(q->wait_idle(10000));
  EXPECT_EQ(store_->count("alice", "Lists"), 1u);
  EXPECT_EQ(store_->count("alice", "INBOX"), 1u);
  EXPECT_TRUE(q->list().empty());
  q->stop();
}

}  // namespace
}  // namespace mailroom::queue
