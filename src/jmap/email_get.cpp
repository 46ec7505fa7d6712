// Email/get (RFC 8621 4.2) and Thread/get (RFC 8621 3.1): metadata from the store's index,
// headers and body parts parsed from the stored message (only when a property needs it).
#include <algorithm>
#include <boost/json.hpp>

#include "src/core/json_text.h"
#include "src/jmap/methods.h"
#include "src/jmap/parts.h"
#include "src/jmap/threads.h"
#include "src/jmap/views.h"
#include "src/mime/header_fields.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

const std::vector<std::string> kEmailProperties = {
    "id",         "blobId",        "threadId",   "mailboxIds", "keywords",
    "size",       "receivedAt",    "headers",    "messageId",  "inReplyTo",
    "references", "sender",        "from",       "to",         "cc",
    "bcc",        "replyTo",       "subject",    "sentAt",     "hasAttachment",
    "preview",    "bodyStructure", "bodyValues", "textBody",   "htmlBody",
    "attachments"};
const std::vector<std::string> kDefaultEmailProperties = {
    "id",        "blobId",    "threadId",   "mailboxIds", "keywords",      "size",    "receivedAt",
    "messageId", "inReplyTo", "references", "sender",     "from",          "to",      "cc",
    "bcc",       "replyTo",   "subject",    "sentAt",     "hasAttachment", "preview", "bodyValues",
    "textBody",  "htmlBody",  "attachments"};
const std::vector<std::string> kBodyProperties = {"partId", "blobId",   "size",     "headers",
                                                  "name",   "type",     "charset",  "disposition",
                                                  "cid",    "language", "location", "subParts"};
const std::vector<std::string> kDefaultBodyProperties = {
    "partId",  "blobId",      "size", "name",     "type",
    "charset", "disposition", "cid",  "language", "location"};

std::string_view range_of(std::string_view m, const mime::Range& r) {
  if (r.begin > m.size() || r.end > m.size() || r.end < r.begin) return {};
  return m.substr(r.begin, r.end - r.begin);
}

std::string text(std::string_view raw) {
  return core::utf8_or_replacement(mime::decode_header_text(raw));
}

// RFC 8621 4.1.2.3 asAddresses: groups flattened.
json::value addresses(const std::vector<std::string>& values) {
  if (values.empty()) return nullptr;
  json::array out;
  for (const auto& v : values) {
    for (const auto& a : mime::parse_address_list(v)) {
      if (a.kind != mime::EnvelopeAddress::Kind::mailbox) continue;
      json::object o;
      o["name"] = a.name && !a.name->empty() ? json::value(text(*a.name)) : json::value(nullptr);
      std::string email = a.mailbox.value_or("");
      if (a.host && !a.host->empty()) email += "@" + *a.host;
      o["email"] = core::utf8_or_replacement(email);
      out.push_back(std::move(o));
    }
  }
  return out;
}

// RFC 8621 4.1.2.5 asMessageIds: the msg-ids without angle brackets, null when none parse.
json::value message_ids(const std::vector<std::string>& values) {
  if (values.empty()) return nullptr;
  json::array out;
  const std::string& v = values.front();
  size_t at = 0;
  while ((at = v.find('<', at)) != std::string::npos) {
    size_t end = v.find('>', at);
    if (end == std::string::npos) break;
    std::string id = v.substr(at + 1, end - at - 1);
    if (!id.empty() && id.find_first_of(" \t<") == std::string::npos)
      out.push_back(json::value(core::utf8_or_replacement(id)));
    at = end + 1;
  }
  if (out.empty()) return nullptr;
  return out;
}

// RFC 8621 4.1.2.6 asDate: RFC 3339 with the field's own offset.
json::value date(const std::vector<std::string>& values) {
  if (values.empty()) return nullptr;
  auto d = mime::parse_date_time(values.front());
  if (!d) return nullptr;
  int64_t local = d->first + int64_t{d->second} * 60;
  std::string s = utc_date(local);
  s.pop_back();  // "Z"
  int32_t off = d->second;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", off < 0 ? '-' : '+', std::abs(off) / 60,
                std::abs(off) % 60);
  return json::value(s + buf);
}

