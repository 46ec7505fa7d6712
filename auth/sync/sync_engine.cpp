#include "auth/sync/sync_engine.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "auth/sync/replica_writer.h"
#include "auth/sync/sync_source.h"
#include "src/core/log.h"
#include "src/core/metric_catalog.h"

namespace mailroom::auth::sync {

namespace {

std::string counts_text(const SyncStats& s) {
  return "seen=" + std::to_string(s.seen) + " created=" + std::to_string(s.created) +
         " updated=" + std::to_string(s.updated) + " removed=" + std::to_string(s.removed) +
         " errors=" + std::to_string(s.errors);
}

bool changed_anything(const SyncStats& s) {
  return s.created || s.updated || s.removed || s.groups;
}

}  // namespace

struct SyncEngine::Impl {
  Impl(std::unique_ptr<SyncSource> s, std::shared_ptr<LocalDirectory> r, SyncOptions o,
       const core::Clock& c)
      : source(std::move(s)),
        replica(std::move(r)),
        options(std::move(o)),
        clock(c),
        name(source->name()),
        policy{name, !source->owns_secrets(), options.on_removed, options.old_address_grace_s},
        need_full(options.full_pass_first) {}

  std::unique_ptr<SyncSource> source;
  std::shared_ptr<LocalDirectory> replica;
  const SyncOptions options;
  const core::Clock& clock;
  const std::string name;
  const WritePolicy policy;

  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // guarded by mu
  bool ready = false;     // guarded by mu
  // Until a full pass succeeds, poll passes are full ones (options.full_pass_first).
  std::atomic<bool> need_full;
  std::mutex expiry_mu;
  core::Clock::SteadyTime next_expiry{};

  std::string key(const char* what) const { return name + "." + what; }
  std::string get_state(const std::string& key) {
    auto r = replica->get_sync_state(key);
    return r ? *r : std::string();
  }
  void set_state(const std::string& key, const std::string& value) {
    logged(replica->set_sync_state(key, value), (name + "_sync_state_failed").c_str());
  }
  Marks load_marks() {
    Marks m;
    for (const auto& k : source->state_keys()) m[k] = get_state(k);
    return m;
  }
  Status store_marks(const Marks& marks) {
    for (const auto& [k, v] : marks)
      if (auto st = replica->set_sync_state(k, v); !st) return st;
    return Status::ok();
  }
  bool is_stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }
  void mark_ready() {
    std::lock_guard lock(mu);
    ready = true;
    cv.notify_all();
  }

  // Grace aliases of old addresses whose time is over (looked at every grace/4, 1..30 s).
  void expire_grace() {
    {
      std::lock_guard lock(expiry_mu);
      auto now = clock.steady_now();
      if (now < next_expiry) return;
      int64_t every = options.old_address_grace_s > 0 ? options.old_address_grace_s / 4 : 30;
      next_expiry = now + std::chrono::seconds(std::clamp<int64_t>(every, 1, 30));
    }
    auto r = expire_old_addresses(*replica, clock.unix_seconds());
    if (!r)
      MR_LOG_WARN("event=old_address_grace_expiry_failed error={}",
                  core::quote(r.status().to_string()));
  }

  // The outcome of a pass, in sync_state. The background thread also logs it; a caller of
  // full_sync() (mailroomctl) reports it itself.
  void succeeded(const SyncStats& stats) {
    metrics::sync_succeeded(name);
    expire_grace();
    set_state(key("last_sync"), std::to_string(clock.unix_seconds()));
    set_state(key("last_error"), "");
    set_state(key("last_counts"), counts_text(stats));
  }
  void failed(const std::string& pass, const std::string& error) {
    metrics::sync_failed(name);
    set_state(key("last_error"), pass + ": " + error);
  }
  void log_failed(const std::string& pass, const std::string& error) {
    failed(pass, error);
    MR_LOG_WARN("event={}_sync_failed pass={} error={}", name, pass, core::quote(error));
  }
  void log_done(const std::string& pass, const SyncStats& s) {
    MR_LOG_INFO(
        "event={}_sync_done pass={} seen={} created={} updated={} unchanged={} removed={} "
        "groups={} errors={}",
        name, pass, s.seen, s.created, s.updated, s.unchanged, s.removed, s.groups, s.errors);
  }

  Result<SyncStats> full(bool dry_run, std::vector<SyncChange>* changes);
  Result<SyncStats> changes_since(const Marks& stored);
  Result<SyncStats> poll(bool* was_full);
  void run_poll();
  void run_persist();
};

