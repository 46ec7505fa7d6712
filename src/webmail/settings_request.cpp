#include "src/webmail/settings_request.h"

#include <algorithm>
#include <boost/json.hpp>

namespace mailroom::webmail {
namespace json = boost::json;

namespace {

core::Status bad(std::string message) { return core::invalid_argument(std::move(message)); }

core::Status take_string(const json::value& v, std::string_view key,
                         std::optional<std::string>& out) {
  if (v.is_null()) return core::Status::ok();
  if (!v.is_string()) return bad("\"" + std::string(key) + "\" must be a string");
  if (v.as_string().size() > kMaxSettingsString) {
    return bad("\"" + std::string(key) + "\" is too long");
  }
  out = std::string(v.as_string());
  return core::Status::ok();
}

core::Status take_strings(const json::value& v, std::optional<std::vector<std::string>>& out) {
  if (v.is_null()) return core::Status::ok();
  const auto* a = v.if_array();
  if (!a || a->size() > kMaxSettingsProtocols) {
    return bad("\"protocols\" must be an array of at most " +
               std::to_string(kMaxSettingsProtocols) + " strings");
  }
  std::vector<std::string> list;
  for (const auto& item : *a) {
    if (!item.is_string() || item.as_string().size() > kMaxSettingsString) {
      return bad("\"protocols\" must be an array of strings");
    }
    list.emplace_back(item.as_string());
  }
  out = std::move(list);
  return core::Status::ok();
}

}  // namespace

core::Result<SettingsBody> parse_settings_body(std::string_view body,
                                               std::initializer_list<std::string_view> allowed) {
  if (body.size() > kMaxSettingsBody) return bad("the body is too large");
  // A bounded parse: small depth, no comments or trailing commas (RFC 8259 JSON only).
  json::parse_options opt;
  opt.max_depth = 4;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, opt);
  const auto* o = ec ? nullptr : v.if_object();
  if (!o) return bad("the body must be a JSON object");
  SettingsBody out;
  for (const auto& [key, value] : *o) {
    if (std::find(allowed.begin(), allowed.end(), std::string_view(key)) == allowed.end()) {
      return bad("unknown member \"" + std::string(key.substr(0, 64)) + "\"");
    }
    core::Status st;
    if (key == "entry") st = take_string(value, key, out.entry);
    if (key == "ads") st = take_string(value, key, out.ads);
    if (key == "blocked") st = take_string(value, key, out.blocked);
    if (key == "name") st = take_string(value, key, out.name);
    if (key == "protocols") st = take_strings(value, out.protocols);
    if (!st) return st;
  }
  return out;
}

}  // namespace mailroom::webmail
