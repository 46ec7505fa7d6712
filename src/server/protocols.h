// The explicit list of protocols a [[listener]] may serve (STYLE.md example 1).
#pragma once

#include <memory>
#include <string>

#include "src/core/services.h"
#include "src/core/status.h"
#include "src/http/http.h"
#include "src/net/session_handler.h"

namespace mailroom::server {

struct ModuleOptions;

// The session handler for `protocol` ("smtp", "submission", "lmtp", "imap", "pop3",
// "managesieve", "http").
// `http_routes`: what an "http" listener serves (src/api/router.h).
core::Result<net::SessionHandler> make_protocol_handler(
    const std::string& protocol, core::Services& services, const ModuleOptions& options,
    std::shared_ptr<const http::Router> http_routes);

}  // namespace mailroom::server
