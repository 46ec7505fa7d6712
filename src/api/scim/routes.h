// SCIM 2.0 (RFC 7643, RFC 7644) at /scim/v2: Users, Groups, ServiceProviderConfig,
// ResourceTypes, Schemas, on the local directory (src/api/scim/resources.h has the mapping).
//
//   GET    /scim/v2/Users            filter, startIndex, count (max 1000), attributes,
//                                    excludedAttributes, sortBy, sortOrder
//   POST   /scim/v2/Users            201 + Location + ETag; userName taken: 409 uniqueness
//   POST   /scim/v2/Users/.search    the same query as a SearchRequest body
//   GET    /scim/v2/Users/{id}       ETag; If-None-Match: 304
//   PUT    /scim/v2/Users/{id}       If-Match (412 when the ETag differs)
//   PATCH  /scim/v2/Users/{id}       If-Match; RFC 7644 3.5.2 (patch.h)
//   DELETE /scim/v2/Users/{id}       204; the mailbox stays on disk
//   ... the same for /scim/v2/Groups; GET /ServiceProviderConfig, /ResourceTypes[/{name}],
//   /Schemas[/{id}].
//
// Every route authenticates (`ctx.authenticate(request, "scim")`). Users and Groups need the
// local directory as the backend: with LDAP / Active Directory or SQL the corporate directory
// is the source of truth and every /Users and /Groups request answers 501 saying so.
// Errors are RFC 7644 3.12 messages (application/scim+json, status as a string, scimType).
// Bodies larger than kMaxScimBody answer 413.
#pragma once

#include <cstddef>
#include <memory>

#include "src/api/context.h"
#include "src/http/http.h"

namespace mailroom::api {

inline constexpr size_t kMaxScimBody = 1024 * 1024;
inline constexpr size_t kMaxScimResults = 1000;

void add_scim_routes(http::Router& router, std::shared_ptr<Context> ctx);

}  // namespace mailroom::api
