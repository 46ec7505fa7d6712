// What every HTTP front end of mailroomd (admin API, SCIM, metrics, autoconfiguration) is given,
// and the helpers they share: the caller's authentication and errors as RFC 9457 problems.
//
// Handlers run on the worker pool (http/http.h), so they may call the service layer directly.
// A handler authenticates first:
//     auto caller = ctx.authenticate(request, "api");
//     if (!caller) return caller.error_response();
// and checks scope with service::Caller::can_see / can (src/service/admin_access.h): an object
// outside the caller's domains answers 404, an action the role lacks 403.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/api/autoconfig_options.h"
#include "src/core/services.h"
#include "src/core/status.h"
#include "src/http/http.h"
#include "src/service/admin_access.h"

namespace mailroom::service {
class ChangeJournal;
class RecallService;
}  // namespace mailroom::service

namespace mailroom::api {

// core::Status -> problem details (src/http/http.h; shared with the web client's routes).
using http::problem_from_status;

// The outcome of authenticating a request: a caller, or the response to send (401 with
// WWW-Authenticate: Bearer per RFC 6750 3, or 503 when the identity provider cannot answer).
class AuthResult {
 public:
  AuthResult(service::Caller caller) : caller_(std::move(caller)) {}    // NOLINT: implicit
  AuthResult(http::Response refusal) : refusal_(std::move(refusal)) {}  // NOLINT: implicit
  explicit operator bool() const { return caller_.has_value(); }
  service::Caller& operator*() { return *caller_; }
  service::Caller* operator->() { return &*caller_; }
  http::Response error_response() const { return *refusal_; }

 private:
  std::optional<service::Caller> caller_;
  std::optional<http::Response> refusal_;
};

// Turns `Authorization: Bearer <token>` into a caller: a Mailroom API token (mailroomctl
// api-token), or with [sso] a token from the company's identity provider naming an account
// that holds a role (directly or through a directory group). Implemented in src/api/caller.cpp.
class CallerAuthenticator {
 public:
  virtual ~CallerAuthenticator() = default;
  // front_end: "api" or "scim" (recorded in the caller and the journal). Blocks.
  virtual AuthResult authenticate(const http::Request& request, std::string_view front_end) = 0;
};

// The server's open sessions (mailroomd fills it from its connection tracker; empty in tests
// that do not need it).
struct SessionInfo {
  std::string session_id;
  std::string protocol;
  std::string remote_ip;
  std::string account_id;
  std::string address;
  bool app_password = false;
  int64_t since = 0;  // unix seconds
};
struct SessionControl {
  std::function<std::vector<SessionInfo>()> list;
  // Closes the account's sessions; returns how many.
  std::function<std::size_t(const std::string& account_id)> close_account;
};

struct Context {
  core::Services* services = nullptr;
  std::shared_ptr<CallerAuthenticator> callers;
  // Public facts for autoconfiguration and the OpenAPI document.
  std::string hostname;
  std::string config_path;  // for the directory sync operations (service::DirectorySync)
  SessionControl sessions;
  // Every write through the API or SCIM is recorded here (null: not journaled, unit tests).
  std::shared_ptr<service::ChangeJournal> journal;
  // Mail recall (src/service/recall.h); null: the recall routes answer 503.
  std::shared_ptr<service::RecallService> recall;
  // Client autoconfiguration ([autoconfig], src/api/autoconfig.h); null: not served.
  std::shared_ptr<const AutoconfigOptions> autoconfig;
  // Where mail clients connect: one per imap, pop3 and submission listener with TLS, with the
  // port it got (filled by the wiring after the listeners opened and before they start, then
  // read-only; [autoconfig] public ports are applied per request).
  std::vector<ClientEndpoint> client_endpoints;

  AuthResult authenticate(const http::Request& request, std::string_view front_end) const {
    return callers->authenticate(request, front_end);
  }
};

}  // namespace mailroom::api
