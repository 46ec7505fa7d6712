// Descriptors for connections (issue 13, item 9): under the common soft limit of 1024 the
// listeners stopped accepting ("Too many open files") while max_connections said 20,000.
// At start mailroomd raises RLIMIT_NOFILE's soft limit to the hard limit, then sizes
// max_connections to what that limit leaves after the descriptors the server itself needs
// (listeners, logs, the spool, SQLite databases and the store's cache of open mailbox
// indexes, three descriptors each in WAL mode), and logs both numbers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mailroom::server {

struct FdBudget {
  uint64_t soft_before = 0;         // the soft limit found at start
  uint64_t limit = 0;               // the soft limit now (the hard limit when it could be raised)
  std::size_t reserved = 0;         // descriptors kept for the server itself
  std::size_t max_connections = 0;  // what remains for connections (<= the configured value)
  bool lowered = false;             // max_connections had to be lowered
};

// `reserved`: descriptors the server needs besides one per connection.
FdBudget fit_connections_to_fd_limit(std::size_t max_connections, std::size_t reserved);

// The server's own descriptors for a store cache of `open_users_cache` mailbox indexes.
std::size_t reserved_descriptors(std::size_t open_users_cache, std::size_t listeners);

}  // namespace mailroom::server