json::value header_list(std::string_view header) {
  json::array out;
  for (const auto& f : mime::parse_fields(header)) {
    json::object o;
    o["name"] = core::utf8_or_replacement(f.name);
    o["value"] = core::utf8_or_replacement(" " + f.value);  // the raw form after the colon
    out.push_back(std::move(o));
  }
  return out;
}

// "header:Name[:asForm][:all]" (RFC 8621 4.1.3); false when malformed.
bool header_property(std::string_view header, std::string_view prop, json::value& out) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t c = prop.find(':', start);
    parts.emplace_back(prop.substr(start, c == prop.npos ? prop.npos : c - start));
    if (c == prop.npos) break;
    start = c + 1;
  }
  if (parts.size() < 2 || parts.size() > 4 || parts[1].empty()) return false;
  bool all = parts.back() == "all";
  if (all) parts.pop_back();
  std::string form = parts.size() == 3 ? parts[2] : "asRaw";
  if (parts.size() > 3) return false;
  auto values = mime::header_values(header, parts[1]);
  auto one = [&](const std::vector<std::string>& vs) -> json::value {
    if (form == "asRaw")
      return vs.empty() ? json::value(nullptr)
                        : json::value(core::utf8_or_replacement(" " + vs.front()));
    if (form == "asText") return vs.empty() ? json::value(nullptr) : json::value(text(vs.front()));
    if (form == "asAddresses") return addresses(vs);
    if (form == "asMessageIds") return message_ids(vs);
    if (form == "asDate") return date(vs);
    return nullptr;
  };
  if (form != "asRaw" && form != "asText" && form != "asAddresses" && form != "asMessageIds" &&
      form != "asDate")
    return false;
  if (!all) {
    if (values.size() > 1) values = {values.back()};  // RFC 8621 4.1.3: the last instance
    out = one(values);
    return true;
  }
  json::array arr;
  for (const auto& v : values) arr.push_back(one({v}));
  out = std::move(arr);
  return true;
}

json::object part_json(std::string_view message, const std::string& guid, const BodyPart& p,
                       const std::vector<std::string>& props, bool recurse) {
  json::object o;
  auto want = [&](const char* k) {
    return std::find(props.begin(), props.end(), k) != props.end();
  };
  bool multipart = p.type.starts_with("multipart/");
  if (want("partId")) o["partId"] = multipart ? json::value(nullptr) : json::value(p.part_id);
  if (want("blobId"))
    o["blobId"] = multipart ? json::value(nullptr) : json::value(blob_id(guid) + "." + p.part_id);
  if (want("size")) o["size"] = multipart ? 0 : decoded_content(message, p).size();
  if (want("headers")) o["headers"] = header_list(range_of(message, p.header));
  if (want("name")) o["name"] = p.name.empty() ? json::value(nullptr) : json::value(p.name);
  if (want("type")) o["type"] = p.type;
  if (want("charset")) {
    if (!p.charset.empty())
      o["charset"] = core::utf8_or_replacement(p.charset);
    else
      o["charset"] = p.type.starts_with("text/") ? json::value("us-ascii") : json::value(nullptr);
  }
  if (want("disposition"))
    o["disposition"] = p.disposition.empty() ? json::value(nullptr) : json::value(p.disposition);
  if (want("cid")) o["cid"] = p.cid.empty() ? json::value(nullptr) : json::value(p.cid);
  if (want("language")) {
    if (p.language.empty()) {
      o["language"] = nullptr;
    } else {
      json::array l;
      for (const auto& x : p.language) l.push_back(json::value(x));
      o["language"] = std::move(l);
    }
  }
  if (want("location"))
    o["location"] = p.location.empty() ? json::value(nullptr) : json::value(p.location);
  if (recurse && multipart) {  // the tree always shows its subParts
    json::array subs;
    for (const auto& c : p.sub_parts) subs.push_back(part_json(message, guid, c, props, true));
    o["subParts"] = std::move(subs);
  }
  return o;
}

struct BodyFetch {
  bool text = false, html = false, all = false;
  uint64_t max_bytes = 0;  // 0: no truncation
};

json::object body_value(std::string_view message, const BodyPart& p, uint64_t max_bytes) {
  bool problem = false;
  std::string value = part_text(message, p, problem);
  bool truncated = false;
  if (max_bytes > 0 && value.size() > max_bytes) {
    value = core::utf8_prefix(value, max_bytes);
    truncated = true;
  }
  json::object o;
  o["value"] = std::move(value);
  o["isEncodingProblem"] = problem;
  o["isTruncated"] = truncated;
  return o;
}

