// SCIM 2.0 routes: authentication, request parsing, query parameters, ETags, responses.
#include "src/api/scim/routes.h"

#include <boost/json.hpp>
#include <charconv>

#include "src/api/scim/filter.h"
#include "src/api/scim/patch.h"
#include "src/api/scim/resources.h"
#include "src/api/scim/schema.h"
#include "src/core/address.h"
#include "src/service/writable_directory.h"

namespace mailroom::api {

namespace json = boost::json;
using scim::ScimError;

namespace {

constexpr const char* kScimContentType = "application/scim+json";

http::Response scim_route_json(int status, const json::object& body) {
  return http::Response::json(status, json::serialize(body), kScimContentType);
}

// RFC 7644 3.12.
http::Response scim_route_error(const ScimError& e) {
  json::object body;
  body["schemas"] = json::array{scim::kErrorSchema};
  body["status"] = std::to_string(e.status);
  if (!e.scim_type.empty()) body["scimType"] = e.scim_type;
  body["detail"] = e.detail;
  return scim_route_json(e.status, body);
}

std::string scim_route_base_url(const Context& ctx, const http::Request& req) {
  std::string host = req.header("host").value_or(ctx.hostname);
  // a Host with characters no host name has is not echoed into Location
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
          c == '[' || c == ']'))
      host = ctx.hostname;
  return std::string(req.tls ? "https://" : "http://") + host + "/scim/v2";
}

struct ScimRouteCall {
  Context& ctx;
  http::Request& req;
  std::string base_url;
  scim::ScimContext* directory_call;  // null for the discovery routes
  scim::ScimContext& scim() { return *directory_call; }
};

using ScimRouteBody = std::function<http::Response(ScimRouteCall&)>;

// Authenticates, finds the writable local directory, then runs `body`.
http::Response scim_route_run(Context& ctx, http::Request& req, bool needs_directory,
                              const ScimRouteBody& body) {
  auto caller = ctx.authenticate(req, "scim");
  if (!caller) return caller.error_response();
  if (req.body.size() > kMaxScimBody)
    return scim_route_error(
        {413, "", "the body is larger than " + std::to_string(kMaxScimBody) + " bytes"});
  std::string base_url = scim_route_base_url(ctx, req);
  if (!needs_directory) {
    ScimRouteCall call{ctx, req, base_url, nullptr};
    return body(call);
  }
  auth::LocalDirectory* dir = nullptr;
  {
    auto w = ctx.services && ctx.services->directory
                 ? service::writable_directory(*ctx.services->directory)
                 : core::Result<auth::LocalDirectory*>(core::invalid_argument("no directory"));
    if (!w)
      return scim_route_error(
          {501, "",
           "SCIM provisioning needs directory.backend = \"local\": with LDAP, Active Directory "
           "or SQL the corporate directory is the source of truth; provision users there"});
    dir = *w;
  }
  scim::ScimContext sc{*dir, *caller, base_url, {}};
  sc.change = service::ChangeContext{&*caller, ctx.journal.get(), false,
                                     service::ChangeJournal::new_change_set_id(), nullptr};
  ScimRouteCall call{ctx, req, base_url, &sc};
  return body(call);
}

std::optional<ScimError> scim_route_parse_body(const http::Request& req, json::value& out) {
  if (req.body.empty()) return scim::scim_bad_request("invalidSyntax", "the body is empty");
  json::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  out = json::parse(req.body, ec, {}, opts);
  if (ec) return scim::scim_bad_request("invalidSyntax", "the body is not JSON: " + ec.message());
  if (!out.is_object())
    return scim::scim_bad_request("invalidSyntax", "the body must be an object");
  return std::nullopt;
}

// --- attributes / excludedAttributes (RFC 7644 3.4.2.5) ---

std::vector<scim::AttrPath> scim_route_attr_list(const std::string& text,
                                                 std::optional<ScimError>& error) {
  std::vector<scim::AttrPath> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) {
      auto p = scim::parse_attr_path(item);
      if (!p) {
        error = scim::scim_bad_request("invalidValue", "bad attribute name '" + item + "'");
        return {};
      }
      out.push_back(*p);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
    if (out.size() > 100) break;
  }
  return out;
}

