// The admin REST API, /api/v1 (issue 17): everything mailroomctl does, through the same
// service layer (src/service), for callers holding a role (src/service/admin_access.h).
//
// Every route is declared once in a table (admin_routes.cpp) with the action it performs and
// how the domain of its object is found; one wrapper authenticates, finds that domain, and
// answers 404 when the caller cannot see it and 403 when the caller's role lacks the action,
// before the handler runs. The OpenAPI document and the role-matrix test read the same table.
// Errors are RFC 9457 problem details; bodies are JSON objects with no unknown members.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/api/context.h"
#include "src/http/http.h"

namespace mailroom::api {

// How the wrapper finds the domain an endpoint acts in.
enum class ObjectScope {
  server,   // a server-wide object: "" (global admins)
  domain,   // the first path parameter is a domain name
  user,     // the first path parameter names an account (address, login or id): its domain
  address,  // the first path parameter is an alias or group address: its domain
  listing,  // a list filtered to the caller's domains (optionally ?domain=)
  body,     // a creation: the handler finds the domain in the body and calls authorize()
};

struct AdminRouteSpec {
  const char* method;
  const char* pattern;
  service::Action action;
  ObjectScope scope;
  const char* summary;   // for the OpenAPI document
  bool dry_run = false;  // accepts ?dry_run=true
};

// The table, in the order routes are added.
const std::vector<AdminRouteSpec>& admin_route_specs();

void add_admin_routes(http::Router& router, std::shared_ptr<Context> ctx);

// The OpenAPI 3.1 document of the admin API (served at /api/v1/openapi.json).
std::string openapi_document(const std::string& server_url);

}  // namespace mailroom::api
