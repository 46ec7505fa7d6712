// Email/query (RFC 8621 4.4): the filter conditions with IMAP SEARCH's matching (RFC 3501
// 6.4.4 semantics: case-insensitive substring after Unicode case folding, on the decoded
// header text and the decoded text of the body parts, CJK included; the same src/mime
// functions IMAP SEARCH calls), AND/OR/NOT, sorts, windowing.
#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <unordered_set>

#include "src/jmap/list_order.h"
#include "src/jmap/methods.h"
#include "src/jmap/parts.h"
#include "src/jmap/threads.h"
#include "src/jmap/views.h"
#include "src/mime/facts.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

struct Candidate {
  std::string guid;
  std::string mailbox;  // of the first copy seen (its facts and content are read there)
  store::MessageMeta meta;
  std::vector<std::string> mailbox_ids;
  std::vector<std::string> keywords;
  // Loaded when a condition or a sort asks.
  std::optional<mime::Facts> facts;
  std::optional<std::string> body_text;  // fold_case(decoded text)
  std::optional<bool> has_attachment;
};

class Evaluator {
 public:
  Evaluator(CallContext& ctx) : ctx_(ctx) {}

  const mime::Facts& facts(Candidate& c) {
    if (!c.facts) {
      auto blob = ctx_.store.facts(ctx_.account_id, c.mailbox, c.meta.uid);
      core::Result<mime::Facts> f = core::not_found("");
      if (blob) f = mime::decode_facts(*blob);
      if (f && f->version < mime::kFactsVersion) f = core::not_found("old facts");
      if (!f) {
        auto data = ctx_.store.read_message(ctx_.account_id, c.mailbox, c.meta.uid);
        c.facts = data ? mime::parse_facts(*data) : mime::Facts{};
      } else {
        c.facts = std::move(*f);
      }
    }
    return *c.facts;
  }

  const std::string* message(Candidate& c) {
    auto data = ctx_.store.read_message(ctx_.account_id, c.mailbox, c.meta.uid);
    if (!data) return nullptr;
    last_message_ = std::move(*data);
    return &last_message_;
  }

  bool body_contains(Candidate& c, const std::string& folded) {
    if (!c.body_text) {
      const std::string* m = message(c);
      if (!m) return false;
      if (!mime::body_text_may_contain(*m, folded)) return false;  // IMAP SEARCH's quick test
      c.body_text = mime::fold_case(mime::decoded_body_text(*m));
    }
    return c.body_text->find(folded) != std::string::npos;
  }

  bool has_attachment(Candidate& c) {
    if (!c.has_attachment) {
      const std::string* m = message(c);
      if (!m) return false;
      BodyPart root = body_structure(*m, facts(c).root);
      std::vector<const BodyPart*> t, h, a;
      classify_parts(root, t, h, a);
      c.has_attachment = !a.empty();
    }
    return *c.has_attachment;
  }

  bool header_contains(Candidate& c, const std::string& name,
                       const std::optional<std::string>& value) {
    const std::string* m = message(c);
    if (!m) return false;
    const auto& f = facts(c);
    std::string_view header =
        std::string_view(*m).substr(0, std::min<uint64_t>(f.root.header.end, m->size()));
    auto values = mime::header_values(header, name);
    if (!value) return !values.empty();
    std::string folded = mime::fold_case(*value);
    for (const auto& v : values)
      if (mime::fold_case(mime::decode_header_text(v)).find(folded) != std::string::npos)
        return true;
    return false;
  }

