// mailroomctl commands of the queue module:
//   blocklist add|remove|list   (administrator block lists; mailroomd re-reads the file on
//                                change, see src/filter/blocklist.h)
//   queue list                  (messages still in the spool, read without modifying it)
//   delivery-log [--message-id X] [--recipient R] [--limit N]
// The spool is read from <data_dir>/queue (the default [queue] spool_dir).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "src/core/address.h"
#include "src/ctl/ctl.h"
#include "src/filter/blocklist.h"
#include "src/queue/delivery_log.h"
#include "src/queue/envelope_codec.h"
#include "src/queue/spool.h"

namespace mailroom::ctl {
namespace {

namespace json = boost::json;

const char* state_name(uint8_t s) {
  switch (s) {
    case 0: return "pending";
    case 1: return "delivered";
    case 2: return "failed";
    case 3: return "remote";
  }
  return "unknown";
}

// Serializes concurrent edits of the block list by several mailroomctl processes.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_ = -1;
};

json::object entry_json(const filter::BlockEntry& e) {
  json::object o;
  o["kind"] = e.kind;
  o["value"] = e.value;
  return o;
}

void register_blocklist(CLI::App& app, Context& ctx, int* ec) {
  auto* bl = app.add_subcommand("blocklist", "Administrator block lists (IPs, senders, domains)")
                 ->require_subcommand(1);
  struct Opts {
    std::string kind, value;
  };
  auto o = std::make_shared<Opts>();
  auto change = [&ctx, ec, o](bool add) {
    if (!ctx.services()) {
      *ec = kSystemError;
      return;
    }
    auto entry = filter::make_block_entry(o->kind, o->value);
    if (!entry) {
      *ec = ctx.fail(entry.status());
      return;
    }
    std::string path = filter::blocklist_path(ctx.data_dir());
    FileLock lock(path + ".lock");
    auto entries = filter::read_blocklist(path);
    if (!entries) {
      *ec = ctx.fail(entries.status());
      return;
    }
    auto& list = *entries;
    auto it = std::find_if(list.begin(), list.end(), [&](const filter::BlockEntry& e) {
      return e.kind == entry->kind && e.value == entry->value;
    });
    if (add) {
      if (it != list.end()) {
        *ec = ctx.fail(core::Status::error(core::Code::already_exists,
                                           entry->kind + " " + entry->value + " is already blocked"));
        return;
      }
      list.push_back(*entry);
    } else {
      if (it == list.end()) {
        *ec = ctx.fail(core::not_found(entry->kind + " " + entry->value + " is not blocked"));
        return;
      }
      list.erase(it);
    }
    if (auto s = filter::write_blocklist(path, list); !s) {
      *ec = ctx.fail(s);
      return;
    }
    json::object out = entry_json(*entry);
    out["action"] = add ? "added" : "removed";
    ctx.print(entry->kind + " " + entry->value + (add ? " blocked" : " unblocked"),
              json::serialize(out));
    *ec = kOk;
  };
  for (bool add : {true, false}) {
    auto* sub = bl->add_subcommand(add ? "add" : "remove",
                                   add ? "Block an IP/CIDR, sender or domain"
                                       : "Remove a block list entry");
    sub->add_option("kind", o->kind, "ip | sender | domain")->required();
    sub->add_option("value", o->value, "Address, CIDR block, sender address or domain")
        ->required();
    sub->callback([change, add] { change(add); });
  }
  auto* list = bl->add_subcommand("list", "Show the block lists");
  list->callback([&ctx, ec] {
    if (!ctx.services()) {
      *ec = kSystemError;
      return;
    }
    auto entries = filter::read_blocklist(filter::blocklist_path(ctx.data_dir()));
    if (!entries) {
      *ec = ctx.fail(entries.status());
      return;
    }
    json::array arr;
    std::string human;
    for (const auto& e : *entries) {
      arr.push_back(entry_json(e));
      human += e.kind + " " + e.value + "\n";
    }
    if (human.empty()) human = "(block list is empty)";
    ctx.print(human, json::serialize(arr));
    *ec = kOk;
  });
}

void register_queue(CLI::App& app, Context& ctx, int* ec) {
  auto* q = app.add_subcommand("queue", "The mail queue")->require_subcommand(1);
  auto* list = q->add_subcommand("list", "Messages still in the spool");
  list->callback([&ctx, ec] {
    if (!ctx.services()) {
      *ec = kSystemError;
      return;
    }
    std::vector<queue::SpoolRecord> records;
    if (auto s = queue::read_spool(ctx.data_dir() + "/queue", &records); !s) {
      *ec = ctx.fail(s);
      return;
    }
    json::array arr;
    std::string human;
    for (const auto& r : records) {
      auto env = queue::decode_envelope(r.envelope);
      if (!env) continue;
      bool live = false;
      json::array rcpts;
      std::string lines;
      for (size_t i = 0; i < env->recipients.size(); ++i) {
        auto it = r.states.find(static_cast<uint32_t>(i));
        uint8_t st = it == r.states.end() ? 0 : it->second;
        const auto& rc = env->recipients[i];
        bool remote = rc.destination.kind == auth::Destination::Kind::remote;
        if (st == 0 && remote) st = 3;
        if (st == 0 || st == 3) live = true;
        json::object o;
        o["rcpt"] = rc.rcpt;
        o["address"] = rc.destination.address;
        o["state"] = state_name(st);
        rcpts.push_back(o);
        lines += "    " + rc.destination.address + " " + state_name(st) + "\n";
      }
      if (!live) continue;  // fully delivered, waiting for segment cleanup
      json::object m;
      m["queue_id"] = r.queue_id;
      m["sender"] = env->sender;
      m["size"] = r.message.size();
      m["received_at"] = env->received_at;
      m["recipients"] = rcpts;
      arr.push_back(m);
      human += r.queue_id + " " + std::to_string(r.message.size()) + " <" + env->sender + ">\n" +
               lines;
    }
    if (human.empty()) human = "(queue is empty)";
    ctx.print(human, json::serialize(arr));
    *ec = kOk;
  });
}

void register_delivery_log(CLI::App& app, Context& ctx, int* ec) {
  auto* dl = app.add_subcommand("delivery-log", "Query the delivery log (mail recall, audit)");
  auto q = std::make_shared<queue::DeliveryQuery>();
  dl->add_option("--message-id", q->message_id, "Message-ID without <>");
  dl->add_option("--queue-id", q->queue_id, "Queue id");
  dl->add_option("--recipient", q->recipient, "Envelope recipient");
  dl->add_option("--sender", q->envelope_sender, "Envelope sender");
  dl->add_option("--recipient-domain", q->recipient_domain,
                 "Recipient domain (after the last @, any case)");
  dl->add_option("--sender-domain", q->sender_domain, "Envelope sender domain");
  dl->add_option("--subject", q->subject_prefix, "Subject starts with this (any case)");
  dl->add_option("--account", q->account_id, "Account id of the recipient");
  dl->add_option("--since", q->since, "From this time (Unix seconds)");
  dl->add_option("--until", q->until, "Up to this time (Unix seconds)");
  dl->add_option("--limit", q->limit, "Maximum records (newest first)");
  dl->callback([&ctx, ec, q] {
    auto* services = ctx.services();
    if (!services) {
      *ec = kSystemError;
      return;
    }
    if (!services->delivery_log) {
      *ec = ctx.fail(core::unavailable("delivery log is not configured"));
      return;
    }
    auto query = *q;
    query.recipient = core::ascii_lower(query.recipient);
    query.envelope_sender = core::ascii_lower(query.envelope_sender);
    query.recipient_domain = core::ascii_lower(query.recipient_domain);
    query.sender_domain = core::ascii_lower(query.sender_domain);
    auto records = services->delivery_log->query(query);
    if (!records) {
      *ec = ctx.fail(records.status());
      return;
    }
    json::array arr;
    std::string human;
    for (const auto& r : *records) {
      json::object o;
      o["queue_id"] = r.queue_id;
      o["message_id"] = r.message_id;
      o["envelope_sender"] = r.envelope_sender;
      o["header_from"] = r.header_from;
      o["subject"] = r.subject;
      o["recipient"] = r.recipient;
      o["final_address"] = r.final_address;
      o["account_id"] = r.account_id;
      o["mailbox"] = r.mailbox;
      o["uid_validity"] = r.uid_validity;
      o["uid"] = r.uid;
      o["size"] = r.size;
      o["time"] = r.time;
      o["result"] = queue::delivery_result_name(r.result);
      o["detail"] = r.detail;
      arr.push_back(o);
      human += std::to_string(r.time) + " " + r.queue_id + " " + r.recipient + " " +
               queue::delivery_result_name(r.result) + " " + r.mailbox + "/" +
               std::to_string(r.uid) + " " + r.subject + "\n";
    }
    if (human.empty()) human = "(no records)";
    ctx.print(human, json::serialize(arr));
    *ec = kOk;
  });
}

}  // namespace

void register_queue_commands(CLI::App& app, Context& ctx, int* exit_code) {
  register_blocklist(app, ctx, exit_code);
  register_queue(app, ctx, exit_code);
  register_delivery_log(app, ctx, exit_code);
}

}  // namespace mailroom::ctl
