// Change notices between two stores on one root (mailroomctl publishing, mailroomd subscribed):
// a change through the publisher reaches a watcher of the subscriber.
#include "src/store/change_notices.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

using namespace std::chrono_literals;

size_t count_files(const std::string& dir, const std::string& suffix) {
  size_t n = 0;
  if (!std::filesystem::exists(dir)) return 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().string().ends_with(suffix)) ++n;
  return n;
}

class NoticesTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    notices_ = dir_ + "/store-notices";
  }
  StoreOptions with(StoreOptions::Notices mode) const {
    StoreOptions o = options_;
    o.notices_dir = notices_;
    o.notices = mode;
    return o;
  }
  std::string notices_;
};

// Collects events and lets the test wait for one.
struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ChangeEvent> events;
  void add(const ChangeEvent& e) {
    std::lock_guard<std::mutex> lk(mu);
    events.push_back(e);
    cv.notify_all();
  }
  bool wait_for(uint64_t modseq, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, limit, [&] {
      for (auto& e : events)
        if (e.modseq == modseq) return true;
      return false;
    });
  }
};

TEST_F(NoticesTest, AnExpungeThroughThePublisherReachesTheSubscribersWatchers) {
  auto server = open_file_store(with(StoreOptions::Notices::subscribe));
  auto st = std::filesystem::status(notices_);
  ASSERT_TRUE(std::filesystem::is_directory(st));
  EXPECT_EQ(st.permissions() & std::filesystem::perms::all, std::filesystem::perms::owner_all);
  auto ctl = open_file_store(with(StoreOptions::Notices::publish));

  std::string text = message("1");
  AppendRequest r;
  r.message = text;
  auto a = server->append(kUser, r);
  ASSERT_TRUE(a.is_ok());
  Inbox seen;
  auto handle = server->watch(kUser, "inbox", [&](const ChangeEvent& e) { seen.add(e); });

  auto gone = ctl->expunge(kUser, "INBOX", {a->uid});
  ASSERT_TRUE(gone.is_ok());
  auto modseq = ctl->mailbox_status(kUser, "INBOX")->highest_modseq;
  ASSERT_TRUE(seen.wait_for(modseq, 5s)) << "no notice reached the subscriber";
  {
    std::lock_guard<std::mutex> lk(seen.mu);
    EXPECT_EQ(seen.events.back().account_id, kUser);
    EXPECT_EQ(seen.events.back().mailbox, "INBOX");
  }
  // The server's view after the notice: what an IMAP session's refresh would read.
  auto ch = server->changes_since(kUser, "INBOX", a->modseq);
  EXPECT_EQ(ch->expunged, std::vector<uint32_t>{a->uid});

  // A recall by the publisher: one notice for every affected mailbox.
  ASSERT_TRUE(server->create_mailbox(kUser, "Projects", SpecialUse::none).is_ok());
  auto b = server->append(kUser, r);
  ASSERT_TRUE(server->copy(kUser, "INBOX", {b->uid}, "Projects", Quota{}).is_ok());
  Inbox projects;
  auto handle2 = server->watch(kUser, "Projects", [&](const ChangeEvent& e) { projects.add(e); });
  ASSERT_EQ(ctl->recall_copies(kUser, b->guid, "r1", 0)->size(), 2u);
  EXPECT_TRUE(seen.wait_for(ctl->mailbox_status(kUser, "INBOX")->highest_modseq, 5s));
  EXPECT_TRUE(projects.wait_for(ctl->mailbox_status(kUser, "Projects")->highest_modseq, 5s));
  // Consumed.
  for (int i = 0; i < 50 && count_files(notices_, ".notice") > 0; ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(count_files(notices_, ".notice"), 0u);
}

// Without a subscriber (mailroomd down), the publisher writes nothing: notices would pile up.
TEST_F(NoticesTest, NoSubscriberNoNotices) {
  auto ctl = open_file_store(with(StoreOptions::Notices::publish));
  std::string text = message("1");
  AppendRequest r;
  r.message = text;
  ASSERT_TRUE(ctl->append(kUser, r).is_ok());
  EXPECT_EQ(count_files(notices_, ".notice"), 0u);
  {
    auto server = open_file_store(with(StoreOptions::Notices::subscribe));
    ctl.reset();
  }  // the subscriber stopped: its lock is released
  ctl = open_file_store(with(StoreOptions::Notices::publish));
  ASSERT_TRUE(ctl->append(kUser, r).is_ok());
  EXPECT_EQ(count_files(notices_, ".notice"), 0u);
}

TEST_F(NoticesTest, MalformedNoticesAreDeletedWithoutDelivery) {
  // Written before the subscriber starts: its thread must not see a file half written (real
  // publishers rename complete files into place).
  std::filesystem::create_directory(notices_);
  for (const char* text : {"no tabs\n", "acct\tINBOX\tnot-a-number\n", "acct\tINBOX\t5",
                           "../x\tINBOX\t5\n", "acct\tINBOX\t5\nacct\t\t6\n", ""}) {
    static int n = 0;
    std::ofstream(notices_ + "/bad" + std::to_string(n++) + ".notice") << text;
  }
  std::ofstream(notices_ + "/good.notice") << "acct\tINBOX\t5\nacct\tSent\t6\n";
  std::ofstream(notices_ + "/pending.tmp") << "acct\tINBOX\t7\n";  // a publisher mid-write
  std::atomic<int> delivered{0};
  NoticeSubscriber sub(
      notices_, [&](const ChangeEvent&) { ++delivered; }, 1h);
  sub.poll();  // this pass or the thread's first one, which this waits for
  EXPECT_EQ(delivered.load(), 2);
  EXPECT_EQ(count_files(notices_, ".notice"), 0u);
  EXPECT_EQ(count_files(notices_, ".tmp"), 1u);  // young: left to its publisher
}

// publish_notices() and the subscriber's parser agree on the format, several events per file.
TEST_F(NoticesTest, PublishedNoticeRoundTrips) {
  std::vector<ChangeEvent> got;
  std::mutex mu;
  NoticeSubscriber sub(
      notices_,
      [&](const ChangeEvent& e) {
        std::lock_guard<std::mutex> lk(mu);
        got.push_back(e);
      },
      1h);
  std::vector<ChangeEvent> sent{{"acct-1", "INBOX", 9}, {"acct-1", "Projects/Q3 \xc3\xa9", 0}};
  ASSERT_TRUE(publish_notices(notices_, sent).is_ok());
  sub.poll();  // this pass or the thread's first one, which this waits for
  std::lock_guard<std::mutex> lk(mu);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].mailbox, "Projects/Q3 \xc3\xa9");
  EXPECT_EQ(got[0].modseq, 9u);
}

}  // namespace
}  // namespace mailroom::store::testing
