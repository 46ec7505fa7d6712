// The SQLite delivery log answers recall searches as the MariaDB one does
// (tests/integration/sql/mariadb_delivery_log_test.cpp): domains after the last '@' without
// case, subject prefixes without case and with LIKE wildcards taken literally.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "src/queue/delivery_log.h"

namespace mailroom::queue {
namespace {

DeliveryRecord rec(const std::string& qid, const std::string& rcpt, int64_t time) {
  DeliveryRecord r;
  r.queue_id = qid;
  r.message_id = qid + "@mail.example.com";
  r.envelope_sender = "sender@partner.example";
  r.subject = "Quarterly report \xe5\xa0\xb1\xe5\x91\x8a";
  r.recipient = rcpt;
  r.final_address = rcpt;
  r.account_id = "id-" + qid;
  r.mailbox = "INBOX";
  r.time = time;
  return r;
}

class SqliteDeliveryLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() / "mailroom-dlog-XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir_.data()), nullptr);
    auto log = open_sqlite_delivery_log(dir_ + "/delivery.db");
    ASSERT_TRUE(log) << log.status().to_string();
    log_ = *log;
  }
  void TearDown() override {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  std::shared_ptr<DeliveryLog> log_;
};

TEST_F(SqliteDeliveryLogTest, DomainAndSubjectSearchesAnswerAsMariaDb) {
  auto other = rec("q3", "carol@other.example", 3000);
  other.envelope_sender = "boss@HQ.example";
  other.subject = "50% off_today";
  // A quoted local part with an '@': the domain is after the last one.
  auto quoted = rec("q4", "\"a@b\"@Example.COM", 4000);
  ASSERT_TRUE(log_->record(
      {rec("q1", "alice@example.com", 1000), rec("q2", "bob@example.com", 2000), other, quoted}));
  DeliveryQuery by_domain;
  by_domain.recipient_domain = "example.com";
  auto r = log_->query(by_domain);
  ASSERT_TRUE(r) << r.status().to_string();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].queue_id, "q4");
  by_domain.recipient_domain = "b\"@example.com";  // not the part after the first '@'
  EXPECT_TRUE(log_->query(by_domain)->empty());
  by_domain.recipient_domain = "example";  // whole domains only
  EXPECT_TRUE(log_->query(by_domain)->empty());
  DeliveryQuery by_sender_domain;
  by_sender_domain.sender_domain = "hq.example";
  EXPECT_EQ(log_->query(by_sender_domain)->size(), 1u);
  by_sender_domain.sender_domain = "partner.example";
  EXPECT_EQ(log_->query(by_sender_domain)->size(), 3u);
  by_sender_domain.since = 1500;
  EXPECT_EQ(log_->query(by_sender_domain)->size(), 2u);

  DeliveryQuery by_subject;
  by_subject.subject_prefix = "Quarterly";
  EXPECT_EQ(log_->query(by_subject)->size(), 3u);
  by_subject.subject_prefix = "quarterly report \xe5\xa0\xb1";  // any case, UTF-8 bytes
  EXPECT_EQ(log_->query(by_subject)->size(), 3u);
  by_subject.subject_prefix = "report";  // a prefix, not a substring
  EXPECT_TRUE(log_->query(by_subject)->empty());
  by_subject.subject_prefix = "50% off_";  // LIKE wildcards are literal characters
  EXPECT_EQ(log_->query(by_subject)->size(), 1u);
  by_subject.subject_prefix = "5_%";
  EXPECT_TRUE(log_->query(by_subject)->empty());
  by_subject.subject_prefix = "%";
  EXPECT_TRUE(log_->query(by_subject)->empty());
}

}  // namespace
}  // namespace mailroom::queue
