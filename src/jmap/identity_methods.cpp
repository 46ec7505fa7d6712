// Identity/get, /changes, /set (RFC 8621 6) over identity.h's record.
#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "auth/directory.h"
#include "auth/resolver.h"
#include "src/core/address.h"
#include "src/core/services.h"
#include "src/jmap/identity.h"
#include "src/jmap/records.h"
#include "src/queue/submission_rules.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

constexpr const char* kKind = "identities";
constexpr size_t kMaxSignatureBytes = 64 * 1024;
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxAddressesPerList = 50;  // replyTo, bcc

const std::vector<std::string> kIdentityProperties = {
    "id", "name", "email", "replyTo", "bcc", "textSignature", "htmlSignature", "mayDelete"};

uint64_t uint_of(const json::object& o, const char* k) { return record_uint(o, k); }
std::string str_of(const json::object& o, const char* k) { return record_str(o, k); }

std::string hex64(std::string_view s) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// The directory's view: the addresses the account may send as, and its display name.
struct DirectoryView {
  std::vector<std::string> emails;
  std::string name;
};

MethodResult directory_view(CallContext& ctx, DirectoryView* out) {
  if (!ctx.services.resolver) {
    out->emails = {ctx.username};  // no directory (tests of other methods): the login address
    return std::nullopt;
  }
  auto& resolver = *ctx.services.resolver;
  auto account = resolver.directory().find_account_by_id(ctx.account_id);
  if (!account) {
    if (account.code() == core::Code::not_found) return MethodError{"accountNotFound", ""};
    return MethodError{"serverUnavailable", "the directory cannot answer"};
  }
  out->name = account->display_name;
  std::vector<std::string> candidates{account->address};
  for (const auto& a : account->other_addresses) candidates.push_back(a);
  for (const auto& a : account->send_as) candidates.push_back(a);
  std::set<std::string> seen;
  for (const auto& c : candidates) {
    std::string lower = core::ascii_lower(c);
    if (lower.empty() || !seen.insert(lower).second) continue;
    if (out->emails.size() >= kMaxIdentities) break;
    auto ok = resolver.may_send_as(*account, lower);  // the SMTP submission rule
    if (!ok) return MethodError{"serverUnavailable", "the directory cannot answer"};
    if (*ok) out->emails.push_back(lower);
  }
  return std::nullopt;
}

// Loads the record and brings the directory's identities up to date (saved when changed).
// The caller holds records_lock().
MethodResult load_synced(CallContext& ctx, json::object& doc) {
  DirectoryView dir;
  if (auto e = directory_view(ctx, &dir)) return e;
  if (auto s = load_record(ctx.services.mail_root, ctx.account_id, kKind, &doc); !s)
    return store_error(s);
  ensure_record_keys(doc);  // before references into it are taken
  if (!doc["dirName"].is_string()) doc["dirName"] = "";
  auto& items = doc["items"].as_array();
  uint64_t seq = uint_of(doc, "seq");
  const uint64_t next = seq + 1;
  bool changed = false;
  // Directory identities that are no longer allowed go; new ones come.
  for (size_t i = 0; i < items.size();) {
    auto& it = items[i].as_object();
    bool dir_item = it.contains("dir") && it["dir"].as_bool();
    if (dir_item &&
        std::find(dir.emails.begin(), dir.emails.end(), str_of(it, "email")) == dir.emails.end()) {
      add_tombstone(doc, str_of(it, "id"), next, kMaxIdentityTombstones);
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
      changed = true;
      continue;
    }
    ++i;
  }
  for (const auto& e : dir.emails) {
    bool have = false;
    for (auto& v : items) {
      auto& it = v.as_object();
      if (it.contains("dir") && it["dir"].as_bool() && str_of(it, "email") == e) have = true;
    }
    if (have || items.size() >= kMaxIdentities) continue;
    items.push_back(json::object{
        {"id", "I" + hex64(e)}, {"email", e}, {"dir", true}, {"created", next}, {"seq", next}});
    changed = true;
  }
  if (str_of(doc, "dirName") != dir.name) {
    doc["dirName"] = dir.name;
    for (auto& v : items) {
      auto& it = v.as_object();
      if (!it.contains("name")) it["seq"] = next;  // shows the directory's name
    }
    changed = true;
  }
  if (changed) {
    doc["seq"] = next;
    if (auto s = save_record(ctx.services.mail_root, ctx.account_id, kKind, doc); !s)
      return store_error(s);
  }
  return std::nullopt;
}

