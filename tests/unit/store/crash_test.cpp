// The crash test (issue 3 "Guarantees"): a writer child appends, flags and expunges in a loop
// and reports every acknowledged change through a pipe; the parent SIGKILLs it at a random
// moment, then runs the fsck verifier and checks that every acknowledged append is present
// (unless its expunge was acknowledged too) with its exact content, and that the index is
// consistent. Repeated; MAILROOM_CRASH_ITERATIONS raises the count for a soak run.
// The writer also recalls messages (mail recall): a recall cut by the kill leaves the message
// either in its mailbox or in the recall area, never neither.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "src/store/maintenance.h"
#include "src/store/message_files.h"
#include "src/store/store_options.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

constexpr const char* kUser = "crash-user";

struct Ack {
  // 1 append acknowledged, 2 expunge acknowledged, 3 expunge about to start,
  // 4 recall about to start, 5 recall acknowledged
  uint32_t kind;
  uint32_t uid;
  uint32_t seq;
};

std::string body_for(uint32_t seq) {
  return "From: writer@example.com\nSubject: seq " + std::to_string(seq) +
         "\nX-Seq: " + std::to_string(seq) + "\n\n" +
         std::string(200 + seq % 3000, 'a' + seq % 26) + "\n";
}

[[noreturn]] void writer(const StoreOptions& options, int fd, uint32_t first_seq) {
  auto store = open_file_store(options);
  std::mt19937 rng(first_seq);
  std::vector<uint32_t> mine;
  std::map<uint32_t, std::string> guids;
  for (uint32_t seq = first_seq;; ++seq) {
    std::string msg = body_for(seq);
    AppendRequest r;
    r.message = msg;
    auto res = store->append(kUser, r);
    if (!res.is_ok()) ::_exit(3);
    Ack a{1, res->uid, seq};
    if (::write(fd, &a, sizeof a) != sizeof a) ::_exit(4);
    mine.push_back(res->uid);
    guids[res->uid] = res->guid;
    if (rng() % 4 == 0) {
      StoreFlagsRequest f;
      f.uids = {mine[rng() % mine.size()]};
      f.flags = kSeen;
      if (!store->store_flags(kUser, "INBOX", f).is_ok()) ::_exit(5);
    }
    if (rng() % 5 == 0 && mine.size() > 2) {
      size_t i = rng() % mine.size();
      uint32_t uid = mine[i];
      Ack intent{3, uid, 0};
      if (::write(fd, &intent, sizeof intent) != sizeof intent) ::_exit(4);
      auto gone = store->expunge(kUser, "INBOX", {uid});
      if (!gone.is_ok()) ::_exit(6);
      mine.erase(mine.begin() + static_cast<long>(i));
      Ack e{2, uid, 0};
      if (::write(fd, &e, sizeof e) != sizeof e) ::_exit(4);
    }
    if (rng() % 7 == 0 && mine.size() > 2) {
      size_t i = rng() % mine.size();
      uint32_t uid = mine[i];
      Ack intent{4, uid, 0};
      if (::write(fd, &intent, sizeof intent) != sizeof intent) ::_exit(4);
      auto moved = store->recall_copies(kUser, guids[uid], "r" + std::to_string(seq), 0);
      if (!moved.is_ok() || moved->size() != 1) ::_exit(7);
      mine.erase(mine.begin() + static_cast<long>(i));
      Ack e{5, uid, 0};
      if (::write(fd, &e, sizeof e) != sizeof e) ::_exit(4);
    }
  }
}

struct Acks {
  std::map<uint32_t, uint32_t> appended;  // uid -> seq, acknowledged
  std::set<uint32_t> expunged;            // acknowledged expunges
  std::set<uint32_t> maybe_expunged;      // expunges started (the kill may have cut the ack)
  std::set<uint32_t> recalled;            // acknowledged recalls
  std::set<uint32_t> maybe_recalled;      // recalls started
};

void read_acks(int fd, Acks& acks) {
  Ack a;
  while (::read(fd, &a, sizeof a) == sizeof a) {
    if (a.kind == 1) acks.appended[a.uid] = a.seq;
    if (a.kind == 2) acks.expunged.insert(a.uid);
    if (a.kind == 3) acks.maybe_expunged.insert(a.uid);
    if (a.kind == 4) acks.maybe_recalled.insert(a.uid);
    if (a.kind == 5) acks.recalled.insert(a.uid);
  }
}

