#include "src/api/router.h"

#include "src/api/admin_routes.h"
#include "src/api/autoconfig.h"
#include "src/api/caller.h"
#include "src/api/ops_routes.h"
#include "src/api/scim/routes.h"
#include "src/service/admin_store.h"
#include "src/service/journal.h"

namespace mailroom::api {

std::shared_ptr<http::Router> make_router(std::shared_ptr<Context> ctx) {
  auto router = std::make_shared<http::Router>();
  // The API's description is public: it names no object.
  // Its server URL is relative (OpenAPI 3.1 4.8.5.1): never built from the client's Host.
  router->add("GET", "/api/v1/openapi.json", [](http::Request&) {
    auto r = http::Response::json(200, openapi_document("/api/v1"));
    r.set_header("Cache-Control", "no-cache");
    return r;
  });
  add_admin_routes(*router, ctx);
  add_scim_routes(*router, ctx);
  add_autoconfig_routes(*router, ctx);
  // /metrics, /healthz, /readyz; the router's handlers live no longer than ctx (the daemon
  // keeps both).
  add_ops_routes(*router, *ctx);
  return router;
}

core::Result<std::shared_ptr<CallerAuthenticator>> open_callers(const core::Services& services) {
  auto admin = service::open_admin_access(services.data_dir, services.resolver);
  if (!admin) return admin.status();
  return make_caller_authenticator(services, *admin);
}

std::shared_ptr<service::ChangeJournal> open_journal(const core::Services& services) {
  return std::make_shared<service::ChangeJournal>(
      service::ChangeJournal::path_in(services.data_dir));
}

}  // namespace mailroom::api
