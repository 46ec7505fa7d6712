// Switching an SQLite database to write-ahead logging, safely when several connections (threads
// of mailroomd, or mailroomd and mailroomctl) open a new database at the same moment.
#pragma once

#include <chrono>

struct sqlite3;

namespace mailroom::core {

// PRAGMA journal_mode=WAL, retried while SQLite answers SQLITE_BUSY, for up to `patience`.
// Connections that open a new database at once each need an exclusive lock to switch it to WAL;
// SQLite refuses one of them with SQLITE_BUSY at once, without calling the busy handler
// (deadlock avoidance), so sqlite3_busy_timeout does not cover it (a Python reproduction: 128
// of 4,500 concurrent first opens failed with "database is locked"). Returns the SQLite result
// code of the last attempt (SQLITE_OK on success).
int sqlite_enable_wal(sqlite3* db,
                      std::chrono::milliseconds patience = std::chrono::milliseconds(10000));

}  // namespace mailroom::core
