// Admin API handlers for operations: sessions, mailboxes and quota, export, the block list,
// the queue, the delivery log and directory sync.
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "src/api/admin_internal.h"
#include "src/core/address.h"
#include "src/core/json_text.h"
#include "src/core/log.h"
#include "src/queue/delivery_log.h"
#include "src/service/aliases.h"
#include "src/service/blocklists.h"
#include "src/service/change_sets.h"
#include "src/service/delivery_log_search.h"
#include "src/service/directory_sync.h"
#include "src/service/mail_queue.h"
#include "src/service/mailboxes.h"
#include "src/service/writable_directory.h"

namespace mailroom::api {

namespace json = boost::json;

namespace {

// Exports larger than this are refused over HTTP (the body is built in memory):
// mailroomctl export writes any size to a file.
constexpr uint64_t kMaxHttpExport = 256ull << 20;

json::value ops_session_json(const SessionInfo& s) {
  return json::object{{"session_id", s.session_id},
                      {"protocol", s.protocol},
                      {"remote_ip", s.remote_ip},
                      {"account_id", s.account_id},
                      {"address", s.address},
                      {"app_password", s.app_password},
                      {"since", s.since}};
}

}  // namespace

int64_t admin_time_param(const http::Request& req, const char* name, std::string& error) {
  auto v = req.query_param(name);
  if (!v || v->empty()) return 0;
  if (v->size() > 12 || v->find_first_not_of("0123456789") != std::string::npos) {
    error = std::string(name) + " must be unix seconds";
    return 0;
  }
  return std::stoll(*v);
}

// ---- sessions ----

http::Response admin_user_sessions(AdminCall& c) {
  json::array items;
  if (c.ctx.sessions.list) {
    for (const auto& s : c.ctx.sessions.list()) {
      if (s.account_id == c.account->id) items.push_back(ops_session_json(s));
    }
  }
  return admin_json(200,
                    json::object{{"address", c.account->address}, {"items", std::move(items)}});
}

http::Response admin_user_kick(AdminCall& c) {
  std::size_t closed = 0;
  if (c.ctx.sessions.close_account) closed = c.ctx.sessions.close_account(c.account->id);
  MR_LOG_INFO("event=admin.sessions_closed by={} account={} closed={}", core::quote(c.caller.name),
              c.account->id, closed);
  return admin_json(200, json::object{{"address", c.account->address}, {"closed", closed}});
}

http::Response admin_sessions_list(AdminCall& c) {
  auto filter = core::ascii_lower(c.request.query_param("domain").value_or(""));
  json::array items;
  if (c.ctx.sessions.list) {
    for (const auto& s : c.ctx.sessions.list()) {
      std::string d = admin_domain_of(s.address);
      if (!filter.empty() && d != filter) continue;
      if (c.sees(d)) items.push_back(ops_session_json(s));
    }
  }
  return admin_json(200, json::object{{"total", items.size()}, {"items", std::move(items)}});
}

// ---- mailboxes ----

http::Response admin_user_mailboxes(AdminCall& c) {
  service::Mailboxes boxes(c.ctx.services->directory.get(), c.ctx.services->store.get());
  auto r = boxes.list(c.account->id);
  if (!r) return problem_from_status(r.status());
  json::array items;
  for (const auto& m : *r) {
    items.push_back(json::object{{"name", m.name},
                                 {"special_use", store::special_use_attribute(m.special_use)},
                                 {"subscribed", m.subscribed},
                                 {"messages", m.messages},
                                 {"unseen", m.unseen},
                                 {"size", m.size},
                                 {"uid_validity", m.uid_validity},
                                 {"uid_next", m.uid_next}});
  }
  return admin_json(200,
                    json::object{{"address", c.account->address}, {"items", std::move(items)}});
}

http::Response admin_user_quota(AdminCall& c) {
  service::Mailboxes boxes(c.ctx.services->directory.get(), c.ctx.services->store.get());
  auto r = boxes.quota(c.account->id);
  if (!r) return problem_from_status(r.status());
  return admin_json(200, json::object{{"address", r->account.address},
                                      {"quota_bytes", r->account.quota_bytes},
                                      {"quota_messages", r->account.quota_messages},
                                      {"used_bytes", r->usage.bytes},
                                      {"used_messages", r->usage.messages}});
}

http::Response admin_user_mailbox_create(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"name"})) return *bad;
  auto* name = o.if_contains("name");
  if (!name || !name->is_string() || name->as_string().empty()) {
    return admin_bad_request("name is required");
  }
  service::Mailboxes boxes(c.ctx.services->directory.get(), c.ctx.services->store.get(),
                           c.change());
  auto st = boxes.create(c.account->id, std::string(name->as_string()));
  if (!st) return problem_from_status(st);
  return admin_json(201,
                    json::object{{"address", c.account->address}, {"name", name->as_string()}});
}