std::string state_of(const json::object& doc) { return record_state(doc); }

json::object identity_json(const json::object& doc, const json::object& it,
                           const std::optional<std::vector<std::string>>& props) {
  auto want = [&](const char* p) {
    return !props || std::find(props->begin(), props->end(), p) != props->end();
  };
  json::object o;
  o["id"] = str_of(it, "id");
  if (want("name")) o["name"] = it.contains("name") ? str_of(it, "name") : str_of(doc, "dirName");
  if (want("email")) o["email"] = str_of(it, "email");
  for (const char* k : {"replyTo", "bcc"}) {
    if (!want(k)) continue;
    const auto* v = it.if_contains(k);
    o[k] = v ? *v : json::value(nullptr);
  }
  if (want("textSignature")) o["textSignature"] = str_of(it, "textSignature");
  if (want("htmlSignature")) o["htmlSignature"] = str_of(it, "htmlSignature");
  if (want("mayDelete")) o["mayDelete"] = !(it.contains("dir") && it.at("dir").as_bool());
  return o;
}

// An EmailAddress[] or null (RFC 8621 4.1.2.3), as given: false when malformed.
bool valid_address_list(const json::value& v) {
  if (v.is_null()) return true;
  if (!v.is_array() || v.as_array().size() > kMaxAddressesPerList) return false;
  for (const auto& a : v.as_array()) {
    if (!a.is_object()) return false;
    const auto& o = a.as_object();
    const auto* email = o.if_contains("email");
    const auto* name = o.if_contains("name");
    if (!email || !email->is_string() || email->as_string().size() > 254 ||
        email->as_string().find('@') == json::string::npos)
      return false;
    if (name && !name->is_null() && (!name->is_string() || name->as_string().size() > 256))
      return false;
    for (const auto& kv : o)
      if (kv.key() != "email" && kv.key() != "name") return false;
  }
  return true;
}

// Applies the settable properties of `in` to `it`; an invalidProperties SetError otherwise.
std::optional<json::object> apply_identity(const json::object& in, json::object& it,
                                           bool creating) {
  std::vector<std::string> bad;
  for (const auto& kv : in) {
    std::string_view k = kv.key();
    const auto& v = kv.value();
    if (k == "name") {
      if (v.is_null()) {
        it.erase("name");  // back to the directory's name
      } else if (v.is_string() && v.as_string().size() <= kMaxNameBytes) {
        it["name"] = v;
      } else {
        bad.emplace_back(k);
      }
    } else if (k == "replyTo" || k == "bcc") {
      if (valid_address_list(v))
        it[k] = v;
      else
        bad.emplace_back(k);
    } else if (k == "textSignature" || k == "htmlSignature") {
      if (v.is_string() && v.as_string().size() <= kMaxSignatureBytes)
        it[k] = v;
      else
        bad.emplace_back(k);
    } else if (k == "email") {
      if (!creating && !(v.is_string() && v.as_string() == it["email"].as_string()))
        bad.emplace_back(k);  // immutable
    } else if (k == "id" || k == "mayDelete") {
      bad.emplace_back(k);  // server-set
    } else {
      bad.emplace_back(k);
    }
  }
  if (!bad.empty()) return invalid_properties(bad);
  return std::nullopt;
}

}  // namespace

MethodResult may_send_as(CallContext& ctx, const std::vector<std::string>& addresses, bool* ok) {
  *ok = false;
  if (queue::send_as_exempt(ctx.options.send_as_exempt_domains, ctx.username)) {
    *ok = true;
    return std::nullopt;
  }
  if (!ctx.services.resolver) return MethodError{"serverFail", "no directory"};
  auto r = queue::may_send_as_all(*ctx.services.resolver, ctx.account_id, addresses);
  if (!r) return MethodError{"serverUnavailable", "the directory cannot answer"};
  *ok = *r;
  return std::nullopt;
}

MethodResult list_identities(CallContext& ctx, std::vector<IdentityRecord>* out) {
  auto lock = records_lock();
  json::object doc;
  if (auto e = load_synced(ctx, doc)) return e;
  for (const auto& v : doc["items"].as_array()) {
    const auto& it = v.as_object();
    out->push_back(
        {str_of(it, "id"), str_of(it, "email"), it.contains("dir") && it.at("dir").as_bool()});
  }
  return std::nullopt;
}

