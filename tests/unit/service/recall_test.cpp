// Mail recall (src/service/recall.h) on a real file store and SQLite delivery log in a temp
// directory: scope by domain, copies followed through COPY/MOVE, undo with flags, purge, the
// audit trail refusing changes, group searches, and the CSV/JSON output's hostile cases.
#include "src/service/recall.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "src/core/json_text.h"
#include "src/core/services.h"
#include "src/db/sqlite.h"
#include "src/service/recall_internal.h"
#include "src/store/store_options.h"
#include "tests/fakes/fake_directory.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::service {
namespace {

Caller domain_caller(Role role, const std::string& domain, const std::string& name) {
  Caller c;
  c.name = name;
  c.front_end = "api";
  c.grants.push_back(Grant{role, {domain}, "token:" + name});
  return c;
}

class RecallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    services_.data_dir = tmp_.path();
    store::StoreOptions so;
    so.root = tmp_.file("mail");
    so.fsync = false;
    services_.store = store::open_file_store(so);
    auto log = queue::open_sqlite_delivery_log(tmp_.file("delivery_log.db"));
    ASSERT_TRUE(log);
    services_.delivery_log = *log;
    dir_ = std::make_shared<mailroom::testing::FakeDirectory>();
    dir_->add_domain("example.com");
    dir_->add_domain("other.org");
    services_.directory = dir_;
    auto r = RecallService::open(services_, RecallOptions{});
    ASSERT_TRUE(r) << r.status().to_string();
    recall_ = *r;
  }

  // Delivers `mid` into each account's INBOX and logs it as the queue would.
  void deliver(const std::string& mid, const std::vector<std::string>& addresses,
               const std::string& subject = "Quarterly") {
    std::vector<queue::DeliveryRecord> records;
    std::string message = "From: a@example.com\r\nSubject: " + subject + "\r\nMessage-ID: <" + mid +
                          ">\r\n\r\nbody\r\n";
    for (const auto& address : addresses) {
      std::string id = "id-" + address;
      store::AppendRequest req;
      req.message = message;
      auto res = services_.store->append(id, req);
      ASSERT_TRUE(res) << res.status().to_string();
      queue::DeliveryRecord r;
      r.queue_id = "MR" + mid.substr(0, 4);
      r.message_id = mid;
      r.envelope_sender = "a@example.com";
      r.subject = subject;
      r.recipient = address;
      r.final_address = address;
      r.account_id = id;
      r.mailbox = "INBOX";
      r.uid_validity = res->uid_validity;
      r.uid = res->uid;
      r.guid = res->guid;
      r.time = ::time(nullptr);
      records.push_back(r);
    }
    ASSERT_TRUE(services_.delivery_log->record(records));
  }

  size_t count(const std::string& address, const std::string& mailbox = "INBOX") {
    auto snap = services_.store->snapshot("id-" + address, mailbox);
    return snap ? snap->messages.size() : 0;
  }

  mailroom::testing::TempDir tmp_;
  core::Services services_;
  std::shared_ptr<mailroom::testing::FakeDirectory> dir_;
  std::shared_ptr<RecallService> recall_;
};