Result<SyncStats> SyncEngine::Impl::full(bool dry_run, std::vector<SyncChange>* changes) {
  auto t0 = clock.steady_now();
  SyncStats stats;
  Marks next;
  ReplicaWriter w(*replica, policy, clock, stats, dry_run, changes);
  if (!dry_run) {
    auto domains = source->read_domains();
    if (!domains) return domains.status();
    if (auto st = w.write_domains(*domains); !st) return st;
  }
  if (auto st = source->read_accounts(w, next); !st) {
    w.discard();
    return st;
  }
  if (auto st = w.flush(); !st) return st;
  // Deletions only after a complete, successful read.
  if (auto st = w.remove_unseen(); !st) return st;
  auto objects = source->read_groups(next);
  if (!objects) return objects.status();
  if (auto st = w.write_objects(*objects); !st) return st;
  stats.seconds = std::chrono::duration<double>(clock.steady_now() - t0).count();
  if (dry_run) return stats;
  next[key("full_compare_at")] = std::to_string(clock.unix_seconds());
  if (auto st = store_marks(next); !st) return st;
  need_full = false;
  return stats;
}

Result<SyncStats> SyncEngine::Impl::changes_since(const Marks& stored) {
  auto t0 = clock.steady_now();
  SyncStats stats;
  Marks next;
  ReplicaWriter w(*replica, policy, clock, stats, false, nullptr);
  bool groups_changed = false;
  if (auto st = source->read_changes(stored, w, next, &groups_changed); !st) {
    w.discard();
    return st;
  }
  if (auto st = w.flush(); !st) return st;
  if (groups_changed || w.groups_stale()) {
    auto objects = source->read_groups(next);
    if (!objects) return objects.status();
    if (auto st = w.write_objects(*objects); !st) return st;
  }
  if (auto st = store_marks(next); !st) return st;
  stats.seconds = std::chrono::duration<double>(clock.steady_now() - t0).count();
  return stats;
}

Result<SyncStats> SyncEngine::Impl::poll(bool* was_full) {
  Marks stored = load_marks();
  int64_t last_full = std::strtoll(get_state(key("full_compare_at")).c_str(), nullptr, 10);
  *was_full = need_full || !source->can_read_changes(stored) ||
              clock.unix_seconds() - last_full >= options.full_compare_s;
  return *was_full ? full(false, nullptr) : changes_since(stored);
}

void SyncEngine::Impl::run_poll() {
  while (!is_stopping()) {
    bool was_full = false;
    auto r = poll(&was_full);
    const char* pass = was_full ? "full" : "poll";
    if (r) {
      succeeded(*r);
      if (was_full || changed_anything(*r)) log_done(pass, *r);
    } else {
      log_failed(pass, r.status().to_string());
    }
    expire_grace();  // also while upstream is down
    mark_ready();
    std::unique_lock lock(mu);
    if (clock.wait_for(lock, cv, std::chrono::seconds(std::max<int64_t>(1, options.interval_s)),
                       [this] { return stopping; }))
      return;
  }
}

// ---- persist mode ----

namespace {

// One search of a persist-mode source, from its refresh phase on.
class PersistRun final : public PersistSession {
 public:
  explicit PersistRun(SyncEngine::Impl& e)
      : e_(e), writer_(*e.replica, e.policy, e.clock, stats_, false, nullptr) {}

  void present(const std::string& id) override { writer_.saw(id); }
  void account(AccountRecord record) override { keep(writer_.account(std::move(record))); }
  void skipped(const std::string& entry, const std::string& reason) override {
    writer_.skipped(entry, reason);
  }
  void removed(const std::string& id) override {
    keep(writer_.flush());
    if (writer_.has_account(id))
      keep(writer_.remove(id));
    else
      groups_changed_ = true;
  }
  void groups_changed() override { groups_changed_ = true; }
  void deletes_reported() override { deletes_reported_ = true; }
  void reset_marks(const Marks& marks) override {
    MR_LOG_WARN("event={}_sync_refresh_required", e_.name);
    logged(e_.store_marks(marks), (e_.name + "_sync_state_failed").c_str());
  }
  bool refreshed() const override { return refreshed_; }
  void failed(const std::string& what) override {
    e_.log_failed("persist", what);
    failed_ = true;
  }
  bool keep_going() const override { return !failed_ && !e_.is_stopping(); }

  bool refresh_done(const Marks& marks) override {
    if (refreshed_) return true;
    refreshed_ = true;
    Status st = write_buffered();
    // Present phase (no session log): whatever was not mentioned is gone (RFC 4533 3.4).
    if (st && !deletes_reported_) st = writer_.remove_unseen();
    if (st) st = write_groups();
    if (st) st = e_.store_marks(marks);
    if (!st) {
      fail("refresh", st);
      e_.mark_ready();
      return false;
    }
    stored_ = marks;
    e_.succeeded(stats_);
    e_.log_done("refresh", stats_);
    e_.mark_ready();
    return true;
  }

