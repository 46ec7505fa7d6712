// What Users and Groups share: errors from the service layer, ETags, request checking.
#include "src/api/scim/resources.h"

#include <boost/json.hpp>
#include <cstdio>

#include "src/api/scim/patch.h"
#include "src/core/log.h"

namespace mailroom::api::scim {

namespace json = boost::json;

ScimError scim_error_from_status(const core::Status& status) {
  switch (status.code()) {
    case core::Code::not_found:
      return {404, "", status.client_message()};
    case core::Code::already_exists:
      return {409, "uniqueness", status.client_message()};
    case core::Code::invalid_argument:
      return {400, "invalidValue", status.client_message()};
    case core::Code::permission_denied:
      return {403, "", status.client_message()};
    case core::Code::too_large:
    case core::Code::over_quota:
      return {413, "", status.client_message()};
    case core::Code::unavailable:
      MR_LOG_WARN("event=scim.unavailable detail={}", core::quote(status.log_detail()));
      return {503, "", "the directory is busy; try again"};
    default:
      MR_LOG_WARN("event=scim.error code={} message={} detail={}", core::code_name(status.code()),
                  core::quote(status.client_message()), core::quote(status.log_detail()));
      return {500, "", "internal error"};
  }
}

std::string scim_set_version(json::object& resource) {
  json::object* meta = nullptr;
  if (auto* m = resource.if_contains("meta"); m && m->is_object()) {
    meta = &m->get_object();
    meta->erase("version");
  }
  // FNV-1a over the representation: a weak ETag (RFC 7232 2.3) that changes with any
  // attribute the client can see.
  std::string text = json::serialize(resource);
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  std::string version = std::string("W/\"") + buf + "\"";
  if (meta) (*meta)["version"] = version;
  return version;
}

std::optional<ScimError> normalize_resource(ResourceKind kind, json::object& resource,
                                            bool require_schemas) {
  const char* core_schema = kind == ResourceKind::user ? kUserSchema : kGroupSchema;
  json::object out;
  bool has_core = false;
  for (auto& kv : resource) {
    std::string key(kv.key());
    std::string lower = key;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "schemas") {
      if (!kv.value().is_array())
        return scim_bad_request("invalidSyntax", "schemas must be an array of URNs");
      for (const auto& s : kv.value().get_array()) {
        std::string canonical;
        if (s.is_string() && known_schema(kind, s.get_string(), &canonical) &&
            canonical == core_schema)
          has_core = true;
      }
      continue;
    }
    if (lower == "id" || lower == "meta") continue;  // read-only: ignored (RFC 7643 2.2)
    std::string ext;
    if (known_schema(kind, key, &ext) && ext != core_schema) {
      if (kv.value().is_null()) continue;
      if (!kv.value().is_object())
        return scim_bad_request("invalidSyntax", ext + " must be an object");
      json::object ext_out;
      for (auto& e : kv.value().get_object()) {
        auto info = find_attribute(kind, ext, e.key());
        if (!info)
          return scim_bad_request("invalidSyntax",
                                  "unknown attribute " + ext + ":" + std::string(e.key()));
        if (info->read_only || e.value().is_null()) continue;
        json::value v = e.value();
        if (auto err = normalize_attribute_value(kind, *info, v)) return err;
        ext_out[info->name] = std::move(v);
      }
      if (!ext_out.empty()) out[ext] = std::move(ext_out);
      continue;
    }
    auto info = find_attribute(kind, "", key);
    if (!info) {
      // a core attribute written with its schema's URN prefix
      auto colon = key.rfind(':');
      std::string canonical;
      if (colon != std::string::npos && known_schema(kind, key.substr(0, colon), &canonical) &&
          canonical == core_schema)
        info = find_attribute(kind, "", key.substr(colon + 1));
    }
    if (!info) return scim_bad_request("invalidSyntax", "unknown attribute " + key);
    if (info->read_only || kv.value().is_null()) continue;
    json::value v = kv.value();
    if (auto err = normalize_attribute_value(kind, *info, v)) return err;
    out[info->name] = std::move(v);
  }
  if (require_schemas && !has_core)
    return scim_bad_request("invalidSyntax", std::string("schemas must include ") + core_schema);
  json::array schemas{core_schema};
  if (out.contains(kEnterpriseSchema)) schemas.emplace_back(kEnterpriseSchema);
  out["schemas"] = std::move(schemas);
  resource = std::move(out);
  return std::nullopt;
}

}  // namespace mailroom::api::scim
