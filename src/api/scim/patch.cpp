// SCIM PATCH (RFC 7644 3.5.2) over Boost.JSON resources.
#include "src/api/scim/patch.h"

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "src/api/scim/filter.h"

namespace mailroom::api::scim {

namespace json = boost::json;

namespace {

char scim_patch_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string scim_patch_lower_copy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = scim_patch_lower(c);
  return out;
}

json::value* scim_patch_member(json::object& o, std::string_view name) {
  for (auto& kv : o)
    if (scim_patch_lower_copy(kv.key()) == scim_patch_lower_copy(name)) return &kv.value();
  return nullptr;
}

void scim_patch_erase(json::object& o, std::string_view name) {
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (scim_patch_lower_copy(it->key()) == scim_patch_lower_copy(name)) {
      o.erase(it);
      return;
    }
  }
}

// A parsed PATCH path: attrPath [ "[" valFilter "]" ] [ "." subAttr ].
struct ScimPatchPath {
  AttributeInfo attr;      // the attribute (canonical)
  Filter filter;           // empty root: none
  std::string sub;         // canonical sub-attribute, "" for none
  AttributeInfo sub_info;  // when sub is set
};

std::optional<ScimError> scim_parse_patch_path(ResourceKind kind, std::string_view text,
                                               ScimPatchPath& out) {
  auto bad = [&](std::string why) {
    return scim_bad_request("invalidPath", "path '" + std::string(text) + "': " + why);
  };
  if (text.empty() || text.size() > kMaxFilterLength) return bad("empty or too long");
  std::string attr_text(text);
  std::string sub_after;
  auto open = text.find('[');
  if (open != std::string_view::npos) {
    auto close = text.rfind(']');
    if (close == std::string_view::npos || close < open) return bad("']' expected");
    auto f = parse_filter(text.substr(open + 1, close - open - 1));
    if (!f) return bad(f.status().client_message());
    out.filter = std::move(f).value();
    attr_text = std::string(text.substr(0, open));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != '.' || rest.size() < 2) return bad("only .subAttribute may follow ']'");
      sub_after = std::string(rest.substr(1));
    }
  }
  auto path = parse_attr_path(attr_text);
  if (!path) return bad("not an attribute path");
  if (!sub_after.empty()) {
    if (!path->sub.empty()) return bad("two sub-attributes");
    path->sub = sub_after;
  }
  auto lower_attr = scim_patch_lower_copy(path->attr);
  if (path->schema.empty() || path->schema == scim_patch_lower_copy(kUserSchema) ||
      path->schema == scim_patch_lower_copy(kGroupSchema)) {
    if (lower_attr == "id" || lower_attr == "meta" || lower_attr == "schemas")
      return ScimError{400, "mutability", "attribute " + path->attr + " is read-only"};
  }
  auto info = find_attribute(kind, path->schema, path->attr);
  if (!info) return bad("unknown attribute");
  if (info->read_only)
    return ScimError{400, "mutability", "attribute " + info->name + " is read-only"};
  if (out.filter.root && !info->multi_valued)
    return bad("a value filter needs a multi-valued attribute");
  out.attr = *info;
  if (!path->sub.empty()) {
    auto sub = find_attribute(kind, path->schema, path->attr, path->sub);
    if (!sub) return bad("unknown sub-attribute");
    if (sub->read_only)
      return ScimError{400, "mutability",
                       "attribute " + info->name + "." + sub->name + " is read-only"};
    out.sub = sub->name;
    out.sub_info = *sub;
  }
  return std::nullopt;
}

std::optional<ScimError> scim_coerce_scalar(const AttributeInfo& info, json::value& v,
                                            const std::string& where) {
  if (v.is_null()) return std::nullopt;
  if (info.type == AttributeType::boolean) {
    if (v.is_string()) {
      // Entra ID sends booleans as "True" / "False".
      auto s = scim_patch_lower_copy(v.get_string());
      if (s == "true" || s == "false") {
        v = (s == "true");
        return std::nullopt;
      }
    }
    if (!v.is_bool()) return scim_bad_request("invalidValue", where + " must be a boolean");
    return std::nullopt;
  }
  if (info.type == AttributeType::complex) {
    if (!v.is_object()) return scim_bad_request("invalidValue", where + " must be an object");
    return std::nullopt;
  }
  if (v.is_int64() || v.is_uint64()) {
    // employeeNumber and the like arrive as numbers from some clients
    v = json::string(json::serialize(v));
    return std::nullopt;
  }
  if (!v.is_string()) return scim_bad_request("invalidValue", where + " must be a string");
  return std::nullopt;
}

