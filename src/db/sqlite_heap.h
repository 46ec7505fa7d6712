// SQLite's memory in a heap of its own (issue 20: memory of idle IMAP sessions): a per-user
// index closed when its session hibernates gives its chunks back whole (src/core/chunk_heap.h).
#pragma once

#include "src/core/chunk_heap.h"

namespace mailroom::db {

using core::ChunkHeap;

// Makes ChunkHeap::instance() SQLite's allocator (sqlite3_config(SQLITE_CONFIG_MALLOC)); must
// run before SQLite is initialised (db::Sqlite::open does it). False when SQLite refused
// (already initialised by something else): it then keeps the system's malloc.
bool install_sqlite_heap();

}  // namespace mailroom::db
