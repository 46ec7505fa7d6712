// The quarantine store (src/queue/quarantine.h): entries are durable when put() returns
// (checked by dropping what was not synced), private, listed, shown, deleted, and a release
// request hands the message with its stored envelope to the queue once.
#include "src/queue/quarantine.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "src/store/fs.h"
#include "tests/fakes/fake_queue.h"

namespace mailroom::queue {
namespace {

class QuarantineTest : public ::testing::Test {
 protected:
  QuarantineTest() {
    base_ =
        std::filesystem::temp_directory_path() / ("mr-quarantine-" + std::to_string(::getpid()));
    std::filesystem::remove_all(base_);
    std::filesystem::create_directories(base_);
    dir_ = (base_ / "quarantine").string();
    env_.sender = "sender@remote.example";
    env_.client_ip = "192.0.2.1";
    EnvelopeRecipient r;
    r.rcpt = "alice@example.com";
    r.destination.account_id = "id-alice";
    r.destination.address = "alice@example.com";
    env_.recipients.push_back(r);
  }
  ~QuarantineTest() override { std::filesystem::remove_all(base_); }

  static constexpr const char* kId = "MR0123456789ABCDEF0123";
  std::filesystem::path base_;
  std::string dir_;
  Envelope env_;
};

TEST_F(QuarantineTest, PutListShowDelete) {
  Quarantine q(dir_);
  EXPECT_TRUE(q.list().empty());
  ASSERT_TRUE(q.put(kId, env_, "Subject: x\r\n\r\nbody\r\n", "antivirus", "Virus found:\r\nX"));
  auto all = q.list();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, kId);
  EXPECT_EQ(all[0].scanner, "antivirus");
  EXPECT_EQ(all[0].reason, "Virus found:  X");  // one line
  EXPECT_EQ(all[0].envelope.sender, "sender@remote.example");
  ASSERT_EQ(all[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(all[0].envelope.recipients[0].destination.account_id, "id-alice");
  EXPECT_EQ(all[0].size, 20u);
  EXPECT_GT(all[0].quarantined_at, 0);
  EXPECT_EQ(*q.message(kId), "Subject: x\r\n\r\nbody\r\n");
  for (const char* ext : {".eml", ".env", ".info"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_ + "/" + kId + ext).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << ext;
  }
  ASSERT_TRUE(q.remove(kId));
  EXPECT_TRUE(q.list().empty());
  EXPECT_EQ(q.entry(kId).code(), core::Code::not_found);
  EXPECT_EQ(q.remove(kId).code(), core::Code::not_found);
}

TEST_F(QuarantineTest, HostileIdsAreNotFound) {
  Quarantine q(dir_);
  for (const char* id :
       {"../x", "MR0123", "", "mr0123456789abcdef0123", "MR0123456789ABCDEF012/"}) {
    EXPECT_EQ(q.entry(id).code(), core::Code::not_found) << id;
    EXPECT_FALSE(q.request_release(id)) << id;
    EXPECT_FALSE(q.put(id, env_, "m", "s", "r")) << id;
  }
}

TEST_F(QuarantineTest, WhatPutReturnedSurvivesAPowerLoss) {
  auto fs = std::make_shared<store::FaultInjectingFs>();
  Quarantine q(dir_, fs);
  ASSERT_TRUE(q.put(kId, env_, "message", "antivirus", "why"));
  fs->drop_unsynced();
  EXPECT_EQ(fs->pending_operations(), 0u);
  ASSERT_EQ(q.list().size(), 1u);
  EXPECT_EQ(*q.message(kId), "message");
}

TEST_F(QuarantineTest, AnEntryWithoutItsInfoFileIsNotListed) {
  Quarantine q(dir_);
  ASSERT_TRUE(q.put(kId, env_, "message", "antivirus", "why"));
  std::filesystem::remove(dir_ + "/" + kId + ".info");
  EXPECT_TRUE(q.list().empty());
}

TEST_F(QuarantineTest, ReleaseSubmitsOnceWithTheStoredEnvelope) {
  Quarantine q(dir_);
  ASSERT_TRUE(q.put(kId, env_, "the message", "antivirus", "why"));
  mailroom::testing::FakeQueue queue;
  EXPECT_EQ(q.deliver_released(queue), 0u);  // nothing requested
  ASSERT_TRUE(q.request_release(kId));
  ASSERT_TRUE(q.request_release(kId));  // twice is once
  EXPECT_TRUE(q.list()[0].release_requested);
  EXPECT_EQ(q.deliver_released(queue), 1u);
  ASSERT_EQ(queue.submitted.size(), 1u);
  EXPECT_EQ(queue.submitted[0].id, kId);
  EXPECT_EQ(queue.submitted[0].message, "the message");
  EXPECT_EQ(queue.submitted[0].envelope.recipients[0].rcpt, "alice@example.com");
  EXPECT_TRUE(q.list().empty());
  EXPECT_EQ(q.deliver_released(queue), 0u);
  EXPECT_EQ(queue.submitted.size(), 1u);
}

TEST_F(QuarantineTest, ExpireRemovesOnlyEntriesOlderThanTheRetention) {
  Quarantine q(dir_);
  ASSERT_TRUE(q.put(kId, env_, "message", "antivirus", "why"));
  int64_t at = q.list().at(0).quarantined_at;
  EXPECT_EQ(q.expire(at + 100, 0), 0u) << "0 keeps for ever";
  EXPECT_EQ(q.expire(at + 99, 100), 0u) << "younger than the retention";
  ASSERT_EQ(q.list().size(), 1u);
  EXPECT_EQ(q.expire(at + 100, 100), 1u);
  EXPECT_TRUE(q.list().empty());
  for (const char* ext : {".eml", ".env", ".info"}) {
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/" + kId + ext)) << ext;
  }
}

TEST_F(QuarantineTest, ExpireRemovesTheFilesOfAnIncompleteEntryAfterADay) {
  Quarantine q(dir_);
  ASSERT_TRUE(q.put(kId, env_, "message", "antivirus", "why"));
  std::filesystem::remove(dir_ + "/" + kId + ".info");
  const std::string eml = dir_ + "/" + kId + ".eml";
  const std::string env = dir_ + "/" + kId + ".env";
  q.expire(0, 0);
  EXPECT_TRUE(std::filesystem::exists(eml)) << "a put() may still be writing it";
  auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(25);
  std::filesystem::last_write_time(eml, old);
  std::filesystem::last_write_time(env, old);
  q.expire(0, 0);
  EXPECT_FALSE(std::filesystem::exists(eml));
  EXPECT_FALSE(std::filesystem::exists(env));
}

}  // namespace
}  // namespace mailroom::queue