http::Response admin_user_mailbox_rename(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"name"})) return *bad;
  auto* name = o.if_contains("name");
  if (!name || !name->is_string() || name->as_string().empty()) {
    return admin_bad_request("name (the new name) is required");
  }
  service::Mailboxes boxes(c.ctx.services->directory.get(), c.ctx.services->store.get(),
                           c.change());
  auto st = boxes.rename(c.account->id, c.request.params.at(1), std::string(name->as_string()));
  if (!st) return problem_from_status(st);
  return admin_json(200,
                    json::object{{"address", c.account->address}, {"name", name->as_string()}});
}

http::Response admin_user_mailbox_delete(AdminCall& c) {
  bool recursive = c.request.query_param("recursive").value_or("false") == "true";
  service::Mailboxes boxes(c.ctx.services->directory.get(), c.ctx.services->store.get(),
                           c.change());
  auto st = boxes.remove(c.account->id, c.request.params.at(1), recursive);
  if (!st) return problem_from_status(st);
  http::Response r;
  r.status = 204;
  return r;
}

http::Response admin_conflicts(AdminCall& c) {
  auto dir = service::writable_directory(*c.ctx.services->directory);
  if (!dir) return problem_from_status(dir.status());
  auto all = service::Aliases(**dir).conflicts();
  if (!all) return problem_from_status(all.status());
  json::array items;
  for (const auto& x : *all) {
    if (!c.sees(admin_domain_of(x.address))) continue;
    items.push_back(json::object{{"address", x.address},
                                 {"account_id", x.account_id},
                                 {"account_address", x.account_address},
                                 {"kind", x.kind}});
  }
  return admin_json(200, json::object{{"items", std::move(items)}});
}

http::Response admin_user_export(AdminCall& c) {
  std::vector<std::string> wanted;
  for (const auto& [k, v] : c.request.query_params()) {
    if (k == "mailbox") wanted.push_back(v);
  }
  service::Mailboxes boxes(c.ctx.services->directory.get(), c.ctx.services->store.get());
  // A private temporary file in the data directory (0600 under mailroomd's umask).
  std::string path = c.ctx.services->data_dir + "/run/export-" + c.request.session_id + "-" +
                     std::to_string(::getpid()) + ".mbox";
  auto n = boxes.export_mbox(c.account->id, wanted, path);
  if (!n) {
    ::unlink(path.c_str());
    return problem_from_status(n.status());
  }
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  auto size = static_cast<uint64_t>(std::max<std::streamoff>(in.tellg(), 0));
  if (size > kMaxHttpExport) {
    ::unlink(path.c_str());
    return http::Response::problem(413, "Content Too Large",
                                   "the export is larger than 256 MiB: use mailroomctl export");
  }
  in.seekg(0);
  std::string body(size, '\0');
  in.read(body.data(), static_cast<std::streamsize>(size));
  ::unlink(path.c_str());
  MR_LOG_INFO("event=admin.export by={} account={} messages={} bytes={}",
              core::quote(c.caller.name), c.account->id, *n, size);
  auto resp = http::Response::text(200, std::move(body), "application/mbox");
  resp.set_header("Content-Disposition",
                  "attachment; filename=\"" + http::percent_encode(c.account->address) + ".mbox\"");
  resp.set_header("Cache-Control", "no-store");
  return resp;
}

