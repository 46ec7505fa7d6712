#include "src/core/sqlite_wal.h"

#include <sqlite3.h>

#include <thread>

namespace mailroom::core {

int sqlite_enable_wal(sqlite3* db, std::chrono::milliseconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  for (int attempt = 0;; ++attempt) {
    int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 10));
  }
}

}  // namespace mailroom::core
