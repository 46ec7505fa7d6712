#include "src/service/change_tracking.h"

#include <algorithm>
#include <cstdio>

#include "src/core/address.h"
#include "src/core/json_text.h"
#include "src/service/groups.h"

namespace mailroom::service::tracking {

// --- JSON ---

std::string json_quote(std::string_view text) { return core::json_quote(text); }

void JsonObject::key(std::string_view k) {
  if (!body_.empty()) body_ += ",";
  body_ += json_quote(k) + ":";
}

JsonObject& JsonObject::add(std::string_view k, std::string_view value) {
  key(k);
  body_ += json_quote(value);
  return *this;
}

JsonObject& JsonObject::add(std::string_view k, uint64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}

JsonObject& JsonObject::add(std::string_view k, bool value) {
  key(k);
  body_ += value ? "true" : "false";
  return *this;
}

JsonObject& JsonObject::add(std::string_view k, const std::vector<std::string>& values) {
  key(k);
  body_ += "[";
  for (size_t i = 0; i < values.size(); ++i) body_ += (i ? "," : "") + json_quote(values[i]);
  body_ += "]";
  return *this;
}

// --- private encoding ---

std::string encode_fields(const Fields& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    out += k + "=";
    for (char c : v) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += "\n";
  }
  return out;
}

Fields decode_fields(const std::string& text) {
  Fields out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value;
    for (size_t i = eq + 1; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        value += line[i + 1] == 'n' ? '\n' : line[i + 1];
        ++i;
      } else {
        value += line[i];
      }
    }
    out.emplace_back(line.substr(0, eq), std::move(value));
  }
  return out;
}

std::string field(const Fields& fields, std::string_view key) {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return {};
}

std::vector<std::string> all_fields(const Fields& fields, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields)
    if (k == key) out.push_back(v);
  return out;
}

