// Mail recall (recall.h): search the delivery log, gather the evidence of every copy from the
// store, take the copies out into the users' recall areas, stop what is still queued, undo,
// purge. recall.db is recall_log.cpp; the JSON and CSV shapes are recall_json.cpp.
#include "src/service/recall.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "auth/directory.h"
#include "src/core/address.h"
#include "src/core/config_section.h"
#include "src/core/json_text.h"
#include "src/core/log.h"
#include "src/core/services.h"
#include "src/queue/control.h"
#include "src/queue/queue.h"
#include "src/service/delivery_log_search.h"
#include "src/service/mail_queue.h"
#include "src/service/recall_internal.h"
#include "src/store/mail_store.h"

namespace mailroom::service {

namespace json = boost::json;

struct RecallService::Impl {
  core::Services& services;
  std::unique_ptr<RecallLog> log;
};

namespace {

constexpr const char* kStoppedPrefix = "stopped by mail recall";

int64_t now_seconds() { return static_cast<int64_t>(::time(nullptr)); }

constexpr size_t kMaxReason = 1000;  // bytes of the required reason text
constexpr size_t kMaxId = 998;       // a Message-ID's line limit (RFC 5322 2.1.1)

// The reason every audited action needs: present, bounded, one line.
core::Status check_reason(const std::string& reason) {
  if (reason.empty()) return core::invalid_argument("a reason is required (who asked, and why)");
  if (reason.size() > kMaxReason)
    return core::invalid_argument("the reason is longer than " + std::to_string(kMaxReason) +
                                  " bytes");
  for (unsigned char c : reason) {
    if (c < 0x20 || c == 0x7f) return core::invalid_argument("the reason must be one line of text");
  }
  return core::Status::ok();
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : core::ascii_lower(address.substr(at + 1));
}

// Runs fn(0..n-1) on up to `threads` threads of its own (never the server's worker pool).
template <typename Fn>
void parallel_for(size_t n, size_t threads, Fn&& fn) {
  threads = std::max<size_t>(1, std::min(threads, n));
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

std::string criteria_json(const RecallCriteria& c) {
  const auto& q = c.query;
  json::object o;
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) o[k] = core::utf8_or_replacement(v);
  };
  put("message_id", q.message_id);
  put("queue_id", q.queue_id);
  put("sender", q.envelope_sender);
  put("recipient", q.recipient);
  put("account_id", q.account_id);
  put("recipient_domain", q.recipient_domain);
  put("sender_domain", q.sender_domain);
  put("subject_prefix", q.subject_prefix);
  put("subject_contains", q.subject_contains);
  put("group", c.group);
  if (q.since) o["since"] = q.since;
  if (q.until) o["until"] = q.until;
  return json::serialize(o);
}

std::string ids_json(const std::vector<std::string>& message_ids,
                     const std::vector<std::string>& queue_ids) {
  json::object o;
  json::array m, q;
  for (const auto& id : message_ids) m.push_back(json::value(core::utf8_or_replacement(id)));
  for (const auto& id : queue_ids) q.push_back(json::value(core::utf8_or_replacement(id)));
  if (!m.empty()) o["message_ids"] = std::move(m);
  if (!q.empty()) o["queue_ids"] = std::move(q);
  return json::serialize(o);
}

// The account ids of a group's members, nested groups and aliases followed (depth 8).
core::Result<std::vector<std::string>> group_members(auth::Directory& dir,
                                                     const std::string& group) {
  std::set<std::string> ids, visited;
  std::vector<std::pair<std::string, int>> todo{{core::ascii_lower(group), 0}};
  bool first = true;
  while (!todo.empty()) {
    auto [address, depth] = todo.back();
    todo.pop_back();
    if (depth > 8 || !visited.insert(address).second) continue;
    if (auto g = dir.find_group(address)) {
      for (const auto& m : g->members) todo.emplace_back(core::ascii_lower(m), depth + 1);
      first = false;
      continue;
    } else if (g.code() != core::Code::not_found) {
      return g.status();
    }
    if (first) return core::not_found("no such group", group);
    if (auto a = dir.find_account_by_address(address)) {
      ids.insert(a->id);
      continue;
    }
    if (auto al = dir.find_alias(address)) {
      for (const auto& t : al->targets) todo.emplace_back(core::ascii_lower(t), depth + 1);
    }
  }
  if (ids.size() > queue::kMaxAccountIds)
    return core::invalid_argument("the group has more than " +
                                  std::to_string(queue::kMaxAccountIds) + " members");
  return std::vector<std::string>(ids.begin(), ids.end());
}

// How far a delivery log result got, to pick one record per copy among retries.
int result_rank(queue::DeliveryResult r) {
  switch (r) {
    case queue::DeliveryResult::delivered:
      return 5;
    case queue::DeliveryResult::sent:
      return 4;
    case queue::DeliveryResult::failed:
    case queue::DeliveryResult::rejected:
      return 3;
    case queue::DeliveryResult::deferred:
      return 2;
    case queue::DeliveryResult::queued_remote:
      return 1;
  }
  return 0;
}

// The domain whose administrators see (and recall) this copy: the mailbox's for local copies,
// the sender's for copies on their way out.
std::string copy_domain(const CopyReport& c, const MessageReport& m) {
  return c.account_id.empty() ? domain_of(m.envelope_sender) : domain_of(c.address);
}

// What a caller may see and do with copies: its domain grants (Caller::can), and grants
// limited to a directory group's members (Grant::members_of), which cover only the mailboxes
// of those members. Group members are expanded once per call.
class Scope {
 public:
  Scope(const Caller& caller, auth::Directory* directory)
      : caller_(caller), directory_(directory) {}

