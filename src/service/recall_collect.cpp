// Mail recall's search (recall_internal.h): the delivery log's records of the matching
// messages, grouped by message and copy, filtered to the caller's scope, with each copy's
// evidence read from the store.
#include <algorithm>
#include <map>
#include <set>

#include "auth/directory.h"
#include "src/core/address.h"
#include "src/core/log.h"
#include "src/service/delivery_log_search.h"
#include "src/service/recall_internal.h"
#include "src/store/mail_store.h"

namespace mailroom::service {

std::string recall_domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : core::ascii_lower(address.substr(at + 1));
}

// The domain whose administrators see (and recall) this copy: the mailbox's for local copies,
// the sender's for copies on their way out.
std::string recall_copy_domain(const CopyReport& c, const MessageReport& m) {
  return c.account_id.empty() ? recall_domain_of(m.envelope_sender) : recall_domain_of(c.address);
}

namespace {

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
  if (copies->empty()) {
    no_copies_left(store, c);
    return;
  }
  std::vector<std::pair<std::string, const store::MessageMeta*>> found;
  for (const auto& copy : *copies) found.emplace_back(copy.mailbox, &copy.meta);
  apply_evidence(c, found);
}

}  // namespace

void no_copies_left(store::MailStore& store, CopyReport& c) {
  c.folders.clear();
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
}

void apply_evidence(CopyReport& c,
                    const std::vector<std::pair<std::string, const store::MessageMeta*>>& copies) {
  c.folders.clear();
  for (const auto& [mailbox, meta] : copies) {
    const auto& m = *meta;
    c.folders.push_back(mailbox);
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

RecallScope::RecallScope(const Caller& caller, auth::Directory* directory)
    : caller_(caller), directory_(directory) {}

std::vector<MessageReport> RecallScope::auditable(std::vector<MessageReport> messages) {
  std::vector<MessageReport> visible;
  for (auto& m : messages) {
    std::vector<CopyReport> copies;
    for (auto& c : m.copies) {
      if (allows(Action::audit, c, m)) copies.push_back(std::move(c));
    }
    if (copies.empty()) continue;
    m.copies = std::move(copies);
    visible.push_back(std::move(m));
  }
  return visible;
}

bool RecallScope::allows(Action action, const CopyReport& c, const MessageReport& m) {
  std::string domain = recall_copy_domain(c, m);
  if (caller_.can(action, domain)) return true;
  if (c.account_id.empty()) return false;  // a member scope covers mailboxes only
  for (const Grant* g : caller_.member_grants(action, domain)) {
    if (members(g->members_of).count(c.account_id)) return true;
  }
  return false;
}

std::vector<std::string> RecallScope::member_groups(Action action) const {
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

const std::set<std::string>& RecallScope::members(const std::string& group) {
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
core::Result<std::vector<MessageReport>> recall_collect(RecallService::Impl& impl,
                                                        const RecallOptions& options,
                                                        const Caller& caller,
                                                        const RecallCriteria& criteria,
                                                        Evidence evidence) {
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
  RecallScope scope(caller, impl.services.directory.get());
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
  std::vector<MessageReport> visible = scope.auditable(std::move(messages));
  std::vector<std::pair<size_t, size_t>> work;
  for (size_t i = 0; i < visible.size(); ++i) {
    for (size_t j = 0; j < visible[i].copies.size(); ++j) {
      auto& c = visible[i].copies[j];
      if (evidence == Evidence::from_recall && !c.account_id.empty() && c.state == "delivered" &&
          !c.guid.empty() && scope.allows(Action::recall, c, visible[i])) {
        c.evidence_pending = true;  // the recall reads it from the rows it moves
        continue;
      }
      work.emplace_back(i, j);
    }
  }
  store::MailStore& store = *impl.services.store;
  recall_parallel_for(work.size(), options.threads, [&](size_t k) {
    auto& c = visible[work[k].first].copies[work[k].second];
    auto hint = hints[{c.queue_id, c.account_id}];
    gather_evidence(store, c, hint.first.empty() ? "INBOX" : hint.first, hint.second);
  });
  return visible;
}

}  // namespace mailroom::service
