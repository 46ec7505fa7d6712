// Argument checks shared by the methods (RFC 8620 1.3 data types, 3.6.2 method errors).
#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>

#include "auth/directory.h"
#include "src/core/log.h"
#include "src/core/services.h"
#include "src/jmap/methods.h"

namespace mailroom::jmap {
namespace json = boost::json;

MethodResult check_account(CallContext& ctx, const json::object& args, json::object& response) {
  const auto* id = args.if_contains("accountId");
  if (!id || !id->is_string()) return invalid_arguments("accountId is required");
  if (id->as_string() != ctx.account_id) return MethodError{"accountNotFound", ""};
  response["accountId"] = ctx.account_id;
  return std::nullopt;
}

MethodResult check_known(const json::object& args, std::initializer_list<std::string_view> known) {
  for (const auto& kv : args) {
    bool ok = false;
    for (auto k : known) ok = ok || kv.key() == k;
    if (!ok) return invalid_arguments("unknown argument \"" + std::string(kv.key()) + "\"");
  }
  return std::nullopt;
}

MethodResult read_ids(CallContext& ctx, const json::object& args, const char* name, size_t max,
                      std::optional<std::vector<std::string>>* out) {
  out->reset();
  const auto* v = args.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_array()) return invalid_arguments(std::string(name) + " must be an array of ids");
  const auto& arr = v->as_array();
  if (arr.size() > max) return MethodError{"requestTooLarge", std::string(name) + " is too long"};
  std::vector<std::string> ids;
  for (const auto& x : arr) {
    if (!x.is_string()) return invalid_arguments(std::string(name) + " must be an array of ids");
    auto id = resolve_creation_id(ctx, x.as_string());
    if (!id) return invalid_arguments("unknown creation id " + std::string(x.as_string()));
    ids.push_back(std::move(*id));
  }
  *out = std::move(ids);
  return std::nullopt;
}

MethodResult read_properties(const json::object& args, const char* name,
                             const std::vector<std::string>& known,
                             std::optional<std::vector<std::string>>* out, bool header_forms) {
  out->reset();
  const auto* v = args.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_array()) return invalid_arguments(std::string(name) + " must be an array of strings");
  std::vector<std::string> props;
  for (const auto& x : v->as_array()) {
    if (!x.is_string())
      return invalid_arguments(std::string(name) + " must be an array of strings");
    std::string p(x.as_string());
    bool ok = false;
    for (const auto& k : known) ok = ok || k == p;
    // Email/get's "header:Name[:as][:all]" (RFC 8621 4.1.3) is checked by its caller.
    if (!ok && !(header_forms && p.starts_with("header:")))
      return invalid_arguments("unknown property \"" + p + "\"");
    props.push_back(std::move(p));
  }
  *out = std::move(props);
  return std::nullopt;
}

MethodResult read_uint(const json::object& args, const char* name, uint64_t dflt, uint64_t* out) {
  *out = dflt;
  const auto* v = args.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  // RFC 8620 1.3: UnsignedInt is 0 <= n <= 2^53-1.
  if (v->is_uint64() && v->as_uint64() <= (uint64_t{1} << 53) - 1) {
    *out = v->as_uint64();
    return std::nullopt;
  }
  if (v->is_int64() && v->as_int64() >= 0 && v->as_int64() <= (int64_t{1} << 53) - 1) {
    *out = static_cast<uint64_t>(v->as_int64());
    return std::nullopt;
  }
  return invalid_arguments(std::string(name) + " must be an unsigned integer");
}

MethodResult read_int(const json::object& args, const char* name, int64_t dflt, int64_t* out) {
  *out = dflt;
  const auto* v = args.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  constexpr int64_t kMax = (int64_t{1} << 53) - 1;
  if (v->is_int64() && v->as_int64() >= -kMax && v->as_int64() <= kMax) {
    *out = v->as_int64();
    return std::nullopt;
  }
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(kMax)) {
    *out = static_cast<int64_t>(v->as_uint64());
    return std::nullopt;
  }
  return invalid_arguments(std::string(name) + " must be an integer");
}

