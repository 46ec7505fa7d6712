// See records.h.
#include "src/jmap/records.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "src/jmap/record_watch.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

constexpr size_t kMaxRecordBytes = 4 << 20;  // far above what the bounded lists need

std::string record_dir(const std::string& mail_root, const std::string& account_id) {
  return mail_root + "/" + account_id + "/jmap";
}

bool safe_component(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

}  // namespace

std::unique_lock<std::mutex> records_lock() {
  static std::mutex mu;
  return std::unique_lock<std::mutex>(mu);
}

core::Status load_record(const std::string& mail_root, const std::string& account_id,
                         const std::string& kind, json::object* out) {
  out->clear();
  if (mail_root.empty() || !safe_component(account_id))
    return core::internal_error("no mail root for JMAP records");
  std::string path = record_dir(mail_root, account_id) + "/" + kind + ".json";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return core::Status::ok();
    return core::internal_error("cannot read " + path + ": " + std::strerror(errno));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxRecordBytes)
    return core::internal_error(path + " is too large");
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::internal_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return core::internal_error(path + " is not a JSON object");
  *out = std::move(v.as_object());
  return core::Status::ok();
}

core::Status save_record(const std::string& mail_root, const std::string& account_id,
                         const std::string& kind, const json::object& doc) {
  if (mail_root.empty() || !safe_component(account_id))
    return core::internal_error("no mail root for JMAP records");
  auto s =
      write_file_durably(record_dir(mail_root, account_id), kind + ".json", json::serialize(doc));
  if (s) records_changed(account_id);  // the push reports the new state (record_watch.h)
  return s;
}

