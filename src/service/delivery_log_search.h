// Searches of the delivery log (what was delivered where): mail recall and audit.
//
// Errors: unavailable when no delivery log is configured or its database is down;
// io_error from SQLite.
// Threading: called from one thread; blocks on SQLite or MariaDB.
#pragma once

#include <vector>

#include "src/core/status.h"
#include "src/queue/delivery_log.h"

namespace mailroom::service {

class DeliveryLogSearch {
 public:
  // `log` may be null (not configured).
  explicit DeliveryLogSearch(queue::DeliveryLog* log) : log_(log) {}

  // Records matching every field set in `query`, newest first, at most query.limit.
  // Addresses and domains match in any case (lower-cased here).
  core::Result<std::vector<queue::DeliveryRecord>> search(queue::DeliveryQuery query);

 private:
  queue::DeliveryLog* log_;
};

}  // namespace mailroom::service