// A mailbox whose index cannot be opened (damaged) fails alone: its copy is reported "error"
// and stays where it was (nothing deleted), the others are recalled and can be undone.
TEST_F(RecallTest, DamagedIndexFailsOnlyThatCopyAndLosesNothing) {
  store::StoreOptions so;
  so.root = tmp_.file("mail");
  so.fsync = false;
  so.open_users_cache = 1;  // alice's index is closed by the time it is damaged
  services_.store = store::open_file_store(so);
  deliver("m9@example.com", {"alice@example.com", "bob@example.com", "dave@example.com"});
  ASSERT_TRUE(services_.store->list_mailboxes("id-dave@example.com"));  // alice's handle closes
  const std::string index = so.root + "/id-alice@example.com/index.db";
  {
    std::ofstream f(index, std::ios::binary | std::ios::trunc);
    f << std::string(8192, 'X');
  }
  auto r = recall_->recall(cli_caller(), {"m9@example.com"}, {}, "leak", false);
  ASSERT_TRUE(r) << r.status().to_string();
  std::map<std::string, const CopyReport*> by;
  for (const auto& c : r->messages.at(0).copies) by[c.address] = &c;
  ASSERT_EQ(by.size(), 3u);
  EXPECT_EQ(by["alice@example.com"]->state, "error");
  EXPECT_EQ(by["alice@example.com"]->copies_taken, 0u);
  EXPECT_NE(by["alice@example.com"]->note.find("mail store"), std::string::npos);
  EXPECT_EQ(by["bob@example.com"]->state, "recalled");
  EXPECT_EQ(by["dave@example.com"]->state, "recalled");
  EXPECT_EQ(count("bob@example.com"), 0u);
  // alice's message file is still on disk (fsck --repair would rebuild her index from it).
  size_t files = 0;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(so.root + "/id-alice@example.com/msg"))
    files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
  // Undo while alice's index is still damaged: the others come back, alice's copy says why
  // not, and the recall stays open for another undo.
  auto partial = recall_->undo(cli_caller(), r->recall_id, "restore");
  ASSERT_TRUE(partial) << partial.status().to_string();
  EXPECT_EQ(partial->undone_at, 0);
  EXPECT_EQ(count("bob@example.com"), 1u);
  EXPECT_EQ(count("dave@example.com"), 1u);
  for (const auto& c : partial->messages.at(0).copies) {
    if (c.address == "alice@example.com") {
      EXPECT_NE(c.note.find("not restored yet"), std::string::npos) << c.note;
    } else {
      EXPECT_EQ(c.state, "restored") << c.address;
    }
  }
  // The damaged index set aside (as fsck --repair does): rebuilt from alice's message file on
  // the next open, and the second undo completes.
  std::filesystem::rename(index, index + ".broken");
  auto done = recall_->undo(cli_caller(), r->recall_id, "restore again");
  ASSERT_TRUE(done) << done.status().to_string();
  EXPECT_GT(done->undone_at, 0);
  EXPECT_EQ(count("alice@example.com"), 1u);
  EXPECT_EQ(count("bob@example.com"), 1u);  // not twice
  AuditQuery q;
  q.action = "undo_partial";
  auto trail = recall_->audit(cli_caller(), q);
  ASSERT_TRUE(trail);
  EXPECT_EQ(trail->size(), 1u);
}