  bool allows(Action action, const CopyReport& c, const MessageReport& m) {
    std::string domain = copy_domain(c, m);
    if (caller_.can(action, domain)) return true;
    if (c.account_id.empty()) return false;  // a member scope covers mailboxes only
    for (const Grant* g : caller_.member_grants(action, domain)) {
      if (members(g->members_of).count(c.account_id)) return true;
    }
    return false;
  }

  // The member groups of grants that may `action` somewhere.
  std::vector<std::string> member_groups(Action action) const {
    std::vector<std::string> out;
    for (const auto& g : caller_.grants) {
      if (g.members_of.empty()) continue;
      Caller one;
      one.grants = {g};
      if (one.can_anywhere(action) && std::find(out.begin(), out.end(), g.members_of) == out.end())
        out.push_back(g.members_of);
    }
    return out;
  }

  // Account ids of a group's members (empty when it cannot be expanded: fail closed).
  const std::set<std::string>& members(const std::string& group) {
    auto it = cache_.find(group);
    if (it != cache_.end()) return it->second;
    std::set<std::string> ids;
    if (directory_) {
      if (auto m = group_members(*directory_, group)) {
        ids.insert(m->begin(), m->end());
      } else {
        MR_LOG_WARN("event=recall_scope_group_unavailable group={} detail={}", core::quote(group),
                    core::quote(m.status().log_detail()));
      }
    }
    return cache_.emplace(group, std::move(ids)).first->second;
  }

