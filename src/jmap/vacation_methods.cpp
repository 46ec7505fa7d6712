// VacationResponse/get and /set (RFC 8621 8): the singleton is the user's Sieve vacation
// settings (src/sieve/vacation_response.h), which delivery turns into the auto-reply.
#include <algorithm>
#include <boost/json.hpp>

#include "src/core/services.h"
#include "src/jmap/methods.h"
#include "src/jmap/record_watch.h"
#include "src/jmap/records.h"
#include "src/sieve/script.h"
#include "src/sieve/script_store.h"
#include "src/sieve/vacation_response.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

constexpr const char* kSingleton = "singleton";
constexpr size_t kMaxSubjectBytes = 998;  // one header line (RFC 5322 2.1.1)

const std::vector<std::string> kVacationProperties = {"id",      "isEnabled", "fromDate", "toDate",
                                                      "subject", "textBody",  "htmlBody"};

std::string sieve_dir(core::Services& services, const std::string& account_id) {
  if (services.sieve_scripts) return services.sieve_scripts->dir(account_id);
  return services.mail_root + "/" + account_id + "/sieve";
}
std::string sieve_dir(CallContext& ctx) { return sieve_dir(ctx.services, ctx.account_id); }

std::optional<sieve::VacationResponse> read(core::Services& services,
                                            const std::string& account_id) {
  if (account_id.find('/') != std::string::npos || services.mail_root.empty()) return std::nullopt;
  auto v = sieve::read_vacation_response(sieve_dir(services, account_id));
  if (!v) return std::nullopt;
  return std::move(*v);
}

MethodResult load(CallContext& ctx, sieve::VacationResponse* out) {
  auto v = read(ctx.services, ctx.account_id);
  if (!v) return MethodError{"serverFail", "the vacation settings cannot be read"};
  *out = std::move(*v);
  return std::nullopt;
}

std::string state_of(const sieve::VacationResponse& v) {
  uint32_t h = 2166136261u;
  for (unsigned char c : sieve::serialize_vacation_response(v)) h = (h ^ c) * 16777619u;
  char buf[16];
  std::snprintf(buf, sizeof buf, "v%08x", h);
  return buf;
}

json::value opt(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}
json::value opt_date(const std::optional<int64_t>& t) {
  return t ? json::value(utc_date(*t)) : json::value(nullptr);
}

json::object vacation_json(const sieve::VacationResponse& v,
                           const std::optional<std::vector<std::string>>& props) {
  auto want = [&](const char* p) {
    return !props || std::find(props->begin(), props->end(), p) != props->end();
  };
  json::object o{{"id", kSingleton}};
  if (want("isEnabled")) o["isEnabled"] = v.enabled;
  if (want("fromDate")) o["fromDate"] = opt_date(v.from_date);
  if (want("toDate")) o["toDate"] = opt_date(v.to_date);
  if (want("subject")) o["subject"] = opt(v.subject);
  if (want("textBody")) o["textBody"] = opt(v.text_body);
  if (want("htmlBody")) o["htmlBody"] = opt(v.html_body);
  return o;
}

