#include "src/core/config_section.h"
#include "src/pop3/pop3.h"

namespace mailroom::pop3 {

Options parse_options(core::ConfigSection& section) {
  Options o;
  // RFC 1939 section 3: at least 10 minutes.
  o.idle_timeout_seconds = section.get_seconds("idle_timeout", o.idle_timeout_seconds);
  o.login_timeout_seconds = section.get_seconds("login_timeout", o.login_timeout_seconds);
  if (o.idle_timeout_seconds < 600) {
    section.error("idle_timeout", "must be at least 600 seconds (RFC 1939 section 3)");
    o.idle_timeout_seconds = 600;
  }
  o.max_errors = static_cast<int>(section.get_int("max_errors", o.max_errors, 1, 1000));
  o.implementation = section.get_string("implementation", o.implementation);
  for (unsigned char c : o.implementation) {
    if (c < 0x20 || c >= 0x7f) {
      section.error("implementation", "must be printable ASCII");
      o.implementation = "Mailroom";
      break;
    }
  }
  o.max_auth_response = static_cast<std::size_t>(section.get_int(
      "max_auth_response", static_cast<int64_t>(o.max_auth_response), 256, 1 << 20));
  o.retrieval_sync_messages = static_cast<std::size_t>(section.get_int(
      "retrieval_sync_messages", static_cast<int64_t>(o.retrieval_sync_messages), 1, 100000));
  o.retrieval_sync_ms = section.get_int("retrieval_sync_ms", o.retrieval_sync_ms, 0, 600000);
  section.finish();
  return o;
}

}  // namespace mailroom::pop3
