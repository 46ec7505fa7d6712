#include "src/api/ops_routes.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "auth/directory.h"
#include "src/core/json_text.h"
#include "src/core/log.h"
#include "src/core/metric_catalog.h"
#include "src/core/metrics.h"
#include "src/store/mail_store.h"
#include "src/store/maintenance.h"
#include "src/store/store_options.h"

namespace mailroom::api {
namespace {

http::Response ops_no_store(http::Response r) {
  r.set_header("Cache-Control", "no-store");
  return r;
}

http::Response ops_metrics(Context& ctx, http::Request& request) {
  if (!request.loopback) {
    if (!ctx.callers) {
      // No way to authenticate anyone (a front end wired without the API's callers).
      auto r = http::Response::problem(401, "Unauthorized", "authentication required");
      r.set_header("WWW-Authenticate", "Bearer realm=\"mailroom\"");
      return r;
    }
    auto caller = ctx.authenticate(request, "api");
    if (!caller) return caller.error_response();
    // Server-wide counters: for a role over domains, not for one limited to a group's
    // members (it sees those members' mail and nothing of the server).
    bool scoped_to_members = std::all_of(caller->grants.begin(), caller->grants.end(),
                                         [](const auto& g) { return !g.members_of.empty(); });
    if (caller->grants.empty() || scoped_to_members) {
      return http::Response::problem(403, "Forbidden",
                                     caller->grants.empty()
                                         ? "the caller holds no role"
                                         : "a role limited to a group's members sees no metrics");
    }
  }
  return ops_no_store(
      http::Response::text(200, metrics::render_prometheus(), std::string(metrics::kContentType)));
}

http::Response ops_readyz(Context& ctx) {
  std::string directory = ops_check_directory(ctx);
  std::string store = ops_check_store(ctx);
  bool ready = directory.empty() && store.empty();
  std::string body =
      std::string("{\"status\":") + (ready ? "\"ready\"" : "\"not_ready\"") +
      ",\"checks\":{\"directory\":" + core::json_quote(directory.empty() ? "ok" : directory) +
      ",\"store\":" + core::json_quote(store.empty() ? "ok" : store) + "}}";
  auto r = http::Response::json(ready ? 200 : 503, std::move(body));
  if (!ready) {
    MR_LOG_WARN("event=http.not_ready directory={} store={}", core::quote(directory),
                core::quote(store));
    r.set_header("Retry-After", "10");
  }
  return ops_no_store(std::move(r));
}

}  // namespace

std::string ops_check_directory(Context& ctx) {
  if (!ctx.services || !ctx.services->directory) return "no directory configured";
  // A name no directory holds (RFC 2606 .invalid): one indexed lookup that must answer
  // "not found"; only "could not tell" means the directory is not there.
  auto r = ctx.services->directory->find_domain("readyz.invalid");
  if (r.is_ok() || r.code() == core::Code::not_found) return "";
  return std::string("directory ") + core::code_name(r.code()) + ": " + r.status().client_message();
}

std::string ops_check_store(Context& ctx) {
  if (!ctx.services || !ctx.services->store) return "no mail store configured";
  const store::StoreOptions* options = store::file_store_options(*ctx.services->store);
  if (!options) return "";  // another MailStore (tests): nothing on disk to check
  // Writable means a new file can be made there now (a read-only remount, a full disk or lost
  // permissions fail it), not just that the mode bits allow it. Not fsync'd: nothing is kept.
  static std::atomic<uint64_t> seq{0};
  std::string path = options->root + "/.readyz-" + std::to_string(::getpid()) + "-" +
                     std::to_string(seq.fetch_add(1, std::memory_order_relaxed));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::string("store root not writable: ") + std::strerror(errno);
  bool wrote = ::write(fd, "x", 1) == 1;
  int saved = errno;
  ::close(fd);
  ::unlink(path.c_str());
  if (!wrote) return std::string("store root not writable: ") + std::strerror(saved);
  return "";
}

void add_ops_routes(http::Router& router, Context& ctx) {
  metrics::register_all();  // every family named in /metrics from the first scrape
  router.add("GET", "/metrics",
             [&ctx](http::Request& request) { return ops_metrics(ctx, request); });
  router.add(
      "GET", "/healthz",
      [](http::Request&) { return ops_no_store(http::Response::text(200, "ok\n")); },
      /*on_io_thread=*/true);
  router.add("GET", "/readyz", [&ctx](http::Request&) { return ops_readyz(ctx); });
}

}  // namespace mailroom::api