  bool match(Candidate& c, const json::object& f, int depth) {
    if (const auto* op = f.if_contains("operator")) {
      bool any = false, all = true;
      for (const auto& cond : f.at("conditions").as_array()) {
        bool r = match(c, cond.as_object(), depth + 1);
        any = any || r;
        all = all && r;
        if (op->as_string() == "AND" && !r) return false;
        if (op->as_string() != "AND" && r) break;
      }
      if (op->as_string() == "AND") return all;
      if (op->as_string() == "OR") return any;
      return !any;
    }
    for (const auto& kv : f) {
      std::string_view k = kv.key();
      const auto& v = kv.value();
      auto contains_folded = [&](const std::string& hay) {
        return mime::fold_case(hay).find(mime::fold_case(v.as_string())) != std::string::npos;
      };
      bool ok = true;
      if (k == "inMailbox") {
        ok = std::find(c.mailbox_ids.begin(), c.mailbox_ids.end(), v.as_string()) !=
             c.mailbox_ids.end();
      } else if (k == "inMailboxOtherThan") {
        ok = false;
        for (const auto& m : c.mailbox_ids) {
          bool excluded = false;
          for (const auto& x : v.as_array()) excluded = excluded || x.as_string() == m;
          ok = ok || !excluded;
        }
      } else if (k == "before") {
        ok = c.meta.internal_date < *parse_utc_date(v.as_string());
      } else if (k == "after") {
        ok = c.meta.internal_date >= *parse_utc_date(v.as_string());
      } else if (k == "minSize") {
        ok = c.meta.size >= v.to_number<uint64_t>();
      } else if (k == "maxSize") {
        ok = c.meta.size < v.to_number<uint64_t>();
      } else if (k == "hasKeyword" || k == "allInThreadHaveKeyword" ||
                 k == "someInThreadHaveKeyword") {
        // One message per thread: the thread conditions are the message's.
        std::string kw = mime::fold_case(v.as_string());
        ok = std::find(c.keywords.begin(), c.keywords.end(), kw) != c.keywords.end();
      } else if (k == "notKeyword" || k == "noneInThreadHaveKeyword") {
        std::string kw = mime::fold_case(v.as_string());
        ok = std::find(c.keywords.begin(), c.keywords.end(), kw) == c.keywords.end();
      } else if (k == "hasAttachment") {
        ok = has_attachment(c) == v.as_bool();
      } else if (k == "from") {
        ok = contains_folded(facts(c).from);
      } else if (k == "to") {
        ok = contains_folded(facts(c).to);
      } else if (k == "cc") {
        ok = contains_folded(facts(c).cc);
      } else if (k == "bcc") {
        ok = contains_folded(facts(c).bcc);
      } else if (k == "subject") {
        ok = contains_folded(facts(c).subject);
      } else if (k == "body") {
        ok = body_contains(c, mime::fold_case(v.as_string()));
      } else if (k == "text") {
        // RFC 8621 4.4.1: From, To, Cc, Bcc, Subject and the text body parts.
        const auto& fa = facts(c);
        ok = contains_folded(fa.from) || contains_folded(fa.to) || contains_folded(fa.cc) ||
             contains_folded(fa.bcc) || contains_folded(fa.subject) ||
             body_contains(c, mime::fold_case(v.as_string()));
      } else if (k == "header") {
        const auto& arr = v.as_array();
        std::optional<std::string> value;
        if (arr.size() == 2) value = std::string(arr[1].as_string());
        ok = header_contains(c, std::string(arr[0].as_string()), value);
      }
      if (!ok) return false;
    }
    return true;
  }

 private:
  CallContext& ctx_;
  std::string last_message_;
};

// Whether a condition compares header text (the facts the store cached at delivery).
bool filter_reads_facts(const json::value& f, int depth) {
  if (depth > 16 || !f.is_object()) return false;
  for (const auto& kv : f.as_object()) {
    std::string_view k = kv.key();
    if (k == "conditions" && kv.value().is_array()) {
      for (const auto& c : kv.value().as_array())
        if (filter_reads_facts(c, depth + 1)) return true;
    }
    if (k == "from" || k == "to" || k == "cc" || k == "bcc" || k == "subject" || k == "text" ||
        k == "header" || k == "hasAttachment")
      return true;
  }
  return false;
}

// The facts of every candidate, a few hundred per store call (MailStore::facts_batch: one
// index query each) instead of one call per message.
void prefetch_facts(CallContext& ctx, std::vector<Candidate>& cands) {
  constexpr size_t kBatch = 256;
  std::map<std::string, std::vector<Candidate*>> by_mailbox;
  for (auto& c : cands)
    if (!c.facts) by_mailbox[c.mailbox].push_back(&c);
  for (auto& [mailbox, list] : by_mailbox) {
    for (size_t at = 0; at < list.size(); at += kBatch) {
      std::vector<uint32_t> uids;
      for (size_t i = at; i < list.size() && i < at + kBatch; ++i)
        uids.push_back(list[i]->meta.uid);
      auto blobs = ctx.store.facts_batch(ctx.account_id, mailbox, uids);
      for (size_t i = 0; i < blobs.size() && at + i < list.size(); ++i) {
        if (!blobs[i]) continue;  // Evaluator::facts() reads it later
        auto f = mime::decode_facts(*blobs[i]);
        if (f && f->version >= mime::kFactsVersion) list[at + i]->facts = std::move(*f);
      }
    }
  }
}

