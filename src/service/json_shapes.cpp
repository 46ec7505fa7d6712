#include "src/service/json_shapes.h"

#include <boost/json.hpp>

#include "src/service/groups.h"

namespace mailroom::service {

namespace json = boost::json;

namespace {
json::array shape_strings(const std::vector<std::string>& v) {
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
                      {"other_addresses", shape_strings(a.other_addresses)},
                      {"display_name", a.display_name},
                      {"status", auth::account_status_name(a.status)},
                      {"quota_bytes", a.quota_bytes},
                      {"quota_messages", a.quota_messages},
                      {"forward_to", shape_strings(a.forward_to)},
                      {"forward_keep_copy", a.forward_keep_copy},
                      {"send_as", shape_strings(a.send_as)},
                      {"source", r.source},
                      {"has_scram_secret", !r.scram_secret.empty()},
                      {"created_at", r.created_at},
                      {"updated_at", r.updated_at}};
}

json::value alias_json(const auth::Alias& a) {
  return json::object{{"address", a.address}, {"targets", shape_strings(a.targets)}};
}

json::value group_json(const auth::Group& g) {
  return json::object{{"address", g.address},
                      {"display_name", g.display_name},
                      {"policy", service::group_policy_name(g.send_policy)},
                      {"members", shape_strings(g.members)},
                      {"allowed_senders", shape_strings(g.allowed_senders)}};
}

}  // namespace mailroom::service
