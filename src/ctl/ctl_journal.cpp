// mailroomctl journal list|show|revert|purge (service::ChangeSets, issue 17): the change journal of
// every administrative write (mailroomctl, the HTTP API, SCIM), and the undo of one change
// set where that is possible. The revert is itself a change set, recorded as this command's.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>

#include "src/ctl/ctl_support.h"
#include "src/service/change_sets.h"
#include "src/service/writable_directory.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;
using core::Status;
using namespace detail;

struct JournalOpts {
  std::string since, until, who, object, operation, front_end, change_set;
  size_t limit = 50;
};

// "2026-12-05", "2026-12-05T03:40", "2026-12-05T03:40:37Z" (UTC; "Z" optional) or "@<unix>".
core::Result<int64_t> journal_parse_time(const std::string& text, const std::string& option) {
  if (!text.empty() && text[0] == '@') {
    if (text.size() > 1 && text.find_first_not_of("0123456789", 1) == std::string::npos &&
        text.size() < 18) {
      return static_cast<int64_t>(std::stoll(text.substr(1)));
    }
  } else {
    std::tm tm{};
    int consumed = 0;
    std::string t = text;
    if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) t.pop_back();
    int n =
        std::sscanf(t.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &consumed);
    bool ok = n == 3 && consumed == 10;
    if (ok && t.size() > 10) {
      int more = 0;
      tm.tm_sec = 0;
      n = std::sscanf(t.c_str() + 10, "T%2d:%2d%n:%2d%n", &tm.tm_hour, &tm.tm_min, &more,
                      &tm.tm_sec, &more);
      ok = n >= 2 && static_cast<size_t>(10 + more) == t.size();
    }
    if (ok && tm.tm_mon >= 1 && tm.tm_mon <= 12 && tm.tm_mday >= 1 && tm.tm_mday <= 31 &&
        tm.tm_hour < 24 && tm.tm_min < 60 && tm.tm_sec < 61) {
      tm.tm_year -= 1900;
      tm.tm_mon -= 1;
      return static_cast<int64_t>(::timegm(&tm));
    }
  }
  return core::invalid_argument(option + ": '" + text +
                                "' is not a UTC time (2026-12-05, 2026-12-05T03:40:00Z or @unix)");
}

int journal_unavailable(Context& ctx) {
  if (!ctx.services()) return kSystemError;  // it said why
  return ctx.fail(core::unavailable("no data directory, so no change journal"));
}

int journal_list(Context& ctx, const JournalOpts& o) {
  service::JournalFilter f;
  if (!o.since.empty()) {
    auto t = journal_parse_time(o.since, "--since");
    if (!t) return ctx.fail(t.status());
    f.since = *t;
  }
  if (!o.until.empty()) {
    auto t = journal_parse_time(o.until, "--until");
    if (!t) return ctx.fail(t.status());
    f.until = *t;
  }
  f.who = o.who;
  f.object_prefix = o.object;
  f.operation = o.operation;
  f.front_end = o.front_end;
  f.limit = o.limit;
  service::ChangeJournal* j = journal(ctx);
  if (!j) return journal_unavailable(ctx);
  auto records = j->list(f);
  if (!records) return ctx.fail(records.status());
  json::array arr;
  std::string text;
  for (const auto& r : *records) {
    arr.push_back(change_record_json(r));
    text += iso_time(r.time) + "  " + r.change_set + "  " + r.who + " (" + r.front_end + ")  " +
            change_record_text(r, false) +
            (r.reverts.empty() ? "" : "  [reverts " + r.reverts + "]") + "\n";
  }
  if (text.empty()) {
    text = "no changes recorded";
  } else {
    text.pop_back();
  }
  return done(ctx, Status::ok(), text, arr);
}

std::string journal_set_text(const std::vector<service::ChangeRecord>& records) {
  if (records.empty()) return "";
  const auto& first = records.front();
  std::string text = "change set " + first.change_set + " at " + iso_time(first.time) + " by " +
                     first.who + " (" + first.front_end + ")";
  if (!first.reverts.empty()) text += ", reverting " + first.reverts;
  for (const auto& r : records) text += "\n  " + change_record_text(r, true);
  return text;
}