struct SortKey {
  std::string property;
  bool ascending = true;
};

}  // namespace

// The filter's shape and types, so that match() can trust them (unsupportedFilter /
// invalidArguments otherwise).
MethodResult check_email_filter(const json::value& f, const std::vector<MailboxView>& all,
                                int depth) {
  if (depth > 16) return MethodError{"unsupportedFilter", "the filter is nested too deeply"};
  if (!f.is_object()) return invalid_arguments("a filter must be an object");
  const auto& o = f.as_object();
  if (o.contains("operator")) {
    const auto& op = o.at("operator");
    const auto* conds = o.if_contains("conditions");
    if (!op.is_string() ||
        (op.as_string() != "AND" && op.as_string() != "OR" && op.as_string() != "NOT"))
      return MethodError{"unsupportedFilter", "operator is AND, OR or NOT"};
    if (!conds || !conds->is_array() || o.size() != 2)
      return invalid_arguments("a FilterOperator is {operator, conditions}");
    for (const auto& c : conds->as_array())
      if (auto e = check_email_filter(c, all, depth + 1)) return e;
    return std::nullopt;
  }
  for (const auto& kv : o) {
    std::string k(kv.key());
    const auto& v = kv.value();
    bool ok = true;
    if (k == "inMailbox") {
      ok = v.is_string();
    } else if (k == "inMailboxOtherThan") {
      ok = v.is_array();
      if (ok)
        for (const auto& x : v.as_array()) ok = ok && x.is_string();
    } else if (k == "before" || k == "after") {
      ok = v.is_string() && parse_utc_date(v.as_string()).has_value();
    } else if (k == "minSize" || k == "maxSize") {
      ok = (v.is_uint64() || (v.is_int64() && v.as_int64() >= 0));
    } else if (k == "hasKeyword" || k == "notKeyword" || k == "allInThreadHaveKeyword" ||
               k == "someInThreadHaveKeyword" || k == "noneInThreadHaveKeyword") {
      ok = v.is_string() && valid_keyword(v.as_string());
    } else if (k == "hasAttachment") {
      ok = v.is_bool();
    } else if (k == "from" || k == "to" || k == "cc" || k == "bcc" || k == "subject" ||
               k == "body" || k == "text") {
      ok = v.is_string() && v.as_string().size() <= 1024;
    } else if (k == "header") {
      ok = v.is_array() && (v.as_array().size() == 1 || v.as_array().size() == 2);
      if (ok)
        for (const auto& x : v.as_array()) ok = ok && x.is_string() && x.as_string().size() <= 1024;
    } else {
      return MethodError{"unsupportedFilter", "unknown filter property " + k};
    }
    if (!ok) return invalid_arguments("bad value for filter property " + k);
  }
  return std::nullopt;
}

