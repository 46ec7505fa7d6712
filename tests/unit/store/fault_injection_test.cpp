// Power loss simulated by dropping whatever was not fsync'd (FaultInjectingFs): every
// acknowledged message must survive with its exact content and fsck must find the store
// consistent. The control case (fsync off) shows the same check does catch missing syncs.
#include "src/store/fs.h"
#include "src/store/maintenance.h"
#include "src/store/message_files.h"
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

}  // namespace
}  // namespace mailroom::store::testing
