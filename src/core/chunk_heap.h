// A heap of its own for blocks that must not fragment glibc's (issue 20: memory of idle IMAP
// sessions): SQLite's allocations (src/db/sqlite_heap.h) and the rows of a mailbox an IMAP
// session reads at SELECT and drops when it hibernates (ChunkAllocator).
//
// Why: a per-user mail index is opened when a session selects a mailbox and closed when the
// session hibernates in IDLE (or after [store] idle_close); the mailbox's rows are read then and
// dropped with it. In the process heap those blocks lay between the sessions' long-lived ones,
// so once freed they left glibc pages partly used that malloc_trim cannot return (about 20 KiB
// per idle session on 1,000 users' own INBOXes). Here they come from 64 KiB chunks that hold
// nothing else: when the index closes and the rows go, the chunks empty and their pages go back
// to the system.
//
// Layout: each chunk serves one size class (16 bytes to 16 KiB, four classes per doubling) and
// hands out slots from a free list, then from its untouched tail (so pages never used are never
// resident); larger blocks are mappings of their own. A chunk that empties is cached for reuse:
// the first few with their pages (a busy server empties and refills chunks all the time) until
// trim(), the others with their pages released (MADV_DONTNEED); beyond the cache, unmapped.
//
// Threading: every function may be called from any thread (one mutex per size class, one for
// the chunk cache).
#pragma once

#include <cstddef>
#include <new>

namespace mailroom::core {

class ChunkHeap {
 public:
  static constexpr size_t kChunkSize = size_t{64} << 10;
  static constexpr size_t kLargest = size_t{16} << 10;  // beyond: a mapping per block
  // Empty chunks kept mapped (without resident pages) for reuse.
  static constexpr size_t kCachedChunks = 256;

  ChunkHeap();
  ~ChunkHeap();  // unmaps everything: no block may be in use
  ChunkHeap(const ChunkHeap&) = delete;
  ChunkHeap& operator=(const ChunkHeap&) = delete;

  // nullptr when the system has no memory (or n is 0). Blocks are 16-byte aligned.
  void* allocate(size_t n);
  void deallocate(void* p);  // p from allocate() of this heap, or nullptr
  // The usable size of p (at least what was asked for).
  static size_t size_of(const void* p);
  // What allocate(n) would really give.
  static size_t round_up(size_t n);

  // Frees the pages of the empty chunks kept for reuse (after a burst of closed indexes).
  void trim();

  // Chunks with live blocks and bytes of large blocks, mapped now (tests, logs).
  size_t chunks_in_use() const;
  size_t large_bytes() const;

  // The process's heap (never destroyed).
  static ChunkHeap& instance();

 private:
  struct Impl;
  Impl* impl_;
};

// An allocator on ChunkHeap::instance() for containers whose memory comes and goes with a
// session's state (types aligned to at most 16 bytes).
template <typename T>
struct ChunkAllocator {
  using value_type = T;
  static_assert(alignof(T) <= 16, "ChunkHeap blocks are 16-byte aligned");
  ChunkAllocator() = default;
  template <typename U>
  ChunkAllocator(const ChunkAllocator<U>&) noexcept {}
  T* allocate(size_t n) {
    if (n > size_t(-1) / sizeof(T)) throw std::bad_array_new_length();
    void* p = ChunkHeap::instance().allocate(n * sizeof(T));
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) noexcept { ChunkHeap::instance().deallocate(p); }
  template <typename U>
  bool operator==(const ChunkAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace mailroom::core
