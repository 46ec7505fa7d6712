// The admin API's view of the quarantine (src/queue/quarantine.h), what `mailroomctl quarantine`
// does, for a console:
//   GET    /api/v1/quarantine                    entries, oldest first (audit; a domain
//                                                administrator sees those with a recipient in
//                                                their domains, and only those recipients)
//   GET    /api/v1/quarantine/{id}               one entry with the message's header block
//   GET    /api/v1/quarantine/{id}/message       the message itself, message/rfc822 (server
//                                                administrators: it carries what was caught)
//   POST   /api/v1/quarantine/{id}/release       deliver it to its recipients (202: mailroomd's
//                                                release thread submits it within a second)
//   DELETE /api/v1/quarantine/{id}               remove it for good
#include <boost/json.hpp>

#include "src/api/admin_internal.h"
#include "src/core/log.h"
#include "src/queue/quarantine.h"

namespace mailroom::api {
namespace json = boost::json;

namespace {

// The header block shown with an entry: up to the first empty line, at most 64 KiB.
constexpr size_t kMaxHeaderBlock = 64 * 1024;

std::shared_ptr<queue::Quarantine> quarantine(AdminCall& c) {
  if (c.ctx.services->quarantine) return c.ctx.services->quarantine;
  return std::make_shared<queue::Quarantine>(c.ctx.services->data_dir + "/quarantine");
}

// The recipients the caller may see (all for a caller who sees the whole server).
json::array visible_recipients(AdminCall& c, const queue::QuarantineEntry& e) {
  bool global = c.caller.is_global_admin() || c.caller.can_see("");
  json::array out;
  for (const auto& r : e.envelope.recipients) {
    const std::string& address = r.destination.address.empty() ? r.rcpt : r.destination.address;
    if (!global && !c.sees(admin_domain_of(address))) continue;
    out.push_back(json::object{{"rcpt", r.rcpt}, {"address", address}});
  }
  return out;
}

json::object entry_json(const queue::QuarantineEntry& e, json::array recipients) {
  return json::object{{"id", e.id},
                      {"sender", e.envelope.sender},
                      {"client_ip", e.envelope.client_ip},
                      {"recipients", std::move(recipients)},
                      {"size", e.size},
                      {"scanner", e.scanner},
                      {"reason", e.reason},
                      {"quarantined_at", e.quarantined_at},
                      {"release_requested", e.release_requested}};
}

}  // namespace

http::Response admin_quarantine_list(AdminCall& c) {
  json::array items;
  for (const auto& e : quarantine(c)->list()) {
    json::array rcpts = visible_recipients(c, e);
    if (rcpts.empty()) continue;
    items.push_back(entry_json(e, std::move(rcpts)));
  }
  return admin_json(200, json::object{{"total", items.size()}, {"items", std::move(items)}});
}

http::Response admin_quarantine_show(AdminCall& c) {
  auto q = quarantine(c);
  auto e = q->entry(c.request.params.at(0));
  if (!e) return problem_from_status(e.status());
  json::array rcpts = visible_recipients(c, *e);
  if (rcpts.empty()) {
    return problem_from_status(core::not_found("no quarantined message " + e->id));
  }
  json::object o = entry_json(*e, std::move(rcpts));
  if (auto m = q->message(e->id)) {
    size_t end = m->find("\r\n\r\n");
    std::string headers =
        m->substr(0, std::min(end == std::string::npos ? m->size() : end + 2, kMaxHeaderBlock));
    o["headers"] = headers;
  }
  return admin_json(200, o);
}

http::Response admin_quarantine_message(AdminCall& c) {
  auto m = quarantine(c)->message(c.request.params.at(0));
  if (!m) return problem_from_status(m.status());
  MR_LOG_INFO("event=admin.quarantine_downloaded by={} id={}", core::quote(c.caller.name),
              c.request.params.at(0));
  auto resp = http::Response::text(200, std::move(*m), "message/rfc822");
  resp.set_header("Content-Disposition",
                  "attachment; filename=\"" + c.request.params.at(0) + ".eml\"");
  resp.set_header("Cache-Control", "no-store");
  resp.set_header("X-Content-Type-Options", "nosniff");
  return resp;
}

http::Response admin_quarantine_release(AdminCall& c) {
  const std::string& id = c.request.params.at(0);
  if (auto st = quarantine(c)->request_release(id); !st) return problem_from_status(st);
  MR_LOG_INFO("event=admin.quarantine_release_requested by={} id={}", core::quote(c.caller.name),
              id);
  return admin_json(202, json::object{{"requested", "release"}, {"id", id}});
}

http::Response admin_quarantine_delete(AdminCall& c) {
  const std::string& id = c.request.params.at(0);
  if (auto st = quarantine(c)->remove(id); !st) return problem_from_status(st);
  MR_LOG_INFO("event=admin.quarantine_deleted by={} id={}", core::quote(c.caller.name), id);
  return admin_json(200, json::object{{"deleted", id}});
}

}  // namespace mailroom::api