TEST_F(RecallTest, ScopeLimitsSearchesAndCopiesToTheCallersDomains) {
  deliver("m1@example.com", {"alice@example.com", "carol@other.org"});
  deliver("m2@example.com", {"bob@example.com"});
  RecallCriteria c;
  c.query.message_id = "m1@example.com";
  auto all = recall_->find(cli_caller(), c, "why");
  ASSERT_TRUE(all) << all.status().to_string();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().copies.size(), 2u);
  // other.org's admin: only carol's copy (the sender's domain is not theirs).
  auto other = recall_->find(domain_caller(Role::domain_admin, "other.org", "o"), c, "why");
  ASSERT_TRUE(other);
  ASSERT_EQ(other->size(), 1u);
  ASSERT_EQ(other->front().copies.size(), 1u);
  EXPECT_EQ(other->front().copies[0].address, "carol@other.org");
  // m2 went to example.com only: nothing for other.org.
  c.query.message_id = "m2@example.com";
  auto none = recall_->find(domain_caller(Role::domain_admin, "other.org", "o"), c, "why");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto refused = recall_->recall(domain_caller(Role::domain_admin, "other.org", "o"),
                                 {"m2@example.com"}, {}, "why", false);
  EXPECT_EQ(refused.code(), core::Code::not_found);
  EXPECT_EQ(count("bob@example.com"), 1u);
  // An auditor may search but not recall; a reason is always required.
  auto auditor = domain_caller(Role::auditor, "example.com", "aud");
  EXPECT_TRUE(recall_->find(auditor, c, "why"));
  EXPECT_EQ(recall_->recall(auditor, {"m2@example.com"}, {}, "why", false).code(),
            core::Code::permission_denied);
  EXPECT_EQ(recall_->find(cli_caller(), c, "").code(), core::Code::invalid_argument);
  EXPECT_EQ(recall_->recall(cli_caller(), {}, {}, "why", false).code(),
            core::Code::invalid_argument);
  // Hostile input: an unbounded or multi-line reason, an oversized id, a malformed queue id.
  EXPECT_EQ(recall_->find(cli_caller(), c, std::string(1001, 'x')).code(),
            core::Code::invalid_argument);
  EXPECT_EQ(recall_->find(cli_caller(), c, "why\nforged audit line").code(),
            core::Code::invalid_argument);
  EXPECT_EQ(recall_->recall(cli_caller(), {std::string(999, 'm')}, {}, "why", false).code(),
            core::Code::invalid_argument);
  EXPECT_EQ(recall_->recall(cli_caller(), {}, {"../../etc"}, "why", false).code(),
            core::Code::invalid_argument);
  // other.org's admin recalls carol's copy and only hers.
  auto mine = recall_->recall(domain_caller(Role::domain_admin, "other.org", "o"),
                              {"m1@example.com"}, {}, "why", false);
  ASSERT_TRUE(mine) << mine.status().to_string();
  EXPECT_EQ(count("carol@other.org"), 0u);
  EXPECT_EQ(count("alice@example.com"), 1u);
}

TEST_F(RecallTest, FollowsCopiesAcrossFoldersUndoesWithFlagsAndPurges) {
  deliver("m3@example.com", {"alice@example.com", "bob@example.com"});
  auto& store = *services_.store;
  ASSERT_TRUE(store.create_mailbox("id-alice@example.com", "Projects"));
  ASSERT_TRUE(store.copy("id-alice@example.com", "INBOX", {1}, "Projects", {}));
  store::StoreFlagsRequest flags;
  flags.uids = {1};
  flags.flags = store::kSeen | store::kAnswered;
  flags.origin = "imap";
  ASSERT_TRUE(store.store_flags("id-alice@example.com", "INBOX", flags));
  ASSERT_TRUE(store.move("id-bob@example.com", "INBOX", {1}, "Trash"));

  auto dry = recall_->recall(cli_caller(), {"m3@example.com"}, {}, "check", true);
  ASSERT_TRUE(dry);
  EXPECT_TRUE(dry->dry_run);
  EXPECT_EQ(count("alice@example.com"), 1u);

  auto r = recall_->recall(cli_caller(), {"m3@example.com"}, {}, "leak", false);
  ASSERT_TRUE(r) << r.status().to_string();
  ASSERT_FALSE(r->recall_id.empty());
  const auto& copies = r->messages.at(0).copies;
  ASSERT_EQ(copies.size(), 2u);
  for (const auto& c : copies) {
    EXPECT_EQ(c.state, "recalled") << c.address;
    if (c.address == "alice@example.com") {
      EXPECT_EQ(c.copies_taken, 2u);  // INBOX and the COPY in Projects
      EXPECT_TRUE(c.seen);
      EXPECT_EQ(c.seen_via, "imap");
      EXPECT_TRUE(c.answered);
    } else {
      EXPECT_EQ(c.folders, std::vector<std::string>{"Trash"});
    }
  }
  EXPECT_EQ(count("alice@example.com"), 0u);
  EXPECT_EQ(count("alice@example.com", "Projects"), 0u);
  EXPECT_EQ(count("bob@example.com", "Trash"), 0u);
  // A second look shows the copies as recalled.
  RecallCriteria c;
  c.query.message_id = "m3@example.com";
  auto again = recall_->find(cli_caller(), c, "after");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->at(0).copies.at(0).state, "recalled");

  auto undone = recall_->undo(cli_caller(), r->recall_id, "false alarm");
  ASSERT_TRUE(undone) << undone.status().to_string();
  EXPECT_GT(undone->undone_at, 0);
  EXPECT_EQ(count("alice@example.com"), 1u);
  EXPECT_EQ(count("alice@example.com", "Projects"), 1u);
  EXPECT_EQ(count("bob@example.com", "Trash"), 1u);
  auto snap = store.snapshot("id-alice@example.com", "INBOX");
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->messages.at(0).flags & (store::kSeen | store::kAnswered),
            store::kSeen | store::kAnswered);
  auto shown = recall_->show(cli_caller(), r->recall_id);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->messages.at(0).copies.at(0).state, "restored");

  // Recalled again, then purged: nothing left to restore.
  auto r2 = recall_->recall(cli_caller(), {"m3@example.com"}, {}, "leak again", false);
  ASSERT_TRUE(r2);
  EXPECT_EQ(recall_
                ->purge(domain_caller(Role::domain_admin, "example.com", "d"), ::time(nullptr),
                        r2->recall_id)
                .code(),
            core::Code::permission_denied);
  auto purged = recall_->purge(cli_caller(), ::time(nullptr), r2->recall_id);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1u);
  auto area = store.recalled("id-alice@example.com", "");
  ASSERT_TRUE(area);
  EXPECT_TRUE(area->empty());
  EXPECT_EQ(recall_->undo(cli_caller(), r2->recall_id, "too late").code(),
            core::Code::invalid_argument);
  // Nothing expired yet with the default 30 days.
  EXPECT_EQ(*recall_->purge(cli_caller(), ::time(nullptr)), 0u);
}

