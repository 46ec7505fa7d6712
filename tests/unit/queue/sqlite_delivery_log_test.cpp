// The SQLite delivery log answers recall searches as the MariaDB one does
// (tests/integration/sql/mariadb_delivery_log_test.cpp): domains after the last '@' without
// case, subject prefixes without case and with LIKE wildcards taken literally.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "src/db/sqlite.h"
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

// Mail recall's fields: the stored file's guid and the forwarder travel with the record; a
// search by sender finds a forwarded copy by its forwarder only (the reference product's rule);
// group searches take a list of accounts; subjects are searched by substring without case.
TEST_F(SqliteDeliveryLogTest, RecallFieldsForwardersGroupsAndSubjectSubstrings) {
  auto direct = rec("q1", "alice@example.com", 1000);
  direct.guid = "0123456789abcdef0123456789abcdef";
  auto forwarded = rec("q1", "alice@example.com", 1000);
  forwarded.final_address = "bob@example.com";
  forwarded.account_id = "id-bob";
  forwarded.forwarded_by = "alice@example.com";
  auto other = rec("q2", "carol@example.com", 2000);
  other.subject = "Re: \xe5\xad\xa3\xe5\xba\xa6 Budget";  // "季度"
  ASSERT_TRUE(log_->record({direct, forwarded, other}));

  DeliveryQuery by_mid;
  by_mid.message_id = "q1@mail.example.com";
  auto all = log_->query(by_mid);
  ASSERT_TRUE(all) << all.status().to_string();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].forwarded_by, "alice@example.com");
  EXPECT_EQ((*all)[1].guid, "0123456789abcdef0123456789abcdef");

  DeliveryQuery by_sender;
  by_sender.envelope_sender = "sender@partner.example";
  auto s = log_->query(by_sender);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 2u);  // q2 and the direct copy of q1, not the forward
  for (const auto& r : *s) EXPECT_TRUE(r.forwarded_by.empty());
  by_sender.envelope_sender = "alice@example.com";
  s = log_->query(by_sender);
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ(s->front().account_id, "id-bob");
  DeliveryQuery by_sender_domain;
  by_sender_domain.sender_domain = "EXAMPLE.com";
  ASSERT_EQ(log_->query(by_sender_domain)->size(), 1u);

  DeliveryQuery by_group;
  by_group.account_ids = {"id-bob", "id-q2", "id-nobody"};
  auto g = log_->query(by_group);
  ASSERT_TRUE(g) << g.status().to_string();
  EXPECT_EQ(g->size(), 2u);
  by_group.account_ids.assign(kMaxAccountIds + 1, "x");
  EXPECT_EQ(log_->query(by_group).code(), core::Code::invalid_argument);

  DeliveryQuery by_words;
  by_words.subject_contains = "budget";
  ASSERT_EQ(log_->query(by_words)->size(), 1u);
  by_words.subject_contains = "\xe5\xad\xa3\xe5\xba\xa6";
  ASSERT_EQ(log_->query(by_words)->size(), 1u);
  by_words.subject_contains = "50%";
  EXPECT_TRUE(log_->query(by_words)->empty());
}

// A log written before mail recall (no guid / forwarded_by columns) is opened, gains them, and
// keeps its rows.
TEST(SqliteDeliveryLogMigration, AddsTheRecallColumnsToAnOldLog) {
  std::string dir = (std::filesystem::temp_directory_path() / "mailroom-dlog-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  {
    db::SqliteOptions o;
    o.path = dir + "/delivery.db";
    auto db = db::Sqlite::open(o);
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->exec(
        "CREATE TABLE delivery (id INTEGER PRIMARY KEY AUTOINCREMENT, queue_id TEXT NOT NULL,"
        " message_id TEXT NOT NULL, envelope_sender TEXT NOT NULL, header_from TEXT NOT NULL,"
        " subject TEXT NOT NULL, recipient TEXT NOT NULL, final_address TEXT NOT NULL,"
        " account_id TEXT NOT NULL, mailbox TEXT NOT NULL, uid_validity INTEGER NOT NULL,"
        " uid INTEGER NOT NULL, size INTEGER NOT NULL, time INTEGER NOT NULL,"
        " result TEXT NOT NULL, detail TEXT NOT NULL);"
        "INSERT INTO delivery VALUES (1,'q0','old@x','s@x','','old','r@x','r@x','id-r','INBOX',"
        "1,1,10,500,'delivered','');"));
  }
  auto log = open_sqlite_delivery_log(dir + "/delivery.db");
  ASSERT_TRUE(log) << log.status().to_string();
  DeliveryQuery q;
  q.message_id = "old@x";
  auto r = (*log)->query(q);
  ASSERT_TRUE(r) << r.status().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().guid, "");
  auto fresh = rec("q9", "z@example.com", 900);
  fresh.guid = "ff";
  ASSERT_TRUE((*log)->record({fresh}));
  log->reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mailroom::queue
