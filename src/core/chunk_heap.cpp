#include "src/core/chunk_heap.h"

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

namespace mailroom::core {
namespace {

constexpr size_t kHeader = 64;  // the chunk's header; blocks start after it
constexpr uint32_t kLarge = UINT32_MAX;
constexpr size_t kClasses = 36;

// 16 to 128 by 16, then four classes per doubling up to 16 KiB.
constexpr std::array<uint32_t, kClasses> make_sizes() {
  std::array<uint32_t, kClasses> s{};
  for (size_t i = 0; i < 8; ++i) s[i] = static_cast<uint32_t>(16 * (i + 1));
  size_t i = 8;
  for (uint32_t base = 128; i < kClasses; base *= 2)
    for (uint32_t k = 1; k <= 4 && i < kClasses; ++k) s[i++] = base + k * (base / 4);
  return s;
}
constexpr auto kSizes = make_sizes();
static_assert(kSizes[kClasses - 1] == ChunkHeap::kLargest);

size_t class_of(size_t n) {
  if (n <= 128) return n == 0 ? 0 : (n + 15) / 16 - 1;
  size_t e = static_cast<size_t>(std::bit_width(n - 1));  // 2^(e-1) < n <= 2^e
  return 8 + (e - 8) * 4 + (((n - 1) >> (e - 3)) - 4);
}

size_t page_size() {
  static const size_t p = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return p;
}

size_t round_to_page(size_t n) { return (n + page_size() - 1) & ~(page_size() - 1); }

struct Chunk {
  uint32_t cls = 0;   // index in kSizes, or kLarge
  uint32_t live = 0;  // blocks in use
  size_t map_len = 0;
  void* free = nullptr;  // freed blocks, linked through their first word
  char* tail = nullptr;  // the first never used byte
  Chunk* prev = nullptr;
  Chunk* next = nullptr;
  bool listed = false;  // in its class's list of chunks with room
};
static_assert(sizeof(Chunk) <= kHeader);

Chunk* chunk_of(const void* p) {
  return reinterpret_cast<Chunk*>(reinterpret_cast<uintptr_t>(p) & ~(ChunkHeap::kChunkSize - 1));
}

// `len` bytes (a multiple of the page size) at an address aligned to kChunkSize.
char* map_aligned(size_t len) {
  size_t total = len + ChunkHeap::kChunkSize;
  void* m = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  auto* p = static_cast<char*>(m);
  auto a =
      (reinterpret_cast<uintptr_t>(p) + ChunkHeap::kChunkSize - 1) & ~(ChunkHeap::kChunkSize - 1);
  auto* aligned = reinterpret_cast<char*>(a);
  size_t head = static_cast<size_t>(aligned - p);
  if (head) ::munmap(p, head);
  size_t tail = total - head - len;
  if (tail) ::munmap(aligned + len, tail);
  return aligned;
}

}  // namespace

struct ChunkHeap::Impl {
  struct Class {
    std::mutex mu;
    Chunk* room = nullptr;  // chunks with a free slot or an untouched tail
  };
  std::array<Class, kClasses> classes;
  std::mutex cache_mu;
  std::vector<Chunk*> cache;  // empty chunks; those past `resident` have had their pages freed
  size_t resident = 0;        // cache[0, resident) still hold their pages
  std::atomic<size_t> in_use{0};
  std::atomic<size_t> large{0};

  Impl() { cache.reserve(kCachedChunks); }

  static void link(Class& c, Chunk* ch) {
    ch->prev = nullptr;
    ch->next = c.room;
    if (c.room) c.room->prev = ch;
    c.room = ch;
    ch->listed = true;
  }
  static void unlink(Class& c, Chunk* ch) {
    if (ch->prev) ch->prev->next = ch->next;
    if (ch->next) ch->next->prev = ch->prev;
    if (c.room == ch) c.room = ch->next;
    ch->prev = ch->next = nullptr;
    ch->listed = false;
  }

  Chunk* take_chunk(uint32_t cls) {
    char* base = nullptr;
    {
      std::lock_guard<std::mutex> lk(cache_mu);
      if (resident > 0) {  // one with its pages still there first: no faults
        base = reinterpret_cast<char*>(cache[resident - 1]);
        cache[resident - 1] = cache.back();
        cache.pop_back();
        --resident;
      } else if (!cache.empty()) {
        base = reinterpret_cast<char*>(cache.back());
        cache.pop_back();
      }
    }
    if (!base) base = map_aligned(kChunkSize);
    if (!base) return nullptr;
    auto* ch = new (base) Chunk;
    ch->cls = cls;
    ch->map_len = kChunkSize;
    ch->tail = base + kHeader;
    in_use.fetch_add(1, std::memory_order_relaxed);
    return ch;
  }

