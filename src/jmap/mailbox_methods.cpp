// Mailbox/get, /changes, /query, /set (RFC 8621 2) on the store's mailboxes.
#include <algorithm>
#include <boost/json.hpp>
#include <functional>

#include "src/core/services.h"
#include "src/jmap/methods.h"
#include "src/jmap/views.h"
#include "src/mime/facts.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

const std::vector<std::string> kMailboxProperties = {
    "id",           "name",         "parentId",      "role",     "sortOrder",   "totalEmails",
    "unreadEmails", "totalThreads", "unreadThreads", "myRights", "isSubscribed"};

int64_t sort_order(const MailboxView& m) {
  static const char* order[] = {"inbox", "drafts", "sent", "junk", "trash", "archive"};
  for (int i = 0; i < 6; ++i)
    if (m.role == order[i]) return i + 1;
  return 10;
}

json::object rights() {
  json::object r;
  for (const char* k : {"mayReadItems", "mayAddItems", "mayRemoveItems", "maySetSeen",
                        "maySetKeywords", "mayCreateChild", "mayRename", "mayDelete", "maySubmit"})
    r[k] = true;
  return r;
}

json::object mailbox_json(const MailboxView& m,
                          const std::optional<std::vector<std::string>>& props) {
  json::object o;
  auto want = [&](const char* p) {
    return !props || std::find(props->begin(), props->end(), p) != props->end();
  };
  o["id"] = m.id;  // always returned (RFC 8620 5.1)
  if (want("name")) o["name"] = m.name;
  if (want("parentId"))
    o["parentId"] = m.parent_id.empty() ? json::value(nullptr) : json::value(m.parent_id);
  if (want("role")) o["role"] = m.role.empty() ? json::value(nullptr) : json::value(m.role);
  if (want("sortOrder")) o["sortOrder"] = sort_order(m);
  // One thread per message (views.h): the thread counts are the email counts.
  if (want("totalEmails")) o["totalEmails"] = m.info.messages;
  if (want("unreadEmails")) o["unreadEmails"] = m.info.unseen;
  if (want("totalThreads")) o["totalThreads"] = m.info.messages;
  if (want("unreadThreads")) o["unreadThreads"] = m.info.unseen;
  if (want("myRights")) o["myRights"] = rights();
  if (want("isSubscribed")) o["isSubscribed"] = m.info.subscribed;
  return o;
}

// A mailbox name as the store takes it: no separator, no control characters (RFC 8621 2:
// "MUST be ... Net-Unicode"), at most max_size_mailbox_name octets.
bool valid_name(std::string_view name, const Options& o) {
  if (name.empty() || name.size() > o.max_size_mailbox_name) return false;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f || c == '/') return false;
  return name != "." && name != "..";
}

std::optional<std::string> resolve_id(CallContext& ctx, const json::value& v) {
  if (!v.is_string()) return std::nullopt;
  return resolve_creation_id(ctx, v.as_string());
}

bool mailbox_matches(const json::object& filter, const MailboxView& m, int depth) {
  if (depth > 16) return false;
  if (const auto* op = filter.if_contains("operator")) {
    const auto* conds = filter.if_contains("conditions");
    if (!op->is_string() || !conds || !conds->is_array()) return false;
    std::string_view o = op->as_string();
    bool any = false, all = true;
    for (const auto& c : conds->as_array()) {
      bool r = c.is_object() && mailbox_matches(c.as_object(), m, depth + 1);
      any = any || r;
      all = all && r;
    }
    if (o == "AND") return all;
    if (o == "OR") return any;
    return !any;  // NOT
  }
  for (const auto& kv : filter) {
    const auto& v = kv.value();
    if (kv.key() == "parentId") {
      if (v.is_null() ? !m.parent_id.empty() : (!v.is_string() || m.parent_id != v.as_string()))
        return false;
    } else if (kv.key() == "name") {
      if (!v.is_string()) return false;
      if (mime::fold_case(m.name).find(mime::fold_case(v.as_string())) == std::string::npos)
        return false;
    } else if (kv.key() == "role") {
      if (v.is_null() ? !m.role.empty() : (!v.is_string() || m.role != v.as_string())) return false;
    } else if (kv.key() == "hasAnyRole") {
      if (!v.is_bool() || v.as_bool() == m.role.empty()) return false;
    } else if (kv.key() == "isSubscribed") {
      if (!v.is_bool() || v.as_bool() != m.info.subscribed) return false;
    }
  }
  return true;
}