int journal_show(Context& ctx, const JournalOpts& o) {
  service::ChangeJournal* j = journal(ctx);
  if (!j) return journal_unavailable(ctx);
  auto records = j->show(o.change_set);
  if (!records) return ctx.fail(records.status());
  json::array arr;
  for (const auto& r : *records) arr.push_back(change_record_json(r));
  return done(ctx, Status::ok(), journal_set_text(*records),
              json::object{{"change_set", o.change_set}, {"changes", arr}});
}

int journal_purge(Context& ctx, const JournalOpts& o) {
  auto before = journal_parse_time(o.until, "--before");
  if (!before) return ctx.fail(before.status());
  service::ChangeJournal* j = journal(ctx);
  if (!j) return journal_unavailable(ctx);
  auto n = j->purge(*before);
  if (!n) return ctx.fail(n.status());
  return done(ctx, Status::ok(), std::to_string(*n) + " journal records deleted",
              json::object{{"deleted", *n}});
}

int journal_revert(Context& ctx, const JournalOpts& o) {
  core::Services* s = ctx.services();
  if (!s) return kSystemError;
  // Directory objects need the writable local directory; a set of block list entries only
  // does not, so a read-only backend is not an error until a record needs it.
  auth::LocalDirectory* local = nullptr;
  if (s->directory) {
    if (auto w = service::writable_directory(*s->directory); w) local = *w;
  }
  service::ChangeJournal* j = journal(ctx);
  if (!j) return journal_unavailable(ctx);
  service::ChangeSets sets(*j, local, ctx.data_dir(), s->app_passwords.get(), change_context(ctx));
  auto made = sets.revert(o.change_set);
  if (!made) return ctx.fail(made.status());
  json::array arr;
  for (const auto& r : *made) arr.push_back(change_record_json(r));
  std::string text = made->empty()
                         ? "change set " + o.change_set + ": nothing to revert"
                         : "change set " + o.change_set + " reverted as " + journal_set_text(*made);
  return done(ctx, Status::ok(), text,
              json::object{{"reverted", o.change_set},
                           {"change_set", made->empty() ? "" : made->front().change_set},
                           {"changes", arr}});
}

}  // namespace

void register_journal_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* journal_cmd =
      app.add_subcommand("journal", "The change journal: list, show and revert change sets")
          ->require_subcommand(1);
  auto o = std::make_shared<JournalOpts>();

  auto* list = journal_cmd->add_subcommand("list", "List recorded changes, newest first");
  list->add_option("--since", o->since, "From this UTC time (2026-12-05[T03:40:00Z] or @unix)");
  list->add_option("--until", o->until, "Before this UTC time");
  list->add_option("--who", o->who, "Only changes by this caller (e.g. mailroomctl(root))");
  list->add_option("--object", o->object, "Only objects starting with this (user:alice@)");
  list->add_option("--operation", o->operation, "Only this operation or kind (user.add, user)");
  list->add_option("--front-end", o->front_end, "Only this front end: cli, api, scim");
  list->add_option("--limit", o->limit, "At most this many (default 50, 0 = all)");
  list->callback([&ctx, ec, o] { *ec = journal_list(ctx, *o); });

  auto* show = journal_cmd->add_subcommand("show", "Show one change set with before and after");
  show->add_option("change_set", o->change_set, "Change set id")->required();
  show->callback([&ctx, ec, o] { *ec = journal_show(ctx, *o); });

  auto* purge = journal_cmd->add_subcommand(
      "purge", "Delete the records older than a UTC time (and the states kept for revert)");
  purge->add_option("--before", o->until, "2026-01-01[T00:00:00Z] or @unix")->required();
  purge->callback([&ctx, ec, o] { *ec = journal_purge(ctx, *o); });

  auto* revert = journal_cmd->add_subcommand(
      "revert", "Undo one change set where possible (refused when something changed since)");
  revert->add_option("change_set", o->change_set, "Change set id")->required();
  revert->add_flag("--dry-run", ctx.dry_run, "Show what would change; change nothing");
  revert->callback([&ctx, ec, o] { *ec = journal_revert(ctx, *o); });
}

}  // namespace mailroom::ctl