MethodResult email_query(CallContext& ctx, const json::object& args, json::object& response) {
  if (auto e = check_known(args, {"accountId", "filter", "sort", "position", "anchor",
                                  "anchorOffset", "limit", "calculateTotal", "collapseThreads"}))
    return e;
  if (auto e = check_account(ctx, args, response)) return e;
  auto all = load_mailboxes(ctx.store, ctx.account_id);
  if (!all) return store_error(all.status());
  const json::value* filter = args.if_contains("filter");
  if (filter && filter->is_null()) filter = nullptr;
  if (filter)
    if (auto e = check_email_filter(*filter, *all, 0)) return e;
  // RFC 8621 4.4.3 collapseThreads: only the first Email of each thread (threads.h) in the
  // sorted result stays.
  bool collapse = false;
  if (auto e = read_bool(args, "collapseThreads", false, &collapse)) return e;
  std::shared_ptr<const ThreadIndex> threads;
  if (collapse) threads = thread_index(ctx, *all);
  auto collapsed = [&threads](std::vector<std::string> guids) {
    if (!threads) return guids;
    std::unordered_set<std::string> seen;
    std::vector<std::string> out;
    for (auto& g : guids)
      if (seen.insert(threads->thread(g)).second) out.push_back(std::move(g));
    return out;
  };
  std::vector<SortKey> sort;
  if (const auto* s = args.if_contains("sort"); s && !s->is_null()) {
    if (!s->is_array()) return invalid_arguments("sort must be an array");
    for (const auto& c : s->as_array()) {
      const auto* o = c.if_object();
      const auto* p = o ? o->if_contains("property") : nullptr;
      if (!p || !p->is_string()) return invalid_arguments("a Comparator has a property");
      SortKey k{std::string(p->as_string()), true};
      if (const auto* a = o->if_contains("isAscending")) {
        if (!a->is_bool()) return invalid_arguments("isAscending must be a boolean");
        k.ascending = a->as_bool();
      }
      if (k.property != "receivedAt" && k.property != "size" && k.property != "from" &&
          k.property != "to" && k.property != "subject" && k.property != "sentAt")
        return MethodError{"unsupportedSort", k.property};
      sort.push_back(std::move(k));
    }
  }
  if (sort.empty()) sort.push_back({"receivedAt", false});  // newest first

  // The web client's list (only inMailbox, by receivedAt): the mailbox's order kept between
  // requests (list_order.h), and only the page's ids made.
  if (ctx.list_orders && filter && filter->as_object().size() == 1 &&
      filter->as_object().contains("inMailbox") && sort.size() == 1 &&
      sort[0].property == "receivedAt") {
    const auto* m = find_mailbox_by_id(*all, filter->as_object().at("inMailbox").as_string());
    auto order = m ? ctx.list_orders->get(ctx.store, ctx.account_id, m->info, sort[0].ascending)
                   : core::Result<std::shared_ptr<const ListOrder>>(core::not_found("mailbox"));
    if (order) {
      // Collapsed: the page comes from a collapsed copy of the order (kept for this request).
      std::vector<std::string> kept;
      if (threads) kept = collapsed((*order)->guids);
      const auto& guids = threads ? kept : (*order)->guids;
      QueryResult result;
      result.count = guids.size();
      result.id_at = [&guids](size_t i) { return email_id(guids[i]); };
      result.find = [&guids](std::string_view id) -> std::optional<size_t> {
        if (id.size() < 2 || id[0] != 'M') return std::nullopt;
        auto it = std::find(guids.begin(), guids.end(), id.substr(1));
        if (it == guids.end()) return std::nullopt;
        return static_cast<size_t>(it - guids.begin());
      };
      return query_page(ctx, args, result, email_state(*all), response);
    }
    // No such mailbox (or a store error): the general path below answers as it always has.
  }
  // Which mailboxes to read: a top-level inMailbox (alone with conditions that do not look at
  // other mailboxes) reads one; anything else reads all.
  std::vector<const MailboxView*> scan;
  if (filter && filter->as_object().contains("inMailbox") &&
      !filter->as_object().contains("inMailboxOtherThan")) {
    const auto* m = find_mailbox_by_id(*all, filter->as_object().at("inMailbox").as_string());
    if (m) scan.push_back(m);
  } else {
    for (const auto& m : *all) scan.push_back(&m);
  }
  std::vector<Candidate> cands;
  std::map<std::string, size_t> by_guid;
  for (const auto* m : scan) {
    auto snap = ctx.store.snapshot(ctx.account_id, m->info.name);
    if (!snap) {
      if (snap.code() == core::Code::not_found) continue;
      return store_error(snap.status());
    }
    for (auto& meta : snap->messages) {
      auto [it, fresh] = by_guid.emplace(meta.guid, cands.size());
      if (fresh) {
        Candidate c;
        c.guid = meta.guid;
        c.mailbox = m->info.name;
        c.keywords = keywords_of(meta);
        c.meta = std::move(meta);
        cands.push_back(std::move(c));
      }
      cands[it->second].mailbox_ids.push_back(m->id);
    }
  }
  Evaluator ev(ctx);
  bool needs_facts = std::any_of(sort.begin(), sort.end(), [](const SortKey& k) {
    return k.property == "from" || k.property == "to" || k.property == "subject" ||
           k.property == "sentAt";
  });
  if (needs_facts || (filter && filter_reads_facts(*filter, 0))) prefetch_facts(ctx, cands);
  std::vector<Candidate*> hits;
  for (auto& c : cands)
    if (!filter || ev.match(c, filter->as_object(), 0)) hits.push_back(&c);
  std::map<const Candidate*, std::string> subject_keys;
  if (needs_facts) {
    for (auto* c : hits) {
      ev.facts(*c);
      subject_keys[c] = mime::casemap_key(c->facts->subject);
    }
  }
  std::stable_sort(hits.begin(), hits.end(), [&](Candidate* a, Candidate* b) {
    for (const auto& k : sort) {
      int c = 0;
      if (k.property == "receivedAt") {
        c = a->meta.internal_date < b->meta.internal_date
                ? -1
                : a->meta.internal_date > b->meta.internal_date;
      } else if (k.property == "size") {
        c = a->meta.size < b->meta.size ? -1 : a->meta.size > b->meta.size;
      } else if (k.property == "from") {
        c = a->facts->sort_from.compare(b->facts->sort_from);
      } else if (k.property == "to") {
        c = a->facts->sort_to.compare(b->facts->sort_to);
      } else if (k.property == "subject") {
        c = subject_keys[a].compare(subject_keys[b]);
      } else if (k.property == "sentAt") {
        c = a->facts->sent_date < b->facts->sent_date ? -1
                                                      : a->facts->sent_date > b->facts->sent_date;
      }
      if (c != 0) return k.ascending ? c < 0 : c > 0;
    }
    return a->guid < b->guid;  // a stable order between equal keys
  });
  std::vector<std::string> guids;
  guids.reserve(hits.size());
  for (const auto* c : hits) guids.push_back(c->guid);
  guids = collapsed(std::move(guids));
  std::vector<std::string> ordered;
  ordered.reserve(guids.size());
  for (const auto& g : guids) ordered.push_back(email_id(g));
  return query_page(ctx, args, ordered, email_state(*all), response);
}

}  // namespace mailroom::jmap

