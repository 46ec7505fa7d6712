// Email/set (RFC 8621 4.6): update of keywords and mailboxIds (whole or by patch paths
// "keywords/$seen", "mailboxIds/<id>"), destroy. Keywords become IMAP flags on every copy of
// the message (origin "jmap"); a mailbox added is an IMAP COPY (or MOVE when one mailbox
// replaces another), one removed an expunge of that copy. Each takes a MODSEQ, so IMAP
// clients see the change by CONDSTORE/QRESYNC at once. Create (which needs blob upload) is
// not supported: every create answers "forbidden".
#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "auth/directory.h"
#include "src/core/services.h"
#include "src/jmap/methods.h"
#include "src/jmap/views.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

// The patch applied to the current keywords and mailbox ids; an error object when malformed.
std::optional<json::object> apply_patch(CallContext& ctx, const json::object& patch,
                                        const std::vector<MailboxView>& all,
                                        std::set<std::string>& keywords,
                                        std::set<std::string>& mailboxes) {
  // A mailbox id of the patch (or "#creationId"), which must exist.
  auto mailbox_of = [&](std::string_view raw, std::string& id) -> std::optional<json::object> {
    auto resolved = resolve_creation_id(ctx, raw);
    if (!resolved) return invalid_properties({"mailboxIds"}, "unknown creation id");
    if (!find_mailbox_by_id(all, *resolved))
      return invalid_properties({"mailboxIds"}, "no mailbox " + *resolved);
    id = std::move(*resolved);
    return std::nullopt;
  };
  for (const auto& kv : patch) {
    std::string_view k = kv.key();
    const auto& v = kv.value();
    if (k == "keywords") {
      std::vector<std::string> list;
      if (read_true_set(v, "keywords", &list)) return invalid_properties({"keywords"}, "");
      keywords.clear();
      for (auto& kw : list) {
        std::string lower = kw;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!valid_keyword(lower)) return invalid_properties({"keywords"}, "invalid keyword " + kw);
        keywords.insert(lower);
      }
    } else if (k.starts_with("keywords/")) {
      std::string kw(k.substr(9));
      for (char& c : kw) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!valid_keyword(kw)) return invalid_properties({"keywords"}, "invalid keyword");
      if (v.is_bool() && v.as_bool())
        keywords.insert(kw);
      else if (v.is_null())
        keywords.erase(kw);
      else
        return set_error("invalidPatch", "a keyword is set to true or null");
    } else if (k == "mailboxIds") {
      std::vector<std::string> list;
      if (read_true_set(v, "mailboxIds", &list)) return invalid_properties({"mailboxIds"}, "");
      mailboxes.clear();
      for (const auto& raw : list) {
        std::string id;
        if (auto err = mailbox_of(raw, id)) return err;
        mailboxes.insert(id);
      }
    } else if (k.starts_with("mailboxIds/")) {
      std::string id;
      if (auto err = mailbox_of(k.substr(11), id)) return err;
      if (v.is_bool() && v.as_bool())
        mailboxes.insert(id);
      else if (v.is_null())
        mailboxes.erase(id);
      else
        return set_error("invalidPatch", "a mailbox id is set to true or null");
    } else {
      // Every other property of an Email is immutable (RFC 8621 4.6).
      return invalid_properties({std::string(k)}, "only keywords and mailboxIds may change");
    }
  }
  if (mailboxes.empty())
    return invalid_properties({"mailboxIds"}, "an Email is in at least one mailbox");
  return std::nullopt;
}

json::object store_set_error(const core::Status& s) {
  if (s.code() == core::Code::over_quota || s.code() == core::Code::too_large)
    return set_error("overQuota", "");
  if (s.code() == core::Code::not_found) return set_error("notFound", "");
  return set_error("serverFail", "");
}

}  // namespace

