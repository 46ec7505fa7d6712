// The directory sync engine (auth/sync/sync_engine.h) over an in-memory source: what a pass
// writes and records, that a failed read never removes anything, that a dry run writes
// nothing, that marks are stored only after a pass succeeded, full-compare scheduling and the
// background thread by a manual clock, and a persist-mode session (RFC 4533 shaped).
#include "auth/sync/sync_engine.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>

#include "auth/sync/sync_source.h"
#include "src/core/metric_catalog.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::auth::sync {
namespace {

using std::chrono::seconds;

constexpr const char* kMark = "fake.mark";

// Accounts carry a version; the mark is the highest version read. A read can be made to fail
// (after handing over the accounts it got so far).
class FakeSource final : public SyncSource {
 public:
  struct Upstream {
    std::map<std::string, std::pair<Account, int>> accounts;  // id -> (account, version)
    std::vector<Group> groups;
    std::vector<Alias> aliases;
    bool fail_accounts = false;  // after the first account
    bool fail_groups = false;
    bool fail_changes = false;
    bool groups_changed = false;     // what read_changes reports
    std::vector<std::string> reads;  // "full", "changes", "groups"
    std::function<void(PersistSession&, const Marks&)> persist;
    std::mutex mu;
    std::condition_variable cv;
  };
  explicit FakeSource(std::shared_ptr<Upstream> up) : up_(std::move(up)) {}

  std::string name() const override { return "fake"; }
  bool owns_secrets() const override { return true; }
  std::vector<std::string> state_keys() const override { return {kMark}; }
  std::vector<std::pair<std::string, std::string>> status_fields() override {
    return {{"server", "fake://1"}};
  }
  Result<SourceDomains> read_domains() override {
    return SourceDomains{{Domain{"example.com", DomainKind::local, {}, {}}}, true};
  }
  Status read_accounts(AccountSink& sink, Marks& next) override {
    note("full");
    return feed(sink, next, 0, up_->fail_accounts);
  }
  Result<SourceObjects> read_groups(Marks&) override {
    note("groups");
    if (up_->fail_groups) return core::unavailable("groups: upstream down");
    return SourceObjects{up_->groups, up_->aliases};
  }
  bool can_read_changes(const Marks& stored) override {
    return stored.count(kMark) && !stored.at(kMark).empty();
  }
  Status read_changes(const Marks& stored, AccountSink& sink, Marks& next,
                      bool* groups_changed) override {
    note("changes");
    *groups_changed = up_->groups_changed;
    next[kMark] = stored.at(kMark);
    return feed(sink, next, std::stoi(stored.at(kMark)), up_->fail_changes);
  }
  bool can_persist() const override { return static_cast<bool>(up_->persist); }
  void persist(PersistSession& session, const Marks& stored) override {
    up_->persist(session, stored);
  }

