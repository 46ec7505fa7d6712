#include "src/core/config_section.h"
#include "src/smtp/smtp_server.h"

namespace mailroom::smtp {

Options parse_options(core::ConfigSection& s) {
  Options o;
  o.max_message_size = s.get_size("max_message_size", o.max_message_size);
  o.max_recipients = static_cast<size_t>(s.get_int("max_recipients", 1000, 1, 100000));
  o.max_line_length = static_cast<size_t>(s.get_int("max_line_length", 1000, 512, 65536));
  o.max_commands_before_mail =
      static_cast<size_t>(s.get_int("commands_before_mail", 50, 1, 100000));
  o.max_errors = static_cast<size_t>(s.get_int("max_errors", 10, 1, 1000));
  o.bare_lf = s.get_choice("bare_lf", "reject", {"reject", "accept"}) == "accept" ? BareLf::accept
                                                                                  : BareLf::reject;
  o.banner = s.get_string("banner", o.banner);
  o.data_timeout = std::chrono::seconds(s.get_seconds("data_timeout", 600));
  o.max_connection_rate =
      static_cast<size_t>(s.get_int("connection_rate_per_minute", 0, 0, 1000000));
  o.send_as_exempt_domains = s.get_strings("send_as_exempt_domains", {});
  o.mx_reject_local_senders = s.get_bool("mx_reject_local_senders", false);
  o.submission_add_headers = s.get_bool("submission_add_headers", true);
  o.login_timeout = std::chrono::seconds(s.get_seconds("login_timeout", 180));
  for (const auto& n : s.get_strings("trusted_networks", {})) {
    if (auto cidr = core::Cidr::parse(n)) {
      o.trusted_networks.push_back(*cidr);
    } else {
      s.error("trusted_networks", "not an IP address or CIDR block: \"" + n + "\"");
    }
  }
  for (const auto& n : s.get_strings("relay_networks", {})) {
    if (auto cidr = core::Cidr::parse(n)) {
      o.relay_networks.push_back(*cidr);
    } else {
      s.error("relay_networks", "not an IP address or CIDR block: \"" + n + "\"");
    }
  }
  s.finish();
  return o;
}

}  // namespace mailroom::smtp
