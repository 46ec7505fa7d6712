#include "src/ctl/ctl_support.h"

#include <boost/json.hpp>

#include "src/service/json_shapes.h"
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
