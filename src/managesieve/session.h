// One ManageSieve session (RFC 5804): non-authenticated and authenticated states, a command
// table with the state each command needs, the script commands in cmd_scripts.cpp.
//
// Threading: a session runs on its connection's strand; the authenticator and the script
// store are called through services.workers.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "auth/authenticator.h"
#include "src/core/services.h"
#include "src/managesieve/managesieve.h"
#include "src/managesieve/proto/command.h"
#include "src/net/transport.h"

namespace mailroom::managesieve {

using Awaitable = boost::asio::awaitable<void>;

class Session {
 public:
  Session(net::Transport& transport, core::Services& services, const Options& options);
  Awaitable run();

 private:
  friend struct CommandTable;
  using Args = std::vector<proto::Argument>;
  Awaitable cmd_capability(const Args& a);
  Awaitable cmd_authenticate(const Args& a);
  Awaitable cmd_starttls(const Args& a);
  Awaitable cmd_logout(const Args& a);
  Awaitable cmd_noop(const Args& a);
  Awaitable cmd_unauthenticate(const Args& a);
  // cmd_scripts.cpp
  Awaitable cmd_havespace(const Args& a);
  Awaitable cmd_putscript(const Args& a);
  Awaitable cmd_checkscript(const Args& a);
  Awaitable cmd_listscripts(const Args& a);
  Awaitable cmd_setactive(const Args& a);
  Awaitable cmd_getscript(const Args& a);
  Awaitable cmd_deletescript(const Args& a);
  Awaitable cmd_renamescript(const Args& a);

  std::string capabilities() const;
  // "NO (code) "text"" (code may be empty); counts towards the error limit.
  void no(std::string_view code, std::string_view text);
  void ok(std::string_view text = "");
  // A NO for a failed script store call (TRYLATER for temporary failures, logged).
  void store_error(const char* what, const core::Status& s);
  auth::ClientInfo client_info() const;
  void send(std::string_view data) { transport_.queue(data); }

  net::Transport& transport_;
  core::Services& services_;
  const Options& options_;
  bool authenticated_ = false;
  bool close_ = false;
  int errors_ = 0;
  auth::Principal principal_;
};

}  // namespace mailroom::managesieve
