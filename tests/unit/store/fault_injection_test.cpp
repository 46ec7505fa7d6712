// Power loss simulated by dropping whatever was not fsync'd: message files and their
// directories through FaultInjectingFs, the SQLite index (database and WAL) through FaultVfs.
// Every acknowledged message must survive with its exact content, every acknowledged index
// change (flags, expunges, copies, moves, retrieval marks) must be there, and fsck must find
// the store consistent. The control cases (fsync off; a disk that ignores syncs) show that
// the same checks do catch missing syncs.
#include <sstream>

#include "src/store/fs.h"
#include "src/store/maintenance.h"
#include "src/store/message_files.h"
#include "src/store/store_options.h"
#include "tests/unit/store/fault_vfs.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

struct Acked {
  std::string mailbox;
  uint32_t uid;
  std::string content;
};

std::vector<Acked> write_some(MailStore& s, const std::string& user) {
  std::vector<Acked> acked;
  for (int i = 0; i < 25; ++i) {
    std::string msg = message("n" + std::to_string(i), std::string(100 + i * 37, 'q'));
    AppendRequest r;
    r.message = msg;
    r.mailbox = i % 2 ? "INBOX" : "Work/Deep";
    r.create_mailbox = true;
    auto res = s.append(user, r);
    EXPECT_TRUE(res.is_ok()) << res.status().to_string();
    if (res.is_ok()) acked.push_back({r.mailbox, res->uid, normalize_crlf(msg)});
  }
  auto c = s.copy(user, "INBOX", {1, 3}, "Trash", Quota{});
  EXPECT_TRUE(c.is_ok());
  if (c.is_ok()) {
    EXPECT_EQ(c->dest_uids.size(), 2u);
    for (size_t i = 0; i < c->dest_uids.size(); ++i)
      for (size_t k = 0; k < 25 && k < acked.size(); ++k)
        if (acked[k].mailbox == "INBOX" && acked[k].uid == c->source_uids[i])
          acked.push_back({"Trash", c->dest_uids[i], acked[k].content});
  }
  return acked;
}

TEST_F(StoreTest, AcknowledgedMessagesSurviveDroppingUnsyncedState) {
  auto fault = std::make_shared<FaultInjectingFs>();
  StoreOptions o = options_;
  o.fsync = true;
  o.fs = fault;
  auto s = open_file_store(o);
  auto acked = write_some(*s, kUser);
  s.reset();
  fault->drop_unsynced();
  auto report = fsck_user(o, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->consistent()) << report->errors.at(0);
  s = open_file_store(o);
  for (auto& a : acked) {
    auto data = s->read_message(kUser, a.mailbox, a.uid);
    ASSERT_TRUE(data.is_ok()) << a.mailbox << " " << a.uid << ": " << data.status().to_string();
    EXPECT_EQ(*data, a.content);
  }
}

