// The MariaDB delivery log against a real mariadbd. Started by test_delivery_log.py, which runs
// the server and passes MR_MARIADB_PORT (user mailroom / secret, database mailroom).
#include "src/queue/mariadb_delivery_log.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "src/core/config_section.h"
#include "src/db/mariadb_pool.h"

// This test is built only with MariaDB (tests/integration/sql/CMakeLists.txt), and then
// mailroom_queue must carry the MariaDB delivery log (src/queue/CMakeLists.txt): a build
// without it would make the registry check below pass or fail for the wrong reason.
#if !MR_QUEUE_HAS_MARIADB
#error \
    "mailroom_queue was built without mariadb_delivery_log.cpp although the MariaDB pool is built"
#endif

namespace mailroom::queue {
namespace {

MariaDbDeliveryLogOptions options(const std::string& table) {
  MariaDbDeliveryLogOptions o;
  const char* port = std::getenv("MR_MARIADB_PORT");
  db::ServerAddress a;
  a.host = "127.0.0.1";
  a.port = port ? static_cast<unsigned>(std::atoi(port)) : 3307;
  o.pool.servers = {a};
  o.pool.database = "mailroom";
  o.pool.user = "mailroom";
  o.pool.password = "secret";
  o.pool.connect_timeout = std::chrono::seconds(2);
  o.table = table;
  return o;
}

DeliveryRecord rec(const std::string& qid, const std::string& rcpt, int64_t time) {
  DeliveryRecord r;
  r.queue_id = qid;
  r.message_id = qid + "@mail.example.com";
  r.envelope_sender = "sender@partner.example";
  r.header_from = "Sender <sender@partner.example>";
  r.subject = "Quarterly report \xe5\xa0\xb1\xe5\x91\x8a";  // UTF-8 "報告"
  r.recipient = rcpt;
  r.final_address = rcpt;
  r.account_id = "id-" + rcpt.substr(0, rcpt.find('@'));
  r.mailbox = "INBOX";
  r.uid_validity = 17;
  r.uid = 42;
  r.size = 1234;
  r.time = time;
  return r;
}

class MariaDbDeliveryLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::getenv("MR_MARIADB_PORT")) GTEST_SKIP() << "run by test_delivery_log.py";
    table_ = std::string("dl_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    db::MariaDbPool admin(options(table_).pool, {});
    ASSERT_TRUE(admin.execute_text("DROP TABLE IF EXISTS " + table_));  // a fresh table per run
    auto r = open_mariadb_delivery_log(options(table_));
    ASSERT_TRUE(r) << r.status().to_string();
    log_ = *r;
  }
  std::string table_;
  std::shared_ptr<DeliveryLog> log_;
};

TEST_F(MariaDbDeliveryLogTest, RecordsAndFindsByEveryField) {
  ASSERT_TRUE(
      log_->record({rec("q1", "alice@example.com", 1000), rec("q1", "bob@example.com", 1000),
                    rec("q2", "alice@example.com", 2000)}));
  DeliveryQuery q;
  q.recipient = "alice@example.com";
  auto r = log_->query(q);
  ASSERT_TRUE(r) << r.status().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].queue_id, "q2");  // newest first
  EXPECT_EQ((*r)[1].queue_id, "q1");
  const DeliveryRecord& x = (*r)[1];
  EXPECT_GT(x.id, 0);
  EXPECT_EQ(x.message_id, "q1@mail.example.com");
  EXPECT_EQ(x.subject, "Quarterly report \xe5\xa0\xb1\xe5\x91\x8a");
  EXPECT_EQ(x.account_id, "id-alice");
  EXPECT_EQ(x.uid_validity, 17u);
  EXPECT_EQ(x.uid, 42u);
  EXPECT_EQ(x.size, 1234u);
  EXPECT_EQ(x.time, 1000);
  EXPECT_EQ(x.result, DeliveryResult::delivered);

  DeliveryQuery by_mid;
  by_mid.message_id = "q1@mail.example.com";
  EXPECT_EQ(log_->query(by_mid)->size(), 2u);
  DeliveryQuery by_qid;
  by_qid.queue_id = "q2";
  EXPECT_EQ(log_->query(by_qid)->size(), 1u);
  DeliveryQuery by_sender;
  by_sender.envelope_sender = "sender@partner.example";
  by_sender.since = 1500;
  EXPECT_EQ(log_->query(by_sender)->size(), 1u);
  DeliveryQuery by_account;
  by_account.account_id = "id-bob";
  by_account.until = 1500;
  EXPECT_EQ(log_->query(by_account)->size(), 1u);
  DeliveryQuery limited;
  limited.limit = 1;
  EXPECT_EQ(log_->query(limited)->size(), 1u);
  DeliveryQuery none;
  none.recipient = "carol@example.com";
  EXPECT_TRUE(log_->query(none)->empty());
}

