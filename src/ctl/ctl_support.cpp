#include "src/ctl/ctl_support.h"

#include <boost/json.hpp>

#include "src/service/groups.h"
#include "src/service/writable_directory.h"

namespace mailroom::ctl::detail {

namespace json = boost::json;
using auth::LocalDirectory;

LocalDirectory* local_directory(Context& ctx, int* exit_code) {
  core::Services* s = ctx.services();
  if (!s || !s->directory) {
    *exit_code = kSystemError;
    return nullptr;
  }
  auto local = service::writable_directory(*s->directory);
  if (!local) {
    *exit_code = ctx.fail(local.status());
    return nullptr;
  }
  return *local;
}

void run(Context& ctx, int* exit_code, const std::function<int(LocalDirectory&)>& body) {
  int code = kOk;
  LocalDirectory* dir = local_directory(ctx, &code);
  if (!dir) {
    *exit_code = code;
    return;
  }
  *exit_code = body(*dir);
}

int done(Context& ctx, const core::Status& st, const std::string& human, const json::value& j) {
  if (!st) return ctx.fail(st);
  ctx.print(human, json::serialize(j));
  return kOk;
}

namespace {
json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}
}  // namespace

json::value domain_json(const auth::Domain& d) {
  return json::object{{"name", d.name},
                      {"kind", d.kind == auth::DomainKind::alias ? "alias" : "local"},
                      {"alias_of", d.alias_of},
                      {"catch_all", d.catch_all}};
}

json::value account_json(const auth::AccountRecord& r) {
  const auth::Account& a = r.account;
  return json::object{{"id", a.id},
                      {"login", a.login},
                      {"address", a.address},
                      {"other_addresses", strings(a.other_addresses)},
                      {"display_name", a.display_name},
                      {"status", auth::account_status_name(a.status)},
                      {"quota_bytes", a.quota_bytes},
                      {"quota_messages", a.quota_messages},
                      {"forward_to", strings(a.forward_to)},
                      {"forward_keep_copy", a.forward_keep_copy},
                      {"send_as", strings(a.send_as)},
                      {"source", r.source},
                      {"has_scram_secret", !r.scram_secret.empty()},
                      {"created_at", r.created_at},
                      {"updated_at", r.updated_at}};
}

json::value alias_json(const auth::Alias& a) {
  return json::object{{"address", a.address}, {"targets", strings(a.targets)}};
}

json::value group_json(const auth::Group& g) {
  return json::object{{"address", g.address},
                      {"display_name", g.display_name},
                      {"policy", service::group_policy_name(g.send_policy)},
                      {"members", strings(g.members)},
                      {"allowed_senders", strings(g.allowed_senders)}};
}

std::string human(const json::value& j) {
  std::string out;
  if (!j.is_object()) return json::serialize(j);
  for (const auto& [k, v] : j.as_object()) {
    out += std::string(k) + ": ";
    if (v.is_string()) {
      out += std::string(v.as_string());
    } else if (v.is_array()) {
      std::string items;
      for (const auto& e : v.as_array()) {
        if (!items.empty()) items += ", ";
        items += e.is_string() ? std::string(e.as_string()) : json::serialize(e);
      }
      out += items;
    } else {
      out += json::serialize(v);
    }
    out += "\n";
  }
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace mailroom::ctl::detail