// A filter's shape and its property names (unsupportedFilter for others).
MethodResult check_mailbox_filter(const json::value& f, int depth) {
  if (depth > 16) return MethodError{"unsupportedFilter", "the filter is nested too deeply"};
  if (!f.is_object()) return invalid_arguments("a filter must be an object");
  const auto& o = f.as_object();
  if (o.contains("operator")) {
    const auto* op = o.if_contains("operator");
    const auto* conds = o.if_contains("conditions");
    if (!op->is_string() ||
        (op->as_string() != "AND" && op->as_string() != "OR" && op->as_string() != "NOT"))
      return MethodError{"unsupportedFilter", "operator is AND, OR or NOT"};
    if (!conds || !conds->is_array() || o.size() != 2)
      return invalid_arguments("a FilterOperator is {operator, conditions}");
    for (const auto& c : conds->as_array())
      if (auto e = check_mailbox_filter(c, depth + 1)) return e;
    return std::nullopt;
  }
  for (const auto& kv : o) {
    std::string_view k = kv.key();
    if (k != "parentId" && k != "name" && k != "role" && k != "hasAnyRole" && k != "isSubscribed")
      return MethodError{"unsupportedFilter", "unknown filter property " + std::string(k)};
  }
  return std::nullopt;
}

}  // namespace

MethodResult mailbox_get(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "ids", "properties"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  std::optional<std::vector<std::string>> ids, props;
  if (auto e = read_ids(ctx, args, "ids", ctx.options.max_objects_in_get, &ids)) return e;
  if (auto e = read_properties(args, "properties", kMailboxProperties, &props)) return e;
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  response["state"] = mailbox_state(*all);
  json::array list, not_found;
  if (!ids) {
    for (const auto& m : *all) list.push_back(mailbox_json(m, props));
  } else {
    for (const auto& id : *ids) {
      if (const auto* m = find_mailbox_by_id(*all, id))
        list.push_back(mailbox_json(*m, props));
      else
        not_found.push_back(json::value(id));
    }
  }
  response["list"] = std::move(list);
  response["notFound"] = std::move(not_found);
  return std::nullopt;
}

MethodResult mailbox_changes(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "sinceState", "maxChanges"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  const auto* since = args.if_contains("sinceState");
  if (!since || !since->is_string()) return invalid_arguments("sinceState is required");
  uint64_t max_changes = 0;
  if (auto e = read_uint(args, "maxChanges", ctx.options.max_changes, &max_changes)) return e;
  if (max_changes == 0) return invalid_arguments("maxChanges must be positive");
  auto old = decode_mailbox_state(since->as_string());
  if (!old) return MethodError{"cannotCalculateChanges", "unknown state"};
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  json::array created, updated, destroyed;
  bool only_counts = true;
  for (const auto& m : *all) {
    auto it = std::find_if(old->begin(), old->end(), [&](const auto& e) { return e.id == m.id; });
    if (it == old->end()) {
      created.push_back(json::value(m.id));
    } else if (it->props != mailbox_props_hash(m)) {
      updated.push_back(json::value(m.id));
      only_counts = false;
    } else if (it->counts != mailbox_counts_hash(m)) {
      updated.push_back(json::value(m.id));
    }
  }
  for (const auto& e : *old)
    if (!find_mailbox_by_id(*all, e.id)) destroyed.push_back(json::value(e.id));
  // The state has no intermediate steps: more changes than maxChanges cannot be split.
  if (created.size() + updated.size() + destroyed.size() > max_changes)
    return MethodError{"cannotCalculateChanges", "more changes than maxChanges"};
  response["oldState"] = since->as_string();
  response["newState"] = mailbox_state(*all);
  response["hasMoreChanges"] = false;
  // RFC 8621 2.2: only the counts changed.
  if (!updated.empty() && only_counts)
    response["updatedProperties"] =
        json::array{"totalEmails", "unreadEmails", "totalThreads", "unreadThreads"};
  else
    response["updatedProperties"] = nullptr;
  response["created"] = std::move(created);
  response["updated"] = std::move(updated);
  response["destroyed"] = std::move(destroyed);
  return std::nullopt;
}