MethodResult identity_get(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "ids", "properties"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  std::optional<std::vector<std::string>> ids, props;
  if (auto e = read_ids(ctx, args, "ids", ctx.options.max_objects_in_get, &ids)) return e;
  if (auto e = read_properties(args, "properties", kIdentityProperties, &props)) return e;
  auto lock = records_lock();
  json::object doc;
  if (auto e = load_synced(ctx, doc)) return e;
  record_get(
      doc, ids, [&](const json::object& it) { return identity_json(doc, it, props); }, response);
  return std::nullopt;
}

MethodResult identity_changes(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "sinceState", "maxChanges"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  auto lock = records_lock();
  json::object doc;
  if (auto e = load_synced(ctx, doc)) return e;
  return record_changes(ctx, args, doc, response);
}

MethodResult identity_set(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "ifInState", "create", "update", "destroy"}))
    return e;
  if (auto e = check_account(ctx, args, response)) return e;
  SetArgs set;
  if (auto e = read_set_args(ctx, args, &set)) return e;
  const json::object* create = set.create;
  const json::object* update = set.update;
  const json::array* destroy = set.destroy;

  auto lock = records_lock();
  json::object doc;
  if (auto e = load_synced(ctx, doc)) return e;
  const std::string old_state = state_of(doc);
  if (auto e = check_if_in_state(args, old_state)) return e;
  auto& items = doc["items"].as_array();
  const uint64_t next = uint_of(doc, "seq") + 1;
  bool changed = false;
  json::object created, updated, not_created, not_updated, not_destroyed;
  json::array destroyed;

  if (create) {
    for (const auto& kv : *create) {
      std::string cid(kv.key());
      if (!kv.value().is_object()) {
        not_created[cid] = invalid_properties({}, "an Identity is an object");
        continue;
      }
      const auto& in = kv.value().as_object();
      const auto* email = in.if_contains("email");
      if (!email || !email->is_string() || email->as_string().size() > 254 ||
          email->as_string().find('@') == json::string::npos) {
        not_created[cid] = invalid_properties({"email"});
        continue;
      }
      std::string address = core::ascii_lower(std::string(email->as_string()));
      bool allowed = false;
      if (auto e = may_send_as(ctx, {address}, &allowed)) return e;
      if (!allowed) {
        // RFC 8621 6.3: an address the user may not send as.
        not_created[cid] = set_error("forbiddenFrom", "you may not send as " + address);
        continue;
      }
      if (items.size() >= kMaxIdentities) {
        not_created[cid] = set_error("overQuota", "too many identities");
        continue;
      }
      json::object it{{"email", address}, {"created", next}, {"seq", next}};
      it["id"] = "I" + hex64(address + "\n" + std::to_string(next) + "\n" + cid);
      if (auto err = apply_identity(in, it, true)) {
        not_created[cid] = std::move(*err);
        continue;
      }
      std::string id = str_of(it, "id");
      json::object c{{"id", id}, {"mayDelete", true}};
      if (!it.contains("name")) c["name"] = str_of(doc, "dirName");
      items.push_back(std::move(it));
      ctx.created_ids[cid] = id;
      created[cid] = std::move(c);
      changed = true;
    }
  }
  if (update) {
    for (const auto& kv : *update) {
      std::string id(kv.key());
      json::object* it = update_target(ctx, items, id, kv.value(), not_updated);
      if (!it) continue;
      json::object copy = *it;
      if (auto err = apply_identity(kv.value().as_object(), copy, false)) {
        not_updated[id] = std::move(*err);
        continue;
      }
      copy["seq"] = next;
      *it = std::move(copy);
      updated[id] = nullptr;
      changed = true;
    }
  }
  if (destroy) {
    auto may_destroy = [](const json::object& it, json::object* error) {
      if (!(it.contains("dir") && it.at("dir").as_bool())) return true;
      // The directory's identities come back at the next sync: they cannot be destroyed.
      *error = set_error("forbidden", "this identity comes from the directory");
      return false;
    };
    if (auto e = destroy_record_items(ctx, doc, *destroy, next, kMaxIdentityTombstones, may_destroy,
                                      destroyed, not_destroyed, &changed))
      return e;
  }
  if (changed) {
    doc["seq"] = next;
    if (auto s = save_record(ctx.services.mail_root, ctx.account_id, kKind, doc); !s)
      return store_error(s);
  }
  finish_set(response, old_state, state_of(doc), created, updated, destroyed, not_created,
             not_updated, not_destroyed);
  return std::nullopt;
}

}  // namespace mailroom::jmap