 private:
  const Caller& caller_;
  auth::Directory* directory_;
  std::map<std::string, std::set<std::string>> cache_;
};

// Groups records into messages (by Message-ID, else queue id) and copies (queue id + mailbox or
// remote address), keeping the record that got furthest for each copy.
std::vector<MessageReport> group_records(const std::vector<queue::DeliveryRecord>& records) {
  std::map<std::string, size_t> message_index;
  std::vector<MessageReport> out;
  std::map<std::pair<size_t, std::string>, std::pair<size_t, const queue::DeliveryRecord*>> best;
  for (const auto& r : records) {
    std::string key = r.message_id.empty() ? "queue:" + r.queue_id : "mid:" + r.message_id;
    auto [it, added] = message_index.emplace(key, out.size());
    if (added) {
      MessageReport m;
      m.message_id = r.message_id;
      m.queue_id = r.queue_id;
      m.subject = r.subject;
      m.header_from = r.header_from;
      m.envelope_sender = r.envelope_sender;
      m.time = r.time;
      m.size = r.size;
      out.push_back(std::move(m));
    }
    MessageReport& m = out[it->second];
    m.time = std::min(m.time, r.time);
    m.size = std::max(m.size, r.size);
    std::string copy_key =
        r.queue_id + "\n" + (r.account_id.empty() ? "remote:" + r.final_address : r.account_id);
    auto slot = best.find({it->second, copy_key});
    if (slot == best.end()) {
      best[{it->second, copy_key}] = {out[it->second].copies.size(), &r};
      out[it->second].copies.emplace_back();
    } else if (result_rank(r.result) > result_rank(slot->second.second->result) ||
               (result_rank(r.result) == result_rank(slot->second.second->result) &&
                r.id > slot->second.second->id)) {
      slot->second.second = &r;
    }
  }
  for (const auto& [key, value] : best) {
    const queue::DeliveryRecord& r = *value.second;
    CopyReport& c = out[key.first].copies[value.first];
    c.recipient = r.recipient;
    c.address = r.final_address;
    c.account_id = r.account_id;
    c.forwarded_by = r.forwarded_by;
    c.queue_id = r.queue_id;
    c.guid = r.guid;
    c.delivered_at = r.time;
    c.log_result = queue::delivery_result_name(r.result);
    c.detail = r.detail;
    switch (r.result) {
      case queue::DeliveryResult::delivered:
        c.state = "delivered";
        c.recallable = true;
        c.folders = {r.mailbox};
        break;
      case queue::DeliveryResult::sent:
        c.state = "sent";
        c.note = "accepted by another server: cannot be recalled";
        break;
      case queue::DeliveryResult::deferred:
      case queue::DeliveryResult::queued_remote:
        c.state = "queued";
        c.recallable = true;
        break;
      case queue::DeliveryResult::failed:
      case queue::DeliveryResult::rejected:
        c.state = r.detail.rfind(kStoppedPrefix, 0) == 0 ? "stopped" : "not_delivered";
        break;
    }
  }
  return out;
}

// Reads the store's copies of one delivered copy: where they are and what the user did.
void gather_evidence(store::MailStore& store, CopyReport& c, const std::string& mailbox_hint,
                     uint32_t uid_hint) {
  if (c.account_id.empty() || c.state != "delivered") return;
  if (c.guid.empty() && uid_hint != 0) {
    // A record from before the guid was logged: find the file through its delivery UID.
    if (auto snap = store.snapshot(c.account_id, mailbox_hint)) {
      for (const auto& m : snap->messages) {
        if (m.uid == uid_hint) c.guid = m.guid;
      }
    }
  }
  if (c.guid.empty()) {
    c.state = "deleted";
    c.recallable = false;
    c.folders.clear();
    c.note = "no longer in the delivery folder (a record without the store's message id)";
    return;
  }
  auto copies = store.find_copies(c.account_id, c.guid);
  if (!copies) {
    c.state = "error";
    c.recallable = false;
    c.note = "mail store: " + copies.status().client_message();
    return;
  }
  c.folders.clear();
  if (copies->empty()) {
    c.recallable = false;
    c.state = "deleted";
    if (auto area = store.recalled(c.account_id, "")) {
      for (const auto& r : *area) {
        if (r.meta.guid == c.guid) {
          c.state = "recalled";
          c.note = "already recalled by " + r.recall_id;
        }
      }
    }
    return;
  }
  for (const auto& copy : *copies) {
    const auto& m = copy.meta;
    c.folders.push_back(copy.mailbox);
    if (m.flags & store::kSeen) c.seen = true;
    if (m.seen_at && (!c.seen_at || m.seen_at < c.seen_at)) {
      c.seen_at = m.seen_at;
      c.seen_via = m.seen_via;
    }
    if (m.retrieved_at && (!c.downloaded_at || m.retrieved_at < c.downloaded_at)) {
      c.downloaded_at = m.retrieved_at;
      c.downloaded_from = m.retrieved_by;
    }
    if (m.flags & store::kAnswered) c.answered = true;
    if (m.flags & store::kDeleted) c.deleted_flag = true;
    for (const auto& k : m.keywords) {
      if (core::iequals(k, "$Forwarded")) c.forwarded = true;
    }
  }
  if (c.seen_at) c.seen = true;  // opened once, even if marked unread since
  c.state = c.downloaded_at ? "downloaded"
            : c.forwarded   ? "forwarded"
            : c.answered    ? "answered"
            : c.seen        ? "opened"
                            : "delivered";
  c.recallable = c.downloaded_at == 0;
  if (c.downloaded_at)
    c.note = "downloaded by POP3: the copy on the user's computer cannot be recalled";
}

}  // namespace

RecallOptions parse_recall_options(core::ConfigSection& s) {
  RecallOptions o;
  o.keep_seconds = s.get_int("keep_days", 30, 1, 3650) * 86400;
  o.threads = static_cast<size_t>(s.get_int("threads", 8, 1, 64));
  o.max_records = static_cast<size_t>(s.get_int("max_records", 20000, 100, 1000000));
  o.max_messages = static_cast<size_t>(s.get_int("max_messages", 100, 1, 10000));
  for (auto& d : s.get_strings("self_recall_domains", {}))
    o.self_recall_domains.push_back(core::ascii_lower(d));
  o.self_recall_seconds = s.get_int("self_recall_minutes", 10, 1, 1440) * 60;
  s.finish();
  return o;
}

core::Result<std::shared_ptr<RecallService>> RecallService::open(core::Services& services,
                                                                 RecallOptions options) {
  if (!services.delivery_log || !services.store)
    return core::unavailable("mail recall needs the delivery log and the mail store");
  if (options.spool_dir.empty()) options.spool_dir = services.data_dir + "/queue";
  auto log = RecallLog::open(services.data_dir + "/recall.db");
  if (!log) return log.status();
  auto svc = std::shared_ptr<RecallService>(new RecallService(services, std::move(options)));
  svc->impl_->log = std::move(log).value();
  return svc;
}