namespace {

void add_all(Fields& f, const std::string& key, const std::vector<std::string>& values) {
  for (const auto& v : values) f.emplace_back(key, v);
}

// --- one encoder and one decoder per object kind ---

ObjectState domain_state(const auth::Domain& d) {
  ObjectState s;
  s.exists = true;
  s.object = "domain:" + d.name;
  const char* kind = d.kind == auth::DomainKind::alias ? "alias" : "local";
  s.json = JsonObject()
               .add("name", d.name)
               .add("kind", kind)
               .add("alias_of", d.alias_of)
               .add("catch_all", d.catch_all)
               .str();
  s.restore = encode_fields(
      {{"name", d.name}, {"kind", kind}, {"alias_of", d.alias_of}, {"catch_all", d.catch_all}});
  return s;
}

auth::Domain decode_domain(const Fields& f) {
  auth::Domain d;
  d.name = field(f, "name");
  d.kind = field(f, "kind") == "alias" ? auth::DomainKind::alias : auth::DomainKind::local;
  d.alias_of = field(f, "alias_of");
  d.catch_all = field(f, "catch_all");
  return d;
}

// The account's document: every field but the hash and the SCRAM secret, and no timestamps
// (a revert compares states, and updated_at changes with every write).
ObjectState user_state(const auth::AccountRecord& r) {
  const auth::Account& a = r.account;
  ObjectState s;
  s.exists = true;
  s.object = "user:" + a.address;
  s.object_id = a.id;
  s.password_hash = a.password_hash;
  s.json = JsonObject()
               .add("id", a.id)
               .add("login", a.login)
               .add("address", a.address)
               .add("other_addresses", a.other_addresses)
               .add("display_name", a.display_name)
               .add("status", auth::account_status_name(a.status))
               .add("quota_bytes", a.quota_bytes)
               .add("quota_messages", a.quota_messages)
               .add("forward_to", a.forward_to)
               .add("forward_keep_copy", a.forward_keep_copy)
               .add("send_as", a.send_as)
               .add("source", r.source)
               .add("has_password", !a.password_hash.empty())
               .add("has_scram_secret", !r.scram_secret.empty())
               .str();
  Fields f{{"id", a.id},
           {"login", a.login},
           {"address", a.address},
           {"display_name", a.display_name},
           {"password_hash", a.password_hash},
           {"scram_secret", r.scram_secret},
           {"password_changed", a.password_changed},
           {"status", auth::account_status_name(a.status)},
           {"quota_bytes", std::to_string(a.quota_bytes)},
           {"quota_messages", std::to_string(a.quota_messages)},
           {"forward_keep_copy", a.forward_keep_copy ? "1" : "0"},
           {"source", r.source}};
  add_all(f, "other_address", a.other_addresses);
  add_all(f, "forward_to", a.forward_to);
  add_all(f, "send_as", a.send_as);
  s.restore = encode_fields(f);
  return s;
}

auth::AccountRecord decode_account(const Fields& f) {
  auth::AccountRecord r;
  auth::Account& a = r.account;
  a.id = field(f, "id");
  a.login = field(f, "login");
  a.address = field(f, "address");
  a.display_name = field(f, "display_name");
  a.password_hash = field(f, "password_hash");
  r.scram_secret = field(f, "scram_secret");
  a.password_changed = field(f, "password_changed");
  std::string status = field(f, "status");
  a.status = status == "disabled"  ? auth::AccountStatus::disabled
             : status == "deleted" ? auth::AccountStatus::deleted
                                   : auth::AccountStatus::active;
  a.quota_bytes = std::stoull("0" + field(f, "quota_bytes"));
  a.quota_messages = std::stoull("0" + field(f, "quota_messages"));
  a.forward_keep_copy = field(f, "forward_keep_copy") == "1";
  r.source = field(f, "source");
  a.other_addresses = all_fields(f, "other_address");
  a.forward_to = all_fields(f, "forward_to");
  a.send_as = all_fields(f, "send_as");
  return r;
}

ObjectState alias_state(const auth::Alias& a) {
  ObjectState s;
  s.exists = true;
  s.object = "alias:" + a.address;
  s.json = JsonObject().add("address", a.address).add("targets", a.targets).str();
  Fields f{{"address", a.address}};
  add_all(f, "target", a.targets);
  s.restore = encode_fields(f);
  return s;
}

auth::Alias decode_alias(const Fields& f) {
  return auth::Alias{field(f, "address"), all_fields(f, "target")};
}

ObjectState group_state(const auth::Group& g) {
  ObjectState s;
  s.exists = true;
  s.object = "group:" + g.address;
  s.json = JsonObject()
               .add("address", g.address)
               .add("display_name", g.display_name)
               .add("policy", group_policy_name(g.send_policy))
               .add("members", g.members)
               .add("allowed_senders", g.allowed_senders)
               .str();
  Fields f{{"address", g.address},
           {"display_name", g.display_name},
           {"policy", group_policy_name(g.send_policy)}};
  add_all(f, "member", g.members);
  add_all(f, "allowed_sender", g.allowed_senders);
  s.restore = encode_fields(f);
  return s;
}

auth::Group decode_group(const Fields& f) {
  auth::Group g;
  g.address = field(f, "address");
  g.display_name = field(f, "display_name");
  auto policy = parse_group_policy(field(f, "policy"));
  g.send_policy = policy ? *policy : auth::GroupSendPolicy::anyone;
  g.members = all_fields(f, "member");
  g.allowed_senders = all_fields(f, "allowed_sender");
  return g;
}

// What an absent object is called: its key (for accounts the id is all there is).
std::string absent_object(const ObjectKey& key) {
  return std::string(kind_name(key.kind)) + ":" + key.key;
}

// The record's operation when the caller did not name it: what happened to the object.
std::string derived_operation(const ObjectKey& key, const ObjectState& before,
                              const ObjectState& after) {
  std::string kind = kind_name(key.kind);
  if (!before.exists) return kind + ".add";
  if (!after.exists) return kind + ".remove";
  if (key.kind == ObjectKind::group) {
    // Only the members changed, in one direction: say which.
    auto b = decode_group(decode_fields(before.restore));
    auto a = decode_group(decode_fields(after.restore));
    if (b.display_name == a.display_name && b.send_policy == a.send_policy &&
        b.allowed_senders == a.allowed_senders) {
      if (std::includes(b.members.begin(), b.members.end(), a.members.begin(), a.members.end()))
        return "group.member_remove";
      if (std::includes(a.members.begin(), a.members.end(), b.members.begin(), b.members.end()))
        return "group.member_add";
    }
  }
  return kind + ".change";
}

}  // namespace

const char* kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::domain:
      return "domain";
    case ObjectKind::user:
      return "user";
    case ObjectKind::alias:
      return "alias";
    case ObjectKind::group:
      return "group";
  }
  return "domain";
}