TEST(CrashTest, KilledWriterNeverLosesAcknowledgedAppends) {
  std::string dir = make_temp_dir();
  StoreOptions options;
  options.root = dir + "/mail";
  options.fsync = true;
  int iterations = 12;
  if (const char* env = std::getenv("MAILROOM_CRASH_ITERATIONS")) iterations = std::atoi(env);
  std::mt19937 rng(static_cast<uint32_t>(::getpid()));
  Acks acks;
  auto& appended = acks.appended;
  auto& expunged = acks.expunged;
  auto& maybe_expunged = acks.maybe_expunged;
  uint32_t next_seq = 1;
  std::set<uint32_t> unacked_present;  // committed appends whose ack the kill cut off

  for (int it = 0; it < iterations; ++it) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      writer(options, fds[1], next_seq);
    }
    ::close(fds[1]);
    // Wait for the first acknowledgement (the child is really writing), then a random time
    // so the kill lands at any point of the append/flag/expunge state machine.
    pollfd p{fds[0], POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 30000), 1) << "writer made no progress";
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 150000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited early with " << WEXITSTATUS(status);
    read_acks(fds[0], acks);
    ::close(fds[0]);
    next_seq += 100000;

    // The verifier first: the index must be consistent as the crash left it.
    auto report = fsck_user(options, kUser, FsckOptions{false, 0});
    ASSERT_TRUE(report.is_ok()) << report.status().to_string();
    ASSERT_TRUE(report->consistent()) << "iteration " << it << ": " << report->errors.at(0);

    auto store = open_file_store(options);
    auto snap = store->snapshot(kUser, "INBOX");
    ASSERT_TRUE(snap.is_ok());
    std::set<uint32_t> present;
    uint32_t prev = 0;
    uint64_t bytes = 0;
    for (auto& m : snap->messages) {
      EXPECT_GT(m.uid, prev);
      prev = m.uid;
      present.insert(m.uid);
      bytes += m.size;
    }
    EXPECT_EQ(store->quota_usage(kUser)->bytes, bytes);  // recalled copies do not count
    std::map<uint32_t, std::string> in_area;             // INBOX UID -> guid
    auto area = store->recalled(kUser, "");
    ASSERT_TRUE(area.is_ok()) << area.status().to_string();
    for (auto& c : *area) in_area[c.meta.uid] = c.meta.guid;
    MessageFiles files(options.root + "/" + kUser, false);
    for (auto& [uid, seq] : appended) {
      if (expunged.count(uid)) {
        EXPECT_FALSE(present.count(uid)) << "acknowledged expunge of UID " << uid << " undone";
        continue;
      }
      if (maybe_expunged.count(uid) && !present.count(uid)) continue;
      if (acks.recalled.count(uid) || (acks.maybe_recalled.count(uid) && !present.count(uid))) {
        // Recalled (or being recalled when killed, and not in INBOX): in the area, intact.
        EXPECT_FALSE(present.count(uid)) << "acknowledged recall of UID " << uid << " undone";
        ASSERT_TRUE(in_area.count(uid)) << "recalled UID " << uid << " lost in iteration " << it;
        auto data = files.read(in_area[uid]);
        ASSERT_TRUE(data.is_ok()) << data.status().to_string();
        EXPECT_EQ(*data, normalize_crlf(body_for(seq))) << "recalled UID " << uid;
        continue;
      }
      EXPECT_FALSE(in_area.count(uid)) << "UID " << uid << " recalled without a recall";
      ASSERT_TRUE(present.count(uid)) << "acknowledged UID " << uid << " lost in iteration " << it;
      auto data = store->read_message(kUser, "INBOX", uid);
      ASSERT_TRUE(data.is_ok()) << data.status().to_string();
      EXPECT_EQ(*data, normalize_crlf(body_for(seq))) << "UID " << uid;
    }
    // At most the one append in flight per crash may be committed without its ack.
    for (uint32_t uid : present)
      if (!appended.count(uid)) unacked_present.insert(uid);
    EXPECT_LE(unacked_present.size(), static_cast<size_t>(it + 1));
    store.reset();

    if (it % 3 == 2) {  // repair removes the garbage of interrupted appends; still consistent
      auto repaired = fsck_user(options, kUser, FsckOptions{true, 0});
      ASSERT_TRUE(repaired.is_ok());
      auto again = fsck_user(options, kUser, FsckOptions{false, 0});
      ASSERT_TRUE(again->consistent());
      EXPECT_EQ(again->orphan_files + again->tmp_files, 0u);
    }
  }
  EXPECT_GT(appended.size(), static_cast<size_t>(iterations));
  std::printf(
      "crash test: %d kills, %zu acknowledged appends, %zu acknowledged expunges, "
      "%zu committed appends whose ack was cut off, %zu acknowledged recalls\n",
      iterations, appended.size(), expunged.size(), unacked_present.size(), acks.recalled.size());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mailroom::store::testing
