// mailroomd's HTTP routes: every front end on the [[listener]] protocol = "http".
#pragma once

#include <memory>

#include "src/api/context.h"
#include "src/http/http.h"

namespace mailroom::api {

// The admin API (/api/v1 and its OpenAPI document), SCIM (/scim/v2), metrics and health,
// client autoconfiguration.
std::shared_ptr<http::Router> make_router(std::shared_ptr<Context> ctx);

}  // namespace mailroom::api