TEST_F(RecallTest, GroupSearchesFindMailToTheGroupAndItsMembers) {
  dir_->add_group("sales@example.com", {"alice@example.com", "team@example.com"});
  dir_->add_group("team@example.com", {"bob@example.com"});
  dir_->add_account("alice@example.com");
  dir_->add_account("bob@example.com");
  deliver("g1@example.com", {"alice@example.com"});
  deliver("g2@example.com", {"bob@example.com"});
  deliver("g3@example.com", {"carol@other.org"});
  RecallCriteria c;
  c.group = "sales@example.com";
  auto found = recall_->find(cli_caller(), c, "why");
  ASSERT_TRUE(found) << found.status().to_string();
  std::set<std::string> mids;
  for (const auto& m : *found) mids.insert(m.message_id);
  EXPECT_EQ(mids, (std::set<std::string>{"g1@example.com", "g2@example.com"}));
  c.group = "nobody@example.com";
  EXPECT_EQ(recall_->find(cli_caller(), c, "why").code(), core::Code::not_found);
}

// A grant limited to a directory group's members (issue 18's "group-scoped auditor") sees only
// those members' copies, and recalls only them when its role may recall.
TEST_F(RecallTest, MemberScopedGrantsSeeAndRecallOnlyTheGroupsMailboxes) {
  dir_->add_account("alice@example.com");
  dir_->add_account("bob@example.com");
  dir_->add_group("sales@example.com", {"alice@example.com"});
  deliver("s1@example.com", {"alice@example.com", "bob@example.com"});
  deliver("s2@example.com", {"bob@example.com"});
  auto scoped = [](Role role) {
    Caller c;
    c.name = "compliance";
    c.front_end = "api";
    c.grants.push_back(Grant{role, {"example.com"}, "token:compliance", "sales@example.com"});
    return c;
  };
  RecallCriteria all;
  all.query.sender_domain = "example.com";
  auto found = recall_->find(scoped(Role::auditor), all, "compliance review");
  ASSERT_TRUE(found) << found.status().to_string();
  ASSERT_EQ(found->size(), 1u);  // s2 reached bob only
  EXPECT_EQ(found->at(0).message_id, "s1@example.com");
  ASSERT_EQ(found->at(0).copies.size(), 1u);
  EXPECT_EQ(found->at(0).copies[0].address, "alice@example.com");
  EXPECT_EQ(recall_->recall(scoped(Role::auditor), {"s1@example.com"}, {}, "x", false).code(),
            core::Code::permission_denied);
  auto r = recall_->recall(scoped(Role::domain_admin), {"s1@example.com"}, {}, "x", false);
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(count("alice@example.com"), 0u);
  EXPECT_EQ(count("bob@example.com"), 2u);
  EXPECT_EQ(recall_->recall(scoped(Role::domain_admin), {"s2@example.com"}, {}, "x", false).code(),
            core::Code::not_found);
}