 private:
  void note(const char* what) {
    std::lock_guard lock(up_->mu);
    up_->reads.push_back(what);
    up_->cv.notify_all();
  }
  Status feed(AccountSink& sink, Marks& next, int since, bool fail) {
    for (const auto& [id, entry] : up_->accounts) {
      if (entry.second <= since) continue;
      if (fail) return core::unavailable("accounts: upstream down");
      AccountRecord rec;
      rec.account = entry.first;
      if (auto st = sink.account(rec); !st) return st;
      int have = next.count(kMark) ? std::stoi(next[kMark]) : 0;
      next[kMark] = std::to_string(std::max(have, entry.second));
    }
    return Status::ok();
  }
  std::shared_ptr<Upstream> up_;
};

class SyncEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = LocalDirectory::open({tmp_.file("directory.db")});
    ASSERT_TRUE(d.is_ok()) << d.status().to_string();
    replica_ = *d;
    up_ = std::make_shared<FakeSource::Upstream>();
    add("id-alice", "alice@example.com", 1);
    add("id-bob", "bob@example.com", 2);
    up_->groups.push_back(Group{"staff@example.com", "Staff", {"alice@example.com"}, {}, {}});
    up_->aliases.push_back(Alias{"sales@example.com", {"bob@example.com"}});
  }
  void add(const std::string& id, const std::string& address, int version) {
    Account a;
    a.id = id;
    a.login = address.substr(0, address.find('@'));
    a.address = address;
    a.password_hash = "{SSHA}x";
    up_->accounts[id] = {a, version};
  }
  std::unique_ptr<SyncEngine> engine(SyncOptions o = {}) {
    return std::make_unique<SyncEngine>(std::make_unique<FakeSource>(up_), replica_, o, clock_);
  }
  AccountStatus status_of(const std::string& id) {
    auto r = replica_->get_account_record(id);
    EXPECT_TRUE(r.is_ok()) << id;
    return r ? r->account.status : AccountStatus::deleted;
  }
  std::string state(const std::string& key) {
    auto r = replica_->get_sync_state(key);
    return r ? *r : "(unset)";
  }
  size_t reads() {
    std::lock_guard lock(up_->mu);
    return up_->reads.size();
  }
  std::string last_read() {
    std::lock_guard lock(up_->mu);
    return up_->reads.empty() ? "" : up_->reads.back();
  }
  // Advances the manual clock a second at a time until `done` (checked with up_->mu held);
  // returns how many seconds that took, -1 after 10 s of real time. (The engine's thread may
  // start its wait after an advance, so one big step could be missed; small ones cannot.)
  int advance_until(const std::function<bool()>& done) {
    auto give_up = std::chrono::steady_clock::now() + seconds(10);
    std::unique_lock lock(up_->mu);
    for (int n = 0; std::chrono::steady_clock::now() < give_up; ++n) {
      if (up_->cv.wait_for(lock, std::chrono::milliseconds(20), done)) return n;
      lock.unlock();
      clock_.advance(seconds(1));
      lock.lock();
    }
    return -1;
  }

  core::ManualClock clock_{1'000'000};
  testing::TempDir tmp_;
  std::shared_ptr<LocalDirectory> replica_;
  std::shared_ptr<FakeSource::Upstream> up_;
};

TEST_F(SyncEngineTest, FullPassWritesEverythingAndRecordsIt) {
  auto e = engine();
  auto r = e->full_sync();
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->seen, 2u);
  EXPECT_EQ(r->created, 2u);
  EXPECT_EQ(r->groups, 2u);
  auto rec = replica_->get_account_record("id-alice");
  ASSERT_TRUE(rec.is_ok());
  EXPECT_EQ(rec->source, "fake");
  EXPECT_EQ(rec->account.password_hash, "{SSHA}x");  // owns_secrets: hashes are copied
  EXPECT_EQ(replica_->find_group("staff@example.com")->members,
            std::vector<std::string>{"alice@example.com"});
  EXPECT_TRUE(replica_->find_alias("sales@example.com").is_ok());
  EXPECT_EQ(state("fake.last_sync"), "1000000");
  EXPECT_EQ(state("fake.last_error"), "");
  EXPECT_EQ(state("fake.last_counts"), "seen=2 created=2 updated=0 removed=0 errors=0");
  EXPECT_EQ(state("fake.full_compare_at"), "1000000");
  EXPECT_EQ(state(kMark), "2");

  // Idempotent: a second pass changes nothing.
  auto again = e->full_sync();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->unchanged, 2u);
  EXPECT_EQ(again->created + again->updated + again->removed + again->groups, 0u);
}

