// mailroomctl quarantine list|show|release|delete: messages a content scanner quarantined
// before the 250 (src/queue/quarantine.h, <data_dir>/quarantine). release asks mailroomd to
// deliver the message to its original recipients through the queue (within a second, or when
// it starts); delete removes it.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "src/core/json_text.h"
#include "src/ctl/ctl.h"
#include "src/queue/quarantine.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;

json::object entry_json(const queue::QuarantineEntry& e) {
  json::object j;
  j["id"] = e.id;
  j["sender"] = core::utf8_or_replacement(e.envelope.sender);
  json::array rcpts;
  for (const auto& r : e.envelope.recipients) rcpts.push_back(json::string(r.rcpt));
  j["recipients"] = rcpts;
  j["scanner"] = e.scanner;
  j["reason"] = core::utf8_or_replacement(e.reason);
  j["quarantined_at"] = e.quarantined_at;
  j["size"] = e.size;
  j["release_requested"] = e.release_requested;
  return j;
}

std::string entry_line(const queue::QuarantineEntry& e) {
  std::string rcpts;
  for (const auto& r : e.envelope.recipients) rcpts += " " + r.rcpt;
  return e.id + " " + std::to_string(e.size) + " <" + e.envelope.sender + "> ->" + rcpts + " [" +
         e.scanner + ": " + e.reason + "]" + (e.release_requested ? " (release requested)" : "");
}

int with_quarantine(Context& ctx, const std::function<int(queue::Quarantine&)>& f) {
  if (!ctx.services()) return kSystemError;
  queue::Quarantine q(ctx.data_dir() + "/quarantine");
  return f(q);
}

}  // namespace

void register_quarantine_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* q = app.add_subcommand("quarantine", "Messages held back by a content scanner")
                ->require_subcommand(1);
  q->add_subcommand("list", "Quarantined messages, oldest first")->callback([&ctx, ec] {
    *ec = with_quarantine(ctx, [&](queue::Quarantine& store) -> int {
      json::array arr;
      std::string human;
      for (const auto& e : store.list()) {
        arr.push_back(entry_json(e));
        human += entry_line(e) + "\n";
      }
      if (human.empty()) human = "(quarantine is empty)";
      ctx.print(human, json::serialize(arr));
      return kOk;
    });
  });
  auto id = std::make_shared<std::string>();
  auto* show = q->add_subcommand("show", "A quarantined message: envelope, then the message");
  show->add_option("id", *id, "Quarantine id (the queue id, MR + 20 hex digits)")->required();
  show->callback([&ctx, ec, id] {
    *ec = with_quarantine(ctx, [&](queue::Quarantine& store) -> int {
      auto e = store.entry(*id);
      if (!e) return ctx.fail(e.status());
      auto m = store.message(*id);
      if (!m) return ctx.fail(m.status());
      auto j = entry_json(*e);
      j["message"] = core::utf8_or_replacement(*m);
      ctx.print(entry_line(*e) + "\n\n" + *m, json::serialize(j));
      return kOk;
    });
  });
  auto* release = q->add_subcommand(
      "release", "Deliver a quarantined message to its original recipients (through the queue)");
  release->add_option("id", *id, "Quarantine id")->required();
  release->callback([&ctx, ec, id] {
    *ec = with_quarantine(ctx, [&](queue::Quarantine& store) -> int {
      if (auto st = store.request_release(*id); !st) return ctx.fail(st);
      json::object j;
      j["requested"] = "release";
      j["id"] = *id;
      ctx.print("release of " + *id +
                    " requested (mailroomd delivers it within a second, or when it starts)",
                json::serialize(j));
      return kOk;
    });
  });
  auto* del = q->add_subcommand("delete", "Remove a quarantined message for good");
  del->add_option("id", *id, "Quarantine id")->required();
  del->callback([&ctx, ec, id] {
    *ec = with_quarantine(ctx, [&](queue::Quarantine& store) -> int {
      if (auto st = store.remove(*id); !st) return ctx.fail(st);
      json::object j;
      j["deleted"] = *id;
      ctx.print("deleted " + *id, json::serialize(j));
      return kOk;
    });
  });
}

}  // namespace mailroom::ctl