MethodResult mailbox_query(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e =
          check_known(args, {"accountId", "filter", "sort", "position", "anchor", "anchorOffset",
                             "limit", "calculateTotal", "sortAsTree", "filterAsTree"}))
    return e;
  if (auto e = check_account(ctx, args, response)) return e;
  const json::value* filter = args.if_contains("filter");
  if (filter && filter->is_null()) filter = nullptr;
  if (filter)
    if (auto e = check_mailbox_filter(*filter, 0)) return e;
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  std::vector<const MailboxView*> hits;
  for (const auto& m : *all)
    if (!filter || mailbox_matches(filter->as_object(), m, 0)) hits.push_back(&m);
  // Sort: RFC 8621 2.3 "sortOrder" and "name"; default by the store's order.
  std::vector<std::pair<std::string, bool>> keys;
  if (const auto* sort = args.if_contains("sort"); sort && !sort->is_null()) {
    if (!sort->is_array()) return invalid_arguments("sort must be an array");
    for (const auto& c : sort->as_array()) {
      const auto* o = c.if_object();
      const auto* p = o ? o->if_contains("property") : nullptr;
      if (!p || !p->is_string()) return invalid_arguments("a Comparator has a property");
      std::string prop(p->as_string());
      if (prop != "name" && prop != "sortOrder") return MethodError{"unsupportedSort", prop};
      bool asc = true;
      if (const auto* a = o->if_contains("isAscending")) asc = !a->is_bool() || a->as_bool();
      keys.emplace_back(prop, asc);
    }
  }
  std::stable_sort(hits.begin(), hits.end(), [&](const MailboxView* a, const MailboxView* b) {
    for (const auto& [prop, asc] : keys) {
      int c = 0;
      if (prop == "name") {
        c = a->name.compare(b->name);
      } else {
        c = static_cast<int>(sort_order(*a) - sort_order(*b));
      }
      if (c != 0) return asc ? c < 0 : c > 0;
    }
    return false;
  });
  std::vector<std::string> ordered;
  for (const auto* m : hits) ordered.push_back(m->id);
  return query_page(ctx, args, ordered, mailbox_state(*all), response);
}

namespace {

// The full store name for `leaf` under the mailbox `parent_id` ("" = top level).
std::optional<std::string> full_name(const std::vector<MailboxView>& all,
                                     const std::string& parent_id, const std::string& leaf) {
  if (parent_id.empty()) return leaf;
  const auto* p = find_mailbox_by_id(all, parent_id);
  if (!p) return std::nullopt;
  return p->info.name + "/" + leaf;
}

size_t depth_of(std::string_view name) {
  return static_cast<size_t>(std::count(name.begin(), name.end(), '/')) + 1;
}

// The properties a create and an update share: name, parentId, isSubscribed. false when `k`
// is none of them or its value is bad (the caller decides).
bool read_shared_property(CallContext& ctx, const std::vector<MailboxView>& all, std::string_view k,
                          const json::value& v, std::string& name, std::string& parent,
                          std::optional<bool>& subscribe) {
  if (k == "name" && v.is_string() && valid_name(v.as_string(), ctx.options)) {
    name = v.as_string();
    return true;
  }
  if (k == "parentId" && v.is_null()) {
    parent.clear();
    return true;
  }
  if (k == "parentId") {
    auto id = resolve_id(ctx, v);
    if (!id || !find_mailbox_by_id(all, *id)) return false;
    parent = *id;
    return true;
  }
  if (k == "isSubscribed" && v.is_bool()) {
    subscribe = v.as_bool();
    return true;
  }
  return false;
}

store::SpecialUse use_of_role(std::string_view role, bool& ok) {
  ok = true;
  if (role == "sent") return store::SpecialUse::sent;
  if (role == "drafts") return store::SpecialUse::drafts;
  if (role == "trash") return store::SpecialUse::trash;
  if (role == "junk") return store::SpecialUse::junk;
  if (role == "archive") return store::SpecialUse::archive;
  ok = false;
  return store::SpecialUse::none;
}

}  // namespace