bool scim_route_is_core(const std::string& schema) {
  return schema.empty() || schema == core::ascii_lower(scim::kUserSchema) ||
         schema == core::ascii_lower(scim::kGroupSchema);
}

json::object* scim_route_base(json::object& r, const scim::AttrPath& p, bool create) {
  if (scim_route_is_core(p.schema)) return &r;
  for (auto& kv : r)
    if (core::ascii_lower(std::string(kv.key())) == p.schema && kv.value().is_object())
      return &kv.value().get_object();
  if (!create) return nullptr;
  return nullptr;
}

std::string scim_route_key(const json::object& o, const std::string& name) {
  for (const auto& kv : o)
    if (core::ascii_lower(std::string(kv.key())) == core::ascii_lower(name)) return kv.key();
  return {};
}

void scim_route_project(json::object& r, const std::vector<scim::AttrPath>& include,
                        const std::vector<scim::AttrPath>& exclude) {
  if (!include.empty()) {
    json::object out;
    out["schemas"] = r["schemas"];
    out["id"] = r["id"];
    for (const auto& p : include) {
      json::object* base = scim_route_base(r, p, false);
      if (!base) continue;
      std::string key = scim_route_key(*base, p.attr);
      if (key.empty()) continue;
      json::object* target = &out;
      if (!scim_route_is_core(p.schema)) {
        std::string ext_key = scim_route_key(r, p.schema);
        if (!out.contains(ext_key)) out[ext_key] = json::object();
        target = &out[ext_key].get_object();
      }
      const json::value& v = (*base)[key];
      if (p.sub.empty()) {
        (*target)[key] = v;
        continue;
      }
      // one sub-attribute: of the object, or of each value
      auto pick = [&](const json::object& o, json::object& into) {
        std::string sk = scim_route_key(o, p.sub);
        if (!sk.empty()) into[sk] = o.at(sk);
      };
      if (v.is_object()) {
        json::object& into = (*target)[key].is_object()
                                 ? (*target)[key].get_object()
                                 : ((*target)[key] = json::object()).get_object();
        pick(v.get_object(), into);
      } else if (v.is_array()) {
        json::array arr;
        for (const auto& e : v.get_array()) {
          json::object into;
          if (e.is_object()) pick(e.get_object(), into);
          arr.push_back(std::move(into));
        }
        (*target)[key] = std::move(arr);
      }
    }
    r = std::move(out);
  }
  for (const auto& p : exclude) {
    if (scim_route_is_core(p.schema) && p.sub.empty() &&
        (core::ascii_lower(p.attr) == "id" || core::ascii_lower(p.attr) == "schemas"))
      continue;  // returned "always"
    json::object* base = scim_route_base(r, p, false);
    if (!base) continue;
    std::string key = scim_route_key(*base, p.attr);
    if (key.empty()) continue;
    if (p.sub.empty()) {
      base->erase(key);
      continue;
    }
    json::value& v = (*base)[key];
    auto drop = [&](json::object& o) {
      std::string sk = scim_route_key(o, p.sub);
      if (!sk.empty()) o.erase(sk);
    };
    if (v.is_object()) drop(v.get_object());
    if (v.is_array())
      for (auto& e : v.get_array())
        if (e.is_object()) drop(e.get_object());
  }
}

// --- query parameters ---

struct ScimRouteQuery {
  std::string filter;
  std::string sort_by;
  bool descending = false;
  size_t start_index = 1;
  size_t count = 100;
  std::vector<scim::AttrPath> attributes, excluded;
};

std::optional<ScimError> scim_route_number(const std::string& text, const char* what,
                                           long long& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || ptr != text.data() + text.size())
    return scim::scim_bad_request("invalidValue", std::string(what) + " must be an integer");
  return std::nullopt;
}

