// Quota/get and Quota/changes (RFC 9425 "JMAP for Quotas"): the account's mail quota, the
// limits the directory holds (as IMAP GETQUOTA, RFC 9208) over the usage the store counts.
// Two Quota objects at most, one per limit the account has: "mail-octets" (resourceType
// "octets") and "mail-count" ("count"); an unlimited resource has no Quota object.
//
// The state is the four numbers themselves ("<used octets>.<octet limit>.<used count>.<count
// limit>"), so Quota/changes answers exactly from a state alone, with no change log kept.
// Quota/query and Quota/queryChanges (RFC 9425 2.4, 2.5) are not implemented.
#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <charconv>
#include <cstdio>

#include "src/jmap/methods.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

const std::vector<std::string> kQuotaProperties = {"id",    "resourceType", "used", "hardLimit",
                                                   "scope", "name",         "types"};

// One resource: its used amount and its limit (0: none).
struct Resource {
  uint64_t used = 0;
  uint64_t limit = 0;
  bool operator==(const Resource&) const = default;
};
struct QuotaState {
  std::array<Resource, 2> r;  // [0] octets, [1] count
};
constexpr std::array<const char*, 2> kIds = {"mail-octets", "mail-count"};

std::string state_text(const QuotaState& s) {
  char buf[96];
  std::snprintf(
      buf, sizeof buf, "%llu.%llu.%llu.%llu", static_cast<unsigned long long>(s.r[0].used),
      static_cast<unsigned long long>(s.r[0].limit), static_cast<unsigned long long>(s.r[1].used),
      static_cast<unsigned long long>(s.r[1].limit));
  return buf;
}

std::optional<QuotaState> parse_state(std::string_view text) {
  QuotaState s;
  uint64_t* fields[] = {&s.r[0].used, &s.r[0].limit, &s.r[1].used, &s.r[1].limit};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (size_t i = 0; i < 4; ++i) {
    auto [next, ec] = std::from_chars(p, end, *fields[i]);
    if (ec != std::errc() || next == p) return std::nullopt;
    p = next;
    if (i < 3) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
  }
  if (p != end) return std::nullopt;
  return s;
}

MethodResult load(CallContext& ctx, QuotaState* out) {
  if (auto e = account_quota(ctx, &out->r[0].limit, &out->r[1].limit)) return e;
  auto usage = ctx.store.quota_usage(ctx.account_id);
  if (!usage) return store_error(usage.status());
  out->r[0].used = usage->bytes;
  out->r[1].used = usage->messages;
  return std::nullopt;
}

// RFC 9425 2.1: the Quota object.
json::object quota_json(size_t i, const Resource& r,
                        const std::optional<std::vector<std::string>>& props) {
  auto want = [&](const char* p) {
    return !props || std::find(props->begin(), props->end(), p) != props->end();
  };
  json::object o{{"id", kIds[i]}};
  if (want("resourceType")) o["resourceType"] = i == 0 ? "octets" : "count";
  if (want("used")) o["used"] = r.used;
  if (want("hardLimit")) o["hardLimit"] = r.limit;
  if (want("scope")) o["scope"] = "account";
  if (want("name")) o["name"] = i == 0 ? "Mail storage" : "Mail messages";
  if (want("types")) o["types"] = json::array{"Email"};
  return o;
}

}  // namespace

MethodResult quota_get(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "ids", "properties"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  std::optional<std::vector<std::string>> ids, props;
  if (auto e = read_ids(ctx, args, "ids", ctx.options.max_objects_in_get, &ids)) return e;
  if (auto e = read_properties(args, "properties", kQuotaProperties, &props)) return e;
  QuotaState s;
  if (auto e = load(ctx, &s)) return e;
  json::array list, not_found;
  for (size_t i = 0; i < kIds.size(); ++i) {
    bool asked = !ids || std::find(ids->begin(), ids->end(), kIds[i]) != ids->end();
    if (asked && s.r[i].limit != 0) list.push_back(quota_json(i, s.r[i], props));
  }
  if (ids) {
    for (const auto& id : *ids) {
      auto at = std::find(kIds.begin(), kIds.end(), id);
      if (at == kIds.end() || s.r[static_cast<size_t>(at - kIds.begin())].limit == 0)
        not_found.push_back(json::value(id));
    }
  }
  response["state"] = state_text(s);
  response["list"] = std::move(list);
  response["notFound"] = std::move(not_found);
  return std::nullopt;
}

// RFC 8620 5.2 over the state above: a Quota appears when its limit is set, disappears when it
// is removed, and is updated when its usage or limit moved.
MethodResult quota_changes(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "sinceState", "maxChanges"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  const auto* since = args.if_contains("sinceState");
  if (!since || !since->is_string()) return invalid_arguments("sinceState: a state string");
  uint64_t max_changes = kIds.size();
  if (auto e = read_uint(args, "maxChanges", kIds.size(), &max_changes)) return e;
  if (max_changes == 0) return invalid_arguments("maxChanges must be positive");
  auto old = parse_state(since->as_string());
  if (!old) return MethodError{"cannotCalculateChanges", "unknown state"};
  QuotaState now;
  if (auto e = load(ctx, &now)) return e;
  QuotaState reached = *old;  // the state once the changes reported are applied
  json::array created, updated, destroyed;
  size_t reported = 0;
  bool more = false;
  for (size_t i = 0; i < kIds.size(); ++i) {
    if (old->r[i] == now.r[i]) continue;
    if (old->r[i].limit == 0 && now.r[i].limit == 0) {  // no Quota object then or now
      reached.r[i] = now.r[i];
      continue;
    }
    if (reported == max_changes) {
      more = true;
      break;
    }
    ++reported;
    reached.r[i] = now.r[i];
    json::array& into = old->r[i].limit == 0 ? created : now.r[i].limit == 0 ? destroyed : updated;
    into.push_back(json::value(kIds[i]));
  }
  response["oldState"] = since->as_string();
  response["newState"] = state_text(reached);
  response["hasMoreChanges"] = more;
  response["created"] = std::move(created);
  response["updated"] = std::move(updated);
  response["destroyed"] = std::move(destroyed);
  return std::nullopt;
}

}  // namespace mailroom::jmap
