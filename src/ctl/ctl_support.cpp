#include "src/ctl/ctl_support.h"

#include <pwd.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <ctime>
#include <iostream>

#include "auth/policy/policy_directory.h"
#include "src/core/clock.h"
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
    // LDAP / SQL: the objects are written upstream, the sync copies them here.
    *exit_code = ctx.fail(core::invalid_argument(
        local.status().client_message() + ": accounts, aliases, groups and domains come from the " +
        s->directory->name() +
        " directory, the source of truth; change them there (the sync copies them)"));
    return nullptr;
  }
  return *local;
}

void read_run(Context& ctx, int* exit_code, const std::function<int(LocalDirectory&)>& body) {
  core::Services* s = ctx.services();
  if (s && s->directory && s->policies && !service::writable_directory(*s->directory)) {
    if (!ctx.json) {
      std::cerr << "read-only: the local replica of the " << s->directory->name()
                << " directory (the source of truth), as of the last sync\n";
    }
    *exit_code = body(s->policies->store());
    return;
  }
  run(ctx, exit_code, body);
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

namespace {

CliChanges& cli_changes(Context& ctx) {
  if (!ctx.changes_) {
    ctx.changes_ = std::make_shared<CliChanges>();
    std::string user;
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) {
      user = pw->pw_name;
    } else {
      user = "uid " + std::to_string(::getuid());
    }
    ctx.changes_->caller = service::Caller{"mailroomctl(" + user + ")", "cli", {}};
  }
  return *ctx.changes_;
}

}  // namespace

service::ChangeJournal* journal(Context& ctx) {
  CliChanges& c = cli_changes(ctx);
  if (!c.journal) {
    // No data directory (a test's services): nothing to journal into.
    if (!ctx.services() || ctx.data_dir().empty()) return nullptr;
    c.journal =
        std::make_unique<service::ChangeJournal>(service::ChangeJournal::path_in(ctx.data_dir()));
  }
  return c.journal.get();
}

service::ChangeContext change_context(Context& ctx) {
  CliChanges& c = cli_changes(ctx);
  service::ChangeContext out;
  out.caller = &c.caller;
  out.journal = journal(ctx);
  out.dry_run = ctx.dry_run;
  out.changes = &c.records;
  return out;
}

std::string iso_time(int64_t unix_seconds) { return core::rfc3339_utc(unix_seconds); }

json::value change_record_json(const service::ChangeRecord& r) {
  auto doc = [](const std::string& text) -> json::value {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) return json::value(text);
    return v;
  };
  json::object o{{"change_set", r.change_set}, {"time", iso_time(r.time)}, {"who", r.who},
                 {"front_end", r.front_end},   {"operation", r.operation}, {"object", r.object},
                 {"object_id", r.object_id},   {"before", doc(r.before)},  {"after", doc(r.after)}};
  if (r.id > 0) o["id"] = r.id;
  if (!r.reverts.empty()) o["reverts"] = r.reverts;
  return o;
}

std::string change_record_text(const service::ChangeRecord& r, bool with_documents) {
  std::string text = r.operation + " " + r.object;
  if (!r.object_id.empty() && r.object.find(r.object_id) == std::string::npos) {
    text += " (id " + r.object_id + ")";
  }
  if (with_documents) {
    text += "\n    before: " + r.before + "\n    after:  " + r.after;
  }
  return text;
}

int done(Context& ctx, const core::Status& st, const std::string& human, const json::value& j) {
  if (!st) return ctx.fail(st);
  if (ctx.dry_run) {
    json::array changes;
    std::string text = "dry run: nothing changed";
    const std::vector<service::ChangeRecord> none;
    const auto& records = ctx.changes_ ? ctx.changes_->records : none;
    for (const auto& r : records) {
      changes.push_back(change_record_json(r));
      text += "\n  would " + change_record_text(r, true);
    }
    if (records.empty()) text += " (and nothing would change)";
    ctx.print(text, json::serialize(
                        json::object{{"dry_run", true}, {"result", j}, {"changes", changes}}));
    return kOk;
  }
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