// Applies a patch (RFC 8620 5.3; every property is top-level) or an invalidProperties error.
std::optional<json::object> apply(const json::object& patch, sieve::VacationResponse& v) {
  std::vector<std::string> bad;
  auto text = [&](std::string_view k, const json::value& x, std::optional<std::string>& to,
                  bool one_line) {
    if (x.is_null()) {
      to.reset();
    } else if (!x.is_string() ||
               (one_line && (x.as_string().size() > kMaxSubjectBytes ||
                             x.as_string().find_first_of("\r\n") != json::string::npos))) {
      bad.emplace_back(k);
    } else {
      to = std::string(x.as_string());
    }
  };
  for (const auto& kv : patch) {
    std::string_view k = kv.key();
    const auto& x = kv.value();
    if (k == "isEnabled") {
      if (x.is_bool())
        v.enabled = x.as_bool();
      else
        bad.emplace_back(k);
    } else if (k == "fromDate" || k == "toDate") {
      auto& to = k == "fromDate" ? v.from_date : v.to_date;
      if (x.is_null()) {
        to.reset();
      } else if (auto t = x.is_string() ? parse_utc_date(x.as_string()) : std::nullopt) {
        to = *t;
      } else {
        bad.emplace_back(k);
      }
    } else if (k == "subject") {
      text(k, x, v.subject, true);
    } else if (k == "textBody") {
      text(k, x, v.text_body, false);
    } else if (k == "htmlBody") {
      text(k, x, v.html_body, false);
    } else if (k == "id" && x.is_string() && x.as_string() == kSingleton) {
      // unchanged
    } else {
      bad.emplace_back(k);
    }
  }
  if (bad.empty()) {
    // The reply must fit in one Sieve script (sieve::Limits), enabled or not yet.
    sieve::VacationResponse probe = v;
    probe.enabled = true;
    if (sieve::vacation_response_script(probe).size() > sieve::Limits{}.max_script_bytes - 1024)
      return invalid_properties({"textBody", "htmlBody"}, "the reply is too long");
  }
  if (!bad.empty()) return invalid_properties(bad);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> vacation_state(core::Services& services, const std::string& account_id) {
  auto v = read(services, account_id);
  if (!v) return std::nullopt;
  return state_of(*v);
}

MethodResult vacation_get(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "ids", "properties"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  std::optional<std::vector<std::string>> ids, props;
  if (auto e = read_ids(ctx, args, "ids", ctx.options.max_objects_in_get, &ids)) return e;
  if (auto e = read_properties(args, "properties", kVacationProperties, &props)) return e;
  sieve::VacationResponse v;
  if (auto e = load(ctx, &v)) return e;
  json::array list, not_found;
  if (!ids) {
    list.push_back(vacation_json(v, props));
  } else {
    for (const auto& id : *ids) {
      if (id == kSingleton)
        list.push_back(vacation_json(v, props));
      else
        not_found.push_back(json::value(id));
    }
  }
  response["state"] = state_of(v);
  response["list"] = std::move(list);
  response["notFound"] = std::move(not_found);
  return std::nullopt;
}

MethodResult vacation_set(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "ifInState", "create", "update", "destroy"}))
    return e;
  if (auto e = check_account(ctx, args, response)) return e;
  auto lock = records_lock();  // one writer at a time (single-node shortcut, records.h)
  sieve::VacationResponse v;
  if (auto e = load(ctx, &v)) return e;
  const std::string old_state = state_of(v);
  if (auto e = check_if_in_state(args, old_state)) return e;
  json::object created, updated, not_created, not_updated, not_destroyed;
  json::array destroyed;
  // RFC 8621 8: the singleton can be neither created nor destroyed.
  if (const auto* c = args.if_contains("create"); c && !c->is_null()) {
    if (!c->is_object()) return invalid_arguments("create must be an object");
    for (const auto& kv : c->as_object())
      not_created[kv.key()] = set_error("singleton", "the VacationResponse always exists");
  }
  if (const auto* d = args.if_contains("destroy"); d && !d->is_null()) {
    if (!d->is_array()) return invalid_arguments("destroy must be an array");
    if (d->as_array().size() > ctx.options.max_objects_in_set)
      return MethodError{"requestTooLarge", ""};
    for (const auto& id : d->as_array()) {
      if (!id.is_string()) return invalid_arguments("destroy holds ids");
      not_destroyed[id.as_string()] = set_error("singleton", "the VacationResponse always exists");
    }
  }
  bool changed = false;
  if (const auto* u = args.if_contains("update"); u && !u->is_null()) {
    if (!u->is_object()) return invalid_arguments("update must be an object");
    if (u->as_object().size() > ctx.options.max_objects_in_set)
      return MethodError{"requestTooLarge", ""};
    for (const auto& kv : u->as_object()) {
      if (kv.key() != kSingleton) {
        not_updated[kv.key()] = set_error("notFound", "");
        continue;
      }
      if (!kv.value().is_object()) {
        not_updated[kv.key()] = set_error("invalidPatch", "a patch is an object");
        continue;
      }
      sieve::VacationResponse next = v;
      if (auto err = apply(kv.value().as_object(), next)) {
        not_updated[kv.key()] = std::move(*err);
        continue;
      }
      v = std::move(next);
      updated[kv.key()] = nullptr;
      changed = true;
    }
  }
  if (changed) {
    if (auto s = write_file_durably(sieve_dir(ctx), sieve::kVacationResponseFile,
                                    sieve::serialize_vacation_response(v));
        !s)
      return store_error(s);
    records_changed(ctx.account_id);  // the push reports the new state (record_watch.h)
  }
  finish_set(response, old_state, state_of(v), created, updated, destroyed, not_created,
             not_updated, not_destroyed);
  return std::nullopt;
}

}  // namespace mailroom::jmap