RecallService::RecallService(core::Services& services, RecallOptions options)
    : impl_(new Impl{services, nullptr}), options_(std::move(options)) {}

RecallService::~RecallService() = default;

namespace {

// The records a caller's search matches: for a caller limited to some domains, one search per
// domain and direction (mail from or to it), merged.
core::Result<std::vector<queue::DeliveryRecord>> scoped_search(DeliveryLogSearch& search,
                                                               const Caller& caller,
                                                               const queue::DeliveryQuery& q) {
  auto visible = caller.visible_domains();
  if (!visible) return search.search(q);
  std::vector<queue::DeliveryRecord> out;
  std::set<int64_t> seen;
  for (const auto& d : *visible) {
    for (int direction = 0; direction < 2; ++direction) {
      auto dq = q;
      auto& field = direction == 0 ? dq.recipient_domain : dq.sender_domain;
      if (!field.empty() && !core::iequals(field, d)) continue;
      field = d;
      auto found = search.search(dq);
      if (!found) return found.status();
      for (auto& r : *found) {
        if (seen.insert(r.id).second) out.push_back(std::move(r));
      }
    }
  }
  return out;
}

}  // namespace

// Every copy of the messages matched by `q` (first the matching records, then all records of
// each matched message), with evidence, filtered to what `caller` may see.
static core::Result<std::vector<MessageReport>> collect(RecallService::Impl& impl,
                                                        const RecallOptions& options,
                                                        const Caller& caller,
                                                        const RecallCriteria& criteria) {
  DeliveryLogSearch search(impl.services.delivery_log.get());
  std::vector<queue::DeliveryRecord> matched;
  auto q = criteria.query;
  q.limit = std::min(q.limit ? q.limit : options.max_records, options.max_records);
  if (!criteria.group.empty()) {
    if (!impl.services.directory) return core::unavailable("no directory to expand the group");
    auto members = group_members(*impl.services.directory, criteria.group);
    if (!members) return members.status();
    // Mail to the group's own address, and mail to any of its members.
    auto to_group = q;
    to_group.recipient = core::ascii_lower(criteria.group);
    auto a = scoped_search(search, caller, to_group);
    if (!a) return a.status();
    matched = std::move(*a);
    if (!members->empty()) {
      auto to_members = q;
      to_members.account_ids = *members;
      auto b = scoped_search(search, caller, to_members);
      if (!b) return b.status();
      std::set<int64_t> have;
      for (const auto& r : matched) have.insert(r.id);
      for (auto& r : *b) {
        if (have.insert(r.id).second) matched.push_back(std::move(r));
      }
    }
  } else {
    auto a = scoped_search(search, caller, q);
    if (!a) return a.status();
    matched = std::move(*a);
  }
  // Grants limited to a group's members: mail to those members (their domains' rule applies
  // per copy below).
  Scope scope(caller, impl.services.directory.get());
  if (!caller.is_global_admin()) {
    std::set<int64_t> have;
    for (const auto& r : matched) have.insert(r.id);
    for (const auto& group : scope.member_groups(Action::audit)) {
      const auto& ids = scope.members(group);
      std::vector<std::string> list(ids.begin(), ids.end());
      for (size_t at = 0; at < list.size(); at += queue::kMaxAccountIds) {
        auto part = q;
        part.account_ids.assign(list.begin() + at,
                                list.begin() + std::min(list.size(), at + queue::kMaxAccountIds));
        if (!q.account_ids.empty()) {  // a group search as well: both must hold
          std::vector<std::string> both;
          for (const auto& id : part.account_ids) {
            if (std::find(q.account_ids.begin(), q.account_ids.end(), id) != q.account_ids.end())
              both.push_back(id);
          }
          if (both.empty()) continue;
          part.account_ids = std::move(both);
        }
        auto found = search.search(part);
        if (!found) return found.status();
        for (auto& r : *found) {
          if (have.insert(r.id).second) matched.push_back(std::move(r));
        }
      }
    }
  }
  // The messages, newest first, at most max_messages of them.
  std::sort(matched.begin(), matched.end(),
            [](const auto& x, const auto& y) { return x.id > y.id; });
  std::vector<std::pair<std::string, std::string>> keys;  // (message_id, queue_id)
  std::set<std::string> seen_keys;
  for (const auto& r : matched) {
    std::string key = r.message_id.empty() ? "q" + r.queue_id : "m" + r.message_id;
    if (!seen_keys.insert(key).second) continue;
    if (keys.size() == options.max_messages) break;
    keys.emplace_back(r.message_id, r.message_id.empty() ? r.queue_id : "");
  }
  std::vector<queue::DeliveryRecord> all;
  for (const auto& [mid, qid] : keys) {
    queue::DeliveryQuery one;
    one.message_id = mid;
    one.queue_id = qid;
    one.limit = options.max_records;
    auto found = search.search(one);
    if (!found) return found.status();
    for (auto& r : *found) all.push_back(std::move(r));
  }
  // Where each delivered copy went (for records from before the guid was logged).
  std::map<std::pair<std::string, std::string>, std::pair<std::string, uint32_t>> hints;
  for (const auto& r : all) {
    if (r.result == queue::DeliveryResult::delivered)
      hints[{r.queue_id, r.account_id}] = {r.mailbox, r.uid};
  }
  auto messages = group_records(all);
  // Scope: a message the caller cannot audit from either end is dropped; so is every copy in
  // a mailbox (or, for remote copies, from a sender domain) the caller cannot audit.
  std::vector<MessageReport> visible;
  for (auto& m : messages) {
    std::vector<CopyReport> copies;
    for (auto& c : m.copies) {
      if (scope.allows(Action::audit, c, m)) copies.push_back(std::move(c));
    }
    if (copies.empty()) continue;
    m.copies = std::move(copies);
    visible.push_back(std::move(m));
  }
  std::vector<std::pair<size_t, size_t>> work;
  for (size_t i = 0; i < visible.size(); ++i) {
    for (size_t j = 0; j < visible[i].copies.size(); ++j) work.emplace_back(i, j);
  }
  store::MailStore& store = *impl.services.store;
  parallel_for(work.size(), options.threads, [&](size_t k) {
    auto& c = visible[work[k].first].copies[work[k].second];
    auto hint = hints[{c.queue_id, c.account_id}];
    gather_evidence(store, c, hint.first.empty() ? "INBOX" : hint.first, hint.second);
  });
  return visible;
}