bool needs_message(const std::vector<std::string>& props) {
  for (const auto& p : props) {
    if (p != "id" && p != "blobId" && p != "threadId" && p != "mailboxIds" && p != "keywords" &&
        p != "size" && p != "receivedAt")
      return true;
  }
  return false;
}

}  // namespace

MethodResult email_get(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(
          args, {"accountId", "ids", "properties", "bodyProperties", "fetchTextBodyValues",
                 "fetchHTMLBodyValues", "fetchAllBodyValues", "maxBodyValueBytes"}))
    return e;
  if (auto e = check_account(ctx, args, response)) return e;
  std::optional<std::vector<std::string>> ids, props_arg, body_props_arg;
  if (auto e = read_ids(ctx, args, "ids", ctx.options.max_objects_in_get, &ids)) return e;
  // RFC 8620 5.1: ids null would mean every Email; answer requestTooLarge as the RFC allows
  // for types with many objects.
  if (!ids) return MethodError{"requestTooLarge", "ids must be given for Email/get"};
  if (auto e = read_properties(args, "properties", kEmailProperties, &props_arg, true)) return e;
  if (auto e = read_properties(args, "bodyProperties", kBodyProperties, &body_props_arg)) return e;
  std::vector<std::string> props = props_arg.value_or(kDefaultEmailProperties);
  std::vector<std::string> body_props = body_props_arg.value_or(kDefaultBodyProperties);
  BodyFetch fetch;
  if (auto e = read_bool(args, "fetchTextBodyValues", false, &fetch.text)) return e;
  if (auto e = read_bool(args, "fetchHTMLBodyValues", false, &fetch.html)) return e;
  if (auto e = read_bool(args, "fetchAllBodyValues", false, &fetch.all)) return e;
  if (auto e = read_uint(args, "maxBodyValueBytes", 0, &fetch.max_bytes)) return e;
  if (fetch.max_bytes == 0 || fetch.max_bytes > ctx.options.max_body_value_bytes)
    fetch.max_bytes = ctx.options.max_body_value_bytes;
  auto want = [&](const char* k) {
    return std::find(props.begin(), props.end(), k) != props.end();
  };
  for (const auto& p : props) {
    json::value probe;
    if (p.starts_with("header:") && !header_property("", p, probe))
      return invalid_arguments("malformed property " + p);
  }

  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  response["state"] = email_state(*all);
  std::shared_ptr<const ThreadIndex> threads;
  if (want("threadId")) threads = thread_index(ctx, *all);
  json::array list, not_found;
  for (const auto& id : *ids) {
    auto copies = copies_of(ctx.store, ctx.account_id, id, 'M');
    if (!copies) return store_error(copies.status());
    if (copies->empty()) {
      not_found.push_back(json::value(id));
      continue;
    }
    const store::MessageCopy& first = copies->front();
    const std::string& guid = first.meta.guid;
    json::object o;
    o["id"] = id;
    if (want("blobId")) o["blobId"] = blob_id(guid);
    if (want("threadId")) o["threadId"] = threads ? threads->thread(guid) : thread_id(guid);
    if (want("mailboxIds")) {
      json::object m;
      for (const auto& c : *copies)
        if (const auto* v = find_mailbox_by_name(*all, c.mailbox)) m[v->id] = true;
      o["mailboxIds"] = std::move(m);
    }
    if (want("keywords")) {
      json::object k;
      for (const auto& kw : keywords_of(first.meta)) k[kw] = true;
      o["keywords"] = std::move(k);
    }
    if (want("size")) o["size"] = first.meta.size;
    if (want("receivedAt")) o["receivedAt"] = utc_date(first.meta.internal_date);
    if (needs_message(props)) {
      auto data = ctx.store.read_message(ctx.account_id, first.mailbox, first.meta.uid);
      if (!data) {
        if (data.code() == core::Code::not_found) {  // expunged meanwhile
          not_found.push_back(json::value(id));
          continue;
        }
        return store_error(data.status());
      }
      std::string_view msg = *data;
      auto facts = mime::parse_facts(msg);
      std::string_view header = range_of(msg, facts.root.header);
      auto field = [&](const char* name) { return mime::header_values(header, name); };
      for (const auto& p : props) {
        if (p.starts_with("header:")) {
          json::value v;
          header_property(header, p, v);
          o[p] = std::move(v);
        }
      }
      if (want("headers")) o["headers"] = header_list(header);
      if (want("messageId")) o["messageId"] = message_ids(field("Message-ID"));
      if (want("inReplyTo")) o["inReplyTo"] = message_ids(field("In-Reply-To"));
      if (want("references")) o["references"] = message_ids(field("References"));
      for (const char* a : {"sender", "from", "to", "cc", "bcc", "replyTo"}) {
        if (!want(a)) continue;
        std::string name = a == std::string_view("replyTo") ? "Reply-To" : a;
        o[a] = addresses(field(name.c_str()));
      }
      if (want("subject")) {
        auto s = field("Subject");
        o["subject"] = s.empty() ? json::value(nullptr) : json::value(text(s.front()));
      }
      if (want("sentAt")) o["sentAt"] = date(field("Date"));
      if (want("preview")) o["preview"] = core::utf8_or_replacement(mime::preview_text(msg));
      BodyPart root = body_structure(msg, facts.root);
      std::vector<const BodyPart*> text_body, html_body, attachments;
      classify_parts(root, text_body, html_body, attachments);
      if (want("hasAttachment")) o["hasAttachment"] = !attachments.empty();
      if (want("bodyStructure")) o["bodyStructure"] = part_json(msg, guid, root, body_props, true);
      auto part_list = [&](const std::vector<const BodyPart*>& parts) {
        json::array arr;
        for (const auto* p : parts) arr.push_back(part_json(msg, guid, *p, body_props, false));
        return arr;
      };
      if (want("textBody")) o["textBody"] = part_list(text_body);
      if (want("htmlBody")) o["htmlBody"] = part_list(html_body);
      if (want("attachments")) o["attachments"] = part_list(attachments);
      if (want("bodyValues")) {
        json::object values;
        auto add = [&](const BodyPart* p) {
          if (!p->type.starts_with("text/") || values.contains(p->part_id)) return;
          values[p->part_id] = body_value(msg, *p, fetch.max_bytes);
        };
        if (fetch.text || fetch.all)
          for (const auto* p : text_body) add(p);
        if (fetch.html || fetch.all)
          for (const auto* p : html_body) add(p);
        if (fetch.all)
          for (const auto* p : attachments) add(p);
        o["bodyValues"] = std::move(values);
      }
    }
    list.push_back(std::move(o));
  }
  response["list"] = std::move(list);
  response["notFound"] = std::move(not_found);
  return std::nullopt;
}