TEST_F(SyncEngineTest, AFailedReadNeverRemovesAnything) {
  auto e = engine();
  ASSERT_TRUE(e->full_sync());
  up_->accounts.erase("id-bob");
  up_->groups.clear();
  up_->fail_accounts = true;  // alice is not even read: as if everyone had left
  clock_.advance(seconds(60));
  auto r = e->full_sync();
  EXPECT_EQ(r.code(), Code::unavailable);
  EXPECT_EQ(status_of("id-alice"), AccountStatus::active);
  EXPECT_EQ(status_of("id-bob"), AccountStatus::active);
  EXPECT_TRUE(replica_->find_group("staff@example.com").is_ok());
  EXPECT_EQ(state("fake.last_sync"), "1000000");  // not this pass
  EXPECT_EQ(state("fake.last_error"), "full: unavailable: accounts: upstream down");
  EXPECT_EQ(state("fake.full_compare_at"), "1000000");

  // Accounts read, groups not: the vanished account goes, the groups stay, no marks.
  up_->fail_accounts = false;
  up_->fail_groups = true;
  EXPECT_EQ(e->full_sync().code(), Code::unavailable);
  EXPECT_EQ(status_of("id-bob"), AccountStatus::disabled);
  EXPECT_TRUE(replica_->find_group("staff@example.com").is_ok());
  EXPECT_EQ(state("fake.full_compare_at"), "1000000");

  up_->fail_groups = false;
  ASSERT_TRUE(e->full_sync());
  EXPECT_EQ(replica_->find_group("staff@example.com").code(), Code::not_found);
  EXPECT_EQ(state("fake.last_error"), "");
}

TEST_F(SyncEngineTest, VanishedAccountsAreDisabledOrDeletedOnce) {
  auto e = engine();
  ASSERT_TRUE(e->full_sync());
  up_->accounts.erase("id-bob");
  clock_.advance(seconds(10));
  auto r = e->full_sync();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->removed, 1u);
  EXPECT_EQ(status_of("id-bob"), AccountStatus::disabled);
  EXPECT_EQ(*inactive_since(*replica_, "id-bob"), 1'000'010);  // by the engine's clock
  EXPECT_EQ(e->full_sync()->removed, 0u);                      // disabled already

  SyncOptions o;
  o.on_removed = "delete";
  auto deleting = engine(o);
  up_->accounts.erase("id-alice");
  EXPECT_EQ(deleting->full_sync()->removed, 2u);  // alice, and bob's row
  EXPECT_EQ(replica_->get_account_record("id-alice").code(), Code::not_found);
  EXPECT_EQ(replica_->get_account_record("id-bob").code(), Code::not_found);
}

TEST_F(SyncEngineTest, RowsOfOtherSourcesAreLeftAlone) {
  Account admin;
  admin.id = "id-admin";
  admin.address = "admin@example.com";
  ASSERT_TRUE(replica_->add_domain(Domain{"example.com", DomainKind::local, {}, {}}));
  ASSERT_TRUE(replica_->add_account(admin));
  ASSERT_TRUE(engine()->full_sync());
  EXPECT_EQ(status_of("id-admin"), AccountStatus::active);
}

TEST_F(SyncEngineTest, DryRunWritesNothing) {
  auto e = engine();
  ASSERT_TRUE(e->full_sync());
  auto state_before = replica_->list_sync_state("");
  ASSERT_TRUE(state_before);
  up_->accounts.erase("id-bob");
  add("id-carol", "carol@example.com", 3);
  up_->accounts["id-alice"].first.display_name = "Alice L.";
  up_->groups = {Group{"ops@example.com", "", {"carol@example.com"}, {}, {}}};
  up_->aliases.clear();
  clock_.advance(seconds(60));

  std::vector<SyncChange> changes;
  auto r = e->dry_run(&changes);
  ASSERT_TRUE(r) << r.status().to_string();
  std::vector<std::string> lines;
  for (const auto& c : changes) lines.push_back(c.action + " " + c.address);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "update alice@example.com", "create carol@example.com",
                       "remove bob@example.com", "create-group ops@example.com",
                       "remove-group staff@example.com", "remove-alias sales@example.com"}));
  EXPECT_EQ(r->created, 1u);
  EXPECT_EQ(r->updated, 1u);
  EXPECT_EQ(r->removed, 1u);

  EXPECT_EQ(replica_->get_account_record("id-carol").code(), Code::not_found);
  EXPECT_EQ(status_of("id-bob"), AccountStatus::active);
  EXPECT_EQ(replica_->get_account_record("id-alice")->account.display_name, "");
  EXPECT_TRUE(replica_->find_group("staff@example.com").is_ok());
  EXPECT_TRUE(replica_->find_alias("sales@example.com").is_ok());
  EXPECT_EQ(replica_->list_sync_state("")->size(), state_before->size());
  EXPECT_EQ(*replica_->list_sync_state(""), *state_before);  // marks, dates, counts
}

