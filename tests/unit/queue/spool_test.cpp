// Spool crash semantics (STYLE.md example 11): acknowledged records survive a "crash" that
// drops everything not yet synced; torn tails and corrupt records are ignored; the state
// journal survives; many concurrent appends share fsyncs.
#include "src/queue/spool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace mailroom::queue {
namespace {

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("spool-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  SpoolOptions options() {
    SpoolOptions o;
    o.dir = dir_.string();
    return o;
  }

  // Appends and waits for the acknowledgment.
  static core::Status append_sync(Spool& s, const std::string& id, const std::string& env,
                                  const std::string& msg) {
    std::promise<core::Status> p;
    s.append(id, env, msg, [&](core::Status st) { p.set_value(st); });
    return p.get_future().get();
  }

  std::vector<SpoolRecord> reopen() {
    Spool s(options());
    std::vector<SpoolRecord> out;
    EXPECT_TRUE(s.open(&out).is_ok());
    s.close();
    return out;
  }

  std::vector<fs::path> segments() {
    std::vector<fs::path> out;
    for (auto& e : fs::directory_iterator(dir_)) {
      if (e.path().filename().string().rfind("seg-", 0) == 0) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
};

TEST_F(SpoolTest, AppendedRecordsAreRecovered) {
  {
    Spool s(options());
    std::vector<SpoolRecord> rec;
    ASSERT_TRUE(s.open(&rec).is_ok());
    EXPECT_TRUE(rec.empty());
    ASSERT_TRUE(append_sync(s, "MR1", "env1", "message one\r\n").is_ok());
    ASSERT_TRUE(append_sync(s, "MR2", "env2", std::string("bin\0ary", 7)).is_ok());
    s.close();
  }
  auto rec = reopen();
  ASSERT_EQ(rec.size(), 2u);
  EXPECT_EQ(rec[0].queue_id, "MR1");
  EXPECT_EQ(rec[0].envelope, "env1");
  EXPECT_EQ(rec[0].message, "message one\r\n");
  EXPECT_EQ(rec[1].message, std::string("bin\0ary", 7));
}

// Appends that arrive while a sync runs share the next one: the first sync is held (in the
// on_synced hook) until three more appends are queued, which then need one sync together.
TEST_F(SpoolTest, AppendsQueuedDuringASyncShareTheNextOne) {
  std::mutex mu;
  std::condition_variable cv;
  bool in_first_sync = false, release = false;
  int synced = 0;
  auto o = options();
  o.on_synced = [&](const std::string&, uint64_t) {
    std::unique_lock l(mu);
    if (++synced == 1) {
      in_first_sync = true;
      cv.notify_all();
      cv.wait(l, [&] { return release; });
    }
  };
  Spool s(o);
  std::vector<SpoolRecord> rec;
  ASSERT_TRUE(s.open(&rec).is_ok());
  std::vector<std::promise<core::Status>> done(4);
  s.append("MR0", "e", "first", [&](core::Status st) { done[0].set_value(st); });
  {
    std::unique_lock l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return in_first_sync; }));
  }
  for (int i = 1; i < 4; ++i) {
    s.append("MR" + std::to_string(i), "e", "queued during the first sync",
             [&, i](core::Status st) { done[i].set_value(st); });
  }
  {
    std::lock_guard l(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& d : done) EXPECT_TRUE(d.get_future().get().is_ok());
  EXPECT_EQ(s.records_written(), 4u);
  EXPECT_EQ(s.syncs(), 2u);
  s.close();
  EXPECT_EQ(reopen().size(), 4u);
}