// ---- block list ----

http::Response admin_blocklist_list(AdminCall& c) {
  auto r = service::Blocklists(c.ctx.services->data_dir).list();
  if (!r) return problem_from_status(r.status());
  json::array items;
  for (const auto& e : *r) items.push_back(json::object{{"kind", e.kind}, {"value", e.value}});
  return admin_json(200, json::object{{"items", std::move(items)}});
}

http::Response admin_blocklist_add(AdminCall& c) {
  json::object o;
  if (auto bad = admin_parse_object(c.request, o, {"kind", "value"})) return *bad;
  auto* kind = o.if_contains("kind");
  auto* value = o.if_contains("value");
  if (!kind || !kind->is_string() || !value || !value->is_string()) {
    return admin_bad_request("kind and value are required strings");
  }
  auto r = service::Blocklists(c.ctx.services->data_dir, c.change())
               .add(std::string(kind->as_string()), std::string(value->as_string()));
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 201, json::object{{"kind", r->kind}, {"value", r->value}});
}

http::Response admin_blocklist_remove(AdminCall& c) {
  auto r = service::Blocklists(c.ctx.services->data_dir, c.change())
               .remove(c.request.params.at(0), c.request.params.at(1));
  if (!r) return problem_from_status(r.status());
  return admin_write_done(c, 204, nullptr);
}

// ---- queue ----

http::Response admin_queue_list(AdminCall& c) {
  auto r = service::MailQueue(c.ctx.services->data_dir + "/queue").list();
  if (!r) return problem_from_status(r.status());
  bool global = c.caller.is_global_admin() || c.caller.can_see("");
  json::array items;
  for (const auto& m : *r) {
    json::array rcpts;
    bool sender_visible = !m.sender.empty() && c.sees(admin_domain_of(m.sender));
    for (const auto& rc : m.recipients) {
      if (!global && !sender_visible && !c.sees(admin_domain_of(rc.address))) continue;
      rcpts.push_back(json::object{{"rcpt", rc.rcpt},
                                   {"address", rc.address},
                                   {"state", service::recipient_state_name(rc.state)}});
    }
    if (rcpts.empty() && !global) continue;
    items.push_back(json::object{{"queue_id", m.queue_id},
                                 {"sender", m.sender},
                                 {"size", m.size},
                                 {"received_at", m.received_at},
                                 {"held", m.held},
                                 {"recipients", std::move(rcpts)}});
  }
  return admin_json(200, json::object{{"total", items.size()}, {"items", std::move(items)}});
}

http::Response admin_queue_action(AdminCall& c) {
  const std::string& verb = c.request.params.at(0);
  std::string id = c.request.query_param("id").value_or("");
  auto st = service::MailQueue(c.ctx.services->data_dir + "/queue").request(verb, id);
  if (!st) return problem_from_status(st);
  return admin_json(202, json::object{{"requested", verb}, {"queue_id", id}});
}

// ---- delivery log ----