TEST_F(StoreTest, ControlWithoutFsyncLosesMessagesAndFsckSaysSo) {
  auto fault = std::make_shared<FaultInjectingFs>();
  StoreOptions o = options_;
  o.fsync = false;
  o.fs = fault;
  auto s = open_file_store(o);
  auto acked = write_some(*s, kUser);
  s.reset();
  EXPECT_GT(fault->pending_operations(), 0u);
  fault->drop_unsynced();
  auto report = fsck_user(o, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(report.is_ok());
  EXPECT_FALSE(report->consistent());
  // Repair turns the loss into clean expunges rather than a broken index.
  ASSERT_TRUE(fsck_user(o, kUser, FsckOptions{true, 0}).is_ok());
  EXPECT_TRUE(fsck_user(o, kUser, FsckOptions{false, 0})->consistent());
}

// Every index change the store acknowledges, on top of write_some() (INBOX holds UIDs 1-12):
// flags and keywords, an expunge, and a move into a new mailbox. The expunge, the mailbox and
// the move are durable only if their own commits synced the WAL; the flag changes commit
// without a sync (FORMAT.md "Durability of flag changes") and ride on the expunge's.
void change_everything(MailStore& s, const std::string& user) {
  write_some(s, user);
  StoreFlagsRequest seen;
  seen.uids = {1, 3, 5};
  seen.flags = kSeen | kFlagged;
  seen.keywords = {"$Label1"};
  ASSERT_TRUE(s.store_flags(user, "INBOX", seen).is_ok());
  StoreFlagsRequest answered;
  answered.uids = {2, 4};
  answered.flags = kAnswered;
  ASSERT_TRUE(s.store_flags(user, "Work/Deep", answered).is_ok());
  auto gone = s.expunge(user, "INBOX", {7, 9});
  ASSERT_TRUE(gone.is_ok());
  EXPECT_EQ(*gone, (std::vector<uint32_t>{7, 9}));
  ASSERT_TRUE(s.create_mailbox(user, "Archive/2024").is_ok());
  ASSERT_TRUE(s.move(user, "INBOX", {11, 12}, "Archive/2024").is_ok());
}

// POP3 retrieval marks retired into the index (RetrievalJournal::close): their commit runs
// under synchronous=NORMAL and is made durable by an explicit sync of the WAL before the
// journal, their other copy, is removed.
void retire_marks(MailStore& s, const std::string& user) {
  write_some(s, user);
  auto journal = s.open_retrieval_journal(user, "INBOX", "192.0.2.7");
  ASSERT_TRUE(journal.is_ok());
  ASSERT_TRUE((*journal)->append(2, 1700000000).is_ok());
  ASSERT_TRUE((*journal)->append(4, 1700000100).is_ok());
  ASSERT_TRUE((*journal)->close().is_ok());
}

// The whole visible state of a user's store, as text (a failure shows the difference).
std::string state_of(MailStore& s, const std::string& user) {
  std::ostringstream out;
  auto boxes = s.list_mailboxes(user);
  if (!boxes.is_ok()) return "list_mailboxes: " + boxes.status().to_string();
  for (const auto& b : *boxes) {
    auto snap = s.snapshot(user, b.name);
    if (!snap.is_ok()) return b.name + ": " + snap.status().to_string();
    out << b.name << " uidvalidity=" << snap->uid_validity << " uidnext=" << snap->uid_next << "\n";
    for (const auto& m : snap->messages) {
      out << "  " << m.uid << " flags=" << m.flags << " size=" << m.size;
      for (const auto& k : m.keywords) out << " " << k;
      if (m.retrieved_at) out << " retrieved=" << m.retrieved_at << "/" << m.retrieved_by;
      out << "\n";
    }
  }
  return out.str();
}

class PowerLossTest : public StoreTest {
 protected:
  // Runs the workload through both fault layers, cuts the power while the store is still
  // open (what the store closes afterwards, a checkpoint included, does not count), drops
  // what was not synced and reopens. Returns the state before the cut.
  std::string run(bool fsync, bool disk_ignores_syncs,
                  void (*workload)(MailStore&, const std::string&) = change_everything) {
    o_ = options_;
    o_.fsync = fsync;
    o_.fs = fault_;
    o_.sqlite_vfs = vfs_.name();
    vfs_.set_ignore_syncs(disk_ignores_syncs);
    auto s = open_file_store(o_);
    workload(*s, kUser);
    std::string before = state_of(*s, kUser);
    vfs_.power_cut();
    s.reset();
    vfs_.set_ignore_syncs(false);
    vfs_.drop_unsynced();
    fault_->drop_unsynced();
    return before;
  }

  std::shared_ptr<FaultInjectingFs> fault_ = std::make_shared<FaultInjectingFs>();
  FaultVfs vfs_;
  StoreOptions o_;
};

TEST_F(PowerLossTest, EveryAcknowledgedIndexChangeSurvives) {
  std::string before = run(/*fsync=*/true, /*disk_ignores_syncs=*/false);
  EXPECT_GT(vfs_.syncs(), 0u);
  EXPECT_NE(before.find("Archive/2024"), std::string::npos) << before;
  auto report = fsck_user(o_, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->consistent()) << report->errors.at(0);
  EXPECT_FALSE(report->index_rebuilt);
  EXPECT_EQ(report->orphan_files, 0u);  // every durable message file is in the index
  auto s = open_file_store(o_);
  EXPECT_EQ(state_of(*s, kUser), before);
  auto boxes = s->list_mailboxes(kUser);
  ASSERT_TRUE(boxes.is_ok());
  for (const auto& b : *boxes) {
    auto snap = s->snapshot(kUser, b.name);
    ASSERT_TRUE(snap.is_ok());
    for (const auto& m : snap->messages) {
      auto data = s->read_message(kUser, b.name, m.uid);
      ASSERT_TRUE(data.is_ok()) << b.name << " " << m.uid << ": " << data.status().to_string();
      EXPECT_EQ(data->size(), m.size);
    }
  }
}

TEST_F(PowerLossTest, RetiredRetrievalMarksSurvive) {
  std::string before = run(/*fsync=*/true, /*disk_ignores_syncs=*/false, retire_marks);
  EXPECT_NE(before.find("  2 flags=0 size=268 retrieved=1700000000/192.0.2.7\n"), std::string::npos)
      << before;
  EXPECT_NE(before.find("retrieved=1700000100/192.0.2.7"), std::string::npos) << before;
  auto s = open_file_store(o_);
  EXPECT_EQ(state_of(*s, kUser), before);
}

// A flag change does not wait for the disk (FORMAT.md "Durability of flag changes"): a power
// cut right after it may lose it, never a message, and the index stays consistent. The next
// durable commit of the user (here an append) syncs the log and carries the flag change too.
TEST_F(PowerLossTest, FlagChangesAreSyncedByTheNextDurableCommit) {
  o_ = options_;
  o_.fsync = true;
  o_.fs = fault_;
  o_.sqlite_vfs = vfs_.name();
  auto s = open_file_store(o_);
  write_some(*s, kUser);
  std::string unflagged = state_of(*s, kUser);
  StoreFlagsRequest seen;
  seen.uids = {1, 3};
  seen.flags = kSeen;
  size_t syncs = vfs_.syncs();
  ASSERT_TRUE(s->store_flags(kUser, "INBOX", seen).is_ok());
  EXPECT_GT(syncs, 0u);
  EXPECT_EQ(vfs_.syncs(), syncs);  // no fsync of its own
  std::string flagged = state_of(*s, kUser);
  ASSERT_NE(flagged, unflagged);

  // Cut now: the flags are lost, nothing else.
  vfs_.power_cut();
  s.reset();
  vfs_.drop_unsynced();
  fault_->drop_unsynced();
  s = open_file_store(o_);
  EXPECT_EQ(state_of(*s, kUser), unflagged);
  s.reset();
  auto report = fsck_user(o_, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->consistent()) << report->errors.at(0);

  // Flags, then an append (synchronous=FULL again: RelaxedSync restored it), then the cut.
  s = open_file_store(o_);
  ASSERT_TRUE(s->store_flags(kUser, "INBOX", seen).is_ok());
  std::string after = message("after", "body");
  AppendRequest r;
  r.message = after;
  r.mailbox = "INBOX";
  ASSERT_TRUE(s->append(kUser, r).is_ok());
  EXPECT_GT(vfs_.syncs(), syncs);
  std::string before = state_of(*s, kUser);
  vfs_.power_cut();
  s.reset();
  vfs_.drop_unsynced();
  fault_->drop_unsynced();
  s = open_file_store(o_);
  EXPECT_EQ(state_of(*s, kUser), before);
}

// Controls: the same run where the index is never synced must lose acknowledged changes, and
// the loss must show: the durable message files are no longer in the index (fsck counts
// them as unreferenced), never a store that looks the same.
TEST_F(PowerLossTest, ControlDiskIgnoringSyncsLosesIndexChangesButNotMessages) {
  std::string before = run(/*fsync=*/true, /*disk_ignores_syncs=*/true);
  EXPECT_EQ(vfs_.syncs(), 0u);
  auto s = open_file_store(o_);
  EXPECT_NE(state_of(*s, kUser), before);
  s.reset();
  auto report = fsck_user(o_, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(report.is_ok());
  // The index never reached the disk; opening the user rebuilt it from the durable message
  // files (flags, folders and expunges are what is lost), so none of them is garbage.
  EXPECT_GT(report->files, 0u);
  EXPECT_EQ(report->orphan_files, 0u);
  EXPECT_EQ(report->messages, report->files);
}

TEST_F(PowerLossTest, ControlWithoutFsyncLosesIndexChanges) {
  std::string before = run(/*fsync=*/false, /*disk_ignores_syncs=*/false);
  auto s = open_file_store(o_);
  EXPECT_NE(state_of(*s, kUser), before);
}

}  // namespace
}  // namespace mailroom::store::testing