TEST_F(MariaDbDeliveryLogTest, DomainAndSubjectSearches) {
  auto other = rec("q3", "carol@other.example", 3000);
  other.envelope_sender = "boss@hq.example";
  other.subject = "50% off_today";
  ASSERT_TRUE(log_->record(
      {rec("q1", "alice@example.com", 1000), rec("q2", "bob@example.com", 2000), other}));
  DeliveryQuery by_domain;
  by_domain.recipient_domain = "example.com";
  auto r = log_->query(by_domain);
  ASSERT_TRUE(r) << r.status().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].queue_id, "q2");
  by_domain.recipient_domain = "other.example";
  EXPECT_EQ(log_->query(by_domain)->size(), 1u);
  by_domain.recipient_domain = "example";  // whole domains only
  EXPECT_TRUE(log_->query(by_domain)->empty());
  DeliveryQuery by_sender_domain;
  by_sender_domain.sender_domain = "partner.example";
  EXPECT_EQ(log_->query(by_sender_domain)->size(), 2u);
  by_sender_domain.since = 1500;
  EXPECT_EQ(log_->query(by_sender_domain)->size(), 1u);

  DeliveryQuery by_subject;
  by_subject.subject_prefix = "Quarterly";
  EXPECT_EQ(log_->query(by_subject)->size(), 2u);
  by_subject.subject_prefix = "quarterly report \xe5\xa0\xb1";  // case-insensitive, UTF-8
  EXPECT_EQ(log_->query(by_subject)->size(), 2u);
  by_subject.subject_prefix = "report";  // a prefix, not a substring
  EXPECT_TRUE(log_->query(by_subject)->empty());
  // LIKE wildcards in the prefix are literal characters.
  by_subject.subject_prefix = "50% off_";
  EXPECT_EQ(log_->query(by_subject)->size(), 1u);
  by_subject.subject_prefix = "5_%";
  EXPECT_TRUE(log_->query(by_subject)->empty());
  by_subject.subject_prefix = "%";
  EXPECT_TRUE(log_->query(by_subject)->empty());
}

TEST_F(MariaDbDeliveryLogTest, InjectionInSearchesFindsNothing) {
  ASSERT_TRUE(log_->record({rec("q1", "alice@example.com", 1000)}));
  for (const char* attack : {"x' OR '1'='1", "' OR 1=1 -- ", "alice@example.com' --",
                             "alice@example.com ", "%", "alice@example.com\\"}) {
    DeliveryQuery q;
    q.recipient = attack;
    auto r = log_->query(q);
    ASSERT_TRUE(r) << attack << ": " << r.status().to_string();
    EXPECT_TRUE(r->empty()) << attack;
    q = {};
    q.message_id = attack;
    EXPECT_TRUE(log_->query(q)->empty()) << attack;
  }
  EXPECT_EQ(log_->query(DeliveryQuery{})->size(), 1u);
}

TEST_F(MariaDbDeliveryLogTest, LargeBatchIsWrittenWhole) {
  std::vector<DeliveryRecord> batch;
  for (int i = 0; i < 1201; ++i) {
    batch.push_back(rec("big", "user" + std::to_string(i) + "@example.com", 5000 + i));
  }
  batch[7].subject = std::string(3000, 'x');  // clipped, not rejected
  ASSERT_TRUE(log_->record(batch));
  DeliveryQuery q;
  q.queue_id = "big";
  q.limit = 5000;
  auto r = log_->query(q);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 1201u);
}

// Mail recall's fields, as in the SQLite log's test of the same name.
TEST_F(MariaDbDeliveryLogTest, RecallFields) {
  auto direct = rec("q1", "alice@example.com", 1000);
  direct.guid = "0123456789abcdef0123456789abcdef";
  auto forwarded = rec("q1", "alice@example.com", 1000);
  forwarded.final_address = "bob@example.com";
  forwarded.account_id = "id-bob";
  forwarded.forwarded_by = "alice@example.com";
  auto other = rec("q2", "carol@example.com", 2000);
  other.subject = "Re: \xe5\xad\xa3\xe5\xba\xa6 Budget";
  ASSERT_TRUE(log_->record({direct, forwarded, other}));
  DeliveryQuery by_mid;
  by_mid.message_id = "q1@mail.example.com";
  auto all = log_->query(by_mid);
  ASSERT_TRUE(all) << all.status().to_string();
  ASSERT_EQ(all->size(), 2u);
  bool saw_guid = false, saw_forward = false;
  for (const auto& r : *all) {
    saw_guid |= r.guid == "0123456789abcdef0123456789abcdef";
    saw_forward |= r.forwarded_by == "alice@example.com";
  }
  EXPECT_TRUE(saw_guid);
  EXPECT_TRUE(saw_forward);
  DeliveryQuery by_sender;
  by_sender.envelope_sender = "sender@partner.example";
  EXPECT_EQ(log_->query(by_sender)->size(), 2u);
  by_sender.envelope_sender = "alice@example.com";
  auto s = log_->query(by_sender);
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ(s->front().account_id, "id-bob");
  DeliveryQuery by_sender_domain;
  by_sender_domain.sender_domain = "example.com";
  EXPECT_EQ(log_->query(by_sender_domain)->size(), 1u);
  DeliveryQuery by_group;
  by_group.account_ids = {"id-bob", "id-carol", "id-nobody"};
  EXPECT_EQ(log_->query(by_group)->size(), 2u);
  DeliveryQuery by_words;
  by_words.subject_contains = "budget";
  EXPECT_EQ(log_->query(by_words)->size(), 1u);
  by_words.subject_contains = "\xe5\xad\xa3\xe5\xba\xa6";
  EXPECT_EQ(log_->query(by_words)->size(), 1u);
}