http::Response admin_delivery_log(AdminCall& c) {
  queue::DeliveryQuery q;
  auto& r = c.request;
  q.message_id = r.query_param("message_id").value_or("");
  q.queue_id = r.query_param("queue_id").value_or("");
  q.envelope_sender = r.query_param("sender").value_or("");
  q.recipient = r.query_param("recipient").value_or("");
  q.subject_prefix = r.query_param("subject_prefix").value_or("");
  std::string domain = core::ascii_lower(r.query_param("domain").value_or(""));
  std::string error;
  q.since = admin_time_param(r, "since", error);
  q.until = admin_time_param(r, "until", error);
  if (auto l = r.query_param("limit")) {
    if (l->empty() || l->size() > 5 || l->find_first_not_of("0123456789") != std::string::npos) {
      error = "limit must be a number";
    } else {
      q.limit = std::clamp<std::size_t>(std::stoul(*l), 1, 10000);
    }
  }
  if (!error.empty()) return admin_bad_request(error);
  service::DeliveryLogSearch search(c.ctx.services->delivery_log.get());
  // A caller limited to some domains sees mail from or to them: one search per direction and
  // domain, merged newest first.
  std::vector<std::string> domains;
  if (!domain.empty()) {
    domains.push_back(domain);  // the wrapper checked it is visible
  } else if (auto visible = c.caller.visible_domains()) {
    domains = *visible;
    if (domains.empty()) return admin_json(200, json::object{{"items", json::array{}}});
  }
  std::vector<queue::DeliveryRecord> records;
  if (domains.empty()) {
    auto found = search.search(q);
    if (!found) return problem_from_status(found.status());
    records = std::move(*found);
  } else {
    std::set<int64_t> seen;
    for (const auto& d : domains) {
      for (int direction = 0; direction < 2; ++direction) {
        auto dq = q;
        (direction == 0 ? dq.recipient_domain : dq.sender_domain) = d;
        auto found = search.search(dq);
        if (!found) return problem_from_status(found.status());
        for (auto& rec : *found) {
          if (seen.insert(rec.id).second) records.push_back(std::move(rec));
        }
      }
    }
    std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
      return a.time != b.time ? a.time > b.time : a.id > b.id;
    });
    if (records.size() > q.limit) records.resize(q.limit);
  }
  json::array items;
  for (const auto& rec : records) {
    items.push_back(json::object{{"id", rec.id},
                                 {"queue_id", rec.queue_id},
                                 {"message_id", core::utf8_or_replacement(rec.message_id)},
                                 {"sender", core::utf8_or_replacement(rec.envelope_sender)},
                                 {"from", core::utf8_or_replacement(rec.header_from)},
                                 {"subject", core::utf8_or_replacement(rec.subject)},
                                 {"recipient", core::utf8_or_replacement(rec.recipient)},
                                 {"final_address", core::utf8_or_replacement(rec.final_address)},
                                 {"account_id", rec.account_id},
                                 {"mailbox", rec.mailbox},
                                 {"uid", rec.uid},
                                 {"size", rec.size},
                                 {"time", rec.time},
                                 {"result", queue::delivery_result_name(rec.result)},
                                 {"detail", core::utf8_or_replacement(rec.detail)}});
  }
  return admin_json(200, json::object{{"items", std::move(items)}});
}

// ---- directory sync ----

http::Response admin_sync_status(AdminCall& c) {
  auto sync = service::DirectorySync::open(c.ctx.config_path);
  if (!sync) return problem_from_status(sync.status());
  auto st = (*sync)->status();
  if (!st) return problem_from_status(st.status());
  json::object fields;
  for (const auto& [k, v] : st->fields) fields[k] = v;
  return admin_json(200, json::object{{"backend", st->backend}, {"status", std::move(fields)}});
}

http::Response admin_sync_run(AdminCall& c) {
  auto sync = service::DirectorySync::open(c.ctx.config_path);
  if (!sync) return problem_from_status(sync.status());
  auto report = (*sync)->run(c.dry_run);
  if (!report) return problem_from_status(report.status());
  json::object counts;
  for (const auto& [k, v] : report->counts) counts[k] = v;
  json::array changes;
  for (const auto& ch : report->changes) {
    changes.push_back(json::object{{"action", ch.action}, {"id", ch.id}, {"address", ch.address}});
  }
  return admin_json(200, json::object{{"backend", report->backend},
                                      {"dry_run", report->dry_run},
                                      {"counts", std::move(counts)},
                                      {"changes", std::move(changes)}});
}

// ---- change journal ----