// Many sessions at once: fewer syncs than records. Deterministic: the first sync is held
// until every thread has queued its first append, so those not in the first batch share the
// second one.
TEST_F(SpoolTest, ConcurrentAppendsShareSyncs) {
  constexpr int kThreads = 16, kPerThread = 20;
  std::mutex mu;
  std::condition_variable cv;
  int submitted = 0, synced = 0;
  auto o = options();
  o.on_synced = [&](const std::string&, uint64_t) {
    std::unique_lock l(mu);
    if (++synced == 1) {
      EXPECT_TRUE(cv.wait_for(l, std::chrono::seconds(30), [&] { return submitted >= kThreads; }));
    }
  };
  Spool s(o);
  std::vector<SpoolRecord> rec;
  ASSERT_TRUE(s.open(&rec).is_ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string id = "MR" + std::to_string(t) + "-" + std::to_string(i);
        std::promise<core::Status> p;
        s.append(id, "e", std::string(1000, 'x'), [&](core::Status st) { p.set_value(st); });
        {
          std::lock_guard l(mu);
          ++submitted;
        }
        cv.notify_all();
        if (p.get_future().get().is_ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(s.records_written(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(s.syncs(), s.records_written());
  EXPECT_GE(s.syncs(), 2u);
  std::printf("records=%llu syncs=%llu\n", static_cast<unsigned long long>(s.records_written()),
              static_cast<unsigned long long>(s.syncs()));
  s.close();
  EXPECT_EQ(reopen().size(), static_cast<size_t>(kThreads * kPerThread));
}

// Simulates a power cut: every byte after the last sync of each segment is lost (replaced by
// garbage, as a torn write would leave). Every acknowledged record must come back.
TEST_F(SpoolTest, CrashDropsOnlyUnsyncedBytes) {
  std::map<std::string, uint64_t> durable;
  std::mutex mu;
  std::set<std::string> acked;
  {
    auto o = options();
    o.on_synced = [&](const std::string& path, uint64_t size) {
      std::lock_guard l(mu);
      durable[path] = size;
    };
    Spool s(o);
    std::vector<SpoolRecord> rec;
    ASSERT_TRUE(s.open(&rec).is_ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10; ++i) {
          std::string id = "MR" + std::to_string(t * 100 + i);
          std::promise<void> p;
          s.append(id, "env", std::string(500 + i, 'm'), [&, id](core::Status st) {
            if (st) {
              // At acknowledgment the record must already be inside the durable prefix.
              std::lock_guard l(mu);
              bool inside = false;
              for (auto& [path, size] : durable) {
                std::ifstream in(path, std::ios::binary);
                std::string prefix(size, '\0');
                in.read(prefix.data(), static_cast<std::streamsize>(size));
                if (prefix.find(id + "env") != std::string::npos) inside = true;
              }
              EXPECT_TRUE(inside) << id;
              acked.insert(id);
            }
            p.set_value();
          });
          p.get_future().wait();
        }
      });
    }
    for (auto& t : threads) t.join();
    s.close();
  }
  // Crash: cut each segment back to its durable size, then add a torn half record.
  for (auto& [path, size] : durable) {
    fs::resize_file(path, size);
    std::ofstream f(path, std::ios::app | std::ios::binary);
    f << "MRQ1\x05\x00\x00\x00garbage-that-never-synced";
  }
  auto rec = reopen();
  std::set<std::string> got;
  for (auto& r : rec) got.insert(r.queue_id);
  EXPECT_EQ(got, acked);
  EXPECT_EQ(acked.size(), 80u);
}

TEST_F(SpoolTest, CorruptRecordEndsTheSegmentScan) {
  {
    Spool s(options());
    std::vector<SpoolRecord> rec;
    ASSERT_TRUE(s.open(&rec).is_ok());
    ASSERT_TRUE(append_sync(s, "MRA", "e", "first").is_ok());
    ASSERT_TRUE(append_sync(s, "MRB", "e", "second").is_ok());
    s.close();
  }
  auto segs = segments();
  ASSERT_EQ(segs.size(), 1u);
  // Flip the last byte (inside MRB's message): its CRC no longer matches.
  std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(-1, std::ios::end);
  f.put('X');
  f.close();
  auto rec = reopen();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].queue_id, "MRA");
}