MethodResult read_bool(const json::object& args, const char* name, bool dflt, bool* out) {
  *out = dflt;
  const auto* v = args.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_bool()) return invalid_arguments(std::string(name) + " must be a boolean");
  *out = v->as_bool();
  return std::nullopt;
}

MethodResult store_error(const core::Status& s) {
  if (s.code() == core::Code::unavailable || s.code() == core::Code::busy)
    return MethodError{"serverUnavailable", s.client_message()};
  MR_LOG_WARN("event=jmap.store_error code={} message={} detail={}", core::code_name(s.code()),
              core::quote(s.client_message()), core::quote(s.log_detail()));
  return MethodError{"serverFail", "internal error"};
}

json::object set_error(std::string_view type, std::string_view description) {
  json::object e;
  e["type"] = type;
  if (!description.empty()) e["description"] = description;
  return e;
}

std::string utc_date(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<int64_t> parse_utc_date(std::string_view s) {
  // RFC 3339 date-time with "Z" (RFC 8620 1.4 UTCDate); fractional seconds are dropped.
  if (s.size() < 20 || s.size() > 40 || s.back() != 'Z') return std::nullopt;
  int y, mo, d, h, mi, se;
  char t;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &t, &h, &mi, &se) != 7)
    return std::nullopt;
  if ((t != 'T' && t != 't') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      se > 60 || y < 1970)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  return static_cast<int64_t>(timegm(&tm));
}

MethodResult read_true_set(const json::value& v, const char* what, std::vector<std::string>* out) {
  out->clear();
  if (!v.is_object()) return invalid_arguments(std::string(what) + " must be an object");
  for (const auto& kv : v.as_object()) {
    if (!kv.value().is_bool() || !kv.value().as_bool())
      return invalid_arguments(std::string(what) + " values must be true");
    out->emplace_back(kv.key());
  }
  return std::nullopt;
}

std::optional<std::string> resolve_creation_id(CallContext& ctx, std::string_view id) {
  if (id.empty() || id[0] != '#') return std::string(id);
  auto it = ctx.created_ids.find(std::string(id.substr(1)));
  if (it == ctx.created_ids.end()) return std::nullopt;
  return it->second;
}

json::object invalid_properties(const std::vector<std::string>& properties,
                                std::string_view description) {
  auto e = set_error("invalidProperties", description);
  json::array a;
  for (const auto& p : properties) a.push_back(json::value(p));
  e["properties"] = std::move(a);
  return e;
}

MethodResult read_set_args(CallContext& ctx, const json::object& args, SetArgs* out) {
  *out = SetArgs{};
  if (const auto* v = args.if_contains("create"); v && !v->is_null())
    if (!(out->create = v->if_object())) return invalid_arguments("create must be an object");
  if (const auto* v = args.if_contains("update"); v && !v->is_null())
    if (!(out->update = v->if_object())) return invalid_arguments("update must be an object");
  if (const auto* v = args.if_contains("destroy"); v && !v->is_null())
    if (!(out->destroy = v->if_array())) return invalid_arguments("destroy must be an array");
  size_t n = (out->create ? out->create->size() : 0) + (out->update ? out->update->size() : 0) +
             (out->destroy ? out->destroy->size() : 0);
  if (n > ctx.options.max_objects_in_set) return MethodError{"requestTooLarge", "too many objects"};
  return std::nullopt;
}

MethodResult check_if_in_state(const json::object& args, const std::string& state) {
  if (const auto* s = args.if_contains("ifInState"); s && !s->is_null()) {
    if (!s->is_string()) return invalid_arguments("ifInState must be a string");
    if (s->as_string() != state) return MethodError{"stateMismatch", ""};
  }
  return std::nullopt;
}

