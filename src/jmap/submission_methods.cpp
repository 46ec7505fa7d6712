// EmailSubmission/get, /changes, /query (RFC 8621 7.1-7.4) over the records submission_set.cpp
// keeps (submission.h).
#include <algorithm>
#include <boost/json.hpp>

#include "src/core/services.h"
#include "src/jmap/methods.h"
#include "src/jmap/records.h"
#include "src/jmap/submission.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

const std::vector<std::string> kSubmissionProperties = {
    "id",     "identityId", "emailId",        "threadId",   "envelope",
    "sendAt", "undoStatus", "deliveryStatus", "dsnBlobIds", "mdnBlobIds"};

MethodResult load(CallContext& ctx, json::object& doc) {
  if (auto s = load_record(ctx.services.mail_root, ctx.account_id, kSubmissionRecord, &doc); !s)
    return store_error(s);
  ensure_record_keys(doc);
  return std::nullopt;
}

json::object submission_json(const json::object& it,
                             const std::optional<std::vector<std::string>>& props) {
  json::object o;
  o["id"] = it.at("id");
  for (const auto& p : kSubmissionProperties) {
    if (p == "id" || (props && std::find(props->begin(), props->end(), p) == props->end()))
      continue;
    const auto* v = it.if_contains(p);
    o[p] = v ? *v : json::value(nullptr);
  }
  return o;
}

// RFC 8621 7.3 FilterCondition; unsupportedFilter for anything else.
MethodResult check_filter(const json::value& f, int depth) {
  if (depth > 8) return MethodError{"unsupportedFilter", "the filter is nested too deeply"};
  if (!f.is_object()) return invalid_arguments("a filter must be an object");
  const auto& o = f.as_object();
  if (const auto* op = o.if_contains("operator")) {
    const auto* conds = o.if_contains("conditions");
    if (!op->is_string() ||
        (op->as_string() != "AND" && op->as_string() != "OR" && op->as_string() != "NOT"))
      return MethodError{"unsupportedFilter", "operator is AND, OR or NOT"};
    if (!conds || !conds->is_array() || conds->as_array().size() > 64)
      return invalid_arguments("conditions must be an array");
    for (const auto& c : conds->as_array())
      if (auto e = check_filter(c, depth + 1)) return e;
    return std::nullopt;
  }
  for (const auto& kv : o) {
    std::string_view k = kv.key();
    const auto& v = kv.value();
    if (k == "identityIds" || k == "emailIds" || k == "threadIds") {
      if (!v.is_array()) return invalid_arguments(std::string(k) + " must be an array");
      for (const auto& x : v.as_array())
        if (!x.is_string()) return invalid_arguments(std::string(k) + " holds ids");
    } else if (k == "undoStatus") {
      if (!v.is_string()) return invalid_arguments("undoStatus must be a string");
    } else if (k == "before" || k == "after") {
      if (!v.is_string() || !parse_utc_date(v.as_string()))
        return invalid_arguments(std::string(k) + " must be a UTCDate");
    } else {
      return MethodError{"unsupportedFilter", "no filter on " + std::string(k)};
    }
  }
  return std::nullopt;
}

bool matches(const json::value& f, const json::object& it) {
  const auto& o = f.as_object();
  if (const auto* op = o.if_contains("operator")) {
    bool any = false, all = true;
    for (const auto& c : o.at("conditions").as_array()) {
      bool r = matches(c, it);
      any = any || r;
      all = all && r;
    }
    if (op->as_string() == "AND") return all;
    if (op->as_string() == "OR") return any;
    return !any;
  }
  for (const auto& kv : o) {
    std::string_view k = kv.key();
    const auto& v = kv.value();
    if (k == "identityIds" || k == "emailIds" || k == "threadIds") {
      std::string prop(k.substr(0, k.size() - 1));  // "identityId" ...
      const auto& arr = v.as_array();
      if (std::find(arr.begin(), arr.end(), it.at(prop)) == arr.end()) return false;
    } else if (k == "undoStatus") {
      if (it.at("undoStatus") != v) return false;
    } else if (k == "before" || k == "after") {
      int64_t t = static_cast<int64_t>(record_uint(it, "t"));
      int64_t at = *parse_utc_date(v.as_string());
      if (k == "before" ? t >= at : t < at) return false;
    }
  }
  return true;
}

}  // namespace

