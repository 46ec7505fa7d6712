// The JMAP HTTP resources: the session object (RFC 8620 2), the API endpoint (RFC 8620 3)
// with its request-level errors (3.6.1) and method dispatch, and authentication.
#include <atomic>
#include <boost/json.hpp>
#include <exception>
#include <mutex>
#include <unordered_map>

#include "auth/authenticator.h"
#include "src/core/address.h"
#include "src/core/json_text.h"
#include "src/core/log.h"
#include "src/core/services.h"
#include "src/jmap/blob.h"
#include "src/jmap/jmap.h"
#include "src/jmap/list_order.h"
#include "src/jmap/methods.h"
#include "src/jmap/preview.h"
#include "src/jmap/push.h"
#include "src/jmap/request.h"
#include "src/jmap/threads.h"
#include "src/jmap/uploads.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

constexpr const char* kCore = "urn:ietf:params:jmap:core";
constexpr const char* kMail = "urn:ietf:params:jmap:mail";
constexpr const char* kSubmission = "urn:ietf:params:jmap:submission";
constexpr const char* kVacation = "urn:ietf:params:jmap:vacationresponse";
constexpr const char* kQuota = "urn:ietf:params:jmap:quota";  // RFC 9425 1.5

struct MethodEntry {
  const char* name;
  const char* capability;
  MethodFn fn;
};

const MethodEntry kMethods[] = {
    {"Core/echo", kCore, core_echo},
    {"Mailbox/get", kMail, mailbox_get},
    {"Mailbox/changes", kMail, mailbox_changes},
    {"Mailbox/query", kMail, mailbox_query},
    {"Mailbox/set", kMail, mailbox_set},
    {"Thread/get", kMail, thread_get},
    {"Thread/changes", kMail, thread_changes},
    {"Email/get", kMail, email_get},
    {"Email/changes", kMail, email_changes},
    {"Email/query", kMail, email_query},
    {"Email/set", kMail, email_set},
    {"Email/import", kMail, email_import},
    {"Email/queryChanges", kMail, email_query_changes},
    {"SearchSnippet/get", kMail, search_snippet_get},
    {"Identity/get", kSubmission, identity_get},
    {"Identity/changes", kSubmission, identity_changes},
    {"Identity/set", kSubmission, identity_set},
    {"EmailSubmission/get", kSubmission, email_submission_get},
    {"EmailSubmission/changes", kSubmission, email_submission_changes},
    {"EmailSubmission/query", kSubmission, email_submission_query},
    {"EmailSubmission/set", kSubmission, email_submission_set},
    {"VacationResponse/get", kVacation, vacation_get},
    {"VacationResponse/set", kVacation, vacation_set},
    {"Quota/get", kQuota, quota_get},
    {"Quota/changes", kQuota, quota_changes},
};

// Requests in progress per account (maxConcurrentRequests): this process only.
class Concurrency {
 public:
  bool enter(const std::string& account, uint64_t max) {
    std::lock_guard<std::mutex> lk(mu_);
    auto& n = running_[account];
    if (n >= max) return false;
    ++n;
    return true;
  }
  void leave(const std::string& account) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = running_.find(account);
    if (it != running_.end() && --it->second == 0) running_.erase(it);
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, uint64_t> running_;
};

struct Jmap {
  Jmap(core::Services& s, Options o)
      : services(s), options(o), threads(static_cast<size_t>(o.thread_cache_bytes)) {}
  core::Services& services;
  Options options;
  Concurrency concurrency;
  Concurrency uploads;
  ListOrderCache list_orders;
  ThreadCache threads;
};

http::Response jmap_problem(int status, const RequestError& e) {
  std::string extra;
  if (!e.limit.empty()) extra = "\"limit\":" + json::serialize(json::value(e.limit));
  std::string title = e.type.substr(kErrorPrefix.size());
  return http::Response::problem(status, title, e.detail, e.type, extra);
}

http::Response unauthorized(std::string_view detail, bool invalid_token) {
  auto r = http::Response::problem(401, "Unauthorized", detail);
  // RFC 7617 2, RFC 6750 3: both schemes are accepted.
  r.set_header("WWW-Authenticate", "Basic realm=\"mailroom\", charset=\"UTF-8\"");
  r.headers.emplace_back("WWW-Authenticate",
                         invalid_token ? "Bearer realm=\"mailroom\", error=\"invalid_token\""
                                       : "Bearer realm=\"mailroom\"");
  return r;
}

struct AuthOutcomeOrResponse {
  std::optional<auth::Principal> principal;
  http::Response refusal;
};

