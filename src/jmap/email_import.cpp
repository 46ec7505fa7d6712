// Email/import (RFC 8621 4.8): an uploaded blob (or a stored message's blob) appended to the
// given mailboxes with keywords and receivedAt, under the account's quota, as IMAP APPEND
// stores it (a COPY for each further mailbox, so it is one Email).
#include <boost/json.hpp>
#include <ctime>

#include "auth/directory.h"
#include "src/core/services.h"
#include "src/jmap/methods.h"
#include "src/jmap/threads.h"
#include "src/jmap/uploads.h"
#include "src/jmap/views.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {}  // namespace

core::Result<std::string> read_blob(CallContext& ctx, std::string_view blob_id) {
  if (!blob_id.empty() && blob_id[0] == 'U')
    return read_upload(ctx.services.data_dir, ctx.account_id, blob_id);
  auto copies = copies_of(ctx.store, ctx.account_id, blob_id, 'B');
  if (!copies) return copies.status();
  if (copies->empty()) return core::not_found("no such blob");
  return ctx.store.read_message(ctx.account_id, copies->front().mailbox, copies->front().meta.uid);
}

MethodResult email_import(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "ifInState", "emails"})) return e;
  if (auto e = check_account(ctx, args, response)) return e;
  const auto* emails_v = args.if_contains("emails");
  if (!emails_v || !emails_v->is_object()) return invalid_arguments("emails must be an object");
  const auto& emails = emails_v->as_object();
  if (emails.size() > ctx.options.max_objects_in_set)
    return MethodError{"requestTooLarge", "too many emails"};
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  std::string old_state = email_state(*all);
  if (const auto* s = args.if_contains("ifInState"); s && !s->is_null()) {
    if (!s->is_string()) return invalid_arguments("ifInState must be a string");
    if (s->as_string() != old_state) return MethodError{"stateMismatch", ""};
  }
  store::Quota quota;
  if (auto e = account_quota(ctx, &quota.bytes, &quota.messages)) return e;
  json::object created, not_created;
  for (const auto& kv : emails) {
    std::string cid(kv.key());
    const auto* e = kv.value().if_object();
    if (!e) {
      not_created[cid] = set_error("invalidProperties", "an EmailImport object is expected");
      continue;
    }
    const auto* blob = e->if_contains("blobId");
    const auto* boxes_v = e->if_contains("mailboxIds");
    if (!blob || !blob->is_string()) {
      not_created[cid] = invalid_properties({"blobId"}, "");
      continue;
    }
    std::vector<std::string> box_ids, keywords;
    if (!boxes_v || read_true_set(*boxes_v, "mailboxIds", &box_ids) || box_ids.empty()) {
      not_created[cid] = invalid_properties({"mailboxIds"}, "at least one mailbox");
      continue;
    }
    std::vector<std::string> names;
    bool bad = false;
    for (const auto& id : box_ids) {
      auto resolved = resolve_creation_id(ctx, id);
      const auto* m = resolved ? find_mailbox_by_id(*all, *resolved) : nullptr;
      if (!m) {
        bad = true;
        break;
      }
      names.push_back(m->info.name);
    }
    if (bad) {
      not_created[cid] = invalid_properties({"mailboxIds"}, "no such mailbox");
      continue;
    }
    if (const auto* k = e->if_contains("keywords"); k && !k->is_null()) {
      if (read_true_set(*k, "keywords", &keywords)) {
        not_created[cid] = invalid_properties({"keywords"}, "");
        continue;
      }
      for (auto& kw : keywords) {
        for (char& c : kw) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        bad = bad || !valid_keyword(kw);
      }
      if (bad) {
        not_created[cid] = invalid_properties({"keywords"}, "invalid keyword");
        continue;
      }
    }
    int64_t received = static_cast<int64_t>(std::time(nullptr));
    if (const auto* r = e->if_contains("receivedAt"); r && !r->is_null()) {
      auto t = r->is_string() ? parse_utc_date(r->as_string()) : std::nullopt;
      if (!t) {
        not_created[cid] = invalid_properties({"receivedAt"}, "");
        continue;
      }
      received = *t;
    }
    for (const auto& p : *e) {
      std::string_view k = p.key();
      if (k != "blobId" && k != "mailboxIds" && k != "keywords" && k != "receivedAt") bad = true;
    }
    if (bad) {
      not_created[cid] = set_error("invalidProperties", "unknown property");
      continue;
    }
    auto data = read_blob(ctx, blob->as_string());
    if (!data) {
      if (data.code() != core::Code::not_found) return store_error(data.status());
      auto err = set_error("blobNotFound", "");
      err["notFound"] = json::array{*blob};
      not_created[cid] = std::move(err);
      continue;
    }
    store::AppendRequest req;
    req.mailbox = names.front();
    req.message = *data;
    flags_of(keywords, req.flags, req.keywords);
    req.internal_date = received;
    req.quota_bytes = quota.bytes;
    req.quota_messages = quota.messages;
    auto appended = ctx.store.append(ctx.account_id, req);
    if (!appended) {
      auto c = appended.code();
      if (c == core::Code::over_quota || c == core::Code::too_large)
        not_created[cid] = set_error("overQuota", "");
      else if (c == core::Code::invalid_argument)
        not_created[cid] = set_error("invalidEmail", appended.status().client_message());
      else
        return store_error(appended.status());
      continue;
    }
    for (size_t i = 1; i < names.size(); ++i) {
      auto r = ctx.store.copy(ctx.account_id, names.front(), {appended->uid}, names[i], quota);
      if (!r) {
        (void)ctx.store.expunge(ctx.account_id, names.front(), {appended->uid});
        bad = true;
        not_created[cid] =
            set_error(r.code() == core::Code::over_quota ? "overQuota" : "serverFail", "");
        break;
      }
    }
    if (bad) continue;
    // Stored: the upload no longer counts against the account's pending uploads (uploads.h).
    release_upload(ctx.services.data_dir, ctx.account_id, blob->as_string());
    std::string id = email_id(appended->guid);
    ctx.created_ids[cid] = id;
    json::object o;
    o["id"] = id;
    o["blobId"] = blob_id(appended->guid);
    o["threadId"] = thread_id(appended->guid);
    auto copies = ctx.store.find_copies(ctx.account_id, appended->guid);
    o["size"] = copies && !copies->empty() ? copies->front().meta.size : data->size();
    created[cid] = std::move(o);
  }
  auto now = load_mailboxes(ctx.store, ctx.account_id);
  if (!now) return store_error(now.status());
  // The created Emails' threads (threads.h), now that they are in the store.
  if (auto threads = created.empty() ? nullptr : thread_index(ctx, *now)) {
    for (auto& kv : created) {
      auto& obj = kv.value().as_object();
      if (auto guid = guid_of(obj["id"].as_string(), 'M')) obj["threadId"] = threads->thread(*guid);
    }
  }
  response["oldState"] = old_state;
  response["newState"] = email_state(*now);
  response["created"] = created.empty() ? json::value(nullptr) : json::value(std::move(created));
  response["notCreated"] =
      not_created.empty() ? json::value(nullptr) : json::value(std::move(not_created));
  return std::nullopt;
}

}  // namespace mailroom::jmap