// A table made before mail recall gains its columns when the log opens.
TEST(MariaDbDeliveryLogMigration, AddsTheRecallColumnsToAnOldTable) {
  if (!std::getenv("MR_MARIADB_PORT")) GTEST_SKIP() << "run by test_delivery_log.py";
  const std::string table = "dl_migration";
  db::MariaDbPool admin(options(table).pool, {});
  ASSERT_TRUE(admin.execute_text("DROP TABLE IF EXISTS " + table));
  std::string old_ddl = mariadb_delivery_log_schema(table);
  for (const char* column : {"  guid ", "  forwarded_by "}) {
    size_t at = old_ddl.find(column);
    ASSERT_NE(at, std::string::npos);
    old_ddl.erase(at, old_ddl.find('\n', at) - at + 1);
  }
  size_t key = old_ddl.find(",\n  KEY " + table + "_forwarded_by");
  ASSERT_NE(key, std::string::npos);
  old_ddl.erase(key, old_ddl.find('\n', key + 2) - key);
  ASSERT_TRUE(admin.execute_text(old_ddl)) << old_ddl;
  auto log = open_mariadb_delivery_log(options(table));
  ASSERT_TRUE(log) << log.status().to_string();
  auto r = rec("q1", "alice@example.com", 1000);
  r.forwarded_by = "x@example.com";
  ASSERT_TRUE((*log)->record({r}));
  DeliveryQuery q;
  q.envelope_sender = "x@example.com";
  EXPECT_EQ((*log)->query(q)->size(), 1u);
}

// The statements between the mr-schema markers of a file in schema/sql/mariadb.
std::string shipped_schema(const std::string& name) {
  std::ifstream in(std::string(MR_SOURCE_DIR) + "/schema/sql/mariadb/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string file = ss.str();
  size_t b = file.find("-- mr-schema-begin\n");
  size_t e = file.find("-- mr-schema-end");
  EXPECT_NE(b, std::string::npos) << name;
  EXPECT_NE(e, std::string::npos) << name;
  if (b == std::string::npos || e == std::string::npos) return {};
  b += std::string("-- mr-schema-begin\n").size();
  return file.substr(b, e - b);
}

TEST(MariaDbDeliveryLogSchema, RecallColumnsMatchTheShippedFile) {
  EXPECT_EQ(shipped_schema("003_delivery_log_recall.sql"), mariadb_delivery_log_recall_columns());
}

// The DDL shipped for DBAs and the one the code runs must not drift apart.
TEST(MariaDbDeliveryLogSchema, MatchesTheShippedFile) {
  EXPECT_EQ(shipped_schema("002_delivery_log.sql"), mariadb_delivery_log_schema());
  std::string other = mariadb_delivery_log_schema("dl2");
  EXPECT_NE(other.find("CREATE TABLE IF NOT EXISTS dl2 ("), std::string::npos);
  EXPECT_EQ(other.find("delivery_log"), std::string::npos);
}

TEST(MariaDbDeliveryLogConfig, ErrorsNameTheSetting) {
  if (!std::getenv("MR_MARIADB_PORT")) GTEST_SKIP() << "run by test_delivery_log.py";
  auto o = options("dl_config");
  o.pool.password = "wrong";
  auto r = open_mariadb_delivery_log(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().client_message().find("delivery_log.user"), std::string::npos)
      << r.status().to_string();
  o = options("bad-name");
  r = open_mariadb_delivery_log(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().client_message().find("delivery_log.table"), std::string::npos);
  // Its index names (table + "_recipient_domain") must fit MariaDB's 64 characters.
  o = options(std::string(41, 'd'));
  r = open_mariadb_delivery_log(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.status().client_message().find("at most 40"), std::string::npos);
  o = options(std::string(40, 'd'));
  r = open_mariadb_delivery_log(o);
  EXPECT_TRUE(r) << r.status().to_string();

  // Through the [delivery_log] registry, as mailroomd opens it.
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[delivery_log]\nbackend = \"mariadb\"\nservers = [\"127.0.0.1:" +
          std::string(std::getenv("MR_MARIADB_PORT")) +
          "\"]\nuser = \"mailroom\"\npassword = \"secret\"\ntable = \"dl_from_config\"\n",
      "t.toml", &errors);
  auto root = doc->root();
  auto sec = root.child("delivery_log");
  auto log = open_delivery_log(sec, "/nonexistent");
  ASSERT_TRUE(log) << (errors.empty() ? "" : errors.messages()[0]);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(log->name(), "mariadb");
}

}  // namespace
}  // namespace mailroom::queue
