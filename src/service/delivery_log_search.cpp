#include "src/service/delivery_log_search.h"

#include "src/core/address.h"

namespace mailroom::service {

core::Result<std::vector<queue::DeliveryRecord>> DeliveryLogSearch::search(
    queue::DeliveryQuery query) {
  if (!log_) return core::unavailable("delivery log is not configured");
  query.recipient = core::ascii_lower(query.recipient);
  query.envelope_sender = core::ascii_lower(query.envelope_sender);
  query.recipient_domain = core::ascii_lower(query.recipient_domain);
  query.sender_domain = core::ascii_lower(query.sender_domain);
  return log_->query(query);
}

}  // namespace mailroom::service