// HTTP Basic (RFC 7617) or Bearer (RFC 6750) through the authenticator IMAP uses.
AuthOutcomeOrResponse authenticate(Jmap& j, const http::Request& req) {
  AuthOutcomeOrResponse out;
  auto header = req.header("authorization");
  if (!header && j.options.session_auth) {
    auth::Principal p;
    if (j.options.session_auth(req, p, out.refusal)) {
      if (!p.account_id.empty()) out.principal = std::move(p);
      return out;
    }
  }
  if (!header) {
    out.refusal = unauthorized("credentials are required", false);
    return out;
  }
  auth::ClientInfo ci{req.session_id, "http", req.remote_ip, req.tls, req.loopback};
  auth::AuthStep step;
  std::string_view h = *header;
  bool bearer = h.size() > 7 && (h.substr(0, 7) == "Bearer " || h.substr(0, 7) == "bearer ");
  if (bearer) {
    std::string token(h.substr(7));
    while (!token.empty() && token.front() == ' ') token.erase(0, 1);
    if (token.empty() || token.size() > 16384 ||
        token.find_first_of(" \x01\r\n") != std::string::npos) {
      out.refusal = unauthorized("malformed bearer token", true);
      return out;
    }
    // The OAUTHBEARER mechanism (RFC 7628 3.1) checks the token as for IMAP and SMTP.
    auto ex = j.services.authenticator->start("OAUTHBEARER", ci);
    step = ex->step(
        "n,,\x01"
        "auth=Bearer " +
        token + "\x01\x01");
    if (step.outcome == auth::AuthOutcome::in_progress ||
        step.outcome == auth::AuthOutcome::bad_mechanism)
      step.outcome = auth::AuthOutcome::failed;  // an error challenge, or no [sso]
  } else {
    auto basic = http::parse_basic_credentials(h);
    if (!basic) {
      out.refusal = unauthorized("use Basic or Bearer authentication", false);
      return out;
    }
    step = j.services.authenticator->check_plain(basic->user, basic->password, ci);
  }
  switch (step.outcome) {
    case auth::AuthOutcome::success:
      out.principal = std::move(step.principal);
      return out;
    case auth::AuthOutcome::throttled:
      out.refusal = http::Response::problem(429, "Too Many Requests", "too many failed logins");
      out.refusal.set_header("Retry-After", "60");
      return out;
    case auth::AuthOutcome::unavailable:
      out.refusal = http::Response::problem(503, "Service Unavailable", "try again later");
      out.refusal.set_header("Retry-After", "30");
      return out;
    case auth::AuthOutcome::encryption_required:
      out.refusal = http::Response::problem(403, "Forbidden", "use TLS to send a password");
      return out;
    default:
      out.refusal = unauthorized("authentication failed", bearer);
      return out;
  }
}

// The URL prefix of this server as the client reached it ("https://mail.example.com").
std::string base_url(const http::Request& req) {
  std::string host = req.header("host").value_or("");
  bool ok = !host.empty() && host.size() <= 255;
  for (char c : host) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
                c == '[' || c == ']');
  }
  if (!ok) host = "localhost";
  return std::string(req.tls ? "https://" : "http://") + host;
}