core::Result<std::vector<MessageReport>> RecallService::find(const Caller& caller,
                                                             const RecallCriteria& criteria,
                                                             const std::string& reason) {
  if (auto s = check_reason(reason); !s) return s;
  auto found = collect(*impl_, options_, caller, criteria);
  if (!found) return found.status();
  size_t copies = 0;
  for (const auto& m : *found) copies += m.copies.size();
  if (auto s = impl_->log->audit(caller, "search", reason, criteria_json(criteria), "",
                                 static_cast<int64_t>(copies));
      !s)
    return s;  // a search that cannot be audited is not answered
  return found;
}

namespace {

// Takes the copies of `report` the caller may recall: store copies into the recall areas (in
// parallel, one account at a time per thread), queued ones stopped.
void act(RecallService::Impl& impl, const RecallOptions& options, const Caller& caller,
         RecallReport& report, std::vector<std::string>& accounts) {
  const std::string why = std::string(kStoppedPrefix) + " " + report.recall_id;
  std::vector<CopyReport*> local;
  std::map<std::string, std::vector<CopyReport*>> queued;  // by queue id
  Scope scope(caller, impl.services.directory.get());
  for (auto& m : report.messages) {
    for (auto& c : m.copies) {
      if (!scope.allows(Action::recall, c, m)) {
        c.note = "outside the caller's recall rights: reported only";
        continue;
      }
      if (!c.account_id.empty() && !c.folders.empty() && c.state != "queued") {
        local.push_back(&c);
      } else if (c.state == "queued") {
        queued[c.queue_id].push_back(&c);
      }
    }
  }
  store::MailStore& store = *impl.services.store;
  int64_t when = report.created_at;
  parallel_for(local.size(), options.threads, [&](size_t i) {
    CopyReport& c = *local[i];
    auto moved = store.recall_copies(c.account_id, c.guid, report.recall_id, when);
    if (!moved) {
      c.state = "error";
      c.note = "mail store: " + moved.status().client_message();
      MR_LOG_ERROR("event=recall_failed recall={} account={} detail={}", report.recall_id,
                   c.account_id, core::quote(moved.status().log_detail()));
      return;
    }
    c.copies_taken = moved->size();
    if (moved->empty()) {
      c.state = "deleted";  // gone between the evidence and the recall
      c.recallable = false;
      return;
    }
    if (c.downloaded_at) {
      c.note = "downloaded by POP3 from " + c.downloaded_from +
               ": that copy cannot be recalled; the copy on the server was taken out";
    } else {
      c.state = "recalled";
    }
  });
  for (auto* c : local) {
    if (c->copies_taken) accounts.push_back(c->account_id);
  }
  for (auto& [queue_id, copies] : queued) {
    if (impl.services.queue) {
      // Only the recipients in the caller's scope: another domain's copies of the same
      // message stay queued.
      std::vector<std::string> only;
      for (const auto* c : copies) only.push_back(c->address);
      auto stopped = impl.services.queue->stop_message(queue_id, why, only);
      for (auto* c : copies) {
        bool hit = false;
        for (const auto& s : stopped.stopped) {
          hit |= core::iequals(s.address, c->address) ||
                 (!c->account_id.empty() && core::iequals(s.recipient, c->recipient));
        }
        if (hit) {
          c->state = "stopped";
          c->recallable = false;
          if (stopped.in_flight)
            c->note = "a delivery attempt was under way: the peer may have accepted it";
        } else {
          c->note = "no longer queued: see the delivery log";
        }
      }
    } else {
      // mailroomctl: mailroomd applies the request within about a second.
      auto s = MailQueue(options.spool_dir).request("delete", queue_id);
      for (auto* c : copies) {
        c->state = s ? "stopped" : "error";
        c->note = s ? "stop requested from the running server's queue"
                    : "cannot ask the queue to stop it: " + s.client_message();
      }
    }
  }
}

}  // namespace