TEST_F(SyncEngineTest, MarksAreStoredOnlyAfterThePassSucceeded) {
  auto e = engine();
  ASSERT_TRUE(e->full_sync());
  ASSERT_EQ(state(kMark), "2");
  add("id-carol", "carol@example.com", 3);
  up_->accounts["id-alice"] = {up_->accounts["id-alice"].first, 4};
  up_->accounts["id-alice"].first.display_name = "Alice L.";

  // The accounts are written, but the groups (read because a group changed) cannot be.
  up_->groups_changed = true;
  up_->fail_groups = true;
  EXPECT_EQ(e->poll_once().code(), Code::unavailable);
  EXPECT_EQ(last_read(), "groups");
  EXPECT_EQ(state(kMark), "2");
  EXPECT_EQ(state("fake.last_error"), "poll: unavailable: groups: upstream down");

  // A failed read stores nothing either.
  up_->fail_groups = false;
  up_->fail_changes = true;
  EXPECT_EQ(e->poll_once().code(), Code::unavailable);
  EXPECT_EQ(state(kMark), "2");

  up_->fail_changes = false;
  auto r = e->poll_once();
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->seen, 2u);  // carol and alice again: read since mark 2
  EXPECT_EQ(state(kMark), "4");
  EXPECT_EQ(state("fake.last_error"), "");
}

TEST_F(SyncEngineTest, PollReadsChangesAndAFullPassWhenOneIsDue) {
  SyncOptions o;
  o.full_compare_s = 100;
  auto e = engine(o);
  ASSERT_TRUE(e->poll_once());  // no mark yet
  EXPECT_EQ(up_->reads, (std::vector<std::string>{"full", "groups"}));
  up_->reads.clear();
  clock_.advance(seconds(99));
  auto r = e->poll_once();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seen, 0u);
  EXPECT_EQ(up_->reads, std::vector<std::string>{"changes"});  // nothing changed: no groups
  up_->reads.clear();
  clock_.advance(seconds(1));
  ASSERT_TRUE(e->poll_once());
  EXPECT_EQ(up_->reads.front(), "full");
}

TEST_F(SyncEngineTest, ANewPrimaryAddressIsRenamedInGroupsWithoutAGroupPass) {
  up_->groups.push_back(
      Group{"all@example.com", "All", {"alice@example.com", "alice2@example.com"}, {}, {}});
  auto e = engine();
  ASSERT_TRUE(e->poll_once());  // full pass and groups
  up_->reads.clear();
  add("id-alice", "alice2@example.com", 3);  // the primary address changes upstream
  add("id-bob", "bob@example.com", 4);       // bob changes, not his address
  up_->accounts["id-bob"].first.display_name = "Bob B.";
  auto r = e->poll_once();
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->updated, 2u);
  EXPECT_EQ(up_->reads, std::vector<std::string>{"changes"});  // no group pass
  EXPECT_EQ(replica_->find_group("staff@example.com")->members,
            std::vector<std::string>{"alice2@example.com"});
  // A group that listed both keeps one entry.
  EXPECT_EQ(replica_->find_group("all@example.com")->members,
            std::vector<std::string>{"alice2@example.com"});
}

TEST_F(SyncEngineTest, ErrorsAreCountedAndThePassGoesOn) {
  add("id-dup", "alice@example.com", 3);  // alice's address under another id: refused
  auto r = engine()->full_sync();
  ASSERT_TRUE(r) << r.status().to_string();
  EXPECT_EQ(r->created, 2u);
  EXPECT_EQ(r->errors, 1u);
  EXPECT_EQ(status_of("id-alice"), AccountStatus::active);
}

