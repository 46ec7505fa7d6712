// The ManageSieve server (RFC 5804) as the listener sees it: options parsed once from
// [managesieve], and a session handler for [[listener]] protocol = "managesieve" (port 4190;
// tls = "starttls", or "implicit" although RFC 5804 defines only STARTTLS).
//
// Scripts are stored per account id by sieve::ScriptStore (src/sieve/script_store.h) and
// checked with Sieve's parser before they are stored (PUTSCRIPT, CHECKSCRIPT). Logins use
// the same authenticator and SASL dialogue as IMAP and POP3 (src/net/sasl_dialogue.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "src/core/services.h"
#include "src/net/session_handler.h"

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::managesieve {

struct Options {
  int64_t idle_timeout_seconds = 1800;
  int64_t login_timeout_seconds = 180;
  int max_errors = 10;  // NO answers to client mistakes before BYE
  std::string implementation = "Mailroom";
  std::size_t max_auth_response = 16384;
  // Largest literal read; a larger one (up to 16 MiB) is read and thrown away with a NO, a
  // still larger one ends the session. Scripts larger than [sieve] max_script_size are
  // refused with NO (QUOTA/MAXSIZE) in any case.
  std::size_t max_literal = 256 * 1024;
};

// Reads [managesieve]: idle_timeout, login_timeout, max_errors, implementation,
// max_auth_response, max_literal.
Options parse_options(core::ConfigSection& section);

net::SessionHandler make_session_handler(core::Services& services, const Options& options);

}  // namespace mailroom::managesieve
