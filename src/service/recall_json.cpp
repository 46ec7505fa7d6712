// The JSON and CSV shapes of mail recall reports (recall.h), shared by mailroomctl and the admin
// API: scripts parse them, so keep them stable. Times are Unix seconds; text is valid UTF-8
// (malformed bytes from raw 8-bit headers become U+FFFD).
#include <boost/json.hpp>

#include "src/core/json_text.h"
#include "src/service/recall_internal.h"

namespace mailroom::service {

namespace json = boost::json;

namespace {

json::value copy_json(const CopyReport& c) {
  json::array folders;
  for (const auto& f : c.folders) folders.push_back(json::value(core::utf8_or_replacement(f)));
  json::object o{{"recipient", core::utf8_or_replacement(c.recipient)},
                 {"address", core::utf8_or_replacement(c.address)},
                 {"account_id", c.account_id},
                 {"forwarded_by", core::utf8_or_replacement(c.forwarded_by)},
                 {"queue_id", c.queue_id},
                 {"state", c.state},
                 {"recallable", c.recallable},
                 {"delivered_at", c.delivered_at},
                 {"log_result", c.log_result},
                 {"detail", core::utf8_or_replacement(c.detail)},
                 {"folders", std::move(folders)},
                 {"seen", c.seen},
                 {"seen_at", c.seen_at},
                 {"seen_via", c.seen_via},
                 {"downloaded_at", c.downloaded_at},
                 {"downloaded_from", c.downloaded_from},
                 {"answered", c.answered},
                 {"forwarded", c.forwarded},
                 {"deleted_flag", c.deleted_flag},
                 {"copies_taken", c.copies_taken},
                 {"note", core::utf8_or_replacement(c.note)}};
  return o;
}

json::array messages_array(const std::vector<MessageReport>& messages) {
  json::array out;
  for (const auto& m : messages) {
    json::array copies;
    for (const auto& c : m.copies) copies.push_back(copy_json(c));
    out.push_back(json::object{{"message_id", core::utf8_or_replacement(m.message_id)},
                               {"queue_id", m.queue_id},
                               {"subject", core::utf8_or_replacement(m.subject)},
                               {"from", core::utf8_or_replacement(m.header_from)},
                               {"sender", core::utf8_or_replacement(m.envelope_sender)},
                               {"time", m.time},
                               {"size", m.size},
                               {"copies", std::move(copies)}});
  }
  return out;
}

// RFC 4180: every field quoted, quotes doubled, CRLF line ends. A field that a spreadsheet
// would run as a formula (=, +, -, @ first) gets a leading apostrophe (CSV injection).
std::string csv_field(const std::string& raw) {
  std::string v = core::utf8_or_replacement(raw);
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) v = "'" + v;
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

// The criteria JSON recall.db keeps, as a value (text that is not JSON stays a string).
json::value criteria_value(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text.empty() ? "{}" : text, ec);
  if (ec) return json::value(core::utf8_or_replacement(text));
  return v;
}

}  // namespace

std::string message_reports_json(const std::vector<MessageReport>& messages) {
  return json::serialize(json::object{{"messages", messages_array(messages)}});
}

std::string recall_report_json(const RecallReport& r) {
  return json::serialize(json::object{{"recall_id", r.recall_id},
                                      {"dry_run", r.dry_run},
                                      {"actor", core::utf8_or_replacement(r.actor)},
                                      {"reason", core::utf8_or_replacement(r.reason)},
                                      {"created_at", r.created_at},
                                      {"undone_at", r.undone_at},
                                      {"purged_at", r.purged_at},
                                      {"messages", messages_array(r.messages)}});
}

std::string recall_report_csv(const std::vector<MessageReport>& messages) {
  std::string out =
      "message_id,queue_id,subject,sender,recipient,address,forwarded_by,state,recallable,"
      "delivered_at,folders,seen,seen_at,seen_via,downloaded_at,downloaded_from,answered,"
      "forwarded,deleted_flag,copies_taken,detail,note\r\n";
  for (const auto& m : messages) {
    for (const auto& c : m.copies) {
      std::string folders;
      for (const auto& f : c.folders) folders += (folders.empty() ? "" : ";") + f;
      const std::string fields[] = {m.message_id,
                                    m.queue_id,
                                    m.subject,
                                    m.envelope_sender,
                                    c.recipient,
                                    c.address,
                                    c.forwarded_by,
                                    c.state,
                                    c.recallable ? "true" : "false",
                                    std::to_string(c.delivered_at),
                                    folders,
                                    c.seen ? "true" : "false",
                                    std::to_string(c.seen_at),
                                    c.seen_via,
                                    std::to_string(c.downloaded_at),
                                    c.downloaded_from,
                                    c.answered ? "true" : "false",
                                    c.forwarded ? "true" : "false",
                                    c.deleted_flag ? "true" : "false",
                                    std::to_string(c.copies_taken),
                                    c.detail,
                                    c.note};
      bool first = true;
      for (const auto& f : fields) {
        if (!first) out += ',';
        out += csv_field(f);
        first = false;
      }
      out += "\r\n";
    }
  }
  return out;
}

std::string recall_summaries_json(const std::vector<RecallSummary>& list) {
  json::array items;
  for (const auto& s : list) {
    json::value criteria = criteria_value(s.criteria);
    items.push_back(json::object{{"recall_id", s.recall_id},
                                 {"actor", core::utf8_or_replacement(s.actor)},
                                 {"reason", core::utf8_or_replacement(s.reason)},
                                 {"criteria", std::move(criteria)},
                                 {"created_at", s.created_at},
                                 {"undone_at", s.undone_at},
                                 {"purged_at", s.purged_at},
                                 {"copies_taken", s.copies}});
  }
  return json::serialize(json::object{{"items", std::move(items)}});
}

std::string audit_entries_json(const std::vector<AuditEntry>& entries) {
  json::array items;
  for (const auto& e : entries) {
    json::value criteria = criteria_value(e.criteria);
    items.push_back(json::object{{"seq", e.seq},
                                 {"time", e.time},
                                 {"actor", core::utf8_or_replacement(e.actor)},
                                 {"front_end", e.front_end},
                                 {"action", e.action},
                                 {"reason", core::utf8_or_replacement(e.reason)},
                                 {"criteria", std::move(criteria)},
                                 {"recall_id", e.recall_id},
                                 {"results", e.results}});
  }
  return json::serialize(json::object{{"items", std::move(items)}});
}

}  // namespace mailroom::service
