// The attribute table of the User, Group and Enterprise User schemas (RFC 7643 4, 8.7.1).
#include "src/api/scim/schema.h"

#include <boost/json.hpp>
#include <initializer_list>
#include <vector>

namespace mailroom::api::scim {

namespace json = boost::json;

namespace {

struct ScimAttrDef {
  const char* name;
  AttributeType type;
  bool multi = false;
  const char* mutability = "readWrite";
  bool case_exact = false;
  const char* uniqueness = "none";
  std::vector<ScimAttrDef> subs = {};
  const char* description = "";
  bool required = false;
};

using T = AttributeType;

std::vector<ScimAttrDef> scim_multi_subs(T value_type = T::string) {
  return {
      {"value", value_type}, {"display", T::string}, {"type", T::string}, {"primary", T::boolean}};
}

const std::vector<ScimAttrDef>& scim_user_attrs() {
  static const std::vector<ScimAttrDef> attrs = {
      {"id", T::string, false, "readOnly", true, "server", {}, "The account's immutable id"},
      {"externalId", T::string, false, "readWrite", true},
      {"userName", T::string, false, "readWrite", false, "server", {}, "The login", true},
      {"name",
       T::complex,
       false,
       "readWrite",
       false,
       "none",
       {{"formatted", T::string},
        {"familyName", T::string},
        {"givenName", T::string},
        {"middleName", T::string},
        {"honorificPrefix", T::string},
        {"honorificSuffix", T::string}}},
      {"displayName", T::string},
      {"nickName", T::string},
      {"profileUrl", T::reference},
      {"title", T::string},
      {"userType", T::string},
      {"preferredLanguage", T::string},
      {"locale", T::string},
      {"timezone", T::string},
      {"active",
       T::boolean,
       false,
       "readWrite",
       false,
       "none",
       {},
       "false: the account is "
       "disabled"},
      {"password", T::string, false, "writeOnly"},
      {"emails", T::complex, true, "readWrite", false, "none", scim_multi_subs(),
       "primary: the primary address; others: secondary addresses"},
      {"phoneNumbers", T::complex, true, "readWrite", false, "none", scim_multi_subs()},
      {"ims", T::complex, true, "readWrite", false, "none", scim_multi_subs()},
      {"photos", T::complex, true, "readWrite", false, "none", scim_multi_subs(T::reference)},
      {"addresses",
       T::complex,
       true,
       "readWrite",
       false,
       "none",
       {{"formatted", T::string},
        {"streetAddress", T::string},
        {"locality", T::string},
        {"region", T::string},
        {"postalCode", T::string},
        {"country", T::string},
        {"type", T::string},
        {"primary", T::boolean}}},
      {"groups",
       T::complex,
       true,
       "readOnly",
       false,
       "none",
       {{"value", T::string, false, "readOnly", true},
        {"$ref", T::reference, false, "readOnly"},
        {"display", T::string, false, "readOnly"},
        {"type", T::string, false, "readOnly"}}},
      {"entitlements", T::complex, true, "readWrite", false, "none", scim_multi_subs()},
      {"roles", T::complex, true, "readWrite", false, "none", scim_multi_subs()},
      {"x509Certificates", T::complex, true, "readWrite", false, "none",
       scim_multi_subs(T::string)},
  };
  return attrs;
}

const std::vector<ScimAttrDef>& scim_enterprise_attrs() {
  static const std::vector<ScimAttrDef> attrs = {
      {"employeeNumber", T::string},
      {"costCenter", T::string},
      {"organization", T::string},
      {"division", T::string},
      {"department", T::string},
      {"manager",
       T::complex,
       false,
       "readWrite",
       false,
       "none",
       {{"value", T::string, false, "readWrite", true},
        {"$ref", T::reference},
        {"displayName", T::string, false, "readOnly"}},
       "value: the manager's User id"},
  };
  return attrs;
}

const std::vector<ScimAttrDef>& scim_group_attrs() {
  static const std::vector<ScimAttrDef> attrs = {
      {"id", T::string, false, "readOnly", true, "server", {}, "The group's address"},
      {"externalId", T::string, false, "readWrite", true},
      {"displayName",
       T::string,
       false,
       "readWrite",
       false,
       "none",
       {},
       "An address, or a name (the group's address is then made from it)",
       true},
      {"members",
       T::complex,
       true,
       "readWrite",
       false,
       "none",
       {{"value", T::string, false, "immutable", true},
        {"$ref", T::reference, false, "immutable"},
        {"display", T::string, false, "readOnly"},
        {"type", T::string, false, "immutable"}}},
  };
  return attrs;
}

char scim_schema_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool scim_schema_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (scim_schema_lower(a[i]) != scim_schema_lower(b[i])) return false;
  return true;
}

const ScimAttrDef* scim_find_def(const std::vector<ScimAttrDef>& defs, std::string_view name) {
  for (const auto& d : defs)
    if (scim_schema_iequals(d.name, name)) return &d;
  return nullptr;
}

const char* scim_type_name(T t) {
  switch (t) {
    case T::string:
      return "string";
    case T::boolean:
      return "boolean";
    case T::decimal:
      return "decimal";
    case T::integer:
      return "integer";
    case T::date_time:
      return "dateTime";
    case T::reference:
      return "reference";
    case T::complex:
      return "complex";
  }
  return "string";
}

json::object scim_attr_json(const ScimAttrDef& d) {
  json::object o;
  o["name"] = d.name;
  o["type"] = scim_type_name(d.type);
  o["multiValued"] = d.multi;
  o["description"] = d.description;
  o["required"] = d.required;
  if (d.type == T::string || d.type == T::reference) o["caseExact"] = d.case_exact;
  o["mutability"] = d.mutability;
  o["returned"] = std::string_view(d.mutability) == "writeOnly" ? "never"
                  : std::string_view(d.name) == "id"            ? "always"
                                                                : "default";
  if (d.type == T::string) o["uniqueness"] = d.uniqueness;
  if (d.type == T::reference) {
    json::array types;
    types.emplace_back(std::string_view(d.name) == "$ref" ? "User" : "external");
    if (std::string_view(d.name) == "$ref") types.emplace_back("Group");
    o["referenceTypes"] = std::move(types);
  }
  if (!d.subs.empty()) {
    json::array subs;
    for (const auto& s : d.subs) subs.push_back(scim_attr_json(s));
    o["subAttributes"] = std::move(subs);
  }
  return o;
}

json::object scim_schema_json(const char* id, const char* name, const char* description,
                              const std::vector<ScimAttrDef>& defs, std::string_view base_url) {
  json::object o;
  o["schemas"] = json::array{"urn:ietf:params:scim:schemas:core:2.0:Schema"};
  o["id"] = id;
  o["name"] = name;
  o["description"] = description;
  json::array attrs;
  for (const auto& d : defs) attrs.push_back(scim_attr_json(d));
  o["attributes"] = std::move(attrs);
  o["meta"] = json::object{{"resourceType", "Schema"},
                           {"location", std::string(base_url) + "/Schemas/" + id}};
  return o;
}

}  // namespace