namespace {

json::value ops_change_json(const service::ChangeRecord& r) {
  boost::system::error_code ec;
  auto before = json::parse(r.before, ec);
  if (ec) before = nullptr;
  auto after = json::parse(r.after, ec);
  if (ec) after = nullptr;
  json::object o{{"id", r.id},         {"change_set", r.change_set}, {"time", r.time},
                 {"who", r.who},       {"front_end", r.front_end},   {"operation", r.operation},
                 {"object", r.object}, {"object_id", r.object_id},   {"before", before},
                 {"after", after}};
  if (!r.reverts.empty()) o["reverts"] = r.reverts;
  return o;
}

// The domain a record is about: "user:alice@example.com" -> example.com,
// "domain:example.com" -> example.com, "blocklist:..." -> "" (server-wide).
std::string ops_record_domain(const service::ChangeRecord& r) {
  auto colon = r.object.find(':');
  std::string kind = r.object.substr(0, colon);
  std::string rest = colon == std::string::npos ? "" : r.object.substr(colon + 1);
  if (kind == "domain") return core::ascii_lower(rest);
  if (kind == "user" || kind == "alias" || kind == "group" || kind == "app_password") {
    auto end = kind == "app_password" ? rest.rfind(':') : std::string::npos;
    return admin_domain_of(rest.substr(0, end));
  }
  return "";
}

}  // namespace

http::Response admin_journal_list(AdminCall& c) {
  if (!c.ctx.journal) return admin_json(200, json::object{{"items", json::array{}}});
  auto& r = c.request;
  service::JournalFilter f;
  std::string error;
  if (auto v = admin_time_param(r, "since", error)) f.since = v;
  if (auto v = admin_time_param(r, "until", error)) f.until = v;
  f.who = r.query_param("who").value_or("");
  f.object_prefix = r.query_param("object").value_or("");
  f.operation = r.query_param("operation").value_or("");
  f.front_end = r.query_param("front_end").value_or("");
  if (auto l = r.query_param("limit")) {
    if (l->empty() || l->size() > 5 || l->find_first_not_of("0123456789") != std::string::npos) {
      error = "limit must be a number";
    } else {
      f.limit = std::clamp<std::size_t>(std::stoul(*l), 1, 10000);
    }
  }
  if (!error.empty()) return admin_bad_request(error);
  std::string domain = core::ascii_lower(r.query_param("domain").value_or(""));
  auto records = c.ctx.journal->list(f);
  if (!records) return problem_from_status(records.status());
  json::array items;
  for (const auto& rec : *records) {
    std::string d = ops_record_domain(rec);
    if (!domain.empty() && d != domain) continue;
    // A caller limited to domains sees the changes of its domains; server-wide ones are the
    // global admins'.
    if (!c.caller.can(service::Action::audit, d)) continue;
    items.push_back(ops_change_json(rec));
  }
  return admin_json(200, json::object{{"items", std::move(items)}});
}

http::Response admin_journal_show(AdminCall& c) {
  if (!c.ctx.journal) return problem_from_status(core::not_found("no such change set"));
  auto records = c.ctx.journal->show(c.request.params.at(0));
  if (!records) return problem_from_status(records.status());
  json::array items;
  for (const auto& rec : *records) {
    if (c.caller.can(service::Action::audit, ops_record_domain(rec))) {
      items.push_back(ops_change_json(rec));
    }
  }
  if (items.empty()) return http::Response::problem(404, "Not Found", "no such object");
  return admin_json(
      200, json::object{{"change_set", c.request.params.at(0)}, {"items", std::move(items)}});
}

http::Response admin_journal_revert(AdminCall& c) {
  if (!c.ctx.journal) return problem_from_status(core::not_found("no such change set"));
  auto writable = service::writable_directory(*c.ctx.services->directory);
  auth::LocalDirectory* local = writable ? *writable : nullptr;
  service::ChangeSets sets(*c.ctx.journal, local, c.ctx.services->data_dir,
                           c.ctx.services->app_passwords.get(), c.change());
  auto done = sets.revert(c.request.params.at(0));
  if (!done) return problem_from_status(done.status());
  json::array items;
  for (const auto& rec : *done) items.push_back(ops_change_json(rec));
  json::object result{{"reverted", c.request.params.at(0)}, {"items", std::move(items)}};
  if (c.dry_run) result["dry_run"] = true;
  return admin_json(200, result);
}

}  // namespace mailroom::api