  bool checkpoint(const Marks& marks) override {
    if (!refreshed_) return true;
    e_.expire_grace();
    bool changed = writer_.has_pending() || groups_changed_;
    Status st = write_buffered();
    if (st && (groups_changed_ || writer_.groups_stale())) st = write_groups();
    if (st && marks != stored_) st = e_.store_marks(marks);
    if (!st) return fail("persist", st);
    stored_ = marks;
    if (changed) e_.set_state(e_.key("last_sync"), std::to_string(e_.clock.unix_seconds()));
    // The search is alive and caught up, changes or not: no lag (mailroom_..._sync_lag_seconds).
    metrics::sync_succeeded(e_.name);
    return true;
  }

 private:
  // A write made from a source's callback cannot fail the callback: the first failure is
  // kept, and ends the search at the next refresh_done or checkpoint (so its marks are not
  // stored and the change is read again).
  void keep(Status st) {
    if (!st && callback_error_) callback_error_ = std::move(st);
  }
  Status write_buffered() {
    if (!callback_error_) return std::exchange(callback_error_, Status::ok());
    return writer_.flush();
  }
  Status write_groups() {
    Marks unused;
    auto objects = e_.source->read_groups(unused);
    if (!objects) return objects.status();
    groups_changed_ = false;
    return writer_.write_objects(*objects);
  }
  bool fail(const char* pass, const Status& st) {
    e_.log_failed(pass, st.to_string());
    failed_ = true;
    return false;
  }

  SyncEngine::Impl& e_;
  SyncStats stats_;
  ReplicaWriter writer_;
  Status callback_error_;
  Marks stored_;
  bool refreshed_ = false;
  bool deletes_reported_ = false;
  bool groups_changed_ = false;
  bool failed_ = false;
};

}  // namespace

void SyncEngine::Impl::run_persist() {
  const auto retry = std::chrono::seconds(std::max<int64_t>(1, options.interval_s / 10));
  while (!is_stopping()) {
    SyncStats unused;
    ReplicaWriter domains_writer(*replica, policy, clock, unused, false, nullptr);
    auto domains = source->read_domains();
    Status st = domains ? domains_writer.write_domains(*domains) : domains.status();
    if (!st) log_failed("domains", st.to_string());
    {
      PersistRun run(*this);
      source->persist(run, load_marks());
    }
    mark_ready();  // readiness means "first attempt over"; status() tells the outcome
    std::unique_lock lock(mu);
    if (clock.wait_for(lock, cv, retry, [this] { return stopping; })) return;
  }
}

// ---- SyncEngine ----

SyncEngine::SyncEngine(std::unique_ptr<SyncSource> source, std::shared_ptr<LocalDirectory> replica,
                       SyncOptions options, const core::Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(source), std::move(replica), std::move(options),
                                   clock)) {}

SyncEngine::~SyncEngine() { stop(); }

Result<SyncStats> SyncEngine::full_sync(std::vector<SyncChange>* changes) {
  auto r = impl_->full(false, changes);
  if (r)
    impl_->succeeded(*r);
  else
    impl_->failed("full", r.status().to_string());
  return r;
}

Result<SyncStats> SyncEngine::poll_once() {
  bool was_full = false;
  auto r = impl_->poll(&was_full);
  if (r)
    impl_->succeeded(*r);
  else
    impl_->failed(was_full ? "full" : "poll", r.status().to_string());
  return r;
}

Result<SyncStats> SyncEngine::dry_run(std::vector<SyncChange>* changes) {
  return impl_->full(true, changes);
}

void SyncEngine::start() {
  Impl& m = *impl_;
  if (m.thread.joinable()) return;
  if (m.options.mode == "off") {
    m.mark_ready();
    return;
  }
  {
    std::lock_guard lock(m.mu);
    m.stopping = false;
  }
  metrics::sync_started(m.name);
  if (m.options.mode == "persist" && m.source->can_persist())
    m.thread = std::thread([&m] { m.run_persist(); });
  else
    m.thread = std::thread([&m] { m.run_poll(); });
}

void SyncEngine::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

bool SyncEngine::wait_ready(int timeout_ms) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [this] { return impl_->ready; });
}

std::vector<std::pair<std::string, std::string>> SyncEngine::status() {
  Impl& m = *impl_;
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("mode", m.options.mode);
  for (auto& f : m.source->status_fields()) out.push_back(std::move(f));
  for (const char* k : {"last_sync", "last_error", "last_counts"})
    out.emplace_back(m.key(k), m.get_state(m.key(k)));
  for (const auto& k : m.source->state_keys()) out.emplace_back(k, m.get_state(k));
  std::string last = m.get_state(m.key("last_sync"));
  if (!last.empty())
    out.emplace_back("lag_seconds", std::to_string(m.clock.unix_seconds() -
                                                   std::strtoll(last.c_str(), nullptr, 10)));
  return out;
}

}  // namespace mailroom::auth::sync
