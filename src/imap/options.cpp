#include "src/core/config_section.h"
#include "src/imap/imap_server.h"

namespace mailroom::imap {

Options parse_options(core::ConfigSection& section) {
  Options o;
  o.autologout_seconds = section.get_seconds("autologout", o.autologout_seconds);
  if (o.autologout_seconds < 1800) {
    section.error("autologout", "must be at least 30m (RFC 3501 section 5.4)");
    o.autologout_seconds = 1800;
  }
  o.login_timeout_seconds = section.get_seconds("login_timeout", o.login_timeout_seconds);
  o.idle_hibernate_seconds = section.get_seconds("idle_hibernate", o.idle_hibernate_seconds);
  if (o.idle_hibernate_seconds < 0) {
    section.error("idle_hibernate", "must not be negative (0 = never)");
    o.idle_hibernate_seconds = 30;
  }
  o.max_line = section.get_size("max_line", o.max_line);
  if (o.max_line < 1000) {
    section.error("max_line", "must be at least 1000 bytes (RFC 7162 section 4)");
    o.max_line = 1000;
  }
  o.max_literal = section.get_size("max_literal", o.max_literal);
  o.login_max_literal = section.get_size("login_max_literal", o.login_max_literal);
  o.login_max_command = section.get_size("login_max_command", o.login_max_command);
  if (o.login_max_literal > o.login_max_command) {
    section.error("login_max_literal", "must not exceed login_max_command");
    o.login_max_literal = o.login_max_command;
  }
  o.max_bad_commands =
      static_cast<int>(section.get_int("max_bad_commands", o.max_bad_commands, 1, 100000));
  o.fetch_batch = static_cast<int>(section.get_int("fetch_batch", o.fetch_batch, 1, 10000));
  // RFC 5464 4.1: at least 1024 octets per value and 10 entries.
  o.metadata_admin = section.get_string("metadata_admin", o.metadata_admin);
  o.metadata_comment = section.get_string("metadata_comment", o.metadata_comment);
  o.metadata_max_value = section.get_size("metadata_max_value", o.metadata_max_value);
  if (o.metadata_max_value < 1024) {
    section.error("metadata_max_value", "must be at least 1024 bytes (RFC 5464 section 4.1)");
    o.metadata_max_value = 1024;
  }
  o.metadata_max_entries = static_cast<uint64_t>(section.get_int(
      "metadata_max_entries", static_cast<int64_t>(o.metadata_max_entries), 10, 1000000));
  o.metadata_max_bytes = section.get_size("metadata_max_bytes", o.metadata_max_bytes);
  if (o.metadata_max_bytes < o.metadata_max_value) {
    section.error("metadata_max_bytes", "must not be below metadata_max_value");
    o.metadata_max_bytes = o.metadata_max_value;
  }
  std::string seen = section.get_string("shared_seen", "per-user");
  if (seen != "per-user" && seen != "shared")
    section.error("shared_seen", "must be \"per-user\" or \"shared\"");
  o.shared_seen_per_user = seen != "shared";
  o.notify_max_pending = static_cast<uint64_t>(
      section.get_int("notify_max_pending", static_cast<int64_t>(o.notify_max_pending), 1, 100000));
  section.finish();
  return o;
}

}  // namespace mailroom::imap