MethodResult thread_get(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "ids", "properties"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  std::optional<std::vector<std::string>> ids, props;
  if (auto e = read_ids(ctx, args, "ids", ctx.options.max_objects_in_get, &ids)) return e;
  if (!ids) return MethodError{"requestTooLarge", "ids must be given for Thread/get"};
  if (auto e = read_properties(args, "properties", {"id", "emailIds"}, &props)) return e;
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  response["state"] = email_state(*all);
  auto threads = thread_index(ctx, *all);
  json::array list, not_found;
  for (const auto& id : *ids) {
    json::array emails;
    const std::vector<std::string>* members = nullptr;
    if (threads) {
      auto it = threads->members.find(id);
      if (it != threads->members.end()) members = &it->second;
    }
    if (members) {
      // RFC 8621 3: the thread's Emails, oldest first.
      for (const auto& g : *members) emails.push_back(json::value(email_id(g)));
    } else if (!threads || id.size() != 17) {
      // Without an index (or an id of the old form "T" + guid): the message itself.
      auto copies = copies_of(ctx.store, ctx.account_id, id, 'T');
      if (!copies) return store_error(copies.status());
      if (!copies->empty()) emails.push_back(json::value(email_id(copies->front().meta.guid)));
    }
    if (emails.empty()) {
      not_found.push_back(json::value(id));
      continue;
    }
    json::object o;
    o["id"] = id;
    o["emailIds"] = std::move(emails);
    list.push_back(std::move(o));
  }
  response["list"] = std::move(list);
  response["notFound"] = std::move(not_found);
  return std::nullopt;
}

}  // namespace mailroom::jmap