  // An emptied chunk: kept with its pages while few are (until trim()), without them up to
  // kCachedChunks, unmapped beyond.
  void give_back(Chunk* ch) {
    in_use.fetch_sub(1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(cache_mu);
      if (resident < kResidentChunks) {
        cache.push_back(ch);
        std::swap(cache[resident], cache.back());
        ++resident;
        return;
      }
      if (cache.size() < kCachedChunks) {
        ::madvise(ch, kChunkSize, MADV_DONTNEED);
        cache.push_back(ch);
        return;
      }
    }
    ::munmap(ch, kChunkSize);
  }

  // 4 MiB: an index opened and closed again (a busy server does it all the time) finds its
  // chunks with their pages instead of paying a madvise and page faults for each; the store's
  // trim() after closing idle indexes frees them.
  static constexpr size_t kResidentChunks = 64;
};

ChunkHeap::ChunkHeap() : impl_(new Impl) {}

ChunkHeap::~ChunkHeap() {
  for (Chunk* ch : impl_->cache) ::munmap(ch, kChunkSize);
  for (auto& c : impl_->classes) {
    while (Chunk* ch = c.room) {
      Impl::unlink(c, ch);
      ::munmap(ch, kChunkSize);
    }
  }
  delete impl_;
}

void* ChunkHeap::allocate(size_t n) {
  if (n == 0) return nullptr;
  if (n > kLargest) {
    size_t len = round_to_page(n + kHeader);
    char* base = map_aligned(len);
    if (!base) return nullptr;
    auto* ch = new (base) Chunk;
    ch->cls = kLarge;
    ch->map_len = len;
    impl_->large.fetch_add(len, std::memory_order_relaxed);
    return base + kHeader;
  }
  size_t cls = class_of(n);
  size_t size = kSizes[cls];
  auto& c = impl_->classes[cls];
  std::lock_guard<std::mutex> lk(c.mu);
  Chunk* ch = c.room;
  if (!ch) {
    ch = impl_->take_chunk(static_cast<uint32_t>(cls));
    if (!ch) return nullptr;
    Impl::link(c, ch);
  }
  void* p;
  if (ch->free) {
    p = ch->free;
    ch->free = *static_cast<void**>(p);
  } else {
    p = ch->tail;
    ch->tail += size;
  }
  ++ch->live;
  const char* end = reinterpret_cast<const char*>(ch) + kChunkSize;
  if (!ch->free && static_cast<size_t>(end - ch->tail) < size) Impl::unlink(c, ch);  // full
  return p;
}

void ChunkHeap::deallocate(void* p) {
  if (!p) return;
  Chunk* ch = chunk_of(p);
  if (ch->cls == kLarge) {
    size_t len = ch->map_len;
    impl_->large.fetch_sub(len, std::memory_order_relaxed);
    ::munmap(ch, len);
    return;
  }
  auto& c = impl_->classes[ch->cls];
  {
    std::lock_guard<std::mutex> lk(c.mu);
    *static_cast<void**>(p) = ch->free;
    ch->free = p;
    if (--ch->live > 0) {
      if (!ch->listed) Impl::link(c, ch);
      return;
    }
    if (ch->listed) Impl::unlink(c, ch);
  }
  impl_->give_back(ch);
}

size_t ChunkHeap::size_of(const void* p) {
  const Chunk* ch = chunk_of(p);
  return ch->cls == kLarge ? ch->map_len - kHeader : kSizes[ch->cls];
}

size_t ChunkHeap::round_up(size_t n) {
  if (n > kLargest) return round_to_page(n + kHeader) - kHeader;
  return kSizes[class_of(n)];
}

void ChunkHeap::trim() {
  std::lock_guard<std::mutex> lk(impl_->cache_mu);
  for (size_t i = 0; i < impl_->resident; ++i)
    ::madvise(impl_->cache[i], kChunkSize, MADV_DONTNEED);
  impl_->resident = 0;
}

size_t ChunkHeap::chunks_in_use() const { return impl_->in_use.load(); }
size_t ChunkHeap::large_bytes() const { return impl_->large.load(); }

ChunkHeap& ChunkHeap::instance() {
  // Never destroyed: SQLite may free memory while static objects are being destroyed.
  static ChunkHeap* heap = new ChunkHeap;
  return *heap;
}

}  // namespace mailroom::core