TEST_F(SyncEngineTest, OldAddressGraceEndsByTheClock) {
  SyncOptions o;
  o.old_address_grace_s = 100;
  auto e = engine(o);
  ASSERT_TRUE(e->full_sync());
  up_->accounts["id-alice"].first.address = "alice.liddell@example.com";
  ASSERT_TRUE(e->full_sync());
  EXPECT_TRUE(replica_->find_alias("alice@example.com").is_ok());
  clock_.advance(seconds(99));
  ASSERT_TRUE(e->full_sync());
  EXPECT_TRUE(replica_->find_alias("alice@example.com").is_ok());
  // Over at +100; expiry looks every grace/4 (1..30 s), the last look was at +99.
  clock_.advance(seconds(25));
  ASSERT_TRUE(e->full_sync());
  EXPECT_EQ(replica_->find_alias("alice@example.com").code(), Code::not_found);
}

TEST_F(SyncEngineTest, StatusReadsTheRecordedState) {
  auto e = engine();
  ASSERT_TRUE(e->full_sync());
  clock_.advance(seconds(42));
  auto s = e->status();
  std::vector<std::string> keys;
  for (const auto& [k, v] : s) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"mode", "server", "fake.last_sync", "fake.last_error",
                                            "fake.last_counts", kMark, "lag_seconds"}));
  EXPECT_EQ(s.front().second, "poll");
  EXPECT_EQ(s.back().second, "42");
}

// The background thread: a full pass first (full_pass_first), then a poll every interval of
// the manual clock.
TEST_F(SyncEngineTest, BackgroundThreadPollsEveryIntervalOfTheClock) {
  SyncOptions o;
  o.interval_s = 30;
  o.full_pass_first = true;
  ASSERT_TRUE(engine()->full_sync());  // a mark exists: only full_pass_first makes it full
  up_->reads.clear();
  auto e = engine(o);
  e->start();
  ASSERT_TRUE(e->wait_ready(10000));
  EXPECT_EQ(reads(), 2u);
  EXPECT_EQ(up_->reads.front(), "full");
  int waited = advance_until([&] { return up_->reads.size() > 2; });
  EXPECT_GE(waited, 30);
  EXPECT_EQ(last_read(), "changes");
  e->stop();
  EXPECT_EQ(state("fake.last_error"), "");
}

TEST_F(SyncEngineTest, OffModeRunsNothing) {
  SyncOptions o;
  o.mode = "off";
  auto e = engine(o);
  e->start();
  EXPECT_TRUE(e->wait_ready(0));
  EXPECT_EQ(reads(), 0u);
}

