#include "src/server/fd_limit.h"

#include <sys/resource.h>

#include <algorithm>

namespace mailroom::server {

std::size_t reserved_descriptors(std::size_t open_users_cache, std::size_t listeners) {
  // 3 per cached index (db, -wal, -shm), one per listener, and a fixed margin for the
  // directory, delivery log, credential cache, spool files being written, logs and libraries.
  return 3 * open_users_cache + listeners + 128;
}

FdBudget fit_connections_to_fd_limit(std::size_t max_connections, std::size_t reserved) {
  FdBudget b;
  b.reserved = reserved;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    b.soft_before = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
      rlimit raised = rl;
      raised.rlim_cur = rl.rlim_max;
      if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
    }
    b.limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
  } else {
    b.soft_before = b.limit = 1024;
  }
  // Never plan for fewer than a quarter of the limit for connections: with a small limit and
  // a large store cache the cache is what should shrink (the README says so).
  uint64_t reserve = std::min<uint64_t>(reserved, b.limit * 3 / 4);
  uint64_t room = b.limit > reserve ? b.limit - reserve : 0;
  b.max_connections = static_cast<std::size_t>(std::min<uint64_t>(max_connections, room));
  b.lowered = b.max_connections < max_connections;
  return b;
}

}  // namespace mailroom::server
