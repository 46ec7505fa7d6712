#include "src/service/json_shapes.h"

#include <boost/json.hpp>

#include "src/service/groups.h"
#include "src/service/policies.h"

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
                      {"allowed_senders", shape_strings(g.allowed_senders)},
                      {"id", g.id}};
}

json::value policy_json(const auth::PolicyBundle& b) {
  json::object o{{"name", b.name}, {"description", b.description}, {"priority", b.priority}};
  const auth::PolicyValues& v = b.values;
  if (v.quota_bytes) o["quota_bytes"] = *v.quota_bytes;
  if (v.quota_messages) o["quota_messages"] = *v.quota_messages;
  if (v.max_message_bytes) o["max_message_bytes"] = *v.max_message_bytes;
  if (v.send_outside) o["send_outside"] = *v.send_outside;
  if (v.receive_outside) o["receive_outside"] = *v.receive_outside;
  if (v.pop3) o["pop3"] = *v.pop3;
  if (v.retention_seconds) o["retention_seconds"] = *v.retention_seconds;
  if (v.login_methods) o["login_methods"] = shape_strings(*v.login_methods);
  return o;
}

json::value policy_view_json(const PolicyView& v) {
  json::object j = policy_json(v.bundle).as_object();
  json::array assigned;
  for (const auto& a : v.assignments) {
    assigned.push_back(json::object{{"scope", auth::policy_scope_name(a.assignment.scope)},
                                    {"target", a.assignment.target},
                                    {"label", a.assignment.label},
                                    {"current", a.current},
                                    {"gone", a.current.empty()}});
  }
  j["assigned_to"] = std::move(assigned);
  return j;
}

json::value effective_policy_json(const auth::EffectivePolicy& e) {
  json::object o;
  auto put = [&](const char* key, json::value v) {
    o[key] = json::object{{"value", std::move(v)}, {"from", e.source_of(key)}};
  };
  put("quota_bytes", e.quota_bytes);
  put("quota_messages", e.quota_messages);
  put("max_message_bytes", e.max_message_bytes);
  put("send_outside", e.send_outside);
  put("receive_outside", e.receive_outside);
  put("pop3", e.pop3);
  put("retention_seconds",
      e.retention_seconds ? json::value(*e.retention_seconds) : json::value("server default"));
  put("login_methods",
      e.login_methods.empty() ? json::value("all") : json::value(shape_strings(e.login_methods)));
  o["bundles"] = shape_strings(e.bundles);
  return o;
}

}  // namespace mailroom::service