std::string address_key(const std::string& text) {
  auto a = core::parse_address(text);
  return a ? a->key() : core::ascii_lower(text);
}

core::Result<ObjectState> load_state(auth::LocalDirectory& dir, const ObjectKey& key) {
  switch (key.kind) {
    case ObjectKind::domain: {
      auto d = dir.find_domain(key.key);
      if (d) return domain_state(*d);
      if (d.code() != core::Code::not_found) return d.status();
      break;
    }
    case ObjectKind::user: {
      auto r = dir.get_account_record(key.key);
      if (r) return user_state(*r);
      if (r.code() != core::Code::not_found) return r.status();
      break;
    }
    case ObjectKind::alias: {
      auto a = dir.find_alias(key.key);
      if (a) return alias_state(*a);
      if (a.code() != core::Code::not_found) return a.status();
      break;
    }
    case ObjectKind::group: {
      auto g = dir.find_group(key.key);
      if (g) return group_state(*g);
      if (g.code() != core::Code::not_found) return g.status();
      break;
    }
  }
  ObjectState absent;
  absent.object = absent_object(key);
  if (key.kind == ObjectKind::user) absent.object_id = key.key;
  return absent;
}

bool key_of_record(const ChangeRecord& record, ObjectKey* key) {
  auto colon = record.object.find(':');
  if (colon == std::string::npos) return false;
  std::string kind = record.object.substr(0, colon);
  std::string rest = record.object.substr(colon + 1);
  if (kind == "domain") {
    *key = {ObjectKind::domain, rest};
  } else if (kind == "user") {
    *key = {ObjectKind::user, record.object_id};
  } else if (kind == "alias") {
    *key = {ObjectKind::alias, rest};
  } else if (kind == "group") {
    *key = {ObjectKind::group, rest};
  } else {
    return false;
  }
  return true;
}

core::Result<std::vector<ObjectKey>> groups_with_members(auth::LocalDirectory& dir,
                                                         const std::vector<std::string>& addresses,
                                                         const std::string& domain) {
  auto groups = dir.list_groups();
  if (!groups) return groups.status();
  std::vector<ObjectKey> out;
  for (const auto& g : *groups) {
    bool hit = std::any_of(g.members.begin(), g.members.end(), [&](const std::string& m) {
      if (std::find(addresses.begin(), addresses.end(), m) != addresses.end()) return true;
      return !domain.empty() && m.size() > domain.size() &&
             m.compare(m.size() - domain.size() - 1, std::string::npos, "@" + domain) == 0;
    });
    if (hit) out.push_back({ObjectKind::group, g.address});
  }
  return out;
}

std::vector<std::string> restore_addresses(const std::string& restore) {
  if (restore.empty()) return {};
  Fields f = decode_fields(restore);
  std::vector<std::string> out = all_fields(f, "other_address");
  out.push_back(field(f, "address"));
  return out;
}

core::Status restore_object(auth::LocalDirectory& dir, const ObjectKey& key,
                            const std::string& restore) {
  Fields f = decode_fields(restore);
  switch (key.kind) {
    case ObjectKind::domain: {
      if (restore.empty()) return dir.remove_domain(key.key, /*force=*/false);
      auto d = decode_domain(f);
      auto current = dir.find_domain(d.name);
      if (current) return dir.change_domain(d);
      if (current.code() != core::Code::not_found) return current.status();
      return dir.add_domain(d);
    }
    case ObjectKind::user: {
      if (restore.empty()) return dir.remove_account(key.key);
      auto r = decode_account(f);
      // The account comes back with its id, so its mailbox (keyed by id) is its own again;
      // upsert writes the hash as recorded. Its domain must still be local.
      std::string domain = r.account.address.substr(r.account.address.rfind('@') + 1);
      auto d = dir.find_domain(domain);
      if (!d) {
        return d.code() == core::Code::not_found
                   ? core::invalid_argument("domain " + domain + " no longer exists")
                   : d.status();
      }
      if (d->kind != auth::DomainKind::local) {
        return core::invalid_argument("domain " + domain + " is no longer a local domain");
      }
      auto up = dir.upsert_account_by_id(r, /*keep_empty_secrets=*/false);
      return up.status();
    }
    case ObjectKind::alias: {
      if (restore.empty()) return dir.remove_alias(key.key);
      return dir.upsert_alias(decode_alias(f), auth::kSourceLocal).status();
    }
    case ObjectKind::group: {
      if (restore.empty()) return dir.remove_group(key.key);
      return dir.upsert_group(decode_group(f), auth::kSourceLocal).status();
    }
  }
  return core::internal_error("unknown object kind");
}

