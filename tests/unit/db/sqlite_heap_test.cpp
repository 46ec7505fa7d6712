// SQLite's own heap (src/core/chunk_heap.h, src/db/sqlite_heap.h): size classes, blocks that do
// not overlap, chunks given back once their last block goes (the point of the heap: a closed
// index leaves no partly used pages), large blocks as mappings, many threads at once, SQLite
// running on it, containers on it (core::ChunkAllocator: an IMAP view's rows).
#include "src/db/sqlite_heap.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "src/db/sqlite.h"
#include "tests/unit/auth/test_util.h"  // TempDir

namespace mailroom::db {
namespace {

TEST(ChunkHeap, RoundsUpToClassesThatHoldTheRequest) {
  size_t last = 0;
  for (size_t n = 1; n <= ChunkHeap::kLargest; ++n) {
    size_t r = ChunkHeap::round_up(n);
    ASSERT_GE(r, n);
    ASSERT_EQ(r % 16, 0u) << n;
    ASSERT_GE(r, last) << n;
    ASSERT_LE(r, n + n / 4 + 16) << n;  // four classes per doubling: at most 25 % more
    last = r;
  }
  EXPECT_EQ(ChunkHeap::round_up(ChunkHeap::kLargest), ChunkHeap::kLargest);
  EXPECT_GT(ChunkHeap::round_up(ChunkHeap::kLargest + 1), ChunkHeap::kLargest);
}

TEST(ChunkHeap, BlocksAreDistinctAlignedAndKeepTheirBytes) {
  ChunkHeap heap;
  std::mt19937 rng(7);
  std::map<char*, size_t> live;
  for (int i = 0; i < 5000; ++i) {
    size_t n = 1 + rng() % (i % 10 == 0 ? 40000 : 600);
    auto* p = static_cast<char*>(heap.allocate(n));
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
    ASSERT_GE(ChunkHeap::size_of(p), n);
    std::memset(p, static_cast<int>(reinterpret_cast<uintptr_t>(p) & 0xff), n);
    live[p] = n;
    if (rng() % 3 == 0) {  // free one at random
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      heap.deallocate(it->first);
      live.erase(it);
    }
  }
  char* end = nullptr;
  for (auto& [p, n] : live) {
    ASSERT_GE(p, end) << "blocks overlap";
    end = p + n;
    for (size_t k = 0; k < n; ++k)
      ASSERT_EQ(static_cast<unsigned char>(p[k]), reinterpret_cast<uintptr_t>(p) & 0xff);
  }
  for (auto& [p, n] : live) heap.deallocate(p);
  EXPECT_EQ(heap.chunks_in_use(), 0u);
  EXPECT_EQ(heap.large_bytes(), 0u);
}

TEST(ChunkHeap, AChunkGoesBackWithItsLastBlock) {
  ChunkHeap heap;
  std::vector<void*> blocks;
  for (int i = 0; i < 3000; ++i) blocks.push_back(heap.allocate(100));  // several chunks
  EXPECT_GE(heap.chunks_in_use(), 3u);
  void* keep = blocks.back();
  blocks.pop_back();
  for (void* p : blocks) heap.deallocate(p);
  EXPECT_EQ(heap.chunks_in_use(), 1u);  // only the chunk of `keep`
  heap.deallocate(keep);
  EXPECT_EQ(heap.chunks_in_use(), 0u);
  heap.trim();
  void* again = heap.allocate(100);  // from the cache
  EXPECT_NE(again, nullptr);
  EXPECT_EQ(heap.chunks_in_use(), 1u);
  heap.deallocate(again);
}

TEST(ChunkHeap, LargeBlocksAreMappingsOfTheirOwn) {
  ChunkHeap heap;
  void* p = heap.allocate(200000);
  ASSERT_NE(p, nullptr);
  EXPECT_GE(ChunkHeap::size_of(p), 200000u);
  EXPECT_GE(heap.large_bytes(), 200000u);
  EXPECT_EQ(heap.chunks_in_use(), 0u);
  std::memset(p, 1, 200000);
  heap.deallocate(p);
  EXPECT_EQ(heap.large_bytes(), 0u);
  EXPECT_EQ(heap.allocate(0), nullptr);
  heap.deallocate(nullptr);
}

TEST(ChunkHeap, AContainerOnItsAllocatorGivesEverythingBack) {
  struct Row {
    uint64_t a = 0, b = 0, c = 0, d = 0;
  };
  ChunkHeap& heap = ChunkHeap::instance();
  const size_t chunks = heap.chunks_in_use(), large = heap.large_bytes();
  {
    std::vector<Row, core::ChunkAllocator<Row>> rows;
    for (uint64_t i = 0; i < 20000; ++i) rows.push_back(Row{i, i + 1, i + 2, i + 3});
    EXPECT_GE(heap.large_bytes(), large + 20000 * sizeof(Row));  // grown past kLargest
    EXPECT_GE(ChunkHeap::size_of(rows.data()), rows.capacity() * sizeof(Row));
    auto copy = rows;  // copy-on-write of a version's rows
    for (uint64_t i = 0; i < 20000; ++i) ASSERT_EQ(copy[i].d, i + 3);
    std::vector<Row, core::ChunkAllocator<Row>> few(3);  // a small block: in a chunk
    EXPECT_EQ(ChunkHeap::size_of(few.data()), ChunkHeap::round_up(3 * sizeof(Row)));
  }
  EXPECT_EQ(heap.large_bytes(), large);
  EXPECT_EQ(heap.chunks_in_use(), chunks);
}

TEST(ChunkHeap, ManyThreadsAtOnce) {
  ChunkHeap heap;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&heap, t] {
      std::mt19937 rng(t);
      std::vector<std::pair<unsigned char*, size_t>> mine;
      for (int i = 0; i < 5000; ++i) {
        size_t n = 1 + rng() % 3000;
        auto* p = static_cast<unsigned char*>(heap.allocate(n));
        ASSERT_NE(p, nullptr);
        std::memset(p, t, n);
        mine.emplace_back(p, n);
        if (mine.size() > 200) {
          auto [q, m] = mine[rng() % mine.size()];
          for (size_t k = 0; k < m; ++k) ASSERT_EQ(q[k], t);
          heap.deallocate(q);
          std::erase_if(mine, [q = q](auto& e) { return e.first == q; });
        }
      }
      for (auto& [q, m] : mine) heap.deallocate(q);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(heap.chunks_in_use(), 0u);
}

TEST(ChunkHeap, SqliteRunsOnItAndAClosedDatabaseLeavesNoChunk) {
  // Sqlite::open installs the heap before SQLite initialises (install_sqlite_heap).
  mailroom::testing::TempDir dir;
  SqliteOptions o;
  o.path = dir.file("heap.db");
  ASSERT_TRUE(Sqlite::open(o));  // SQLite's own start-up allocations are made by now
  size_t before = ChunkHeap::instance().chunks_in_use();
  {
    auto db = Sqlite::open(o);
    ASSERT_TRUE(db) << db.status().to_string();
    ASSERT_TRUE((*db)->exec("CREATE TABLE t(a INTEGER, b TEXT)"));
    for (int i = 0; i < 200; ++i)
      ASSERT_TRUE(
          (*db)->exec("INSERT INTO t VALUES(" + std::to_string(i) + ", hex(randomblob(300)))"));
    EXPECT_GT(ChunkHeap::instance().chunks_in_use() + ChunkHeap::instance().large_bytes(), before);
  }
  // Without the heap SQLite would report its memory through the system's allocator: its
  // sqlite3_msize goes through xSize, which only the heap answers for its own blocks.
  void* p = sqlite3_malloc(1000);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(sqlite3_msize(p), ChunkHeap::round_up(1000));
  sqlite3_free(p);
  EXPECT_EQ(ChunkHeap::instance().chunks_in_use(), before);
}

}  // namespace
}  // namespace mailroom::db
