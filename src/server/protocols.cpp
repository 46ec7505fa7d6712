#include "src/server/protocols.h"

#include "src/core/metric_catalog.h"
#include "src/filter/blocklist.h"
#include "src/http/server.h"
#include "src/server/module_options.h"

namespace mailroom::server {

namespace {

core::Result<net::SessionHandler> make_handler(const std::string& protocol,
                                               core::Services& services,
                                               const ModuleOptions& options,
                                               std::shared_ptr<const http::Router> http_routes) {
  if (protocol == "smtp" || protocol == "submission" || protocol == "lmtp") {
    return smtp::make_session_handler(services, options.smtp, protocol);
  }
  if (protocol == "imap") return imap::make_session_handler(services, options.imap);
  if (protocol == "pop3") return pop3::make_session_handler(services, options.pop3);
  if (protocol == "managesieve") {
    return managesieve::make_session_handler(services, options.managesieve);
  }
  if (protocol == "http") {
    if (!http_routes) return core::internal_error("no HTTP routes");
    // mailroom_http_requests_total and _duration_seconds, by the family of the matched route
    // (never the raw path: a client could mint series).
    auto observer = [](const http::Request&, const std::string& route, int status, double seconds) {
      metrics::http_request(metrics::http_route_family(route), status, seconds);
    };
    return http::make_session_handler(std::move(http_routes), *services.workers, options.http,
                                      observer);
  }
  return core::invalid_argument("unknown protocol \"" + protocol + "\"");
}

}  // namespace

core::Result<net::SessionHandler> make_protocol_handler(
    const std::string& protocol, core::Services& services, const ModuleOptions& options,
    std::shared_ptr<const http::Router> http_routes) {
  auto handler = make_handler(protocol, services, options, std::move(http_routes));
  // The administrator's IP block list holds for every protocol (issue 13, item 10), checked
  // when the connection is accepted, before any protocol byte.
  if (handler && services.blocklist) {
    auto blocklist = services.blocklist;
    handler->accept_ip = [blocklist](const std::string& ip) { return !blocklist->blocks_ip(ip); };
  }
  return handler;
}

}  // namespace mailroom::server
