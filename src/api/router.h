// mailroomd's HTTP routes: every front end on the [[listener]] protocol = "http".
#pragma once

#include <memory>

#include "src/api/context.h"
#include "src/http/http.h"

namespace mailroom::api {

// The admin API (/api/v1 and its OpenAPI document), SCIM (/scim/v2), metrics and health,
// client autoconfiguration.
std::shared_ptr<http::Router> make_router(std::shared_ptr<Context> ctx);

// The callers of mailroomd's HTTP front ends: API tokens and role grants from
// <data_dir>/admin.db (opened here), and with [sso] the identity provider's tokens.
core::Result<std::shared_ptr<CallerAuthenticator>> open_callers(const core::Services& services);

// The change journal the HTTP front ends record into (<data_dir>/journal.db, the file
// mailroomctl records into too; created by the first write).
std::shared_ptr<service::ChangeJournal> open_journal(const core::Services& services);

}  // namespace mailroom::api