core::Result<RecallReport> RecallService::recall(const Caller& caller,
                                                 const std::vector<std::string>& message_ids,
                                                 const std::vector<std::string>& queue_ids,
                                                 const std::string& reason, bool dry_run) {
  if (auto s = check_reason(reason); !s) return s;
  for (const auto& id : message_ids) {
    if (id.empty() || id.size() > kMaxId) return core::invalid_argument("malformed Message-ID");
  }
  for (const auto& id : queue_ids) {
    if (!queue::valid_queue_id(id)) return core::invalid_argument("malformed queue id", id);
  }
  if (message_ids.empty() && queue_ids.empty())
    return core::invalid_argument("name the message(s) to recall: a Message-ID or a queue id");
  if (message_ids.size() + queue_ids.size() > options_.max_messages)
    return core::invalid_argument("at most " + std::to_string(options_.max_messages) +
                                  " messages per recall");
  RecallReport report;
  report.dry_run = dry_run;
  report.actor = caller.name;
  report.reason = reason;
  report.created_at = now_seconds();
  for (int kind = 0; kind < 2; ++kind) {
    for (const auto& id : kind == 0 ? message_ids : queue_ids) {
      RecallCriteria c;
      (kind == 0 ? c.query.message_id : c.query.queue_id) = id;
      auto found = collect(*impl_, options_, caller, c);
      if (!found) return found.status();
      for (auto& m : *found) {
        bool dup = false;
        for (const auto& have : report.messages)
          dup |= have.message_id == m.message_id && have.queue_id == m.queue_id;
        if (!dup) report.messages.push_back(std::move(m));
      }
    }
  }
  std::string criteria = ids_json(message_ids, queue_ids);
  if (report.messages.empty()) {
    (void)impl_->log->audit(caller, dry_run ? "dry_run" : "recall", reason, criteria, "", 0);
    return core::not_found("no such message in the delivery log (or outside your domains)");
  }
  bool may_recall = false;
  Scope scope(caller, impl_->services.directory.get());
  for (const auto& m : report.messages) {
    for (const auto& c : m.copies) may_recall |= scope.allows(Action::recall, c, m);
  }
  if (!may_recall) {
    (void)impl_->log->audit(caller, "recall_refused", reason, criteria, "", 0);
    return core::Status::error(core::Code::permission_denied,
                               "your role may search the delivery log but not recall");
  }
  if (dry_run) {
    size_t n = 0;
    for (const auto& m : report.messages) n += m.copies.size();
    if (auto s =
            impl_->log->audit(caller, "dry_run", reason, criteria, "", static_cast<int64_t>(n));
        !s)
      return s;
    return report;
  }
  report.recall_id = new_recall_id(report.created_at);
  if (auto s = impl_->log->begin_recall(report, caller, criteria); !s) return s;
  // Which accounts will hold copies: written before they move, so undo and purge find them
  // even if the process dies half way.
  std::vector<std::string> accounts;
  for (const auto& m : report.messages) {
    for (const auto& c : m.copies) {
      if (!c.account_id.empty() && !c.folders.empty()) accounts.push_back(c.account_id);
    }
  }
  if (auto s = impl_->log->add_accounts(report.recall_id, accounts); !s) return s;
  std::vector<std::string> touched;
  act(*impl_, options_, caller, report, touched);
  if (auto s = impl_->log->save_copies(report); !s) return s;
  size_t taken = 0;
  for (const auto& m : report.messages) {
    for (const auto& c : m.copies) taken += c.copies_taken;
  }
  MR_LOG_INFO("event=recall recall={} actor={} messages={} copies_taken={}", report.recall_id,
              core::quote(caller.name), report.messages.size(), taken);
  if (auto s = impl_->log->audit(caller, "recall", reason, criteria, report.recall_id,
                                 static_cast<int64_t>(taken));
      !s)
    return s;
  return report;
}

