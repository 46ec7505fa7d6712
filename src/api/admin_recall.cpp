// Mail recall on the admin API (issue 18; service::RecallService does the work and applies
// the caller's scope):
//   GET  /api/v1/recall/messages?reason=...&message_id=&sender=&...  search with evidence
//   POST /api/v1/recalls            {"message_ids":[..],"queue_ids":[..],"reason":..,"dry_run":b}
//   GET  /api/v1/recalls            the caller's recalls (every recall for global admins)
//   GET  /api/v1/recalls/{id}       one report (?format=csv)
//   POST /api/v1/recalls/{id}/undo  {"reason":..}
//   GET  /api/v1/recall/audit       the audit trail (?actor=&action=&text=&since=&until=&limit=)
//   POST /api/v1/self/recall        {"message_id":..}: sender self-recall, HTTP Basic (RFC 7617)
//                                   with the user's own password or app password
#include <boost/json.hpp>

#include "auth/authenticator.h"
#include "src/api/admin_internal.h"
#include "src/core/log.h"
#include "src/service/recall.h"

namespace mailroom::api {

namespace json = boost::json;

namespace {

http::Response raw_json(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.set_header("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

http::Response csv(std::string body, const std::string& name) {
  http::Response r;
  r.status = 200;
  r.set_header("Content-Type", "text/csv; charset=utf-8");
  r.set_header("Content-Disposition", "attachment; filename=\"" + name + ".csv\"");
  r.body = std::move(body);
  return r;
}

http::Response no_recall() {
  return http::Response::problem(503, "Service Unavailable", "mail recall is not configured");
}

bool limit_param(const http::Request& r, size_t& out, size_t max, std::string& error) {
  auto v = r.query_param("limit");
  if (!v) return true;
  if (v->empty() || v->size() > 7 || v->find_first_not_of("0123456789") != std::string::npos) {
    error = "limit must be a number";
    return false;
  }
  out = std::clamp<size_t>(std::stoul(*v), 1, max);
  return true;
}

bool wants_csv(const http::Request& r) {
  auto f = r.query_param("format");
  return f && *f == "csv";
}

std::optional<std::vector<std::string>> string_list(const json::object& o, const char* key,
                                                    std::string& error) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end()) return out;
  if (!it->value().is_array()) {
    error = std::string(key) + " must be an array of strings";
    return std::nullopt;
  }
  for (const auto& v : it->value().as_array()) {
    if (!v.is_string() || v.as_string().empty()) {
      error = std::string(key) + " must be an array of non-empty strings";
      return std::nullopt;
    }
    out.emplace_back(v.as_string());
  }
  return out;
}

}  // namespace

http::Response admin_recall_find(AdminCall& c) {
  if (!c.ctx.recall) return no_recall();
  auto& r = c.request;
  service::RecallCriteria criteria;
  auto& q = criteria.query;
  q.message_id = r.query_param("message_id").value_or("");
  q.queue_id = r.query_param("queue_id").value_or("");
  q.envelope_sender = r.query_param("sender").value_or("");
  q.recipient = r.query_param("recipient").value_or("");
  q.sender_domain = r.query_param("sender_domain").value_or("");
  q.recipient_domain = r.query_param("recipient_domain").value_or("");
  q.subject_prefix = r.query_param("subject_prefix").value_or("");
  q.subject_contains = r.query_param("subject_contains").value_or("");
  criteria.group = r.query_param("group").value_or("");
  std::string error;
  q.limit = 0;  // the service's max_records
  q.since = admin_time_param(r, "since", error);
  q.until = admin_time_param(r, "until", error);
  if (!error.empty() || !limit_param(r, q.limit, 1000000, error)) return admin_bad_request(error);
  std::string reason = r.query_param("reason").value_or("");
  auto found = c.ctx.recall->find(c.caller, criteria, reason);
  if (!found) return problem_from_status(found.status());
  if (wants_csv(r)) return csv(service::recall_report_csv(*found), "recall-search");
  return raw_json(200, service::message_reports_json(*found));
}

http::Response admin_recall_create(AdminCall& c) {
  if (!c.ctx.recall) return no_recall();
  json::object body;
  if (auto bad =
          admin_parse_object(c.request, body, {"message_ids", "queue_ids", "reason", "dry_run"}))
    return *bad;
  std::string error;
  auto mids = string_list(body, "message_ids", error);
  auto qids = string_list(body, "queue_ids", error);
  if (!mids || !qids) return admin_bad_request(error);
  std::string reason;
  if (auto it = body.find("reason"); it != body.end()) {
    if (!it->value().is_string()) return admin_bad_request("reason must be a string");
    reason = std::string(it->value().as_string());
  }
  bool dry_run = c.dry_run;
  if (auto it = body.find("dry_run"); it != body.end()) {
    if (!it->value().is_bool()) return admin_bad_request("dry_run must be true or false");
    dry_run = dry_run || it->value().as_bool();
  }
  auto report = c.ctx.recall->recall(c.caller, *mids, *qids, reason, dry_run);
  if (!report) return problem_from_status(report.status());
  http::Response out = raw_json(dry_run ? 200 : 201, service::recall_report_json(*report));
  if (!dry_run) out.set_header("Location", "/api/v1/recalls/" + report->recall_id);
  return out;
}

http::Response admin_recalls_list(AdminCall& c) {
  if (!c.ctx.recall) return no_recall();
  size_t limit = 100;
  std::string error;
  if (!limit_param(c.request, limit, 10000, error)) return admin_bad_request(error);
  auto list = c.ctx.recall->list(c.caller, limit);
  if (!list) return problem_from_status(list.status());
  return raw_json(200, service::recall_summaries_json(*list));
}

http::Response admin_recall_show(AdminCall& c) {
  if (!c.ctx.recall) return no_recall();
  auto report = c.ctx.recall->show(c.caller, c.request.params.at(0));
  if (!report) return problem_from_status(report.status());
  if (wants_csv(c.request))
    return csv(service::recall_report_csv(report->messages), report->recall_id);
  return raw_json(200, service::recall_report_json(*report));
}

http::Response admin_recall_undo(AdminCall& c) {
  if (!c.ctx.recall) return no_recall();
  json::object body;
  if (auto bad = admin_parse_object(c.request, body, {"reason"})) return *bad;
  std::string reason;
  if (auto it = body.find("reason"); it != body.end() && it->value().is_string())
    reason = std::string(it->value().as_string());
  auto report = c.ctx.recall->undo(c.caller, c.request.params.at(0), reason);
  if (!report) return problem_from_status(report.status());
  return raw_json(200, service::recall_report_json(*report));
}

http::Response admin_recall_audit(AdminCall& c) {
  if (!c.ctx.recall) return no_recall();
  auto& r = c.request;
  service::AuditQuery q;
  q.actor = r.query_param("actor").value_or("");
  q.action = r.query_param("action").value_or("");
  q.text = r.query_param("text").value_or("");
  std::string error;
  q.since = admin_time_param(r, "since", error);
  q.until = admin_time_param(r, "until", error);
  if (!error.empty() || !limit_param(r, q.limit, 10000, error)) return admin_bad_request(error);
  auto entries = c.ctx.recall->audit(c.caller, q);
  if (!entries) return problem_from_status(entries.status());
  return raw_json(200, service::audit_entries_json(*entries));
}

// Sender self-recall: the user's own credentials, not an administrator's token.
http::Response self_recall(Context& ctx, http::Request& request) {
  if (!ctx.recall) return no_recall();
  auto challenge = [](const char* why) {
    auto r = http::Response::problem(401, "Unauthorized", why);
    r.set_header("WWW-Authenticate", "Basic realm=\"mailroom\", charset=\"UTF-8\"");
    return r;
  };
  auto header = request.header("authorization");
  if (!header) return challenge("the sender's own credentials are required");
  auto credentials = http::parse_basic_credentials(*header);
  if (!credentials) return challenge("HTTP Basic credentials are required");
  const std::string& login = credentials->user;
  const std::string& password = credentials->password;
  auth::ClientInfo client;
  client.session_id = request.session_id;
  client.protocol = "http";
  client.remote_ip = request.remote_ip;
  client.tls = request.tls;
  client.loopback = request.remote_ip == "127.0.0.1" || request.remote_ip == "::1";
  if (!ctx.services->authenticator->plaintext_allowed(client))
    return http::Response::problem(403, "Forbidden", "use TLS");
  auto step = ctx.services->authenticator->check_plain(login, password, client);
  if (step.outcome != auth::AuthOutcome::success) {
    MR_LOG_INFO("event=api.self_recall_auth_failed ip={} outcome={}",
                core::quote(request.remote_ip), auth::auth_outcome_name(step.outcome));
    if (step.outcome == auth::AuthOutcome::unavailable)
      return problem_from_status(core::unavailable("the directory cannot be reached"));
    return challenge("authentication failed");
  }
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);
  if (ec || !body.is_object() || !body.as_object().contains("message_id") ||
      !body.as_object().at("message_id").is_string() || body.as_object().size() != 1)
    return admin_bad_request("the body must be {\"message_id\": \"...\"}");
  std::string mid(body.as_object().at("message_id").as_string());
  auto report = ctx.recall->self_recall(step.principal.account_id, step.principal.address, mid);
  if (!report) return problem_from_status(report.status());
  return raw_json(201, service::recall_report_json(*report));
}

}  // namespace mailroom::api