// A persist-mode source (RFC 4533 shaped): the refresh's present phase removes what it did
// not mention, the cookie is stored only with the changes it covers, a failed write ends the
// session without storing it.
TEST_F(SyncEngineTest, PersistSessionRefreshThenChanges) {
  ASSERT_TRUE(engine()->full_sync());  // alice and bob in the replica
  std::vector<Marks> resumed_from;     // guarded by up_->mu
  up_->persist = [&](PersistSession& s, const Marks& stored) {
    {
      std::lock_guard lock(up_->mu);
      resumed_from.push_back(stored);
      up_->cv.notify_all();
      if (resumed_from.size() > 1) return;  // (the engine retries; nothing more to say)
    }
    s.present("id-alice");  // bob is not mentioned: gone
    AccountRecord carol;
    carol.account = up_->accounts["id-alice"].first;
    carol.account.id = "id-carol";
    carol.account.login = "carol";
    carol.account.address = "carol@example.com";
    s.account(carol);
    EXPECT_TRUE(s.checkpoint({{kMark, "ignored"}}));  // before the refresh is done: nothing
    EXPECT_EQ(state(kMark), "2");
    ASSERT_TRUE(s.refresh_done({{kMark, "cookie-1"}}));
    EXPECT_EQ(status_of("id-bob"), AccountStatus::disabled);
    EXPECT_EQ(status_of("id-carol"), AccountStatus::active);
    EXPECT_EQ(state(kMark), "cookie-1");
    EXPECT_EQ(state("fake.last_counts"), "seen=1 created=1 updated=0 removed=1 errors=0");

    s.removed("id-carol");
    ASSERT_TRUE(s.checkpoint({{kMark, "cookie-2"}}));
    EXPECT_EQ(status_of("id-carol"), AccountStatus::disabled);
    EXPECT_EQ(state(kMark), "cookie-2");

    // Groups are read again when one changed upstream.
    up_->groups.clear();
    s.groups_changed();
    ASSERT_TRUE(s.checkpoint({{kMark, "cookie-3"}}));
    EXPECT_EQ(replica_->find_group("staff@example.com").code(), Code::not_found);

    // A write that fails (the groups cannot be read) ends the session; the cookie stays.
    up_->fail_groups = true;
    s.groups_changed();
    EXPECT_FALSE(s.checkpoint({{kMark, "cookie-4"}}));
    EXPECT_FALSE(s.keep_going());
    EXPECT_EQ(state(kMark), "cookie-3");
    EXPECT_EQ(state("fake.last_error"), "persist: unavailable: groups: upstream down");
  };
  SyncOptions o;
  o.mode = "persist";
  o.interval_s = 10;  // reconnects after 1 s of the manual clock
  auto e = engine(o);
  e->start();
  ASSERT_TRUE(e->wait_ready(10000));
  EXPECT_GE(advance_until([&] { return resumed_from.size() >= 2; }), 1);
  e->stop();
  ASSERT_GE(resumed_from.size(), 2u);
  EXPECT_EQ(resumed_from[0].at(kMark), "2");
  EXPECT_EQ(resumed_from[1].at(kMark), "cookie-3");  // the last one stored
}

TEST_F(SyncEngineTest, PersistRefreshWithDeletesKeepsWhatItDidNotMention) {
  ASSERT_TRUE(engine()->full_sync());
  up_->persist = [&](PersistSession& s, const Marks&) {
    if (s.refreshed()) return;
    s.deletes_reported();
    s.removed("id-bob");
    EXPECT_TRUE(s.refresh_done({}));
    s.failed("persist search ended: Can't contact LDAP server");
    EXPECT_FALSE(s.keep_going());
  };
  SyncOptions o;
  o.mode = "persist";
  auto e = engine(o);
  e->start();
  ASSERT_TRUE(e->wait_ready(10000));
  e->stop();
  EXPECT_EQ(status_of("id-alice"), AccountStatus::active);  // not mentioned, not deleted
  EXPECT_EQ(status_of("id-bob"), AccountStatus::disabled);
  EXPECT_EQ(state("fake.last_error"), "persist: persist search ended: Can't contact LDAP server");
}

}  // namespace
}  // namespace mailroom::auth::sync

namespace mailroom::auth::sync {
namespace {

// /metrics: a failed pass counts in mailroom_directory_sync_failures_total{source}; a
// successful one gives the source a mailroom_directory_sync_lag_seconds series.
TEST_F(SyncEngineTest, PassesAreCountedForMetrics) {
  auto sync_failures = [] {
    std::string text = metrics::render_prometheus();
    const std::string key = "mailroom_directory_sync_failures_total{source=\"fake\"} ";
    auto at = text.find(key);
    return at == std::string::npos ? -1 : std::stol(text.substr(at + key.size()));
  };
  auto e = engine();
  up_->fail_accounts = true;
  EXPECT_FALSE(e->full_sync());
  long after_failure = sync_failures();
  ASSERT_GE(after_failure, 1);
  up_->fail_accounts = false;
  ASSERT_TRUE(e->full_sync());
  EXPECT_EQ(sync_failures(), after_failure);  // a success is not a failure
  EXPECT_NE(
      metrics::render_prometheus().find("mailroom_directory_sync_lag_seconds{source=\"fake\"} "),
      std::string::npos);
  up_->fail_groups = true;
  EXPECT_FALSE(e->full_sync());
  EXPECT_EQ(sync_failures(), after_failure + 1);
}

}  // namespace
}  // namespace mailroom::auth::sync