namespace mailroom::jmap {

// Email/queryChanges (RFC 8620 5.6). The store keeps no earlier query results, so only an
// unchanged queryState is answered (no changes); after any change to the account's mail the
// answer is cannotCalculateChanges, which RFC 8620 5.6 allows, and the client runs
// Email/query again (Email/query says canCalculateChanges false for the same reason).
MethodResult email_query_changes(CallContext& ctx, const json::object& args,
                                 json::object& response) {
  if (auto e = check_known(args, {"accountId", "filter", "sort", "sinceQueryState", "maxChanges",
                                  "upToId", "calculateTotal", "collapseThreads"}))
    return e;
  const auto* since = args.if_contains("sinceQueryState");
  if (!since || !since->is_string()) return invalid_arguments("sinceQueryState is required");
  uint64_t max_changes = 0;
  if (auto e = read_uint(args, "maxChanges", 0, &max_changes)) return e;
  if (const auto* up = args.if_contains("upToId"); up && !up->is_null() && !up->is_string())
    return invalid_arguments("upToId must be an id");
  // The same checks and the same state as Email/query, without reading a page.
  json::object query;
  for (const char* k : {"accountId", "filter", "sort", "calculateTotal", "collapseThreads"})
    if (const auto* v = args.if_contains(k)) query[k] = *v;
  query["limit"] = 0;
  json::object result;
  if (auto e = email_query(ctx, query, result)) return e;
  if (result.at("queryState") != json::value(since->as_string()))
    return MethodError{"cannotCalculateChanges", "the mailbox changed; query again"};
  response["accountId"] = ctx.account_id;
  response["oldQueryState"] = since->as_string();
  response["newQueryState"] = result.at("queryState");
  if (const auto* t = result.if_contains("total")) response["total"] = *t;
  response["removed"] = json::array{};
  response["added"] = json::array{};
  return std::nullopt;
}

}  // namespace mailroom::jmap