std::optional<ScimError> scim_route_set(ScimRouteQuery& q, const std::string& name,
                                        const std::string& value) {
  std::optional<ScimError> err;
  if (name == "filter") {
    q.filter = value;
  } else if (name == "sortby") {
    q.sort_by = value;
  } else if (name == "sortorder") {
    std::string v = core::ascii_lower(value);
    if (v != "ascending" && v != "descending")
      return scim::scim_bad_request("invalidValue", "sortOrder is ascending or descending");
    q.descending = v == "descending";
  } else if (name == "startindex") {
    long long n = 1;
    if (auto e = scim_route_number(value, "startIndex", n)) return e;
    q.start_index = n < 1 ? 1 : static_cast<size_t>(n);  // RFC 7644 3.4.2.4: < 1 means 1
  } else if (name == "count") {
    long long n = 0;
    if (auto e = scim_route_number(value, "count", n)) return e;
    q.count = n < 0 ? 0 : std::min(static_cast<size_t>(n), kMaxScimResults);
  } else if (name == "attributes") {
    q.attributes = scim_route_attr_list(value, err);
  } else if (name == "excludedattributes") {
    q.excluded = scim_route_attr_list(value, err);
  }
  return err;
}

std::optional<ScimError> scim_route_query_from_url(const http::Request& req, ScimRouteQuery& q) {
  for (const auto& [name, value] : req.query_params())
    if (auto e = scim_route_set(q, core::ascii_lower(name), value)) return e;
  return std::nullopt;
}

std::optional<ScimError> scim_route_query_from_body(const http::Request& req, ScimRouteQuery& q) {
  json::value body;
  if (auto e = scim_route_parse_body(req, body)) return e;
  for (const auto& kv : body.get_object()) {
    std::string name = core::ascii_lower(std::string(kv.key()));
    if (name == "schemas") continue;
    std::string value;
    if (kv.value().is_string()) {
      value = std::string(kv.value().get_string());
    } else if (kv.value().is_int64()) {
      value = std::to_string(kv.value().get_int64());
    } else if (kv.value().is_array()) {
      for (const auto& a : kv.value().get_array())
        if (a.is_string()) value += (value.empty() ? "" : ",") + std::string(a.get_string());
    } else {
      return scim::scim_bad_request("invalidValue", "bad value for " + std::string(kv.key()));
    }
    if (auto e = scim_route_set(q, name, value)) return e;
  }
  return std::nullopt;
}

bool scim_route_excludes(const std::vector<scim::AttrPath>& excluded, const char* attr) {
  for (const auto& p : excluded)
    if (p.sub.empty() && core::ascii_lower(p.attr) == core::ascii_lower(std::string(attr)))
      return true;
  return false;
}

http::Response scim_route_list(ScimRouteCall& call, scim::ResourceKind kind,
                               const ScimRouteQuery& q) {
  scim::Filter filter;
  if (!q.filter.empty()) {
    auto f = scim::parse_filter(q.filter);
    if (!f) return scim_route_error({400, "invalidFilter", f.status().client_message()});
    filter = std::move(f).value();
  }
  if (!q.sort_by.empty() && !scim::parse_attr_path(q.sort_by))
    return scim_route_error({400, "invalidValue", "sortBy is not an attribute path"});
  scim::ScimPage page;
  auto e = kind == scim::ResourceKind::user
               ? scim::query_users(call.scim(), filter.root.get(), q.sort_by, q.descending,
                                   q.start_index, q.count, page)
               : scim::query_groups(call.scim(), filter.root.get(), q.sort_by, q.descending,
                                    q.start_index, q.count, page);
  if (e) return scim_route_error(*e);
  json::array resources;
  bool with_members = !scim_route_excludes(q.excluded, "members");
  for (const auto& id : page.ids) {
    json::object r;
    auto err = kind == scim::ResourceKind::user ? scim::get_user(call.scim(), id, r)
                                                : scim::get_group(call.scim(), id, with_members, r);
    if (err) {
      if (err->status == 404) continue;  // removed meanwhile
      return scim_route_error(*err);
    }
    scim_route_project(r, q.attributes, q.excluded);
    resources.push_back(std::move(r));
  }
  json::object body;
  body["schemas"] = json::array{scim::kListSchema};
  body["totalResults"] = page.total;
  body["startIndex"] = q.start_index;
  body["itemsPerPage"] = resources.size();
  body["Resources"] = std::move(resources);
  return scim_route_json(200, body);
}