TEST_F(RecallTest, TheAuditTrailIsAppendOnlyAndSearchable) {
  deliver("a1@example.com", {"alice@example.com"});
  RecallCriteria c;
  c.query.message_id = "a1@example.com";
  ASSERT_TRUE(recall_->find(domain_caller(Role::auditor, "example.com", "aud"), c, "case 17"));
  ASSERT_TRUE(recall_->recall(cli_caller(), {"a1@example.com"}, {}, "case 18", false));
  AuditQuery q;
  q.text = "case 1";
  auto all = recall_->audit(cli_caller(), q);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].action, "recall");
  EXPECT_EQ((*all)[1].actor, "aud");
  // A scoped caller sees its own entries only.
  auto own = recall_->audit(domain_caller(Role::auditor, "example.com", "aud"), AuditQuery{});
  ASSERT_TRUE(own);
  ASSERT_EQ(own->size(), 1u);
  // The database refuses to change or delete the trail, even to its owner.
  db::SqliteOptions o;
  o.path = tmp_.file("recall.db");
  auto db = db::Sqlite::open(o);
  ASSERT_TRUE(db);
  EXPECT_FALSE((*db)->exec("UPDATE audit SET reason='nothing to see'"));
  EXPECT_FALSE((*db)->exec("DELETE FROM audit"));
  auto still = recall_->audit(cli_caller(), q);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->size(), 2u);
  EXPECT_EQ(::access(tmp_.file("recall.db").c_str(), F_OK), 0);
  struct stat st {};
  ASSERT_EQ(::stat(tmp_.file("recall.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(RecallLogList, NewestFirstEvenWithinOneSecond) {
  mailroom::testing::TempDir tmp;
  auto log = RecallLog::open(tmp.file("recall.db"));
  ASSERT_TRUE(log) << log.status().to_string();
  Caller cli{"mailroomctl", "cli", {}};
  // Ids sort the other way from their order: only the insertion order can say which is newer.
  for (const char* id : {"R-b", "R-a"}) {
    RecallReport r;
    r.recall_id = id;
    r.actor = "mailroomctl";
    r.reason = id;
    r.created_at = 1'800'000'000;
    ASSERT_TRUE((*log)->begin_recall(r, cli, "{}"));
  }
  auto list = (*log)->list(10);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].recall_id, "R-a");
  EXPECT_EQ((*list)[1].recall_id, "R-b");
}

TEST(RecallOutput, CsvDefusesFormulasAndJsonStaysUtf8) {
  MessageReport m;
  m.message_id = "x@example.com";
  m.subject = "=HYPERLINK(\"http://evil\")";
  m.envelope_sender = "a\"b@example.com";
  CopyReport c;
  c.address = "\xa4\x48\xa8\xc6@example.com";  // raw Big5 bytes
  c.state = "recalled";
  m.copies.push_back(c);
  std::string csv = recall_report_csv({m});
  EXPECT_NE(csv.find("\"'=HYPERLINK(\"\"http://evil\"\")\""), std::string::npos) << csv;
  EXPECT_NE(csv.find("\"a\"\"b@example.com\""), std::string::npos);
  EXPECT_EQ(csv.find('\xa4'), std::string::npos);
  std::string json = message_reports_json({m});
  EXPECT_NE(json.find("\xEF\xBF\xBD"), std::string::npos);
}

}  // namespace
}  // namespace mailroom::service