// --- records ---

JournalEntry make_entry(const ChangeContext& ctx, const std::string& operation,
                        const std::string& object, const std::string& object_id,
                        const std::string& before_json, const std::string& after_json,
                        const std::string& restore_before, const std::string& restore_after) {
  JournalEntry e;
  ChangeRecord& r = e.record;
  r.time = ctx.journal ? ctx.journal->now() : core::real_clock().unix_seconds();
  if (ctx.caller) {
    r.who = ctx.caller->name;
    r.front_end = ctx.caller->front_end;
  }
  r.operation = operation;
  r.object = object;
  r.object_id = object_id;
  r.before = before_json;
  r.after = after_json;
  e.restore_before = restore_before;
  e.restore_after = restore_after;
  return e;
}

namespace {

// Sets the change set; journals unless a dry run (returns the failure).
core::Status store_entries(const ChangeContext& ctx, std::vector<JournalEntry>& entries,
                           const std::string& reverts) {
  if (entries.empty()) return core::Status::ok();
  std::string set = ctx.change_set.empty() ? ChangeJournal::new_change_set_id() : ctx.change_set;
  for (auto& e : entries) {
    e.record.change_set = set;
    e.record.reverts = reverts;
  }
  if (ctx.dry_run || !ctx.journal) return core::Status::ok();
  return ctx.journal->append(entries);
}

void report(const ChangeContext& ctx, const std::vector<JournalEntry>& entries) {
  if (!ctx.changes) return;
  for (const auto& e : entries) ctx.changes->push_back(e.record);
}

}  // namespace

core::Status finish_entries(const ChangeContext& ctx, std::vector<JournalEntry> entries,
                            const std::string& reverts) {
  if (auto st = store_entries(ctx, entries, reverts); !st) return st;
  report(ctx, entries);
  return core::Status::ok();
}

core::Status run_tracked(auth::LocalDirectory& dir, const ChangeContext& ctx,
                         const std::string& operation,
                         const std::function<core::Result<std::vector<ObjectKey>>()>& keys,
                         const std::function<core::Status()>& body, const std::string& reverts,
                         std::vector<JournalEntry> extra_entries,
                         const std::function<core::Status()>& extra) {
  const std::string op_kind = operation.substr(0, operation.find('.'));
  std::vector<JournalEntry> entries;
  auto tracked = [&]() -> core::Status {
    entries.clear();
    auto wanted = keys();
    if (!wanted) return wanted.status();
    std::vector<ObjectKey> unique;
    for (const auto& k : *wanted) {
      if (std::find(unique.begin(), unique.end(), k) == unique.end()) unique.push_back(k);
    }
    std::vector<ObjectState> before;
    for (const auto& k : unique) {
      auto s = load_state(dir, k);
      if (!s) return s.status();
      before.push_back(std::move(*s));
    }
    if (auto st = body(); !st) return st;
    for (size_t i = 0; i < unique.size(); ++i) {
      auto after = load_state(dir, unique[i]);
      if (!after) return after.status();
      const ObjectState& b = before[i];
      if (b.exists == after->exists && b.restore == after->restore) continue;
      std::string op = !operation.empty() && op_kind == kind_name(unique[i].kind)
                           ? operation
                           : derived_operation(unique[i], b, *after);
      std::string after_json = after->json;
      // The hash never leaves: a new one shows as "password_changed": true.
      if (b.exists && after->exists && b.password_hash != after->password_hash) {
        after_json.insert(after_json.size() - 1, ",\"password_changed\":true");
      }
      const ObjectState& named = after->exists ? *after : b;
      entries.push_back(make_entry(ctx, op, named.object, named.object_id, b.json, after_json,
                                   b.restore, after->restore));
    }
    for (auto& e : extra_entries) entries.push_back(e);
    if (extra && !ctx.dry_run) {
      if (auto st = extra(); !st) return st;
    }
    // Inside the transaction: a journal that cannot be written stops the change.
    return store_entries(ctx, entries, reverts);
  };
  auto st = ctx.dry_run ? dir.dry_run(tracked) : dir.transaction(tracked);
  if (!st) return st;
  report(ctx, entries);
  return core::Status::ok();
}

}  // namespace mailroom::service::tracking