std::optional<ScimError> scim_normalize_complex(ResourceKind kind, const AttributeInfo& attr,
                                                json::value& v) {
  if (v.is_string() || v.is_bool() || v.is_number()) {
    // a bare value stands for {"value": ...} (Entra's manager, some clients' emails)
    json::object o;
    o["value"] = v;
    v = std::move(o);
  }
  if (!v.is_object()) return scim_bad_request("invalidValue", attr.name + " must be an object");
  json::object out;
  for (auto& kv : v.get_object()) {
    auto sub = find_attribute(kind, attr.schema, attr.name, kv.key());
    if (!sub)
      return scim_bad_request("invalidSyntax",
                              "unknown attribute " + attr.name + "." + std::string(kv.key()));
    json::value x = kv.value();
    if (auto e = scim_coerce_scalar(*sub, x, attr.name + "." + sub->name)) return e;
    out[sub->name] = std::move(x);
  }
  v = std::move(out);
  return std::nullopt;
}

// Clears "primary" on every value but `keep` (RFC 7643 2.4: at most one primary value).
void scim_single_primary(json::array& values, const json::value* keep) {
  bool any = false;
  for (auto& e : values)
    if (e.is_object() && &e != keep) {
      auto* p = scim_patch_member(e.get_object(), "primary");
      if (p && p->is_bool() && p->get_bool()) any = true;
    }
  if (!any || !keep) return;
  for (auto& e : values)
    if (e.is_object() && &e != keep) scim_patch_erase(e.get_object(), "primary");
}

bool scim_is_primary(const json::value& e) {
  if (!e.is_object()) return false;
  auto it = e.get_object().find("primary");
  return it != e.get_object().end() && it->value().is_bool() && it->value().get_bool();
}

// Adds values to a multi-valued attribute, skipping exact duplicates; a new primary value
// takes "primary" from the others.
void scim_append_values(json::array& target, const json::array& values) {
  for (const auto& v : values) {
    bool dup = false;
    for (const auto& t : target) {
      if (t == v) dup = true;
      // the same member or address twice: keep one (Entra re-adds members it already added)
      if (!dup && t.is_object() && v.is_object()) {
        auto a = t.get_object().find("value");
        auto b = v.get_object().find("value");
        if (a != t.get_object().end() && b != v.get_object().end() && a->value() == b->value() &&
            t.get_object().find("type") == t.get_object().end() &&
            v.get_object().find("type") == v.get_object().end())
          dup = true;
      }
    }
    if (dup) continue;
    if (scim_is_primary(v))
      for (auto& t : target)
        if (t.is_object()) scim_patch_erase(t.get_object(), "primary");
    target.push_back(v);
  }
}

// A new value made from the `eq` terms of a filter: emails[type eq "work"] -> {"type":"work"}.
bool scim_value_from_filter(const FilterNode& n, json::object& out) {
  if (n.kind == FilterNode::Kind::logical_and)
    return scim_value_from_filter(*n.left, out) && scim_value_from_filter(*n.right, out);
  if (n.kind != FilterNode::Kind::compare || n.op != CompareOp::eq || !n.path.sub.empty() ||
      !n.path.schema.empty())
    return false;
  switch (n.value.type) {
    case FilterValue::Type::string:
      out[n.path.attr] = n.value.text;
      break;
    case FilterValue::Type::boolean:
      out[n.path.attr] = n.value.boolean;
      break;
    case FilterValue::Type::number:
      out[n.path.attr] = n.value.number;
      break;
    case FilterValue::Type::null:
      return false;
  }
  return true;
}

bool scim_is_members(const AttributeInfo& a) { return a.name == "members"; }

