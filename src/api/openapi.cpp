// The OpenAPI 3.1 document of /api/v1, built from the route table so it cannot drift from
// what the server answers.
#include <boost/json.hpp>

#include "src/api/admin_routes.h"

namespace mailroom::api {

namespace json = boost::json;

namespace {

std::string openapi_lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// "/api/v1/users/{user}/app-passwords/{name}" -> "user_app_passwords_name_delete"
std::string openapi_operation_id(const AdminRouteSpec& spec) {
  std::string id;
  std::string_view p = spec.pattern;
  p.remove_prefix(std::string_view("/api/v1/").size());
  for (char ch : p) {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      id += ch;
    } else if (ch == '/' || ch == '-') {
      if (!id.empty() && id.back() != '_') id += '_';
    }
  }
  return id + "_" + openapi_lower(spec.method);
}

}  // namespace

std::string openapi_document(const std::string& server_url) {
  json::object paths;
  for (const auto& spec : admin_route_specs()) {
    json::array parameters;
    std::string_view p = spec.pattern;
    for (auto open = p.find('{'); open != std::string_view::npos; open = p.find('{', open + 1)) {
      auto close = p.find('}', open);
      parameters.push_back(json::object{{"name", std::string(p.substr(open + 1, close - open - 1))},
                                        {"in", "path"},
                                        {"required", true},
                                        {"schema", json::object{{"type", "string"}}}});
    }
    if (spec.dry_run) {
      parameters.push_back(
          json::object{{"name", "dry_run"},
                       {"in", "query"},
                       {"required", false},
                       {"description", "validate and report what would change; change nothing"},
                       {"schema", json::object{{"type", "boolean"}}}});
    }
    json::object problem_ref{{"$ref", "#/components/responses/Problem"}};
    json::object op{{"summary", spec.summary},
                    {"operationId", openapi_operation_id(spec)},
                    {"parameters", std::move(parameters)},
                    {"x-mailroom-action", service::action_name(spec.action)},
                    {"responses", json::object{{"2XX", json::object{{"description", "success"}}},
                                               {"default", problem_ref}}}};
    std::string method = spec.method;
    if (method == "POST" || method == "PUT" || method == "PATCH") {
      op["requestBody"] = json::object{
          {"required", false},
          {"content", json::object{{"application/json",
                                    json::object{{"schema", json::object{{"type", "object"}}}}}}}};
    }
    auto& item = paths[spec.pattern];
    if (!item.is_object()) item = json::object{};
    item.as_object()[openapi_lower(method)] = std::move(op);
  }
  // Sender self-recall (admin_recall.cpp): not an admin route; the sender authenticates as
  // themselves with HTTP Basic, so the operation names its own security scheme.
  paths["/api/v1/self/recall"] = json::object{
      {"post",
       json::object{
           {"summary",
            "Sender self-recall: take back a message the caller sent to local recipients, "
            "within [recall] self_recall_minutes and while no copy was opened or downloaded"},
           {"operationId", "self_recall_post"},
           {"security", json::array{json::object{{"basic", json::array{}}}}},
           {"requestBody",
            json::object{
                {"required", true},
                {"content",
                 json::object{
                     {"application/json",
                      json::object{
                          {"schema",
                           json::object{{"type", "object"},
                                        {"required", json::array{"message_id"}},
                                        {"additionalProperties", false},
                                        {"properties",
                                         json::object{{"message_id",
                                                       json::object{{"type", "string"}}}}}}}}}}}}},
           {"responses",
            json::object{{"201", json::object{{"description", "the recall report"}}},
                         {"default", json::object{{"$ref", "#/components/responses/Problem"}}}}}}}};
  json::object doc{
      {"openapi", "3.1.0"},
      {"info", json::object{{"title", "Mailroom admin API"},
                            {"version", "1"},
                            {"description",
                             "Everything mailroomctl does, for callers with a role (global_admin, "
                             "domain_admin, helpdesk, auditor). Objects outside the caller's "
                             "domains answer 404; actions the role lacks answer 403. Errors are "
                             "RFC 9457 problem details."}}},
      {"servers", json::array{json::object{{"url", server_url}}}},
      {"security", json::array{json::object{{"bearer", json::array{}}}}},
      {"paths", std::move(paths)},
      {"components",
       json::object{
           {"securitySchemes",
            json::object{{"bearer", json::object{{"type", "http"},
                                                 {"scheme", "bearer"},
                                                 {"description",
                                                  "a Mailroom API token (mailroomctl api-token "
                                                  "create) or, with [sso], an access token of "
                                                  "the company's identity provider"}}},
                         {"basic", json::object{{"type", "http"},
                                                {"scheme", "basic"},
                                                {"description",
                                                 "the sender's own address and an app password, "
                                                 "or the directory password where [auth] "
                                                 "directory_password_protocols lists http "
                                                 "(RFC 7617)"}}}}},
           {"responses",
            json::object{
                {"Problem",
                 json::object{
                     {"description", "RFC 9457 problem details"},
                     {"content",
                      json::object{
                          {"application/problem+json",
                           json::object{{"schema", json::object{{"type", "object"}}}}}}}}}}}}}};
  return json::serialize(doc);
}

}  // namespace mailroom::api
