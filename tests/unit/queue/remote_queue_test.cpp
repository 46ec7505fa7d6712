// SpoolQueue's remote side with a scripted RemoteTransport: one attempt per domain, retries on
// temporary replies, bounces (RFC 3464) to a local sender on permanent failure and on expiry,
// one delay notice, nothing reported to the null sender or against NOTIFY=NEVER, a bounce
// that was due when the process died is sent after the restart, and an attempt still running
// at stop() keeps nothing alive.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "auth/resolver.h"
#include "src/core/services.h"
#include "src/queue/envelope_codec.h"
#include "src/queue/remote.h"
#include "src/queue/spool_queue.h"
#include "tests/fakes/fake_delivery_log.h"
#include "tests/fakes/fake_directory.h"
#include "tests/fakes/fake_store.h"

namespace fs = std::filesystem;

namespace mailroom::queue {
namespace {

using mailroom::testing::FakeStore;

// Answers each attempt with script(attempt); records every attempt.
class ScriptedRemote : public RemoteTransport {
 public:
  std::function<std::vector<RemoteReply>(const RemoteAttempt&)> script;

  void deliver(RemoteAttempt attempt, Done done) override {
    auto replies = script(attempt);
    {
      std::lock_guard lock(mu_);
      messages_.push_back(*attempt.message);  // the bytes are only valid until done()
      attempts_.push_back(std::move(attempt));
    }
    // From another thread, as the real transport does.
    std::thread([done = std::move(done), replies = std::move(replies)]() mutable {
      done(std::move(replies));
    }).detach();
  }
  std::vector<RemoteAttempt> attempts() {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  std::vector<std::string> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  std::mutex mu_;
  std::vector<RemoteAttempt> attempts_;
  std::vector<std::string> messages_;
};

// Keeps every attempt's `done` until answer_all(), as the real transport keeps the frame of a
// session it abandoned at stop() (with its `done`) until it is destroyed.
class HoldingRemote : public RemoteTransport {
 public:
  void deliver(RemoteAttempt attempt, Done done) override {
    std::lock_guard lock(mu_);
    held_.push_back({attempt.recipients.size(), std::move(done)});
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  void answer_all(const RemoteReply& r) {
    std::vector<std::pair<size_t, Done>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& [n, done] : held) done(std::vector<RemoteReply>(n, r));
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<size_t, Done>> held_;
};

RemoteReply reply(RemoteReply::Kind kind, int code, const std::string& status,
                  const std::string& text) {
  RemoteReply r;
  r.kind = kind;
  r.code = code;
  r.status = status;
  r.text = text;
  r.peer = "mx.elsewhere.example[192.0.2.1]:25";
  r.tls = "TLSv1.3";
  return r;
}

std::vector<RemoteReply> every(const RemoteAttempt& a, RemoteReply r) {
  return std::vector<RemoteReply>(a.recipients.size(), r);
}

class RemoteQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("remote-queue-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    store_ = std::make_shared<FakeStore>();
    log_ = std::make_shared<mailroom::testing::FakeDeliveryLog>();
    directory_ = std::make_shared<mailroom::testing::FakeDirectory>();
    directory_->add_domain("example.com");
    directory_->add_account("alice@example.com", "", "alice");
    services_.hostname = "mx.example.com";
    services_.store = store_;
    services_.delivery_log = log_;
    services_.directory = directory_;
    services_.resolver = std::make_shared<auth::Resolver>(directory_, auth::ResolverOptions{});
    remote_ = std::make_shared<ScriptedRemote>();
    options_.delivery_threads = 2;
    options_.retry_seconds = 1;
    options_.retry_min = 1;
    options_.retry_max = 1;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<SpoolQueue> start_queue(std::shared_ptr<RemoteTransport> transport = nullptr) {
    options_.spool_dir = dir_.string();
    auto q = std::make_shared<SpoolQueue>(options_, store_, log_,
                                          std::vector<std::shared_ptr<filter::Scanner>>{});
    q->set_services(&services_);
    q->set_remote_transport(transport ? transport : remote_);
    EXPECT_TRUE(q->start().is_ok());
    return q;
  }

  static Envelope envelope(const std::string& sender, std::vector<std::string> rcpts,
                           const std::string& notify = "") {
    Envelope e;
    e.sender = sender;
    e.client_ip = "127.0.0.1";
    e.auth_account_id = "alice";
    for (auto& a : rcpts) {
      EnvelopeRecipient r;
      r.rcpt = a;
      r.notify = notify;
      r.destination.kind = auth::Destination::Kind::remote;
      r.destination.address = a;
      e.recipients.push_back(r);
    }
    return e;
  }

  std::string submit(Queue& q, Envelope e) {
    std::string id = q.new_queue_id();
    std::string msg = "Received: from client by mx id " + id +
                      ";\r\nFrom: Alice <alice@example.com>\r\nSubject: quarterly\r\n"
                      "Message-ID: <q1@example.com>\r\n\r\nthe numbers\r\n";
    std::promise<core::Result<std::string>> p;
    q.submit(id, std::move(e), msg, [&](core::Result<std::string> r) { p.set_value(r); });
    auto r = p.get_future().get();
    EXPECT_TRUE(r.is_ok());
    return id;
  }

  // Polls (up to 20 s) until `done` holds.
  static bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 400; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  std::string inbox_message(const std::string& account, uint32_t uid) {
    auto m = store_->read_message(account, "INBOX", uid);
    return m.is_ok() ? *m : "";
  }

  fs::path dir_;
  Options options_;
  core::Services services_;
  std::shared_ptr<FakeStore> store_;
  std::shared_ptr<DeliveryLog> log_;
  std::shared_ptr<mailroom::testing::FakeDirectory> directory_;
  std::shared_ptr<ScriptedRemote> remote_;
};

TEST_F(RemoteQueueTest, OneAttemptPerDomainThenRetired) {
  remote_->script = [](const RemoteAttempt& a) {
    return every(a, reply(RemoteReply::Kind::delivered, 250, "2.0.0", "queued as 1"));
  };
  auto q = start_queue();
  std::string id = submit(
      *q, envelope("alice@example.com", {"x@one.example", "y@two.example", "z@ONE.example"}));
  ASSERT_TRUE(eventually([&] { return q->list().empty(); }));
  auto attempts = remote_->attempts();
  ASSERT_EQ(attempts.size(), 2u);
  std::map<std::string, size_t> per_domain;
  for (auto& a : attempts) per_domain[a.domain] = a.recipients.size();
  EXPECT_EQ(per_domain["one.example"], 2u);
  EXPECT_EQ(per_domain["two.example"], 1u);
  DeliveryQuery query;
  query.queue_id = id;
  auto records = log_->query(query);
  ASSERT_TRUE(records.is_ok());
  size_t sent = 0;
  for (auto& r : *records) {
    if (r.result == DeliveryResult::sent) {
      ++sent;
      EXPECT_NE(r.detail.find("peer=mx.elsewhere.example[192.0.2.1]:25"), std::string::npos);
      EXPECT_NE(r.detail.find("tls=TLSv1.3"), std::string::npos);
    }
  }
  EXPECT_EQ(sent, 3u);
  EXPECT_EQ(store_->count("alice"), 0u);  // no report for a success without NOTIFY=SUCCESS
  q->stop();
}

TEST_F(RemoteQueueTest, TemporaryFailureIsRetriedUntilDelivered) {
  std::atomic<int> calls{0};
  remote_->script = [&](const RemoteAttempt& a) {
    return ++calls < 3 ? every(a, reply(RemoteReply::Kind::temporary, 451, "4.3.0", "later"))
                       : every(a, reply(RemoteReply::Kind::delivered, 250, "2.0.0", "ok"));
  };
  auto q = start_queue();
  submit(*q, envelope("alice@example.com", {"x@one.example"}));
  ASSERT_TRUE(eventually([&] { return q->list().empty(); }));
  auto attempts = remote_->attempts();
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0].attempt, 1);
  EXPECT_EQ(attempts[2].attempt, 3);
  // Between attempts the bytes were dropped from memory and read back from the spool.
  auto messages = remote_->messages();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_NE(messages[0].find("the numbers"), std::string::npos);
  EXPECT_EQ(messages[1], messages[0]);
  EXPECT_EQ(messages[2], messages[0]);
  EXPECT_EQ(store_->count("alice"), 0u);
  q->stop();
}

// Mail recall stops a message still waiting for remote delivery: its recipients are dropped
// without a bounce, logged with the reason, and never tried again.
TEST_F(RemoteQueueTest, StopMessageDropsWaitingRecipientsWithoutABounce) {
  std::atomic<int> calls{0};
  remote_->script = [&](const RemoteAttempt& a) {
    ++calls;
    return every(a, reply(RemoteReply::Kind::temporary, 451, "4.3.0", "later"));
  };
  options_.retry_min = 3600;  // the first attempt fails, the next is an hour away
  options_.retry_max = 3600;
  auto q = start_queue();
  std::string id = submit(*q, envelope("alice@example.com", {"x@one.example", "y@two.example"}));
  ASSERT_TRUE(eventually([&] { return calls >= 2; }));  // one attempt per domain
  ASSERT_TRUE(eventually([&] {
    auto listed = q->list();
    return !listed.empty() && listed[0].states[0] == RecipientState::remote &&
           listed[0].states[1] == RecipientState::remote;
  }));
  // Only the recipients named: the other stays queued.
  auto one = q->stop_message(id, "stopped by mail recall R0", {"Y@two.example"});
  ASSERT_TRUE(one.found);
  ASSERT_EQ(one.stopped.size(), 1u);
  EXPECT_EQ(one.stopped[0].address, "y@two.example");
  ASSERT_FALSE(q->list().empty());
  auto stopped = q->stop_message(id, "stopped by mail recall R1");
  ASSERT_TRUE(stopped.found);
  ASSERT_EQ(stopped.stopped.size(), 1u);
  EXPECT_TRUE(stopped.stopped[0].remote);
  EXPECT_EQ(stopped.stopped[0].address, "x@one.example");
  EXPECT_TRUE(eventually([&] { return q->list().empty(); }));
  EXPECT_FALSE(q->stop_message(id, "again").found);
  EXPECT_EQ(store_->count("alice"), 0u);  // no bounce to the sender
  DeliveryQuery dq;
  dq.queue_id = id;
  auto records = log_->query(dq);
  ASSERT_TRUE(records);
  int stopped_records = 0;
  for (const auto& r : *records)
    if (r.detail.rfind("stopped by mail recall R", 0) == 0) ++stopped_records;
  EXPECT_EQ(stopped_records, 2);
  EXPECT_FALSE(q->stop_message("MR00000000000000000000", "x").found);
  q->stop();
}

TEST_F(RemoteQueueTest, PermanentFailureBouncesToTheLocalSender) {
  remote_->script = [](const RemoteAttempt& a) {
    std::vector<RemoteReply> out;
    for (auto& r : a.recipients) {
      out.push_back(r.address == "bad@one.example"
                        ? reply(RemoteReply::Kind::permanent, 550, "5.1.1", "5.1.1 no such user")
                        : reply(RemoteReply::Kind::delivered, 250, "2.0.0", "ok"));
    }
    return out;
  };
  auto q = start_queue();
  std::string id =
      submit(*q, envelope("alice@example.com", {"good@one.example", "bad@one.example"}));
  ASSERT_TRUE(eventually([&] { return store_->count("alice") == 1 && q->list().empty(); }));
  std::string dsn = inbox_message("alice", 1);
  EXPECT_NE(dsn.find("Return-Path: <>"), std::string::npos);
  EXPECT_NE(dsn.find("multipart/report"), std::string::npos);
  EXPECT_NE(dsn.find("report-type=delivery-status"), std::string::npos);
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; bad@one.example"), std::string::npos);
  EXPECT_NE(dsn.find("Status: 5.1.1"), std::string::npos);
  EXPECT_NE(dsn.find("550 5.1.1 no such user"), std::string::npos);
  EXPECT_NE(dsn.find("Remote-MTA: dns; mx.elsewhere.example"), std::string::npos);
  EXPECT_EQ(dsn.find("good@one.example"), std::string::npos);    // only the failed recipient
  EXPECT_NE(dsn.find("Subject: quarterly"), std::string::npos);  // the original's headers
  EXPECT_NE(dsn.find(id), std::string::npos);
  q->stop();
}

TEST_F(RemoteQueueTest, NothingIsReportedToTheNullSenderOrAgainstNotifyNever) {
  remote_->script = [](const RemoteAttempt& a) {
    return every(a, reply(RemoteReply::Kind::permanent, 550, "5.1.1", "5.1.1 no such user"));
  };
  auto q = start_queue();
  submit(*q, envelope("", {"bad@one.example"}));
  submit(*q, envelope("alice@example.com", {"bad@two.example"}, "NEVER"));
  ASSERT_TRUE(eventually([&] { return q->list().empty(); }));
  EXPECT_EQ(remote_->attempts().size(), 2u);
  EXPECT_EQ(store_->count("alice"), 0u);
  q->stop();
}

TEST_F(RemoteQueueTest, ExpiredMessageBouncesWithDeliveryTimeExpired) {
  options_.max_queue_time = 5;
  remote_->script = [](const RemoteAttempt& a) {
    return every(a, reply(RemoteReply::Kind::temporary, 421, "4.4.2", "4.4.2 too busy"));
  };
  auto q = start_queue();
  auto e = envelope("alice@example.com", {"slow@one.example"});
  e.received_at = std::time(nullptr) - 60;  // arrived a minute ago; gives up after 5 s
  submit(*q, e);
  ASSERT_TRUE(eventually([&] { return store_->count("alice") == 1 && q->list().empty(); }));
  std::string dsn = inbox_message("alice", 1);
  EXPECT_NE(dsn.find("Status: 4.4.7"), std::string::npos);
  EXPECT_NE(dsn.find("Action: failed"), std::string::npos);
  EXPECT_NE(dsn.find("421 4.4.2 too busy"), std::string::npos);  // the last reply
  EXPECT_EQ(remote_->attempts().size(), 1u);
  q->stop();
}

TEST_F(RemoteQueueTest, OneDelayNoticeThenDelivery) {
  options_.delay_warning = 5;
  std::atomic<int> calls{0};
  remote_->script = [&](const RemoteAttempt& a) {
    return ++calls < 4 ? every(a, reply(RemoteReply::Kind::temporary, 451, "4.3.0", "later"))
                       : every(a, reply(RemoteReply::Kind::delivered, 250, "2.0.0", "ok"));
  };
  auto q = start_queue();
  auto e = envelope("alice@example.com", {"slow@one.example"});
  e.received_at = std::time(nullptr) - 60;
  submit(*q, e);
  ASSERT_TRUE(eventually([&] { return q->list().empty(); }));
  EXPECT_EQ(remote_->attempts().size(), 4u);
  ASSERT_EQ(store_->count("alice"), 1u);  // one notice, not one per attempt
  std::string dsn = inbox_message("alice", 1);
  EXPECT_NE(dsn.find("Action: delayed"), std::string::npos);
  EXPECT_NE(dsn.find("Will-Retry-Until:"), std::string::npos);
  q->stop();
}

TEST_F(RemoteQueueTest, BounceDueAtACrashIsSentAfterTheRestart) {
  {
    Spool s(SpoolOptions{dir_.string(), 1 << 20, true, {}});
    std::vector<SpoolRecord> rec;
    ASSERT_TRUE(s.open(&rec).is_ok());
    auto e = envelope("alice@example.com", {"bad@one.example"});
    e.received_at = std::time(nullptr);
    std::promise<core::Status> p;
    const std::string id = "MR00000000000000000007";
    s.append(id, encode_envelope(e),
             "Received: by mx id " + id + ";\r\nSubject: lost\r\n\r\nbody\r\n",
             [&](core::Status st) { p.set_value(st); });
    ASSERT_TRUE(p.get_future().get().is_ok());
    ASSERT_TRUE(s.set_state(id, 0, static_cast<uint8_t>(RecipientState::bounce_due)).is_ok());
    s.close();
  }
  remote_->script = [](const RemoteAttempt& a) {
    return every(a, reply(RemoteReply::Kind::delivered, 250, "2.0.0", "ok"));
  };
  auto q = start_queue();
  ASSERT_TRUE(eventually([&] { return store_->count("alice") == 1 && q->list().empty(); }));
  EXPECT_TRUE(remote_->attempts().empty());  // failed is failed: not tried again
  std::string dsn = inbox_message("alice", 1);
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; bad@one.example"), std::string::npos);
  EXPECT_NE(dsn.find("Subject: lost"), std::string::npos);
  q->stop();
}

// RFC 3461: NOTIFY=SUCCESS gets "relayed" from us when the peer has no DSN (a DSN-capable
// peer takes it over), and "delivered" for a local mailbox; without NOTIFY nothing is sent.
TEST_F(RemoteQueueTest, SuccessNotificationsRelayedAndDelivered) {
  remote_->script = [](const RemoteAttempt& a) {
    std::vector<RemoteReply> out;
    for (auto& r : a.recipients) {
      auto ok = reply(RemoteReply::Kind::delivered, 250, "2.0.0", "2.0.0 ok");
      ok.relayed_without_dsn = r.address == "nodsn@one.example";
      out.push_back(ok);
    }
    return out;
  };
  auto q = start_queue();
  auto e = envelope("alice@example.com", {"nodsn@one.example", "dsn@one.example"}, "SUCCESS");
  EnvelopeRecipient local;
  local.rcpt = "bob@example.com";
  local.notify = "SUCCESS,FAILURE";
  local.destination.account_id = "bob";
  local.destination.address = "bob@example.com";
  local.destination.folder = "INBOX";
  e.recipients.push_back(local);
  submit(*q, e);
  ASSERT_TRUE(eventually([&] { return store_->count("alice") == 2 && q->list().empty(); }));
  std::string all = inbox_message("alice", 1) + inbox_message("alice", 2);
  EXPECT_NE(all.find("Action: relayed"), std::string::npos);
  EXPECT_NE(all.find("Final-Recipient: rfc822; nodsn@one.example"), std::string::npos);
  EXPECT_EQ(all.find("Final-Recipient: rfc822; dsn@one.example"), std::string::npos);
  EXPECT_NE(all.find("Action: delivered"), std::string::npos);
  EXPECT_NE(all.find("Final-Recipient: rfc822; bob@example.com"), std::string::npos);
  EXPECT_EQ(store_->count("bob"), 1u);
  q->stop();
}

// mailroomd stopped while a peer held its reply: the transport abandons the attempt but keeps
// its `done` until the transport is destroyed, and the queue owns the transport. Once both are
// released neither may outlive the other (LeakSanitizer reported the pair, and everything they
// hold, at mailroomd's exit).
TEST_F(RemoteQueueTest, AttemptAbandonedAtStopKeepsNothingAlive) {
  auto holding = std::make_shared<HoldingRemote>();
  auto q = start_queue(holding);
  submit(*q, envelope("alice@example.com", {"x@one.example"}));
  ASSERT_TRUE(eventually([&] { return holding->held() == 1; }));
  q->stop();
  std::weak_ptr<SpoolQueue> queue_alive = q;
  std::weak_ptr<HoldingRemote> transport_alive = holding;
  q.reset();
  holding.reset();
  EXPECT_TRUE(queue_alive.expired());
  EXPECT_TRUE(transport_alive.expired());
}

// The reply arrives after stop() (the transport is stopped after the queue): it is dropped,
// nothing waits in the stopped queue holding it, and the restarted queue tries again.
TEST_F(RemoteQueueTest, ReplyAfterStopIsDroppedAndTriedAgainAfterTheRestart) {
  auto holding = std::make_shared<HoldingRemote>();
  auto q = start_queue(holding);
  std::string id = submit(*q, envelope("alice@example.com", {"x@one.example"}));
  ASSERT_TRUE(eventually([&] { return holding->held() == 1; }));
  q->stop();
  holding->answer_all(reply(RemoteReply::Kind::delivered, 250, "2.0.0", "ok"));
  std::weak_ptr<SpoolQueue> queue_alive = q;
  q.reset();
  EXPECT_TRUE(queue_alive.expired());
  DeliveryQuery query;
  query.queue_id = id;
  auto records = log_->query(query);
  ASSERT_TRUE(records.is_ok());
  for (const auto& r : *records) EXPECT_NE(r.result, DeliveryResult::sent);  // not recorded

  remote_->script = [](const RemoteAttempt& a) {
    return every(a, reply(RemoteReply::Kind::delivered, 250, "2.0.0", "ok"));
  };
  auto restarted = start_queue();
  ASSERT_TRUE(eventually([&] { return restarted->list().empty(); }));
  EXPECT_EQ(remote_->attempts().size(), 1u);
  restarted->stop();
}

}  // namespace
}  // namespace mailroom::queue