MethodResult email_submission_get(CallContext& ctx, const json::object& args,
                                  json::object& response) {
  if (auto e = check_known(args, {"accountId", "ids", "properties"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  std::optional<std::vector<std::string>> ids, props;
  if (auto e = read_ids(ctx, args, "ids", ctx.options.max_objects_in_get, &ids)) return e;
  if (auto e = read_properties(args, "properties", kSubmissionProperties, &props)) return e;
  auto lock = records_lock();
  json::object doc;
  if (auto e = load(ctx, doc)) return e;
  record_get(
      doc, ids, [&](const json::object& it) { return submission_json(it, props); }, response);
  return std::nullopt;
}

MethodResult email_submission_changes(CallContext& ctx, const json::object& args,
                                      json::object& response) {
  if (auto e = check_known(args, {"accountId", "sinceState", "maxChanges"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  auto lock = records_lock();
  json::object doc;
  if (auto e = load(ctx, doc)) return e;
  return record_changes(ctx, args, doc, response);
}

MethodResult email_submission_query(CallContext& ctx, const json::object& args,
                                    json::object& response) {
  if (auto e = check_known(args, {"accountId", "filter", "sort", "position", "anchor",
                                  "anchorOffset", "limit", "calculateTotal"}))
    return e;
  if (auto e = check_account(ctx, args, response)) return e;
  const json::value* filter = args.if_contains("filter");
  if (filter && filter->is_null()) filter = nullptr;
  if (filter)
    if (auto e = check_filter(*filter, 0)) return e;
  // RFC 8621 7.4: sort by emailId, threadId or sentAt; default: the order they were sent.
  std::string sort_by = "sentAt";
  bool ascending = true;
  if (const auto* s = args.if_contains("sort"); s && !s->is_null()) {
    if (!s->is_array() || s->as_array().size() > 1)
      return MethodError{"unsupportedSort", "one comparator at most"};
    if (!s->as_array().empty()) {
      const auto& c = s->as_array()[0];
      const auto* prop = c.is_object() ? c.as_object().if_contains("property") : nullptr;
      if (!prop || !prop->is_string()) return invalid_arguments("a comparator names a property");
      sort_by = std::string(prop->as_string());
      if (sort_by != "sentAt" && sort_by != "emailId" && sort_by != "threadId")
        return MethodError{"unsupportedSort", "sort by sentAt, emailId or threadId"};
      if (const auto* asc = c.as_object().if_contains("isAscending"); asc && asc->is_bool())
        ascending = asc->as_bool();
    }
  }
  auto lock = records_lock();
  json::object doc;
  if (auto e = load(ctx, doc)) return e;
  std::vector<const json::object*> hits;
  for (const auto& v : doc["items"].as_array())
    if (!filter || matches(*filter, v.as_object())) hits.push_back(&v.as_object());
  const std::string key = sort_by == "sentAt" ? "t" : sort_by;
  std::stable_sort(hits.begin(), hits.end(), [&](const json::object* a, const json::object* b) {
    bool less = key == "t" ? record_uint(*a, "t") < record_uint(*b, "t")
                           : record_str(*a, key.c_str()) < record_str(*b, key.c_str());
    bool greater = key == "t" ? record_uint(*b, "t") < record_uint(*a, "t")
                              : record_str(*b, key.c_str()) < record_str(*a, key.c_str());
    return ascending ? less : greater;
  });
  std::vector<std::string> ordered;
  for (const auto* h : hits) ordered.push_back(record_str(*h, "id"));
  return query_page(ctx, args, ordered, record_state(doc), response);
}

}  // namespace mailroom::jmap