std::optional<ScimError> scim_apply_op(ResourceKind kind, json::object& resource,
                                       const std::string& op, std::string_view path_text,
                                       json::value value, bool has_value) {
  ScimPatchPath path;
  if (auto e = scim_parse_patch_path(kind, path_text, path)) return e;
  const AttributeInfo& attr = path.attr;
  std::string where = std::string(path_text);

  // The object that holds the attribute: the resource or its extension's object.
  json::object* base = &resource;
  if (attr.extension) {
    json::value* ext = scim_patch_member(resource, attr.schema);
    if (!ext || !ext->is_object()) {
      if (op == "remove") return std::nullopt;  // nothing to remove
      resource[attr.schema] = json::object();
      ext = &resource[attr.schema];
    }
    base = &ext->get_object();
  }
  if (op != "remove" && !has_value)
    return scim_bad_request("invalidValue", "operation " + op + " on " + where + " needs a value");

  // Normalise the value for what the path names.
  if (has_value && !value.is_null()) {
    if (!path.sub.empty()) {
      if (auto e = scim_coerce_scalar(path.sub_info, value, where)) return e;
    } else if (attr.multi_valued) {
      if (!value.is_array()) value = json::array{value};
      for (auto& e : value.get_array())
        if (auto err = scim_normalize_complex(kind, attr, e)) return err;
    } else if (attr.type == AttributeType::complex) {
      if (auto e = scim_normalize_complex(kind, attr, value)) return e;
    } else {
      if (auto e = scim_coerce_scalar(attr, value, where)) return e;
    }
  }

  json::value* current = scim_patch_member(*base, attr.name);

  // --- with a value filter: act on the matching values ---
  if (path.filter.root) {
    std::vector<json::value*> matches;
    if (current && current->is_array())
      for (auto& e : current->get_array())
        if (e.is_object() && filter_matches(*path.filter.root, e.get_object()))
          matches.push_back(&e);
    if (matches.empty()) {
      if (op == "remove") {
        if (scim_is_members(attr)) return std::nullopt;  // already not a member
        return scim_bad_request("noTarget", "no value matches " + where);
      }
      // add (and Entra's replace of emails[type eq "work"].value): make the value.
      json::object made;
      if (path.sub.empty() || !scim_value_from_filter(*path.filter.root, made))
        return scim_bad_request("noTarget", "no value matches " + where);
      if (value.is_null()) return std::nullopt;
      made[path.sub] = value;
      json::value made_value = std::move(made);
      if (auto e = scim_normalize_complex(kind, attr, made_value)) return e;
      if (!current || !current->is_array()) {
        (*base)[attr.name] = json::array();
        current = &(*base)[attr.name];
      }
      scim_append_values(current->get_array(), json::array{made_value});
      return std::nullopt;
    }
    if (op == "remove") {
      json::array& arr = current->get_array();
      if (!path.sub.empty()) {
        for (auto* m : matches) scim_patch_erase(m->get_object(), path.sub);
      } else {
        json::array kept;
        for (auto& e : arr) {
          bool drop = false;
          for (auto* m : matches) drop = drop || m == &e;
          if (!drop) kept.push_back(e);
        }
        arr = std::move(kept);
      }
      if (arr.empty()) scim_patch_erase(*base, attr.name);
      return std::nullopt;
    }
    for (auto* m : matches) {
      if (!path.sub.empty()) {
        if (value.is_null()) {
          scim_patch_erase(m->get_object(), path.sub);
        } else {
          m->get_object()[path.sub] = value;
          if (path.sub == "primary" && value.is_bool() && value.get_bool())
            scim_single_primary(current->get_array(), m);
        }
      } else {
        // the value (one object) replaces or extends each matching value
        const json::array& vals = value.get_array();
        if (vals.size() != 1) return scim_bad_request("invalidValue", where + " takes one value");
        for (const auto& kv : vals[0].get_object()) m->get_object()[kv.key()] = kv.value();
        if (scim_is_primary(*m)) scim_single_primary(current->get_array(), m);
      }
    }
    return std::nullopt;
  }

  // --- a sub-attribute without a filter: name.givenName, or every value's sub-attribute ---
  if (!path.sub.empty()) {
    auto set_sub = [&](json::object& o) {
      if (op == "remove" || value.is_null()) {
        scim_patch_erase(o, path.sub);
      } else {
        o[path.sub] = value;
      }
    };
    if (attr.multi_valued) {
      if (!current || !current->is_array()) {
        if (op == "remove") return std::nullopt;
        return scim_bad_request("noTarget", where + " has no values");
      }
      for (auto& e : current->get_array())
        if (e.is_object()) set_sub(e.get_object());
      return std::nullopt;
    }
    if (!current || !current->is_object()) {
      if (op == "remove") return std::nullopt;
      (*base)[attr.name] = json::object();
      current = &(*base)[attr.name];
    }
    set_sub(current->get_object());
    if (current->get_object().empty()) scim_patch_erase(*base, attr.name);
    return std::nullopt;
  }

  // --- the whole attribute ---
  if (op == "remove") {
    if (attr.multi_valued && has_value && value.is_array() && current && current->is_array()) {
      // Entra ID: {"op":"Remove","path":"members","value":[{"value":"<id>"}]} removes those.
      json::array kept;
      for (auto& e : current->get_array()) {
        bool drop = false;
        const json::value* ev = e.is_object() ? e.get_object().if_contains("value") : nullptr;
        for (const auto& r : value.get_array()) {
          const json::value* rv = r.is_object() ? r.get_object().if_contains("value") : nullptr;
          if (ev && rv && *ev == *rv) drop = true;
        }
        if (!drop) kept.push_back(e);
      }
      current->get_array() = std::move(kept);
      if (current->get_array().empty()) scim_patch_erase(*base, attr.name);
      return std::nullopt;
    }
    scim_patch_erase(*base, attr.name);
    return std::nullopt;
  }
  if (value.is_null()) {
    scim_patch_erase(*base, attr.name);
    return std::nullopt;
  }
  if (attr.multi_valued) {
    if (op == "replace" || !current || !current->is_array()) {
      json::array fresh;
      scim_append_values(fresh, value.get_array());
      (*base)[attr.name] = std::move(fresh);
    } else {
      scim_append_values(current->get_array(), value.get_array());
    }
    return std::nullopt;
  }
  if (attr.type == AttributeType::complex && current && current->is_object()) {
    // RFC 7644 3.5.2.1/3: sub-attributes not given are left unchanged
    for (const auto& kv : value.get_object()) current->get_object()[kv.key()] = kv.value();
    return std::nullopt;
  }
  (*base)[attr.name] = std::move(value);
  return std::nullopt;
}

}  // namespace