core::Status write_file_durably(const std::string& dir, const std::string& name,
                                const std::string& text) {
  for (size_t slash = dir.find('/', 1); slash != std::string::npos;
       slash = dir.find('/', slash + 1))
    ::mkdir(dir.substr(0, slash).c_str(), 0700);  // the missing parents (EEXIST for the rest)
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return core::internal_error("cannot create " + dir + ": " + std::strerror(errno));
  std::string tmp = dir + "/" + name + ".tmp";
  std::string path = dir + "/" + name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return core::internal_error("cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  bool ok = true;
  while (ok && done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return core::internal_error("cannot write " + path + ": " + std::strerror(errno));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return core::Status::ok();
}

void ensure_record_keys(json::object& doc) {
  if (!doc["items"].is_array()) doc["items"] = json::array{};
  if (!doc["gone"].is_array()) doc["gone"] = json::array{};
  if (!doc["seq"].is_uint64() && !doc["seq"].is_int64()) doc["seq"] = 0;
  if (!doc["floor"].is_uint64() && !doc["floor"].is_int64()) doc["floor"] = 0;
}

uint64_t record_uint(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (v && v->is_uint64()) return v->as_uint64();
  if (v && v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return 0;
}

std::string record_str(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string record_state(const json::object& doc) {
  return std::to_string(record_uint(doc, "seq"));
}

json::object* find_record_item(json::array& items, std::string_view id) {
  for (auto& v : items)
    if (v.is_object() && v.as_object()["id"] == json::value(id)) return &v.as_object();
  return nullptr;
}

void record_get(json::object& doc, const std::optional<std::vector<std::string>>& ids,
                const std::function<json::object(const json::object&)>& to_json,
                json::object& response) {
  json::array list, not_found;
  auto& items = doc["items"].as_array();
  if (!ids) {
    for (const auto& v : items) list.push_back(to_json(v.as_object()));
  } else {
    for (const auto& id : *ids) {
      if (const json::object* it = find_record_item(items, id))
        list.push_back(to_json(*it));
      else
        not_found.push_back(json::value(id));
    }
  }
  response["state"] = record_state(doc);
  response["list"] = std::move(list);
  response["notFound"] = std::move(not_found);
}

json::object* update_target(CallContext& ctx, json::array& items, std::string_view id,
                            const json::value& patch, json::object& not_updated) {
  auto resolved = resolve_creation_id(ctx, id);
  json::object* it = resolved ? find_record_item(items, *resolved) : nullptr;
  if (!it) {
    not_updated[id] = set_error("notFound", "");
    return nullptr;
  }
  if (!patch.is_object()) {
    not_updated[id] = set_error("invalidPatch", "a patch is an object");
    return nullptr;
  }
  return it;
}

MethodResult destroy_record_items(
    CallContext& ctx, json::object& doc, const json::array& destroy, uint64_t seq,
    size_t max_tombstones,
    const std::function<bool(const json::object& item, json::object* error)>& may_destroy,
    json::array& destroyed, json::object& not_destroyed, bool* changed) {
  auto& items = doc["items"].as_array();
  for (const auto& v : destroy) {
    if (!v.is_string()) return invalid_arguments("destroy holds ids");
    std::string id(v.as_string());
    auto resolved = resolve_creation_id(ctx, id);
    json::object* it = resolved ? find_record_item(items, *resolved) : nullptr;
    if (!it) {
      not_destroyed[id] = set_error("notFound", "");
      continue;
    }
    json::object error;
    if (!may_destroy(*it, &error)) {
      not_destroyed[id] = std::move(error);
      continue;
    }
    std::string real = *resolved;
    items.erase(std::remove_if(items.begin(), items.end(),
                               [&](const json::value& x) {
                                 return x.as_object().at("id").as_string() == real;
                               }),
                items.end());
    add_tombstone(doc, real, seq, max_tombstones);
    destroyed.push_back(json::value(id));
    *changed = true;
  }
  return std::nullopt;
}

void add_tombstone(json::object& doc, const std::string& id, uint64_t seq, size_t max_tombstones) {
  auto& gone = doc["gone"].as_array();
  gone.push_back(json::object{{"id", id}, {"seq", seq}});
  while (gone.size() > max_tombstones) {
    // Changes since before the oldest dropped tombstone cannot be told any more.
    doc["floor"] = record_uint(gone.front().as_object(), "seq");
    gone.erase(gone.begin());
  }
}

MethodResult record_changes(CallContext& ctx, const json::object& args, json::object& doc,
                            json::object& response) {
  const auto* since_v = args.if_contains("sinceState");
  if (!since_v || !since_v->is_string()) return invalid_arguments("sinceState is required");
  uint64_t max_changes = 0;
  if (auto e = read_uint(args, "maxChanges", 0, &max_changes)) return e;
  uint64_t seq = record_uint(doc, "seq");
  std::string_view s = since_v->as_string();
  bool numeric = !s.empty() && s.size() <= 19 &&
                 std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  uint64_t since = numeric ? std::stoull(std::string(s)) : 0;
  if (!numeric || since > seq || since < record_uint(doc, "floor"))
    return MethodError{"cannotCalculateChanges", "unknown or too old state"};
  json::array created, updated, destroyed;
  for (const auto& v : doc["items"].as_array()) {
    const auto& it = v.as_object();
    if (record_uint(it, "created") > since)
      created.push_back(json::value(record_str(it, "id")));
    else if (record_uint(it, "seq") > since)
      updated.push_back(json::value(record_str(it, "id")));
  }
  for (const auto& v : doc["gone"].as_array())
    if (record_uint(v.as_object(), "seq") > since)
      destroyed.push_back(json::value(record_str(v.as_object(), "id")));
  uint64_t limit =
      max_changes ? std::min(max_changes, ctx.options.max_changes) : ctx.options.max_changes;
  if (created.size() + updated.size() + destroyed.size() > limit)
    return MethodError{"cannotCalculateChanges", "more changes than maxChanges"};
  response["oldState"] = std::string(s);
  response["newState"] = record_state(doc);
  response["hasMoreChanges"] = false;
  response["created"] = std::move(created);
  response["updated"] = std::move(updated);
  response["destroyed"] = std::move(destroyed);
  return std::nullopt;
}

}  // namespace mailroom::jmap