TEST_F(SpoolTest, JournalStatesSurviveAndTornLineIsIgnored) {
  {
    Spool s(options());
    std::vector<SpoolRecord> rec;
    ASSERT_TRUE(s.open(&rec).is_ok());
    ASSERT_TRUE(append_sync(s, "MRJ", "e", "m").is_ok());
    ASSERT_TRUE(s.set_state("MRJ", 0, 1).is_ok());
    ASSERT_TRUE(s.set_state("MRJ", 2, 3).is_ok());
    s.close();
  }
  {
    std::ofstream j(dir_ / "state.log", std::ios::app);
    j << "MRJ 1 1";  // torn: no newline
  }
  auto rec = reopen();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].states.size(), 2u);
  EXPECT_EQ(rec[0].states[0], 1);
  EXPECT_EQ(rec[0].states[2], 3);
  EXPECT_EQ(rec[0].states.count(1), 0u);
}

TEST_F(SpoolTest, RetiredSegmentsAreDeletedAfterRotation) {
  auto o = options();
  o.segment_bytes = 100;  // every batch starts a new segment
  Spool s(o);
  std::vector<SpoolRecord> rec;
  ASSERT_TRUE(s.open(&rec).is_ok());
  ASSERT_TRUE(append_sync(s, "MR1", "e", std::string(200, 'a')).is_ok());
  ASSERT_TRUE(append_sync(s, "MR2", "e", std::string(200, 'b')).is_ok());
  EXPECT_EQ(segments().size(), 2u);
  s.retire("MR1");
  EXPECT_EQ(segments().size(), 1u);  // MR1's segment is not current any more
  s.retire("MR2");
  EXPECT_EQ(segments().size(), 1u);  // the current segment stays until the next rotation
  s.close();
  EXPECT_TRUE(reopen().size() == 1u);  // MR2 is still on disk (no journal state): recovered
}

TEST_F(SpoolTest, ReadSpoolDoesNotModify) {
  {
    Spool s(options());
    std::vector<SpoolRecord> rec;
    ASSERT_TRUE(s.open(&rec).is_ok());
    ASSERT_TRUE(append_sync(s, "MRR", "e", "m").is_ok());
    ASSERT_TRUE(s.set_state("MRR", 0, 3).is_ok());
    std::vector<SpoolRecord> seen;
    ASSERT_TRUE(read_spool(dir_.string(), &seen).is_ok());
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].states[0], 3);
    s.close();
  }
  std::vector<SpoolRecord> none;
  EXPECT_TRUE(read_spool((dir_ / "missing").string(), &none).is_ok());
  EXPECT_TRUE(none.empty());
}

TEST_F(SpoolTest, AppendAfterCloseFails) {
  Spool s(options());
  std::vector<SpoolRecord> rec;
  ASSERT_TRUE(s.open(&rec).is_ok());
  s.close();
  EXPECT_EQ(append_sync(s, "MRX", "e", "m").code(), core::Code::unavailable);
}

TEST(Crc32, KnownVector) { EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u); }

// The queue drops the bytes of deferred messages and reads them back by queue id: from the
// record just written, and from the records found again after a restart.
TEST_F(SpoolTest, ReadMessageBackByQueueIdBeforeAndAfterRecovery) {
  {
    Spool s(options());
    std::vector<SpoolRecord> rec;
    ASSERT_TRUE(s.open(&rec).is_ok());
    ASSERT_TRUE(append_sync(s, "MR00000000000000000001", "env-1", "first message\r\n").is_ok());
    ASSERT_TRUE(
        append_sync(s, "MR00000000000000000002", "env-two", std::string(70000, 'x')).is_ok());
    auto one = s.read_message("MR00000000000000000001");
    ASSERT_TRUE(one.is_ok());
    EXPECT_EQ(*one, "first message\r\n");
    EXPECT_EQ(s.read_message("MR00000000000000000009").code(), core::Code::not_found);
    s.retire("MR00000000000000000001");
    EXPECT_EQ(s.read_message("MR00000000000000000001").code(), core::Code::not_found);
    s.close();
  }
  Spool s(options());
  std::vector<SpoolRecord> rec;
  ASSERT_TRUE(s.open(&rec).is_ok());
  auto two = s.read_message("MR00000000000000000002");
  ASSERT_TRUE(two.is_ok());
  EXPECT_EQ(*two, std::string(70000, 'x'));
  s.close();
}

}  // namespace
}  // namespace mailroom::queue