core::Result<RecallReport> RecallService::undo(const Caller& caller, const std::string& recall_id,
                                               const std::string& reason) {
  if (auto s = check_reason(reason); !s) return s;
  auto report = impl_->log->load(recall_id);
  if (!report) return report.status();
  bool sees = false, may = true;
  Scope scope(caller, impl_->services.directory.get());
  for (const auto& m : report->messages) {
    for (const auto& c : m.copies) {
      sees |= scope.allows(Action::audit, c, m);
      if (c.copies_taken && !scope.allows(Action::recall, c, m)) may = false;
    }
  }
  if (!sees && !caller.is_global_admin()) return core::not_found("no such recall", recall_id);
  if (!may)
    return core::Status::error(core::Code::permission_denied,
                               "the recall took copies outside your recall rights");
  if (report->purged_at) return core::invalid_argument("the recall was purged: nothing to restore");
  auto accounts = impl_->log->accounts(recall_id);
  if (!accounts) return accounts.status();
  std::map<std::string, std::vector<store::RestoredCopy>> restored;
  std::vector<core::Result<std::vector<store::RestoredCopy>>> results(
      accounts->size(), core::internal_error("not run"));
  store::MailStore& store = *impl_->services.store;
  parallel_for(accounts->size(), options_.threads,
               [&](size_t i) { results[i] = store.restore_recalled((*accounts)[i], recall_id); });
  core::Status first_error;
  for (size_t i = 0; i < accounts->size(); ++i) {
    if (!results[i]) {
      if (first_error) first_error = results[i].status();
      continue;
    }
    restored[(*accounts)[i]] = std::move(*results[i]);
  }
  for (auto& m : report->messages) {
    for (auto& c : m.copies) {
      if (!c.copies_taken) continue;
      auto it = restored.find(c.account_id);
      if (it == restored.end()) {
        c.note = "not restored: mail store error";
        continue;
      }
      c.folders.clear();
      for (const auto& r : it->second) c.folders.push_back(r.mailbox);
      c.state = "restored";
    }
  }
  int64_t when = now_seconds();
  if (first_error) {
    if (auto s = impl_->log->mark_undone(recall_id, when, caller.name); !s) return s;
  }
  report->undone_at = when;
  if (auto s = impl_->log->save_copies(*report); !s) return s;
  if (auto s = impl_->log->audit(caller, "undo", reason, "{}", recall_id,
                                 static_cast<int64_t>(restored.size()));
      !s)
    return s;
  if (!first_error) return first_error;
  return report;
}

core::Result<RecallReport> RecallService::show(const Caller& caller, const std::string& recall_id) {
  auto report = impl_->log->load(recall_id);
  if (!report) return report.status();
  std::vector<MessageReport> visible;
  Scope scope(caller, impl_->services.directory.get());
  for (auto& m : report->messages) {
    std::vector<CopyReport> copies;
    for (auto& c : m.copies) {
      if (scope.allows(Action::audit, c, m)) copies.push_back(std::move(c));
    }
    if (copies.empty()) continue;
    m.copies = std::move(copies);
    visible.push_back(std::move(m));
  }
  if (visible.empty() && !caller.is_global_admin() && report->actor != caller.name)
    return core::not_found("no such recall", recall_id);
  report->messages = std::move(visible);
  (void)impl_->log->audit(caller, "show", "", "{}", recall_id, 0);
  return report;
}

core::Result<std::vector<RecallSummary>> RecallService::list(const Caller& caller, size_t limit) {
  auto all = impl_->log->list(caller.is_global_admin() ? limit : 10000);
  if (!all || caller.is_global_admin()) return all;
  std::vector<RecallSummary> mine;  // others see the recalls they made
  for (auto& s : *all) {
    if (s.actor == caller.name && mine.size() < limit) mine.push_back(std::move(s));
  }
  return mine;
}

core::Result<std::vector<AuditEntry>> RecallService::audit(const Caller& caller,
                                                           const AuditQuery& query) {
  AuditQuery q = query;
  if (!caller.is_global_admin()) q.actor = caller.name;  // their own trail only
  return impl_->log->search_audit(q);
}