void finish_set(json::object& response, const std::string& old_state, const std::string& new_state,
                json::object& created, json::object& updated, json::array& destroyed,
                json::object& not_created, json::object& not_updated, json::object& not_destroyed) {
  auto or_null = [](json::object& o) {
    return o.empty() ? json::value(nullptr) : json::value(std::move(o));
  };
  response["oldState"] = old_state;
  response["newState"] = new_state;
  response["created"] = or_null(created);
  response["updated"] = or_null(updated);
  response["destroyed"] =
      destroyed.empty() ? json::value(nullptr) : json::value(std::move(destroyed));
  response["notCreated"] = or_null(not_created);
  response["notUpdated"] = or_null(not_updated);
  response["notDestroyed"] = or_null(not_destroyed);
}

MethodResult query_page(CallContext& ctx, const json::object& args,
                        const std::vector<std::string>& ordered, const std::string& query_state,
                        json::object& response) {
  QueryResult result;
  result.count = ordered.size();
  result.id_at = [&ordered](size_t i) { return ordered[i]; };
  result.find = [&ordered](std::string_view id) -> std::optional<size_t> {
    auto it = std::find(ordered.begin(), ordered.end(), id);
    if (it == ordered.end()) return std::nullopt;
    return static_cast<size_t>(it - ordered.begin());
  };
  return query_page(ctx, args, result, query_state, response);
}

MethodResult query_page(CallContext& ctx, const json::object& args, const QueryResult& result,
                        const std::string& query_state, json::object& response) {
  int64_t position = 0, anchor_offset = 0;
  uint64_t limit = 0;
  bool total = false;
  if (auto e = read_int(args, "position", 0, &position)) return e;
  if (auto e = read_int(args, "anchorOffset", 0, &anchor_offset)) return e;
  if (auto e = read_uint(args, "limit", ctx.options.max_query_limit, &limit)) return e;
  if (auto e = read_bool(args, "calculateTotal", false, &total)) return e;
  bool limit_capped = limit > ctx.options.max_query_limit;
  limit = std::min(limit, ctx.options.max_query_limit);
  size_t start = 0;
  auto count = static_cast<int64_t>(result.count);
  if (const auto* anchor = args.if_contains("anchor"); anchor && !anchor->is_null()) {
    if (!anchor->is_string()) return invalid_arguments("anchor must be an id");
    auto at = result.find(anchor->as_string());
    if (!at) return MethodError{"anchorNotFound", ""};
    start = static_cast<size_t>(std::max<int64_t>(0, static_cast<int64_t>(*at) + anchor_offset));
  } else if (position < 0) {
    start = static_cast<size_t>(std::max<int64_t>(0, count + position));
  } else {
    start = static_cast<size_t>(position);
  }
  json::array ids;
  for (size_t i = start; i < result.count && ids.size() < limit; ++i)
    ids.push_back(json::value(result.id_at(i)));
  response["queryState"] = query_state;
  response["canCalculateChanges"] = false;
  response["position"] = std::min(start, result.count);
  response["ids"] = std::move(ids);
  if (total) response["total"] = result.count;
  if (limit_capped) response["limit"] = limit;  // RFC 8620 5.5: the server lowered it
  return std::nullopt;
}

MethodResult account_quota(CallContext& ctx, uint64_t* bytes, uint64_t* messages) {
  *bytes = *messages = 0;
  if (!ctx.services.directory) return std::nullopt;
  auto acct = ctx.services.directory->find_account_by_id(ctx.account_id);
  if (acct) {
    *bytes = acct->quota_bytes;
    *messages = acct->quota_messages;
  } else if (acct.code() == core::Code::unavailable) {
    return MethodError{"serverUnavailable", "the directory cannot answer"};
  }
  return std::nullopt;
}

MethodResult core_echo(CallContext&, const json::object& args, json::object& response) {
  response = args;  // RFC 8620 4.1: the arguments, unchanged
  return std::nullopt;
}

}  // namespace mailroom::jmap
