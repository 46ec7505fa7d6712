// mailroomctl queue list (service::MailQueue: messages still in the spool, read without
// modifying it), queue flush|hold|release|delete (requests through the spool, control.h) and
// delivery-log [--message-id X] [--recipient R] ... (service:: DeliveryLogSearch). The spool is
// read from <data_dir>/queue (the default [queue] spool_dir).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "src/core/json_text.h"
#include "src/ctl/ctl.h"
#include "src/service/delivery_log_search.h"
#include "src/service/mail_queue.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;

int list_queue(Context& ctx) {
  if (!ctx.services()) return kSystemError;
  auto messages = service::MailQueue(ctx.data_dir() + "/queue").list();
  if (!messages) return ctx.fail(messages.status());
  json::array arr;
  std::string human;
  for (const auto& m : *messages) {
    json::array rcpts;
    std::string lines;
    for (const auto& r : m.recipients) {
      json::object o;
      o["rcpt"] = r.rcpt;
      o["address"] = r.address;
      o["state"] = service::recipient_state_name(r.state);
      rcpts.push_back(o);
      lines += "    " + r.address + " " + service::recipient_state_name(r.state) + "\n";
    }
    json::object j;
    j["queue_id"] = m.queue_id;
    j["sender"] = m.sender;
    j["size"] = m.size;
    j["received_at"] = m.received_at;
    j["held"] = m.held;
    j["recipients"] = rcpts;
    arr.push_back(j);
    human += m.queue_id + " " + std::to_string(m.size) + " <" + m.sender + ">" +
             (m.held ? " (held)" : "") + "\n" + lines;
  }
  if (human.empty()) human = "(queue is empty)";
  ctx.print(human, json::serialize(arr));
  return kOk;
}

int queue_request(Context& ctx, const std::string& verb, const std::string& queue_id) {
  if (!ctx.services()) return kSystemError;
  if (auto s = service::MailQueue(ctx.data_dir() + "/queue").request(verb, queue_id); !s) {
    return ctx.fail(s);
  }
  json::object j;
  j["requested"] = verb;
  j["queue_id"] = queue_id;
  ctx.print(verb + (queue_id.empty() ? " of the whole queue" : " " + queue_id) +
                " requested (mailroomd applies it within a second, or when it starts)",
            json::serialize(j));
  return kOk;
}

int search_delivery_log(Context& ctx, const queue::DeliveryQuery& query) {
  auto* services = ctx.services();
  if (!services) return kSystemError;
  auto records = service::DeliveryLogSearch(services->delivery_log.get()).search(query);
  if (!records) return ctx.fail(records.status());
  json::array arr;
  std::string human;
  for (const auto& r : *records) {
    json::object o;
    o["queue_id"] = r.queue_id;
    o["message_id"] = core::utf8_or_replacement(r.message_id);
    o["envelope_sender"] = core::utf8_or_replacement(r.envelope_sender);
    o["header_from"] = core::utf8_or_replacement(r.header_from);
    o["subject"] = core::utf8_or_replacement(r.subject);
    o["recipient"] = core::utf8_or_replacement(r.recipient);
    o["final_address"] = core::utf8_or_replacement(r.final_address);
    o["account_id"] = r.account_id;
    o["mailbox"] = r.mailbox;
    o["uid_validity"] = r.uid_validity;
    o["uid"] = r.uid;
    o["size"] = r.size;
    o["time"] = r.time;
    o["result"] = queue::delivery_result_name(r.result);
    o["detail"] = core::utf8_or_replacement(r.detail);
    arr.push_back(o);
    human += std::to_string(r.time) + " " + r.queue_id + " " + r.recipient + " " +
             queue::delivery_result_name(r.result) + " " + r.mailbox + "/" + std::to_string(r.uid) +
             " " + r.subject + "\n";
  }
  if (human.empty()) human = "(no records)";
  ctx.print(human, json::serialize(arr));
  return kOk;
}

}  // namespace

void register_queue_commands(CLI::App& app, Context& ctx, int* ec) {
  auto* q = app.add_subcommand("queue", "The mail queue")->require_subcommand(1);
  auto* list = q->add_subcommand("list", "Messages still in the spool");
  list->callback([&ctx, ec] { *ec = list_queue(ctx); });
  auto id = std::make_shared<std::string>();
  auto* flush = q->add_subcommand("flush", "Try waiting remote deliveries now (all, or one)");
  flush->add_option("queue_id", *id, "Queue id (MR + 20 hex digits)");
  flush->callback([&ctx, ec, id] { *ec = queue_request(ctx, "flush", *id); });
  for (const auto& [verb, help] : std::vector<std::pair<std::string, std::string>>{
           {"hold", "Keep a message from being tried until released"},
           {"release", "Let a held message be tried again"},
           {"delete", "Drop a message's undelivered recipients (no bounce)"}}) {
    auto* sub = q->add_subcommand(verb, help);
    sub->add_option("queue_id", *id, "Queue id (MR + 20 hex digits)")->required();
    sub->callback([&ctx, ec, id, verb = verb] { *ec = queue_request(ctx, verb, *id); });
  }

  auto* dl = app.add_subcommand("delivery-log", "Query the delivery log (mail recall, audit)");
  auto query = std::make_shared<queue::DeliveryQuery>();
  dl->add_option("--message-id", query->message_id, "Message-ID without <>");
  dl->add_option("--queue-id", query->queue_id, "Queue id");
  dl->add_option("--recipient", query->recipient, "Envelope recipient");
  dl->add_option("--sender", query->envelope_sender, "Envelope sender");
  dl->add_option("--recipient-domain", query->recipient_domain,
                 "Recipient domain (after the last @, any case)");
  dl->add_option("--sender-domain", query->sender_domain, "Envelope sender domain");
  dl->add_option("--subject", query->subject_prefix, "Subject starts with this (any case)");
  dl->add_option("--account", query->account_id, "Account id of the recipient");
  dl->add_option("--since", query->since, "From this time (Unix seconds)");
  dl->add_option("--until", query->until, "Up to this time (Unix seconds)");
  dl->add_option("--limit", query->limit, "Maximum records (newest first)");
  dl->callback([&ctx, ec, query] { *ec = search_delivery_log(ctx, *query); });
}

}  // namespace mailroom::ctl