core::Result<size_t> RecallService::purge(const Caller& caller, int64_t now,
                                          const std::string& recall_id) {
  if (!caller.is_global_admin())
    return core::Status::error(core::Code::permission_denied, "purging needs a global admin");
  std::vector<std::string> ids;
  if (!recall_id.empty()) {
    auto r = impl_->log->load(recall_id);
    if (!r) return r.status();
    if (r->purged_at || r->undone_at) return size_t{0};
    ids.push_back(recall_id);
  } else {
    auto expired = impl_->log->expired(now - options_.keep_seconds);
    if (!expired) return expired.status();
    ids = std::move(*expired);
  }
  size_t done = 0;
  for (const auto& id : ids) {
    auto accounts = impl_->log->accounts(id);
    if (!accounts) return accounts.status();
    std::atomic<bool> failed{false};
    parallel_for(accounts->size(), options_.threads, [&](size_t i) {
      auto n = impl_->services.store->purge_recalled((*accounts)[i], id);
      if (!n) {
        failed = true;
        MR_LOG_ERROR("event=recall_purge_failed recall={} account={} detail={}", id, (*accounts)[i],
                     core::quote(n.status().log_detail()));
      }
    });
    if (failed) continue;  // tried again at the next purge
    if (auto s = impl_->log->mark_purged(id, now); !s) return s;
    (void)impl_->log->audit(caller, "purge",
                            "kept " + std::to_string(options_.keep_seconds / 86400) + " days", "{}",
                            id, static_cast<int64_t>(accounts->size()));
    ++done;
  }
  return done;
}

core::Result<RecallReport> RecallService::self_recall(const std::string& account_id,
                                                      const std::string& address,
                                                      const std::string& message_id) {
  std::string domain = domain_of(address);
  if (std::find(options_.self_recall_domains.begin(), options_.self_recall_domains.end(), domain) ==
      options_.self_recall_domains.end())
    return core::Status::error(core::Code::permission_denied,
                               "self-recall is not enabled for " + domain);
  Caller self;
  self.name = core::ascii_lower(address);
  self.front_end = "self";
  self.grants.push_back(Grant{Role::domain_admin, {domain}, "self:" + account_id});
  RecallCriteria c;
  c.query.message_id = message_id;
  // Every copy, whatever its domain: the rules below look at all of them.
  Caller everything = self;
  everything.grants = {Grant{Role::global_admin, {}, "self"}};
  auto found = collect(*impl_, options_, everything, c);
  if (!found) return found.status();
  int64_t now = now_seconds();
  if (found->empty()) return core::not_found("no such message", message_id);
  for (const auto& m : *found) {
    if (!core::iequals(m.envelope_sender, address))
      return core::Status::error(core::Code::permission_denied,
                                 "only the sender may recall this message");
    if (now - m.time > options_.self_recall_seconds)
      return core::Status::error(core::Code::permission_denied,
                                 "too late: self-recall is possible for " +
                                     std::to_string(options_.self_recall_seconds / 60) +
                                     " minutes after sending");
    for (const auto& cp : m.copies) {
      if (cp.state == "sent")
        return core::Status::error(core::Code::permission_denied,
                                   "a copy already left for another server (" + cp.address + ")");
      if (cp.seen || cp.downloaded_at)
        return core::Status::error(core::Code::permission_denied, "a recipient already opened it");
    }
  }
  // The sender acts on every local copy of their own message, as a global caller limited to it.
  auto report = recall(everything, {message_id}, {}, "self-recall by the sender", false);
  if (report) {
    (void)impl_->log->audit(self, "self_recall", "self-recall by the sender",
                            ids_json({message_id}, {}), report->recall_id, 0);
  }
  return report;
}

struct RecallPurger::State {
  std::mutex mu;
  std::condition_variable wake;
  bool stop = false;
  std::thread thread;
};

RecallPurger::RecallPurger(std::shared_ptr<RecallService> recall, int64_t interval_seconds)
    : state_(std::make_shared<State>()) {
  auto state = state_;
  state_->thread = std::thread([state, recall = std::move(recall), interval_seconds] {
    Caller system;
    system.name = "mailroomd";
    system.front_end = "server";
    system.grants.push_back(Grant{Role::global_admin, {}, "server"});
    std::unique_lock lock(state->mu);
    while (!state->stop) {
      lock.unlock();
      auto n = recall->purge(system, now_seconds());
      if (!n) {
        MR_LOG_ERROR("event=recall_purge_failed detail={}", core::quote(n.status().log_detail()));
      } else if (*n) {
        MR_LOG_INFO("event=recall_purged recalls={}", *n);
      }
      lock.lock();
      state->wake.wait_for(lock, std::chrono::seconds(interval_seconds),
                           [&] { return state->stop; });
    }
  });
}

RecallPurger::~RecallPurger() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->wake.notify_all();
  state_->thread.join();
}

}  // namespace mailroom::service