bool known_schema(ResourceKind kind, std::string_view urn, std::string* canonical) {
  std::initializer_list<const char*> user = {kUserSchema, kEnterpriseSchema};
  std::initializer_list<const char*> group = {kGroupSchema};
  for (const char* s : kind == ResourceKind::user ? user : group) {
    if (scim_schema_iequals(urn, s)) {
      if (canonical) *canonical = s;
      return true;
    }
  }
  return false;
}

std::optional<AttributeInfo> find_attribute(ResourceKind kind, std::string_view schema,
                                            std::string_view attr, std::string_view sub) {
  const std::vector<ScimAttrDef>* defs = nullptr;
  AttributeInfo info;
  if (schema.empty() || (kind == ResourceKind::user && scim_schema_iequals(schema, kUserSchema))) {
    defs = kind == ResourceKind::user ? &scim_user_attrs() : &scim_group_attrs();
    info.schema = kind == ResourceKind::user ? kUserSchema : kGroupSchema;
  } else if (kind == ResourceKind::group && scim_schema_iequals(schema, kGroupSchema)) {
    defs = &scim_group_attrs();
    info.schema = kGroupSchema;
  } else if (kind == ResourceKind::user && scim_schema_iequals(schema, kEnterpriseSchema)) {
    defs = &scim_enterprise_attrs();
    info.schema = kEnterpriseSchema;
    info.extension = true;
  } else {
    return std::nullopt;
  }
  const ScimAttrDef* d = scim_find_def(*defs, attr);
  if (!d) return std::nullopt;
  bool read_only =
      std::string_view(d->mutability) == "readOnly" || std::string_view(d->name) == "meta";
  if (!sub.empty()) {
    d = scim_find_def(d->subs, sub);
    if (!d) return std::nullopt;
    read_only = read_only || std::string_view(d->mutability) == "readOnly";
  }
  info.name = d->name;
  info.type = d->type;
  info.multi_valued = d->multi;
  info.read_only = read_only;
  return info;
}

std::optional<std::string> schemas_document(std::string_view id, std::string_view base_url) {
  std::vector<json::object> all;
  all.push_back(scim_schema_json(kUserSchema, "User", "User Account", scim_user_attrs(), base_url));
  all.push_back(scim_schema_json(kGroupSchema, "Group", "Group", scim_group_attrs(), base_url));
  all.push_back(scim_schema_json(kEnterpriseSchema, "EnterpriseUser", "Enterprise User",
                                 scim_enterprise_attrs(), base_url));
  if (!id.empty()) {
    for (auto& s : all)
      if (scim_schema_iequals(s["id"].get_string(), id)) return json::serialize(s);
    return std::nullopt;
  }
  json::object list;
  list["schemas"] = json::array{kListSchema};
  list["totalResults"] = all.size();
  list["itemsPerPage"] = all.size();
  list["startIndex"] = 1;
  json::array resources;
  for (auto& s : all) resources.push_back(std::move(s));
  list["Resources"] = std::move(resources);
  return json::serialize(list);
}

}  // namespace mailroom::api::scim