std::optional<ScimError> normalize_attribute_value(ResourceKind kind, const AttributeInfo& attr,
                                                   json::value& value) {
  if (value.is_null()) return std::nullopt;
  if (attr.multi_valued) {
    if (!value.is_array()) value = json::array{value};
    for (auto& e : value.get_array())
      if (auto err = scim_normalize_complex(kind, attr, e)) return err;
    json::array deduped;
    scim_append_values(deduped, value.get_array());
    value = std::move(deduped);
    return std::nullopt;
  }
  if (attr.type == AttributeType::complex) return scim_normalize_complex(kind, attr, value);
  return scim_coerce_scalar(attr, value, attr.name);
}

std::optional<ScimError> apply_patch(ResourceKind kind, json::object& resource,
                                     const json::value& request) {
  if (!request.is_object())
    return scim_bad_request("invalidSyntax", "the body must be a PatchOp object");
  const json::object& req = request.get_object();
  bool is_patch = false;
  if (auto it = req.find("schemas"); it != req.end() && it->value().is_array())
    for (const auto& s : it->value().get_array())
      if (s.is_string() &&
          scim_patch_lower_copy(s.get_string()) == scim_patch_lower_copy(kPatchSchema))
        is_patch = true;
  if (!is_patch)
    return scim_bad_request("invalidSyntax", std::string("schemas must name ") + kPatchSchema);
  const json::value* ops = nullptr;
  for (const auto& kv : req)
    if (scim_patch_lower_copy(kv.key()) == "operations") ops = &kv.value();
  if (!ops || !ops->is_array() || ops->get_array().empty())
    return scim_bad_request("invalidSyntax", "Operations must be a non-empty array");
  if (ops->get_array().size() > 10000)
    return ScimError{413, "", "too many operations in one PATCH"};

  for (const auto& o : ops->get_array()) {
    if (!o.is_object()) return scim_bad_request("invalidSyntax", "an operation must be an object");
    std::string op;
    std::optional<std::string> path;
    const json::value* value = nullptr;
    for (const auto& kv : o.get_object()) {
      auto k = scim_patch_lower_copy(kv.key());
      if (k == "op" && kv.value().is_string()) op = scim_patch_lower_copy(kv.value().get_string());
      if (k == "path") {
        if (!kv.value().is_string())
          return scim_bad_request("invalidPath", "path must be a string");
        path = std::string(kv.value().get_string());
      }
      if (k == "value") value = &kv.value();
    }
    if (op != "add" && op != "replace" && op != "remove")
      return scim_bad_request("invalidSyntax", "op must be add, replace or remove");
    if (path && !path->empty()) {
      if (auto e = scim_apply_op(kind, resource, op, *path, value ? *value : json::value(),
                                 value != nullptr))
        return e;
      continue;
    }
    // No path (RFC 7644 3.5.2.1, 3.5.2.3): the value is an object of attributes; Entra ID
    // also writes paths as its keys ("name.givenName", "emails[type eq \"work\"].value").
    if (op == "remove") return scim_bad_request("noTarget", "remove needs a path");
    if (!value || !value->is_object())
      return scim_bad_request("invalidValue", "without a path the value must be an object");
    for (const auto& kv : value->get_object()) {
      std::string key(kv.key());
      std::string canonical;
      if (scim_patch_lower_copy(key) == "schemas") continue;
      // Okta repeats the id in a path-less replace; the same id is no change
      if (scim_patch_lower_copy(key) == "id" && resource.if_contains("id") &&
          *resource.if_contains("id") == kv.value())
        continue;
      if (known_schema(kind, key, &canonical) && canonical != kUserSchema &&
          canonical != kGroupSchema) {
        if (!kv.value().is_object())
          return scim_bad_request("invalidValue", key + " must be an object");
        for (const auto& ext : kv.value().get_object()) {
          if (auto e = scim_apply_op(kind, resource, op, canonical + ":" + std::string(ext.key()),
                                     ext.value(), true))
            return e;
        }
        continue;
      }
      if (auto e = scim_apply_op(kind, resource, op, key, kv.value(), true)) return e;
    }
  }
  return std::nullopt;
}

}  // namespace mailroom::api::scim
