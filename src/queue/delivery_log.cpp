// Delivery log registry (explicit backend list, STYLE.md example 1).
#include "src/queue/delivery_log.h"

#include "src/core/config_section.h"
#include "src/core/log.h"

namespace mailroom::queue {

const char* delivery_result_name(DeliveryResult r) {
  switch (r) {
    case DeliveryResult::delivered:
      return "delivered";
    case DeliveryResult::failed:
      return "failed";
    case DeliveryResult::deferred:
      return "deferred";
    case DeliveryResult::queued_remote:
      return "queued_remote";
    case DeliveryResult::rejected:
      return "rejected";
    case DeliveryResult::sent:
      return "sent";
  }
  return "unknown";
}

bool parse_delivery_result(const std::string& name, DeliveryResult* out) {
  for (auto r : {DeliveryResult::delivered, DeliveryResult::failed, DeliveryResult::deferred,
                 DeliveryResult::queued_remote, DeliveryResult::rejected, DeliveryResult::sent}) {
    if (name == delivery_result_name(r)) {
      *out = r;
      return true;
    }
  }
  return false;
}

#ifndef MAILROOM_HAVE_MARIADB_DELIVERY_LOG
core::Result<std::shared_ptr<DeliveryLog>> open_mariadb_delivery_log(core::ConfigSection& section) {
  section.finish();
  return core::invalid_argument("delivery_log backend mariadb is not built in");
}
#endif

std::shared_ptr<DeliveryLog> open_delivery_log(core::ConfigSection& section,
                                               const std::string& data_dir) {
  std::string backend = section.get_choice("backend", "sqlite", {"sqlite", "mariadb"});
  core::Result<std::shared_ptr<DeliveryLog>> log = core::internal_error("unset");
  if (backend == "mariadb") {
    log = open_mariadb_delivery_log(section);
  } else {
    std::string path = section.get_string("path", data_dir + "/delivery_log.db");
    section.finish();
    log = open_sqlite_delivery_log(path);
  }
  if (!log) {
    section.error("backend", log.status().client_message() + " " + log.status().log_detail());
    return nullptr;
  }
  return std::move(log).value();
}

}  // namespace mailroom::queue
