#include "src/db/sqlite_heap.h"

#include <sqlite3.h>

#include <cstring>

namespace mailroom::db {

namespace {
void* sqlite_malloc(int n) { return ChunkHeap::instance().allocate(static_cast<size_t>(n)); }
void sqlite_free(void* p) { ChunkHeap::instance().deallocate(p); }
int sqlite_size(void* p) { return static_cast<int>(ChunkHeap::size_of(p)); }
int sqlite_roundup(int n) { return static_cast<int>(ChunkHeap::round_up(static_cast<size_t>(n))); }
void* sqlite_realloc(void* p, int n) {
  size_t want = static_cast<size_t>(n);
  size_t have = ChunkHeap::size_of(p);
  if (want <= have) return p;
  void* q = ChunkHeap::instance().allocate(want);
  if (!q) return nullptr;
  std::memcpy(q, p, have);
  ChunkHeap::instance().deallocate(p);
  return q;
}
int sqlite_init(void*) { return SQLITE_OK; }
void sqlite_shutdown(void*) {}
}  // namespace

bool install_sqlite_heap() {
  static const sqlite3_mem_methods methods = {sqlite_malloc,   sqlite_free,    sqlite_realloc,
                                              sqlite_size,     sqlite_roundup, sqlite_init,
                                              sqlite_shutdown, nullptr};
  ChunkHeap::instance();  // made before SQLite can call it
  return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK;
}

}  // namespace mailroom::db