uint32_t fnv(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

json::object core_capability(const Options& o) {
  json::object c;
  c["maxSizeUpload"] = o.max_size_request;  // the HTTP server's body limit
  c["maxConcurrentUpload"] = o.max_concurrent_upload;
  c["maxSizeRequest"] = o.max_size_request;
  c["maxConcurrentRequests"] = o.max_concurrent_requests;
  c["maxCallsInRequest"] = o.max_calls_in_request;
  c["maxObjectsInGet"] = o.max_objects_in_get;
  c["maxObjectsInSet"] = o.max_objects_in_set;
  c["collationAlgorithms"] = json::array{"i;unicode-casemap"};
  return c;
}

json::object mail_capability(const Options& o) {
  // RFC 8621 1.3.1.
  json::object m;
  m["maxMailboxesPerEmail"] = nullptr;
  m["maxMailboxDepth"] = o.max_mailbox_depth;
  m["maxSizeMailboxName"] = o.max_size_mailbox_name;
  // What EmailSubmission can send ([smtp] max_message_size) less base64's growth by a third.
  m["maxSizeAttachmentsPerEmail"] = o.max_message_size / 4 * 3;
  m["emailQuerySortOptions"] = json::array{"receivedAt", "size", "from", "to", "subject", "sentAt"};
  m["mayCreateTopLevelMailbox"] = true;
  return m;
}

json::object submission_capability() {
  // RFC 8621 1.3.2: no delayed send (undoStatus is "final" at once), no SMTP extensions
  // passed through from the envelope's parameters.
  json::object c;
  c["maxDelayedSend"] = 0;
  c["submissionExtensions"] = json::object{};
  return c;
}

http::Response session_resource(Jmap& j, http::Request& req) {
  auto a = authenticate(j, req);
  if (!a.principal) return a.refusal;
  const auth::Principal& p = *a.principal;
  std::string username = p.address.empty() ? p.login : p.address;
  std::string base = base_url(req);
  json::object s;
  json::object caps;
  caps[kCore] = core_capability(j.options);
  caps[kMail] = json::object{};
  caps[kSubmission] = json::object{};
  caps[kVacation] = json::object{};
  caps[kQuota] = json::object{};
  s["capabilities"] = std::move(caps);
  json::object account;
  account["name"] = username;
  account["isPersonal"] = true;
  account["isReadOnly"] = false;
  account["accountCapabilities"] = json::object{{kMail, mail_capability(j.options)},
                                                {kSubmission, submission_capability()},
                                                {kVacation, json::object{}},
                                                {kQuota, json::object{}}};
  s["accounts"] = json::object{{p.account_id, std::move(account)}};
  s["primaryAccounts"] = json::object{{kMail, p.account_id},
                                      {kSubmission, p.account_id},
                                      {kVacation, p.account_id},
                                      {kQuota, p.account_id}};
  s["username"] = username;
  s["apiUrl"] = base + "/jmap/api";
  s["downloadUrl"] = base + "/jmap/download/{accountId}/{blobId}/{name}?type={type}";
  s["uploadUrl"] = base + "/jmap/upload/{accountId}";
  // RFC 8620 7.3 (push.h).
  s["eventSourceUrl"] =
      base + "/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}";
  char state[16];
  std::snprintf(state, sizeof state, "%08x", fnv(p.account_id + "\n" + username));
  s["state"] = state;
  auto r = http::Response::json(200, json::serialize(s));
  r.set_header("Cache-Control", "no-cache, no-store");
  return r;
}

json::array error_invocation(const std::string& type, const std::string& description,
                             const std::string& id) {
  json::object e;
  e["type"] = type;
  if (!description.empty()) e["description"] = description;
  return json::array{"error", std::move(e), id};
}

http::Response api_resource(Jmap& j, http::Request& req) {
  auto a = authenticate(j, req);
  if (!a.principal) return a.refusal;
  const auth::Principal& p = *a.principal;
  // RFC 8620 3.1: the body is application/json.
  auto type = core::ascii_lower(req.header("content-type").value_or(""));
  auto semi = type.find(';');
  if (semi != std::string::npos) type.resize(semi);
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type != "application/json") {
    return jmap_problem(400, {std::string(kErrorPrefix) + "notJSON",
                              "the Content-Type must be application/json", ""});
  }
  RequestLimits limits;
  limits.max_size_request = j.options.max_size_request;
  limits.max_calls_in_request = j.options.max_calls_in_request;
  ApiRequest request;
  if (auto e = parse_request(req.body, limits, request)) return jmap_problem(400, *e);
  for (const auto& cap : request.using_capabilities) {
    if (cap != kCore && cap != kMail && cap != kSubmission && cap != kVacation && cap != kQuota) {
      return jmap_problem(400, {std::string(kErrorPrefix) + "unknownCapability",
                                "the server does not support " + cap, ""});
    }
  }
  if (!j.concurrency.enter(p.account_id, j.options.max_concurrent_requests)) {
    return jmap_problem(
        400, {std::string(kErrorPrefix) + "limit", "too many requests in progress for this account",
              "maxConcurrentRequests"});
  }
  struct Leave {
    Jmap& j;
    const std::string& account;
    ~Leave() { j.concurrency.leave(account); }
  } leave{j, p.account_id};

  CallContext ctx{j.services,
                  *j.services.store,
                  j.options,
                  p.account_id,
                  p.address.empty() ? p.login : p.address,
                  request.created_ids,
                  req.remote_ip};
  ctx.list_orders = &j.list_orders;
  ctx.threads = &j.threads;
  std::vector<Reply> replies;
  json::array responses;
  for (auto& call : request.calls) {
    const MethodEntry* entry = nullptr;
    for (const auto& m : kMethods)
      if (call.name == m.name) entry = &m;
    bool using_ok = false;
    if (entry) {
      for (const auto& cap : request.using_capabilities)
        using_ok = using_ok || cap == entry->capability;
    }
    std::string etype, edesc;
    auto result = std::make_shared<json::object>();
    std::string name = call.name;
    if (!entry || !using_ok) {
      etype = "unknownMethod";
      edesc = entry ? std::string("add ") + entry->capability + " to \"using\"" : "";
    } else if (!resolve_references(*call.args, replies, etype, edesc)) {
      // etype and edesc are set
    } else {
      try {
        if (auto err = entry->fn(ctx, *call.args, *result)) {
          etype = err->type;
          edesc = err->description;
        }
      } catch (const std::exception& ex) {
        MR_LOG_ERROR("event=jmap.method_failed session={} method={} error={}",
                     core::quote(req.session_id), core::quote(call.name), core::quote(ex.what()));
        etype = "serverFail";
        edesc = "internal error";
      }
    }
    if (!etype.empty()) {
      ctx.implicit.clear();
      auto inv = error_invocation(etype, edesc, call.id);
      replies.push_back(
          Reply{"error", std::make_shared<json::object>(inv[1].as_object()), call.id});
      responses.push_back(std::move(inv));
      continue;
    }
    responses.push_back(json::array{json::value(name), json::value(*result), json::value(call.id)});
    replies.push_back(Reply{std::move(name), std::move(result), call.id});
    for (auto& [implicit_name, implicit_args] : ctx.implicit) {
      responses.push_back(json::array{json::value(implicit_name), json::value(*implicit_args),
                                      json::value(call.id)});
      replies.push_back(Reply{implicit_name, std::move(implicit_args), call.id});
    }
    ctx.implicit.clear();
  }
  json::object body;
  body["methodResponses"] = std::move(responses);
  if (request.has_created_ids) {
    json::object ids;
    for (const auto& [k, v] : request.created_ids) ids[k] = v;
    body["createdIds"] = std::move(ids);
  }
  char state[16];
  std::snprintf(state, sizeof state, "%08x",
                fnv(p.account_id + "\n" + (p.address.empty() ? p.login : p.address)));
  body["sessionState"] = state;
  auto r = http::Response::json(200, json::serialize(body));
  r.set_header("Cache-Control", "no-cache, no-store");
  return r;
}

