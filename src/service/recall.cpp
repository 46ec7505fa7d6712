// Mail recall (recall.h): take the copies a search found (recall_collect.cpp: delivery log,
// scope, evidence) out into the users' recall areas, stop what is still queued, undo, purge,
// self-recall. recall.db is recall_log.cpp; the JSON and CSV shapes are recall_json.cpp.
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

namespace {

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

core::Result<std::vector<MessageReport>> RecallService::find(const Caller& caller,
                                                             const RecallCriteria& criteria,
                                                             const std::string& reason) {
  if (auto s = check_reason(reason); !s) return s;
  auto found = recall_collect(*impl_, options_, caller, criteria);
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
  RecallScope scope(caller, impl.services.directory.get());
  for (auto& m : report.messages) {
    for (auto& c : m.copies) {
      if (!scope.allows(Action::recall, c, m)) {
        c.note = "outside the caller's recall rights: reported only";
        continue;
      }
      if (!c.account_id.empty() && (!c.folders.empty() || c.evidence_pending) &&
          c.state != "queued") {
        local.push_back(&c);
      } else if (c.state == "queued") {
        queued[c.queue_id].push_back(&c);
      }
    }
  }
  store::MailStore& store = *impl.services.store;
  int64_t when = report.created_at;
  recall_parallel_for(local.size(), options.threads, [&](size_t i) {
    CopyReport& c = *local[i];
    auto moved = store.recall_copies(c.account_id, c.guid, report.recall_id, when,
                                     store::MailStore::Commit::batched);
    if (!moved) {
      c.state = "error";
      c.note = "mail store: " + moved.status().client_message();
      MR_LOG_ERROR("event=recall_failed recall={} account={} detail={}", report.recall_id,
                   c.account_id, core::quote(moved.status().log_detail()));
      return;
    }
    c.copies_taken = moved->size();
    if (c.evidence_pending) {
      c.evidence_pending = false;
      if (moved->empty()) return no_copies_left(store, c);
      std::vector<std::pair<std::string, const store::MessageMeta*>> rows;
      for (const auto& r : *moved) rows.emplace_back(r.mailbox, &r.meta);
      apply_evidence(c, rows);
    } else if (moved->empty()) {
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
  // One wait for the disk for all of them (and IDLE clients told once it is durable).
  bool taken = std::any_of(local.begin(), local.end(), [](auto* c) { return c->copies_taken; });
  if (auto synced = taken ? store.sync_batched() : core::Status::ok(); !synced) {
    MR_LOG_ERROR("event=recall_sync_failed recall={} detail={}", report.recall_id,
                 core::quote(synced.log_detail()));
    for (auto* c : local) {
      if (c->copies_taken) c->note = "taken out, but the disk did not confirm it: check the server";
    }
  }
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
      auto found = recall_collect(*impl_, options_, caller, c,
                                  dry_run ? Evidence::gather : Evidence::from_recall);
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
  RecallScope scope(caller, impl_->services.directory.get());
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
  RecallScope scope(caller, impl_->services.directory.get());
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
  recall_parallel_for(accounts->size(), options_.threads, [&](size_t i) {
    results[i] = store.restore_recalled((*accounts)[i], recall_id);
  });
  // A mailbox that cannot be restored now (a damaged index, a full disk) does not hold back
  // the others: they are restored and reported, that one is named in its copies' notes, and
  // the recall stays open (not undone) so that a later undo restores the rest.
  core::Status first_error;
  std::map<std::string, std::string> failed;  // account -> why
  for (size_t i = 0; i < accounts->size(); ++i) {
    if (!results[i]) {
      if (first_error) first_error = results[i].status();
      failed[(*accounts)[i]] = results[i].status().client_message();
      MR_LOG_ERROR("event=recall_undo_failed recall={} account={} detail={}", recall_id,
                   (*accounts)[i], core::quote(results[i].status().log_detail()));
      continue;
    }
    restored[(*accounts)[i]] = std::move(*results[i]);
  }
  if (!accounts->empty() && failed.size() == accounts->size()) return first_error;
  size_t copies_restored = 0;
  for (auto& m : report->messages) {
    for (auto& c : m.copies) {
      if (auto f = failed.find(c.account_id); f != failed.end()) {
        c.note = "not restored yet (undo again): mail store: " + f->second;
        continue;
      }
      if (!c.copies_taken) continue;
      auto it = restored.find(c.account_id);
      if (it == restored.end()) continue;
      c.folders.clear();
      for (const auto& r : it->second) c.folders.push_back(r.mailbox);
      c.state = "restored";
      ++copies_restored;
    }
  }
  int64_t when = now_seconds();
  if (failed.empty()) {
    if (auto s = impl_->log->mark_undone(recall_id, when, caller.name); !s) return s;
    report->undone_at = when;
  }
  if (auto s = impl_->log->save_copies(*report); !s) return s;
  if (auto s = impl_->log->audit(caller, failed.empty() ? "undo" : "undo_partial", reason, "{}",
                                 recall_id, static_cast<int64_t>(copies_restored));
      !s)
    return s;
  return report;
}

core::Result<RecallReport> RecallService::show(const Caller& caller, const std::string& recall_id) {
  auto report = impl_->log->load(recall_id);
  if (!report) return report.status();
  RecallScope scope(caller, impl_->services.directory.get());
  std::vector<MessageReport> visible = scope.auditable(std::move(report->messages));
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
    recall_parallel_for(accounts->size(), options_.threads, [&](size_t i) {
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
  std::string domain = recall_domain_of(address);
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
  auto found = recall_collect(*impl_, options_, everything, c);
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
