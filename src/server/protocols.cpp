#include "src/server/protocols.h"

#include "src/server/module_options.h"

namespace mailroom::server {

core::Result<net::SessionHandler> make_protocol_handler(const std::string& protocol,
                                                        core::Services& services,
                                                        const ModuleOptions& options) {
  if (protocol == "smtp" || protocol == "submission" || protocol == "lmtp") {
    return smtp::make_session_handler(services, options.smtp, protocol);
  }
  if (protocol == "imap") return imap::make_session_handler(services, options.imap);
  if (protocol == "pop3") return pop3::make_session_handler(services, options.pop3);
  return core::invalid_argument("unknown protocol \"" + protocol + "\"");
}

}  // namespace mailroom::server