// RFC 8620 6.1: the body becomes a blob of the account.
http::Response upload_resource(Jmap& j, http::Request& req) {
  auto a = authenticate(j, req);
  if (!a.principal) return a.refusal;
  const std::string& account = a.principal->account_id;
  if (req.params.empty() || req.params[0] != account)
    return http::Response::problem(404, "Not Found", "no such account");
  if (!j.uploads.enter(account, j.options.max_concurrent_upload)) {
    return jmap_problem(
        400, {std::string(kErrorPrefix) + "limit", "too many uploads in progress for this account",
              "maxConcurrentUpload"});
  }
  struct Leave {
    Jmap& j;
    const std::string& account;
    ~Leave() { j.uploads.leave(account); }
  } leave{j, account};
  auto id = save_upload(j.services.data_dir, account, req.body);
  if (!id) {
    if (id.code() == core::Code::too_large)
      return http::Response::problem(413, "Content Too Large", id.status().client_message());
    MR_LOG_WARN("event=jmap.upload_failed session={} detail={}", core::quote(req.session_id),
                core::quote(id.status().log_detail()));
    return http::Response::problem(500, "Internal Server Error", "internal error");
  }
  std::string type = req.header("content-type").value_or("application/octet-stream");
  if (type.size() > 255) type = "application/octet-stream";
  json::object o;
  o["accountId"] = account;
  o["blobId"] = *id;
  o["type"] = core::utf8_or_replacement(type);
  o["size"] = req.body.size();
  return http::Response::json(201, json::serialize(o));
}

}  // namespace

void add_routes(http::Router& router, core::Services& services, Options options) {
  auto j = std::make_shared<Jmap>(services, options);
  router.add("GET", "/.well-known/jmap", [j](http::Request& r) { return session_resource(*j, r); });
  router.add("POST", "/jmap/api", [j](http::Request& r) { return api_resource(*j, r); });
  router.add("GET", "/jmap/download/{account}/{blob}/{name}", [j](http::Request& r) {
    auto a = authenticate(*j, r);
    if (!a.principal) return a.refusal;
    return download_blob(*j->services.store, j->services.data_dir, a.principal->account_id, r);
  });
  router.add("GET", "/jmap/preview/{account}/{blob}/{name}", [j](http::Request& r) {
    auto a = authenticate(*j, r);
    if (!a.principal) return a.refusal;
    return preview_office(j->options.office_preview.get(), *j->services.store, j->services.data_dir,
                          a.principal->account_id, r);
  });
  router.add("POST", "/jmap/upload/{account}",
             [j](http::Request& r) { return upload_resource(*j, r); });
  // RFC 8620 7.3 push (push.h): a stream that holds no worker once it is open.
  auto events = [j](http::Request& r) {
    auto a = authenticate(*j, r);
    if (!a.principal) return a.refusal;
    return event_source(j->services, j->options, *a.principal, r, !r.header("authorization"));
  };
  router.add("GET", "/jmap/eventsource/", events);
  router.add("GET", "/jmap/eventsource", events);
}

}  // namespace mailroom::jmap