// A representation response with ETag (and Location for 201).
http::Response scim_route_resource(int status, json::object& r,
                                   const std::vector<scim::AttrPath>& include = {},
                                   const std::vector<scim::AttrPath>& exclude = {}) {
  std::string version, location;
  if (auto* meta = r.if_contains("meta"); meta && meta->is_object()) {
    if (auto* v = meta->get_object().if_contains("version"); v && v->is_string())
      version = std::string(v->get_string());
    if (auto* l = meta->get_object().if_contains("location"); l && l->is_string())
      location = std::string(l->get_string());
  }
  scim_route_project(r, include, exclude);
  auto resp = scim_route_json(status, r);
  if (!version.empty()) resp.set_header("ETag", version);
  if (status == 201 && !location.empty()) resp.set_header("Location", location);
  return resp;
}

// RFC 7232 3.1 / 3.2 over the resource's weak ETag: true when one of the listed tags (or *)
// matches. Weak comparison: W/ prefixes are ignored.
bool scim_route_etag_matches(const std::string& header, const std::string& version) {
  auto strip = [](std::string t) {
    while (!t.empty() && t.front() == ' ') t.erase(t.begin());
    while (!t.empty() && t.back() == ' ') t.pop_back();
    if (t.rfind("W/", 0) == 0) t = t.substr(2);
    return t;
  };
  std::string want = strip(version);
  size_t start = 0;
  for (;;) {
    size_t comma = header.find(',', start);
    std::string tag =
        strip(header.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (tag == "*" || tag == want) return true;
    if (comma == std::string::npos) return false;
    start = comma + 1;
  }
}

std::string scim_route_version(const json::object& r) {
  auto* meta = r.if_contains("meta");
  if (!meta || !meta->is_object()) return {};
  auto* v = meta->get_object().if_contains("version");
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<ScimError> scim_route_get(ScimRouteCall& call, scim::ResourceKind kind,
                                        const std::string& id, json::object& out) {
  return kind == scim::ResourceKind::user ? scim::get_user(call.scim(), id, out)
                                          : scim::get_group(call.scim(), id, true, out);
}

std::optional<ScimError> scim_route_check_if_match(const http::Request& req,
                                                   const json::object& current) {
  auto if_match = req.header("if-match");
  if (if_match && !scim_route_etag_matches(*if_match, scim_route_version(current)))
    return ScimError{412, "", "the resource has changed (If-Match does not match its ETag)"};
  return std::nullopt;
}

// Runs a read-check-write (If-Match, PATCH on the current representation) in one directory
// transaction, so a concurrent writer cannot slip between the ETag check and the write; a
// refused request rolls back whatever it wrote.
http::Response scim_route_atomic(ScimRouteCall& call, const std::function<http::Response()>& body) {
  http::Response resp;
  auto st = call.scim().dir.transaction([&]() -> core::Status {
    resp = body();
    if (resp.status < 400) return core::Status::ok();
    return core::invalid_argument("SCIM request refused");
  });
  if (!st && resp.status < 400) return scim_route_error(scim::scim_error_from_status(st));
  return resp;
}

// A PATCH of a group that only adds members by value list and removes them by value list or
// `members[value eq "..."]`, without If-Match: its values, for the fast path. False for
// anything else (the general path handles it, errors included).
bool scim_route_members_only(const json::value& body, std::vector<std::string>& add,
                             std::vector<std::string>& remove) {
  const json::object* req = body.if_object();
  if (!req) return false;
  const json::value* ops = nullptr;
  for (const auto& kv : *req) {
    std::string k = core::ascii_lower(std::string(kv.key()));
    if (k == "operations")
      ops = &kv.value();
    else if (k != "schemas")
      return false;
  }
  auto* schemas = req->if_contains("schemas");
  if (!schemas || !schemas->is_array() || schemas->get_array().size() != 1 ||
      !schemas->get_array()[0].is_string() ||
      core::ascii_lower(std::string(schemas->get_array()[0].get_string())) !=
          core::ascii_lower(scim::kPatchSchema))
    return false;
  if (!ops || !ops->is_array() || ops->get_array().empty()) return false;
  for (const auto& o : ops->get_array()) {
    if (!o.is_object()) return false;
    std::string op, path;
    const json::value* value = nullptr;
    for (const auto& kv : o.get_object()) {
      std::string k = core::ascii_lower(std::string(kv.key()));
      if (!kv.value().is_string() && k != "value") return false;
      if (k == "op")
        op = core::ascii_lower(std::string(kv.value().get_string()));
      else if (k == "path")
        path = std::string(kv.value().get_string());
      else if (k == "value")
        value = &kv.value();
      else
        return false;
    }
    if (core::ascii_lower(path) == "members" && value && value->is_array() &&
        (op == "add" || op == "remove")) {
      for (const auto& m : value->get_array()) {
        const json::value* v = m.is_object() ? m.get_object().if_contains("value") : nullptr;
        if (!v || !v->is_string() || v->get_string().empty()) return false;
        for (const auto& sub : m.get_object()) {
          std::string k = core::ascii_lower(std::string(sub.key()));
          if (k != "value" && k != "display" && k != "$ref" && k != "type") return false;
        }
        (op == "add" ? add : remove).emplace_back(v->get_string());
      }
      continue;
    }
    if (op == "remove" && !value && path.size() > 8) {
      if (core::ascii_lower(path.substr(0, 8)) != "members[" || path.back() != ']') return false;
      auto inner = scim::parse_filter(std::string_view(path).substr(8, path.size() - 9));
      if (!inner) return false;
      const scim::FilterNode& n = *inner->root;
      if (n.kind != scim::FilterNode::Kind::compare || n.op != scim::CompareOp::eq ||
          n.value.type != scim::FilterValue::Type::string || !n.path.schema.empty() ||
          !n.path.sub.empty() || core::ascii_lower(n.path.attr) != "value")
        return false;
      remove.push_back(n.value.text);
      continue;
    }
    return false;
  }
  return true;
}

http::Response scim_route_replace(ScimRouteCall& call, scim::ResourceKind kind, bool patch) {
  const std::string& id = call.req.params.at(0);
  json::value body;
  if (auto e = scim_route_parse_body(call.req, body)) return scim_route_error(*e);
  std::vector<std::string> add, remove;
  if (patch && kind == scim::ResourceKind::group && !call.req.header("if-match") &&
      scim_route_members_only(body, add, remove)) {
    if (auto e = scim::patch_group_members(call.scim(), id, add, remove))
      return scim_route_error(*e);
    // RFC 7644 3.5.2: 204 when the client asked for no attributes (Entra ID and Okta take it)
    http::Response r;
    r.status = 204;
    return r;
  }
  json::object current;
  if (auto e = scim_route_get(call, kind, id, current)) return scim_route_error(*e);
  if (auto e = scim_route_check_if_match(call.req, current)) return scim_route_error(*e);
  json::object desired;
  if (patch) {
    desired = current;
    desired.erase("meta");
    if (auto e = scim::apply_patch(kind, desired, body)) return scim_route_error(*e);
  } else {
    desired = std::move(body.get_object());
    // RFC 7644 3.5.1: a PUT's schemas must name the resource type
    if (auto e = scim::normalize_resource(kind, desired, true)) return scim_route_error(*e);
  }
  json::object out;
  auto e = kind == scim::ResourceKind::user ? scim::replace_user(call.scim(), id, desired, out)
                                            : scim::replace_group(call.scim(), id, desired, out);
  if (e) return scim_route_error(*e);
  return scim_route_resource(200, out);
}

void scim_route_add_resource(http::Router& router, const std::shared_ptr<Context>& c,
                             const std::string& base, scim::ResourceKind kind) {
  router.add("GET", base, [c, kind](http::Request& req) {
    return scim_route_run(*c, req, true, [kind](ScimRouteCall& call) {
      ScimRouteQuery q;
      if (auto e = scim_route_query_from_url(call.req, q)) return scim_route_error(*e);
      return scim_route_list(call, kind, q);
    });
  });
  router.add("POST", base + "/.search", [c, kind](http::Request& req) {
    return scim_route_run(*c, req, true, [kind](ScimRouteCall& call) {
      ScimRouteQuery q;
      if (auto e = scim_route_query_from_body(call.req, q)) return scim_route_error(*e);
      return scim_route_list(call, kind, q);
    });
  });
  router.add("POST", base, [c, kind](http::Request& req) {
    return scim_route_run(*c, req, true, [kind](ScimRouteCall& call) {
      json::value body;
      if (auto e = scim_route_parse_body(call.req, body)) return scim_route_error(*e);
      json::object out;
      auto e = kind == scim::ResourceKind::user
                   ? scim::create_user(call.scim(), body.get_object(), out)
                   : scim::create_group(call.scim(), body.get_object(), out);
      if (e) return scim_route_error(*e);
      return scim_route_resource(201, out);
    });
  });
  router.add("GET", base + "/{id}", [c, kind](http::Request& req) {
    return scim_route_run(*c, req, true, [kind](ScimRouteCall& call) {
      ScimRouteQuery q;
      if (auto e = scim_route_query_from_url(call.req, q)) return scim_route_error(*e);
      json::object out;
      auto e = kind == scim::ResourceKind::user
                   ? scim::get_user(call.scim(), call.req.params.at(0), out)
                   : scim::get_group(call.scim(), call.req.params.at(0),
                                     !scim_route_excludes(q.excluded, "members"), out);
      if (e) return scim_route_error(*e);
      auto inm = call.req.header("if-none-match");
      if (inm && scim_route_etag_matches(*inm, scim_route_version(out))) {
        http::Response r;
        r.status = 304;
        r.set_header("ETag", scim_route_version(out));
        return r;
      }
      return scim_route_resource(200, out, q.attributes, q.excluded);
    });
  });
  router.add("PUT", base + "/{id}", [c, kind](http::Request& req) {
    return scim_route_run(*c, req, true, [kind](ScimRouteCall& call) {
      return scim_route_atomic(call, [&] { return scim_route_replace(call, kind, false); });
    });
  });
  router.add("PATCH", base + "/{id}", [c, kind](http::Request& req) {
    return scim_route_run(*c, req, true, [kind](ScimRouteCall& call) {
      return scim_route_atomic(call, [&] { return scim_route_replace(call, kind, true); });
    });
  });
  router.add("DELETE", base + "/{id}", [c, kind](http::Request& req) {
    return scim_route_run(*c, req, true, [kind](ScimRouteCall& call) {
      return scim_route_atomic(call, [&] {
        const std::string& id = call.req.params.at(0);
        json::object current;
        if (auto e = scim_route_get(call, kind, id, current)) return scim_route_error(*e);
        if (auto e = scim_route_check_if_match(call.req, current)) return scim_route_error(*e);
        auto e = kind == scim::ResourceKind::user ? scim::delete_user(call.scim(), id)
                                                  : scim::delete_group(call.scim(), id);
        if (e) return scim_route_error(*e);
        http::Response r;
        r.status = 204;
        return r;
      });
    });
  });
}

json::object scim_route_service_provider_config(const std::string& base_url) {
  json::object o;
  o["schemas"] = json::array{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"};
  o["documentationUri"] = "https://github.com/mailroom/mailroom#scim";
  o["patch"] = json::object{{"supported", true}};
  o["bulk"] = json::object{{"supported", false}, {"maxOperations", 0}, {"maxPayloadSize", 0}};
  o["filter"] = json::object{{"supported", true}, {"maxResults", kMaxScimResults}};
  o["changePassword"] = json::object{{"supported", true}};
  o["sort"] = json::object{{"supported", true}};
  o["etag"] = json::object{{"supported", true}};
  o["authenticationSchemes"] = json::array{json::object{
      {"type", "oauthbearertoken"},
      {"name", "OAuth Bearer Token"},
      {"description", "A Mailroom API token (mailroomctl api-token) or an SSO access token"},
      {"specUri", "https://www.rfc-editor.org/rfc/rfc6750"},
      {"primary", true}}};
  o["meta"] = json::object{{"resourceType", "ServiceProviderConfig"},
                           {"location", base_url + "/ServiceProviderConfig"}};
  return o;
}

json::object scim_route_resource_type(const char* name, const std::string& base_url) {
  bool user = std::string_view(name) == "User";
  json::object o;
  o["schemas"] = json::array{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"};
  o["id"] = name;
  o["name"] = name;
  o["endpoint"] = user ? "/Users" : "/Groups";
  o["description"] = user ? "Accounts of the mail directory" : "Groups (distribution lists)";
  o["schema"] = user ? scim::kUserSchema : scim::kGroupSchema;
  if (user)
    o["schemaExtensions"] =
        json::array{json::object{{"schema", scim::kEnterpriseSchema}, {"required", false}}};
  o["meta"] = json::object{{"resourceType", "ResourceType"},
                           {"location", base_url + "/ResourceTypes/" + name}};
  return o;
}

}  // namespace

void add_scim_routes(http::Router& router, std::shared_ptr<Context> c) {
  router.add("GET", "/scim/v2/ServiceProviderConfig", [c](http::Request& req) {
    return scim_route_run(*c, req, false, [](ScimRouteCall& call) {
      return scim_route_json(200, scim_route_service_provider_config(call.base_url));
    });
  });
  router.add("GET", "/scim/v2/ResourceTypes", [c](http::Request& req) {
    return scim_route_run(*c, req, false, [](ScimRouteCall& call) {
      json::object list;
      list["schemas"] = json::array{scim::kListSchema};
      list["totalResults"] = 2;
      list["itemsPerPage"] = 2;
      list["startIndex"] = 1;
      list["Resources"] = json::array{scim_route_resource_type("User", call.base_url),
                                      scim_route_resource_type("Group", call.base_url)};
      return scim_route_json(200, list);
    });
  });
  router.add("GET", "/scim/v2/ResourceTypes/{name}", [c](http::Request& req) {
    return scim_route_run(*c, req, false, [](ScimRouteCall& call) {
      const std::string& name = call.req.params.at(0);
      if (name != "User" && name != "Group")
        return scim_route_error({404, "", "no resource type " + name});
      return scim_route_json(
          200, scim_route_resource_type(name == "User" ? "User" : "Group", call.base_url));
    });
  });
  router.add("GET", "/scim/v2/Schemas", [c](http::Request& req) {
    return scim_route_run(*c, req, false, [](ScimRouteCall& call) {
      return http::Response::json(200, *scim::schemas_document("", call.base_url),
                                  kScimContentType);
    });
  });
  router.add("GET", "/scim/v2/Schemas/{id}", [c](http::Request& req) {
    return scim_route_run(*c, req, false, [](ScimRouteCall& call) {
      auto doc = scim::schemas_document(call.req.params.at(0), call.base_url);
      if (!doc) return scim_route_error({404, "", "no schema " + call.req.params.at(0)});
      return http::Response::json(200, *doc, kScimContentType);
    });
  });
  scim_route_add_resource(router, c, "/scim/v2/Users", scim::ResourceKind::user);
  scim_route_add_resource(router, c, "/scim/v2/Groups", scim::ResourceKind::group);
}

}  // namespace mailroom::api
