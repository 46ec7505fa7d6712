// Operations endpoints of mailroomd's HTTP front end (issue 17, "Operations"):
//   GET /metrics  Prometheus text exposition format 0.0.4 (src/core/metrics.h). A loopback
//                 client needs no credentials (the usual scraper beside the server); any other
//                 caller authenticates as for the admin API (ctx.authenticate(request, "api"))
//                 and needs some role: 401 without credentials, 403 with a grant-less caller.
//                 Runs on the worker pool (authenticating may block).
//   GET /healthz  the process answers: 200 "ok". On the I/O thread; touches nothing.
//   GET /readyz   200 when the directory answers a cheap lookup (found or not found, not
//                 "could not tell") and the store root accepts a new file; else 503 with a
//                 JSON body naming the failing checks. On the worker pool (both checks block).
// HEAD works on each (http::Router matches HEAD to GET).
#pragma once

#include "src/api/context.h"
#include "src/http/http.h"

namespace mailroom::api {

void add_ops_routes(http::Router& router, Context& ctx);

// The readiness checks alone, for tests and mailroomctl-style diagnostics: "" when fine, else
// a short client-safe reason.
std::string ops_check_directory(Context& ctx);
std::string ops_check_store(Context& ctx);

}  // namespace mailroom::api