MethodResult mailbox_set(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(
          args, {"accountId", "ifInState", "create", "update", "destroy", "onDestroyRemoveEmails"}))
    return e;
  if (auto e = check_account(ctx, args, response)) return e;
  bool remove_emails = false;
  if (auto e = read_bool(args, "onDestroyRemoveEmails", false, &remove_emails)) return e;
  const json::object* create = nullptr;
  const json::object* update = nullptr;
  const json::array* destroy = nullptr;
  if (const auto* v = args.if_contains("create"); v && !v->is_null()) {
    if (!(create = v->if_object())) return invalid_arguments("create must be an object");
  }
  if (const auto* v = args.if_contains("update"); v && !v->is_null()) {
    if (!(update = v->if_object())) return invalid_arguments("update must be an object");
  }
  if (const auto* v = args.if_contains("destroy"); v && !v->is_null()) {
    if (!(destroy = v->if_array())) return invalid_arguments("destroy must be an array");
  }
  size_t n = (create ? create->size() : 0) + (update ? update->size() : 0) +
             (destroy ? destroy->size() : 0);
  if (n > ctx.options.max_objects_in_set) return MethodError{"requestTooLarge", "too many objects"};
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  std::string old_state = mailbox_state(*all);
  if (const auto* s = args.if_contains("ifInState"); s && !s->is_null()) {
    if (!s->is_string()) return invalid_arguments("ifInState must be a string");
    if (s->as_string() != old_state) return MethodError{"stateMismatch", ""};
  }
  json::object created, not_created, updated, not_updated, not_destroyed;
  json::array destroyed;
  const std::string& acc = ctx.account_id;

  if (create) {
    for (const auto& kv : *create) {
      std::string cid(kv.key());
      const auto* obj = kv.value().if_object();
      if (!obj) {
        not_created[cid] = set_error("invalidProperties", "a Mailbox object is expected");
        continue;
      }
      std::string name, parent;
      std::optional<bool> subscribe;
      store::SpecialUse use = store::SpecialUse::none;
      std::vector<std::string> bad;
      for (const auto& p : *obj) {
        std::string_view k = p.key();
        const auto& v = p.value();
        if (read_shared_property(ctx, *all, k, v, name, parent, subscribe)) continue;
        if (k == "role" && v.is_string()) {
          bool ok = false;
          use = use_of_role(v.as_string(), ok);
          if (!ok) bad.emplace_back(k);
        } else if (!(k == "role" && v.is_null()) && !(k == "sortOrder" && v.is_number())) {
          bad.emplace_back(k);
        }
      }
      if (name.empty() && std::find(bad.begin(), bad.end(), "name") == bad.end())
        bad.emplace_back("name");
      if (!bad.empty()) {
        not_created[cid] = invalid_properties(bad);
        continue;
      }
      auto full = full_name(*all, parent, name);
      if (!full || depth_of(*full) > ctx.options.max_mailbox_depth) {
        not_created[cid] =
            invalid_properties({"parentId"}, "the mailbox would be nested too deeply");
        continue;
      }
      if (const auto* existing = find_mailbox_by_name(*all, *full)) {
        auto err = set_error("alreadyExists", "a mailbox of that name exists");
        err["existingId"] = existing->id;
        not_created[cid] = std::move(err);
        continue;
      }
      auto s = ctx.store.create_mailbox(acc, *full, use);
      if (s.is_ok() && subscribe.value_or(false)) s = ctx.store.set_subscribed(acc, *full, true);
      if (!s.is_ok()) {
        not_created[cid] =
            set_error(s.code() == core::Code::invalid_argument ? "invalidProperties" : "serverFail",
                      s.code() == core::Code::invalid_argument ? s.client_message() : "");
        continue;
      }
      auto reloaded = load_mailboxes(ctx.store, acc);
      if (!reloaded) return store_error(reloaded.status());
      *all = std::move(*reloaded);
      const auto* m = find_mailbox_by_name(*all, *full);
      if (!m) return store_error(core::internal_error("created mailbox not listed"));
      ctx.created_ids[cid] = m->id;
      json::object c;
      c["id"] = m->id;
      c["sortOrder"] = sort_order(*m);
      c["totalEmails"] = 0;
      c["unreadEmails"] = 0;
      c["totalThreads"] = 0;
      c["unreadThreads"] = 0;
      c["myRights"] = rights();
      c["isSubscribed"] = m->info.subscribed;
      created[cid] = std::move(c);
    }
  }

  if (update) {
    for (const auto& kv : *update) {
      std::string id(kv.key());
      if (auto r = resolve_id(ctx, json::value(id))) id = *r;
      const auto* m = find_mailbox_by_id(*all, id);
      const auto* obj = kv.value().if_object();
      if (!m) {
        not_updated[std::string(kv.key())] = set_error("notFound", "");
        continue;
      }
      if (!obj) {
        not_updated[id] = set_error("invalidPatch", "a PatchObject is expected");
        continue;
      }
      std::string name = m->name, parent = m->parent_id;
      std::optional<bool> subscribe;
      std::vector<std::string> bad;
      for (const auto& p : *obj) {
        std::string_view k = p.key();
        const auto& v = p.value();
        if (read_shared_property(ctx, *all, k, v, name, parent, subscribe)) continue;
        // sortOrder and role are fixed: only their current values are accepted.
        bool same_order = k == "sortOrder" && v.is_int64() && v.as_int64() == sort_order(*m);
        bool same_role = k == "role" && ((v.is_null() && m->role.empty()) ||
                                         (v.is_string() && v.as_string() == m->role));
        if (!same_order && !same_role) bad.emplace_back(k);
      }
      if (!bad.empty()) {
        not_updated[id] = invalid_properties(bad);
        continue;
      }
      auto full = full_name(*all, parent, name);
      std::string old_name = m->info.name;
      if (full && *full != old_name) {
        if (m->role == "inbox") {
          not_updated[id] = set_error("forbidden", "the inbox cannot be renamed or moved");
          continue;
        }
        // A mailbox cannot move under itself.
        if (full->starts_with(old_name + "/") || depth_of(*full) > ctx.options.max_mailbox_depth) {
          not_updated[id] = invalid_properties({"parentId"}, "a mailbox cannot move there");
          continue;
        }
        if (find_mailbox_by_name(*all, *full)) {
          not_updated[id] = invalid_properties({"name"}, "a mailbox of that name exists");
          continue;
        }
        auto s = ctx.store.rename_mailbox(acc, old_name, *full);
        if (!s.is_ok()) {
          not_updated[id] = set_error("serverFail", s.client_message());
          continue;
        }
      } else if (!full) {
        not_updated[id] = set_error("invalidProperties", "");
        continue;
      }
      if (subscribe) {
        auto s = ctx.store.set_subscribed(acc, *full, *subscribe);
        if (!s.is_ok()) {
          not_updated[id] = set_error("serverFail", "");
          continue;
        }
      }
      updated[id] = nullptr;
      auto reloaded = load_mailboxes(ctx.store, acc);
      if (!reloaded) return store_error(reloaded.status());
      *all = std::move(*reloaded);
    }
  }

  if (destroy) {
    for (const auto& v : *destroy) {
      auto id = resolve_id(ctx, v);
      if (!id) {
        if (v.is_string()) not_destroyed[std::string(v.as_string())] = set_error("notFound", "");
        continue;
      }
      const auto* m = find_mailbox_by_id(*all, *id);
      if (!m) {
        not_destroyed[*id] = set_error("notFound", "");
        continue;
      }
      bool has_child = std::any_of(all->begin(), all->end(),
                                   [&](const MailboxView& o) { return o.parent_id == m->id; });
      if (has_child) {
        not_destroyed[*id] = set_error("mailboxHasChild", "");
        continue;
      }
      if (m->role == "inbox") {
        not_destroyed[*id] = set_error("forbidden", "the inbox cannot be destroyed");
        continue;
      }
      if (m->info.messages > 0 && !remove_emails) {
        not_destroyed[*id] = set_error("mailboxHasEmail", "");
        continue;
      }
      auto s = ctx.store.delete_mailbox(acc, m->info.name, false);
      if (!s.is_ok()) {
        not_destroyed[*id] = set_error("serverFail", "");
        continue;
      }
      (void)ctx.store.set_subscribed(acc, m->info.name, false);
      destroyed.push_back(json::value(*id));
      auto reloaded = load_mailboxes(ctx.store, acc);
      if (!reloaded) return store_error(reloaded.status());
      *all = std::move(*reloaded);
    }
  }

  finish_set(response, old_state, mailbox_state(*all), created, updated, destroyed, not_created,
             not_updated, not_destroyed);
  return std::nullopt;
}

}  // namespace mailroom::jmap