MethodResult email_set(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "ifInState", "create", "update", "destroy"}))
    return e;
  if (auto e = check_account(ctx, args, response)) return e;
  SetArgs set;
  if (auto e = read_set_args(ctx, args, &set)) return e;
  const json::object* create = set.create;
  const json::object* update = set.update;
  const json::array* destroy = set.destroy;
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  std::string old_state = email_state(*all);
  if (auto e = check_if_in_state(args, old_state)) return e;
  json::object not_created, updated, not_updated, not_destroyed;
  json::array destroyed;
  const std::string& acc = ctx.account_id;
  if (create) {
    for (const auto& kv : *create)
      not_created[kv.key()] = set_error("forbidden", "creating Emails is not supported");
  }
  if (update) {
    std::optional<store::Quota> quota;
    for (const auto& kv : *update) {
      std::string id(kv.key());
      const auto* patch = kv.value().if_object();
      auto copies = copies_of(ctx.store, acc, id, 'M');
      if (!copies) return store_error(copies.status());
      if (copies->empty()) {
        not_updated[id] = set_error("notFound", "");
        continue;
      }
      if (!patch) {
        not_updated[id] = set_error("invalidPatch", "a PatchObject is expected");
        continue;
      }
      std::set<std::string> kws, boxes;
      for (auto& k : keywords_of(copies->front().meta)) kws.insert(k);
      for (const auto& c : *copies)
        if (const auto* m = find_mailbox_by_name(*all, c.mailbox)) boxes.insert(m->id);
      std::set<std::string> old_boxes = boxes;
      if (auto err = apply_patch(ctx, *patch, *all, kws, boxes)) {
        not_updated[id] = std::move(*err);
        continue;
      }
      bool failed = false;
      // Keywords: every copy gets the same set; \Deleted stays as IMAP set it.
      if (patch->contains("keywords") ||
          std::any_of(patch->begin(), patch->end(),
                      [](const auto& p) { return p.key().starts_with("keywords/"); })) {
        uint32_t flags = 0;
        std::vector<std::string> imap_keywords;
        flags_of(std::vector<std::string>(kws.begin(), kws.end()), flags, imap_keywords);
        for (const auto& c : *copies) {
          auto current = keywords_of(c.meta);
          if (std::set<std::string>(current.begin(), current.end()) == kws) continue;  // no MODSEQ
          store::StoreFlagsRequest req;
          req.uids = {c.meta.uid};
          req.op = store::FlagOp::replace;
          req.flags = flags | (c.meta.flags & store::kDeleted);
          req.keywords = imap_keywords;
          req.origin = "jmap";
          auto r = ctx.store.store_flags(acc, c.mailbox, req);
          if (!r) {
            not_updated[id] = store_set_error(r.status());
            failed = true;
            break;
          }
        }
      }
      if (failed) continue;
      if (boxes != old_boxes) {
        std::vector<std::string> add, remove;
        for (const auto& b : boxes)
          if (!old_boxes.count(b)) add.push_back(b);
        for (const auto& b : old_boxes)
          if (!boxes.count(b)) remove.push_back(b);
        auto name_of = [&](const std::string& mid) {
          return find_mailbox_by_id(*all, mid)->info.name;
        };
        const store::MessageCopy& src = copies->front();
        if (add.size() == 1 && remove.size() == 1 && old_boxes.size() == 1) {
          // One mailbox for another: an IMAP MOVE (RFC 6851), atomic for observers.
          auto r = ctx.store.move(acc, src.mailbox, {src.meta.uid}, name_of(add[0]));
          if (!r) {
            not_updated[id] = store_set_error(r.status());
            continue;
          }
        } else {
          if (!quota) {
            quota.emplace();
            if (auto e = account_quota(ctx, &quota->bytes, &quota->messages)) return e;
          }
          for (const auto& b : add) {
            auto r = ctx.store.copy(acc, src.mailbox, {src.meta.uid}, name_of(b), *quota);
            if (!r) {
              not_updated[id] = store_set_error(r.status());
              failed = true;
              break;
            }
          }
          if (failed) continue;
          for (const auto& b : remove) {
            std::string name = name_of(b);
            for (const auto& c : *copies) {
              if (c.mailbox != name) continue;
              auto r = ctx.store.expunge(acc, c.mailbox, {c.meta.uid});
              if (!r) {
                not_updated[id] = store_set_error(r.status());
                failed = true;
              }
            }
          }
          if (failed) continue;
        }
      }
      updated[id] = nullptr;
    }
  }
  if (destroy) {
    for (const auto& v : *destroy) {
      if (!v.is_string()) return MethodError{"invalidArguments", "destroy holds ids"};
      std::string id(v.as_string());
      auto copies = copies_of(ctx.store, acc, id, 'M');
      if (!copies) return store_error(copies.status());
      if (copies->empty()) {
        not_destroyed[id] = set_error("notFound", "");
        continue;
      }
      bool failed = false;
      for (const auto& c : *copies) {
        auto r = ctx.store.expunge(acc, c.mailbox, {c.meta.uid});
        if (!r && r.code() != core::Code::not_found) {
          not_destroyed[id] = store_set_error(r.status());
          failed = true;
          break;
        }
      }
      if (!failed) destroyed.push_back(json::value(id));
    }
  }
  auto now = load_mailboxes(ctx.store, acc);
  if (!now) return store_error(now.status());
  json::object created;
  finish_set(response, old_state, email_state(*now), created, updated, destroyed, not_created,
             not_updated, not_destroyed);
  return std::nullopt;
}

}  // namespace mailroom::jmap
