// The change journal (service::ChangeJournal, ChangeContext, ChangeSets): a record for each
// kind of write with who/when/front end and before/after documents that never hold a hash;
// dry runs that fail like the real write, return what it returns and leave directory.db's
// rows and the journal untouched; reverts that round-trip (a removed account comes back with
// its id, hash and group memberships) and conflicting reverts refused without a change.
#include "src/service/journal.h"

#include <sys/stat.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "auth/app_passwords.h"
#include "auth/resolver.h"
#include "src/core/clock.h"
#include "src/db/sqlite.h"
#include "src/service/aliases.h"
#include "src/service/app_passwords.h"
#include "src/service/blocklists.h"
#include "src/service/change_sets.h"
#include "src/service/domains.h"
#include "src/service/groups.h"
#include "src/service/users.h"
#include "tests/unit/service/service_test_util.h"

namespace mailroom::service::testing {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class JournalTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    journal_ = std::make_unique<ChangeJournal>(tmp_.file("journal.db"), clock_);
    caller_ = Caller{"token:ci", "api", {}};
  }

  ChangeContext ctx(bool dry_run = false) {
    ChangeContext c;
    c.caller = &caller_;
    c.journal = journal_.get();
    c.dry_run = dry_run;
    c.changes = &changes_;
    return c;
  }
  Users users(bool dry = false) { return Users(*dir_, ctx(dry)); }
  Groups groups(bool dry = false) { return Groups(*dir_, ctx(dry)); }
  Aliases aliases(bool dry = false) { return Aliases(*dir_, ctx(dry)); }
  Domains domains(bool dry = false) { return Domains(*dir_, ctx(dry)); }
  ChangeSets sets(bool dry = false) {
    return ChangeSets(*journal_, dir_.get(), tmp_.file(""), store_.get(), ctx(dry));
  }

  NewUser new_user(const std::string& address) {
    NewUser u;
    u.address = address;
    u.password = "secret";
    u.scheme = "SSHA512";  // fast under the sanitizers
    return u;
  }

  // Every row of every table of directory.db, read through a second connection.
  std::string dump() {
    db::SqliteOptions o;
    o.path = tmp_.file("directory.db");
    auto db = db::Sqlite::open(o);
    EXPECT_TRUE(db) << db.status().to_string();
    std::vector<std::string> tables;
    {
      auto q = (*db)->prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
      while (q->step()) tables.push_back(q->text(0));
    }
    std::string out;
    for (const auto& t : tables) {
      std::string columns;
      {
        auto info = (*db)->prepare("SELECT name FROM pragma_table_info(?1)");
        info->bind(1, t);
        while (info->step())
          columns += (columns.empty() ? "" : " || '|' || ") + std::string("quote(\"") +
                     info->text(0) + "\")";
      }
      auto q = (*db)->prepare("SELECT " + columns + " AS r FROM \"" + t + "\" ORDER BY r");
      EXPECT_TRUE(q) << t;
      out += "[" + t + "]\n";
      while (q->step()) out += q->text(0) + "\n";
    }
    return out;
  }

  std::vector<ChangeRecord> all_records() {
    JournalFilter f;
    f.limit = 0;
    auto r = journal_->list(f);
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? *r : std::vector<ChangeRecord>{};
  }

  std::string last_set() { return changes_.back().change_set; }

  void open_app_passwords() {
    resolver_ = std::make_shared<auth::Resolver>(dir_, auth::ResolverOptions{});
    auto s = auth::AppPasswordStore::open({tmp_.file("app-passwords.db")}, clock_);
    ASSERT_TRUE(s) << s.status().to_string();
    store_ = *s;
  }

  core::ManualClock clock_{1'800'000'000};
  std::unique_ptr<ChangeJournal> journal_;
  Caller caller_;
  std::vector<ChangeRecord> changes_;
  std::shared_ptr<auth::Resolver> resolver_;
  std::shared_ptr<auth::AppPasswordStore> store_;
};

TEST_F(JournalTest, FileCreatedOnFirstWritePrivate) {
  EXPECT_FALSE(std::filesystem::exists(tmp_.file("journal.db")));
  EXPECT_TRUE(all_records().empty());  // reading does not create it
  EXPECT_FALSE(std::filesystem::exists(tmp_.file("journal.db")));
  EXPECT_EQ(journal_->show("000000000000").code(), core::Code::not_found);
  ASSERT_TRUE(users().add(new_user("alice@example.com")));
  struct stat st {};
  ASSERT_EQ(::stat(tmp_.file("journal.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(JournalTest, UserRecordsWhoWhenBeforeAfterWithoutSecrets) {
  auto alice = users().add(new_user("alice@example.com"));
  ASSERT_TRUE(alice) << alice.status().to_string();
  clock_.advance(std::chrono::seconds(60));
  UserChange c;
  c.user = "alice@example.com";
  c.password = "new secret";
  c.scheme = "SSHA512";
  c.display_name = "Alice";
  ASSERT_TRUE(users().change(c));
  auto recs = all_records();
  ASSERT_EQ(recs.size(), 2u);
  const ChangeRecord& add = recs[1];  // newest first
  const ChangeRecord& change = recs[0];
  EXPECT_EQ(add.operation, "user.add");
  EXPECT_EQ(add.object, "user:alice@example.com");
  EXPECT_EQ(add.object_id, alice->account.id);
  EXPECT_EQ(add.who, "token:ci");
  EXPECT_EQ(add.front_end, "api");
  EXPECT_EQ(add.time, 1'800'000'000);
  EXPECT_EQ(add.before, "null");
  EXPECT_TRUE(contains(add.after, "\"address\":\"alice@example.com\"")) << add.after;
  EXPECT_GT(add.id, 0);
  EXPECT_EQ(add.change_set.size(), 12u);
  EXPECT_NE(add.change_set, change.change_set);
  EXPECT_EQ(change.operation, "user.change");
  EXPECT_EQ(change.time, 1'800'000'060);
  EXPECT_TRUE(contains(change.after, "\"password_changed\":true")) << change.after;
  EXPECT_TRUE(contains(change.after, "\"display_name\":\"Alice\""));
  EXPECT_FALSE(contains(change.before, "password_changed"));
  auto stored = dir_->get_account_record(alice->account.id);
  for (const auto& r : recs) {
    for (const std::string* doc : {&r.before, &r.after}) {
      EXPECT_FALSE(contains(*doc, "{SSHA512}")) << *doc;
      EXPECT_FALSE(contains(*doc, stored->account.password_hash));
      EXPECT_FALSE(contains(*doc, "SCRAM-SHA-256$"));
    }
  }
  // A change that changes nothing records nothing.
  UserChange same;
  same.user = "alice@example.com";
  same.display_name = "Alice";
  ASSERT_TRUE(users().change(same));
  EXPECT_EQ(all_records().size(), 2u);
}

TEST_F(JournalTest, EveryKindOfDirectoryWriteIsRecorded) {
  ASSERT_TRUE(domains().add({"example.org", "", ""}));
  ASSERT_TRUE(domains().change({"example.org", "", false, std::string("postmaster@example.org")}));
  ASSERT_TRUE(users().add(new_user("bob@example.com")));
  ASSERT_TRUE(aliases().add({"info@example.com", {"bob@example.com"}}));
  ASSERT_TRUE(aliases().change("info@example.com", {"bob@example.com", "x@example.net"}));
  auth::Group g;
  g.address = "staff@example.com";
  ASSERT_TRUE(groups().add(g));
  ASSERT_TRUE(groups().add_member("staff@example.com", "bob@example.com"));
  GroupChange gc;
  gc.address = "staff@example.com";
  gc.display_name = "Staff";
  ASSERT_TRUE(groups().change(gc));
  ASSERT_TRUE(groups().remove_member("staff@example.com", "bob@example.com"));
  ASSERT_TRUE(groups().remove("staff@example.com"));
  ASSERT_TRUE(aliases().remove("info@example.com"));
  ASSERT_TRUE(domains().remove("example.org", false));
  std::vector<std::string> ops;
  for (const auto& c : changes_) ops.push_back(c.operation + " " + c.object);
  EXPECT_EQ(
      ops,
      (std::vector<std::string>{
          "domain.add domain:example.org", "domain.change domain:example.org",
          "user.add user:bob@example.com", "alias.add alias:info@example.com",
          "alias.change alias:info@example.com", "group.add group:staff@example.com",
          "group.member_add group:staff@example.com", "group.change group:staff@example.com",
          "group.member_remove group:staff@example.com", "group.remove group:staff@example.com",
          "alias.remove alias:info@example.com", "domain.remove domain:example.org"}));
  EXPECT_EQ(changes_.back().after, "null");
  EXPECT_TRUE(contains(changes_.back().before, "\"catch_all\":\"postmaster@example.org\""));
  // A failed write records nothing.
  EXPECT_EQ(aliases().remove("info@example.com").code(), core::Code::not_found);
  EXPECT_EQ(all_records().size(), 12u);
}

TEST_F(JournalTest, RemovingAUserRecordsTheGroupsItLeft) {
  auto bob = users().add(new_user("bob@example.com"));
  auth::Group g;
  g.address = "staff@example.com";
  g.members = {"bob@example.com", "carol@example.net"};
  ASSERT_TRUE(groups().add(g));
  changes_.clear();
  ASSERT_TRUE(users().remove("bob@example.com"));
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[0].operation, "group.member_remove");
  EXPECT_EQ(changes_[1].operation, "user.remove");
  EXPECT_EQ(changes_[1].object_id, bob->account.id);
  EXPECT_EQ(changes_[0].change_set, changes_[1].change_set);
}

TEST_F(JournalTest, OperationsOfOneRequestShareAChangeSet) {
  auto c = ctx();
  c.change_set = ChangeJournal::new_change_set_id();
  ASSERT_TRUE(Users(*dir_, c).add(new_user("a@example.com")));
  ASSERT_TRUE(Users(*dir_, c).add(new_user("b@example.com")));
  auto shown = journal_->show(c.change_set);
  ASSERT_TRUE(shown);
  ASSERT_EQ(shown->size(), 2u);
  EXPECT_EQ((*shown)[0].object, "user:a@example.com");  // in the order made
  EXPECT_EQ((*shown)[1].object, "user:b@example.com");
}

TEST_F(JournalTest, ListFilters) {
  ASSERT_TRUE(users().add(new_user("a@example.com")));
  clock_.advance(std::chrono::hours(1));
  caller_ = Caller{"mailroomctl(root)", "cli", {}};
  ASSERT_TRUE(users().add(new_user("b@example.com")));
  ASSERT_TRUE(aliases().add({"info@example.com", {"a@example.com"}}));
  JournalFilter f;
  f.who = "mailroomctl(root)";
  EXPECT_EQ(journal_->list(f)->size(), 2u);
  f = {};
  f.object_prefix = "user:";
  EXPECT_EQ(journal_->list(f)->size(), 2u);
  f.object_prefix = "user:b@";
  EXPECT_EQ(journal_->list(f)->size(), 1u);
  f = {};
  f.operation = "alias";  // a kind matches its operations
  EXPECT_EQ(journal_->list(f)->size(), 1u);
  f.operation = "alias.add";
  EXPECT_EQ(journal_->list(f)->size(), 1u);
  f.operation = "alia";  // but not a prefix of a kind
  EXPECT_EQ(journal_->list(f)->size(), 0u);
  f = {};
  f.since = 1'800'000'000 + 3600;
  EXPECT_EQ(journal_->list(f)->size(), 2u);
  f.since.reset();
  f.until = 1'800'000'000 + 3600;
  EXPECT_EQ(journal_->list(f)->size(), 1u);
  f = {};
  f.front_end = "api";
  EXPECT_EQ(journal_->list(f)->size(), 1u);
  f = {};
  f.limit = 1;
  auto newest = journal_->list(f);
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ((*newest)[0].operation, "alias.add");
}

TEST_F(JournalTest, DryRunMatchesTheRealRunAndWritesNothing) {
  ASSERT_TRUE(users().add(new_user("alice@example.com")));
  auth::Group g;
  g.address = "staff@example.com";
  g.members = {"alice@example.com"};
  ASSERT_TRUE(groups().add(g));
  const std::string rows = dump();
  const size_t journaled = all_records().size();
  changes_.clear();

  UserChange c;
  c.user = "alice@example.com";
  c.primary_address = "alice.liddell@example.com";
  c.quota_bytes = 1 << 20;
  c.password = "new";
  c.scheme = "SSHA512";
  auto dry = users(true).change(c);
  ASSERT_TRUE(dry) << dry.status().to_string();
  EXPECT_EQ(dump(), rows);
  EXPECT_EQ(all_records().size(), journaled);
  ASSERT_EQ(changes_.size(), 1u);
  ChangeRecord dry_record = changes_[0];
  EXPECT_EQ(dry_record.id, 0);
  EXPECT_EQ(dry->account.password_hash, "{DRY-RUN}");  // no argon2 for a dry run

  changes_.clear();
  auto real = users().change(c);
  ASSERT_TRUE(real);
  ASSERT_EQ(changes_.size(), 1u);
  EXPECT_EQ(real->account.address, dry->account.address);
  EXPECT_EQ(real->account.other_addresses, dry->account.other_addresses);
  EXPECT_EQ(real->account.login, dry->account.login);
  EXPECT_EQ(real->account.quota_bytes, dry->account.quota_bytes);
  EXPECT_EQ(changes_[0].before, dry_record.before);
  EXPECT_EQ(changes_[0].after, dry_record.after);
  EXPECT_EQ(changes_[0].operation, dry_record.operation);
  EXPECT_GT(changes_[0].id, 0);
  EXPECT_NE(dump(), rows);

  // Removing the user, dry: the group it leaves is described too; nothing changes.
  const std::string rows2 = dump();
  changes_.clear();
  ASSERT_TRUE(users(true).remove("alice.liddell@example.com"));
  EXPECT_EQ(dump(), rows2);
  ASSERT_EQ(changes_.size(), 2u);
  EXPECT_EQ(changes_[0].operation, "group.member_remove");
}

TEST_F(JournalTest, DryRunFailsLikeTheRealRun) {
  ASSERT_TRUE(users().add(new_user("alice@example.com")));
  const std::string rows = dump();
  const size_t journaled = all_records().size();
  auto again = users(true).add(new_user("alice@example.com"));
  EXPECT_EQ(again.code(), core::Code::already_exists);
  EXPECT_EQ(again.status().client_message(),
            users().add(new_user("alice@example.com")).status().client_message());
  EXPECT_EQ(users(true).add(new_user("x@nowhere.org")).code(), core::Code::invalid_argument);
  auto bad_scheme = new_user("y@example.com");
  bad_scheme.scheme = "MD5";
  EXPECT_EQ(users(true).add(bad_scheme).code(), core::Code::invalid_argument);
  EXPECT_EQ(aliases(true).add({"alice@", {"x@example.com"}}).code(), core::Code::invalid_argument);
  EXPECT_EQ(domains(true).add({"example.com", "", ""}).code(), core::Code::already_exists);
  EXPECT_EQ(groups(true).remove_member("nope@example.com", "x@example.com").code(),
            core::Code::not_found);
  // A failing dry run inside another transaction leaves it usable (SAVEPOINT nests).
  ASSERT_TRUE(dir_->transaction([&] {
    EXPECT_FALSE(dir_->dry_run([&] {
      return Domains(*dir_).add({"example.com", "", ""}).status();
    }));
    EXPECT_TRUE(dir_->dry_run([&] {
      return Domains(*dir_).add({"example.net", "", ""}).status();
    }));
    return core::Status::ok();
  }));
  EXPECT_EQ(dump(), rows);
  EXPECT_EQ(all_records().size(), journaled);
  EXPECT_EQ(dir_->find_domain("example.net").code(), core::Code::not_found);
}

TEST_F(JournalTest, RevertRemovedUserComesBackWithItsIdHashAndGroups) {
  NewUser u = new_user("alice@example.com");
  u.other_addresses = {"a.liddell@example.com"};
  u.quota_bytes = 5 << 20;
  auto alice = users().add(u);
  ASSERT_TRUE(alice);
  auth::Group g;
  g.address = "staff@example.com";
  g.members = {"a.liddell@example.com", "bob@example.net"};
  ASSERT_TRUE(groups().add(g));
  auto before = dir_->get_account_record(alice->account.id);
  const std::string rows = dump();

  ASSERT_TRUE(users().remove("alice@example.com"));
  const std::string removal = last_set();
  EXPECT_EQ(dir_->find_group("staff@example.com")->members,
            std::vector<std::string>{"bob@example.net"});

  // Dry run first: it says what it would do and does nothing.
  changes_.clear();
  auto dry = sets(true).revert(removal);
  ASSERT_TRUE(dry) << dry.status().to_string();
  EXPECT_EQ(dry->size(), 2u);
  EXPECT_EQ(dir_->find_account_by_id(alice->account.id).code(), core::Code::not_found);

  open_app_passwords();
  auto reverted = sets().revert(removal);
  ASSERT_TRUE(reverted) << reverted.status().to_string();
  ASSERT_EQ(reverted->size(), 2u);
  EXPECT_EQ((*reverted)[0].operation, "user.add");
  EXPECT_EQ((*reverted)[0].reverts, removal);
  EXPECT_EQ((*reverted)[1].operation, "group.member_add");
  auto back = dir_->get_account_record(alice->account.id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->account.password_hash, before->account.password_hash);
  EXPECT_EQ(back->scram_secret, before->scram_secret);
  EXPECT_EQ(back->account.other_addresses, before->account.other_addresses);
  EXPECT_EQ(back->account.quota_bytes, 5u << 20);
  EXPECT_EQ(dir_->check_password(back->account, "secret"), auth::PasswordCheck::ok);
  EXPECT_EQ(dir_->find_group("staff@example.com")->members,
            (std::vector<std::string>{"a.liddell@example.com", "bob@example.net"}));
  // The revert is itself a change set, and reverting it removes the account again.
  auto shown = journal_->show((*reverted)[0].change_set);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->size(), 2u);
  ASSERT_TRUE(sets().revert((*reverted)[0].change_set));
  EXPECT_EQ(dir_->find_account_by_id(alice->account.id).code(), core::Code::not_found);
  (void)rows;
}

TEST_F(JournalTest, RevertAddChangeAndForcedDomainRemoval) {
  ASSERT_TRUE(domains().add({"example.org", "", ""}));
  ASSERT_TRUE(users().add(new_user("carol@example.org")));
  ASSERT_TRUE(aliases().add({"info@example.org", {"carol@example.org"}}));
  auth::Group g;
  g.address = "all@example.com";
  g.members = {"carol@example.org"};
  ASSERT_TRUE(groups().add(g));
  const std::string rows = dump();
  ASSERT_TRUE(domains().remove("example.org", true));
  EXPECT_EQ(dir_->find_domain("example.org").code(), core::Code::not_found);
  ASSERT_TRUE(sets().revert(last_set()));
  // updated_at of restored rows may differ: compare what the directory answers.
  EXPECT_TRUE(dir_->find_domain("example.org"));
  EXPECT_TRUE(dir_->find_account_by_address("carol@example.org"));
  EXPECT_EQ(dir_->find_alias("info@example.org")->targets,
            std::vector<std::string>{"carol@example.org"});
  EXPECT_EQ(dir_->find_group("all@example.com")->members,
            std::vector<std::string>{"carol@example.org"});

  // user.change: the before values come back.
  UserChange c;
  c.user = "carol@example.org";
  c.display_name = "Carol";
  c.status = auth::AccountStatus::disabled;
  ASSERT_TRUE(users().change(c));
  ASSERT_TRUE(sets().revert(last_set()));
  auto carol = dir_->find_account_by_address("carol@example.org");
  EXPECT_EQ(carol->display_name, "");
  EXPECT_EQ(carol->status, auth::AccountStatus::active);

  // user.add: removed again.
  ASSERT_TRUE(users().add(new_user("dave@example.org")));
  ASSERT_TRUE(sets().revert(last_set()));
  EXPECT_EQ(dir_->find_account_by_address("dave@example.org").code(), core::Code::not_found);
  (void)rows;
}

TEST_F(JournalTest, ConflictingRevertIsRefusedAndChangesNothing) {
  auto alice = users().add(new_user("alice@example.com"));
  ASSERT_TRUE(users().remove("alice@example.com"));
  const std::string removal = last_set();
  // The address was taken since by a new account.
  auto other = users().add(new_user("alice@example.com"));
  ASSERT_TRUE(other);
  ASSERT_NE(other->account.id, alice->account.id);
  const std::string rows = dump();
  const size_t journaled = all_records().size();
  auto r = sets().revert(removal);
  EXPECT_EQ(r.code(), core::Code::already_exists);
  EXPECT_TRUE(contains(r.status().client_message(), removal)) << r.status().client_message();
  EXPECT_TRUE(contains(r.status().client_message(), "alice@example.com"));
  EXPECT_EQ(dump(), rows);
  EXPECT_EQ(all_records().size(), journaled);

  // An object changed since the change set: revert the later one first.
  UserChange c;
  c.user = "alice@example.com";
  c.display_name = "One";
  ASSERT_TRUE(users().change(c));
  const std::string first = last_set();
  c.display_name = "Two";
  ASSERT_TRUE(users().change(c));
  const std::string second = last_set();
  auto refused = sets().revert(first);
  EXPECT_EQ(refused.code(), core::Code::already_exists);
  EXPECT_TRUE(contains(refused.status().client_message(), "has changed since"));
  EXPECT_EQ(dir_->find_account_by_id(other->account.id)->display_name, "Two");
  ASSERT_TRUE(sets().revert(second));
  ASSERT_TRUE(sets().revert(first));
  EXPECT_EQ(dir_->find_account_by_id(other->account.id)->display_name, "");
  auto twice = sets().revert(first);
  EXPECT_EQ(twice.code(), core::Code::already_exists);
  EXPECT_TRUE(contains(twice.status().client_message(), "already reverted"))
      << twice.status().client_message();
  EXPECT_EQ(sets().revert("ffffffffffff").code(), core::Code::not_found);
}

TEST_F(JournalTest, BlocklistRecordsDryRunAndRevert) {
  Blocklists lists(tmp_.file(""), ctx());
  ASSERT_TRUE(lists.add("ip", "192.0.2.0/24"));
  const std::string added = last_set();
  EXPECT_EQ(changes_.back().operation, "blocklist.add");
  EXPECT_EQ(changes_.back().object, "blocklist:ip:192.0.2.0/24");
  EXPECT_EQ(changes_.back().before, "null");
  EXPECT_EQ(changes_.back().after, "{\"kind\":\"ip\",\"value\":\"192.0.2.0/24\"}");
  // Dry run: same error as the real run, no write.
  EXPECT_EQ(Blocklists(tmp_.file(""), ctx(true)).add("ip", "192.0.2.0/24").code(),
            core::Code::already_exists);
  ASSERT_TRUE(Blocklists(tmp_.file(""), ctx(true)).add("sender", "spam@example.net"));
  EXPECT_EQ(Blocklists(tmp_.file("")).list()->size(), 1u);
  EXPECT_EQ(all_records().size(), 1u);

  ASSERT_TRUE(sets().revert(added));
  EXPECT_TRUE(Blocklists(tmp_.file("")).list()->empty());
  EXPECT_EQ(changes_.back().operation, "blocklist.remove");
  // Reverting the add again conflicts: the entry is no longer there.
  EXPECT_EQ(sets().revert(added).code(), core::Code::already_exists);
}

TEST_F(JournalTest, AppPasswordCreateRevertsRevokeDoesNot) {
  ASSERT_TRUE(users().add(new_user("alice@example.com")));
  open_app_passwords();
  AppPasswords ops(*resolver_, *store_, ctx());
  auto dry = AppPasswords(*resolver_, *store_, ctx(true)).create("alice@example.com", "phone", {});
  ASSERT_TRUE(dry) << dry.status().to_string();
  EXPECT_TRUE(dry->secret.empty());
  EXPECT_TRUE(store_->list(dry->account.id, true)->empty());
  auto created = ops.create("alice@example.com", "phone", {});
  ASSERT_TRUE(created);
  EXPECT_EQ(changes_.back().operation, "app_password.create");
  EXPECT_EQ(changes_.back().object_id, created->record.id);
  EXPECT_FALSE(contains(changes_.back().after, created->secret));
  EXPECT_EQ(
      AppPasswords(*resolver_, *store_, ctx(true)).create("alice@example.com", "phone", {}).code(),
      core::Code::already_exists);
  ASSERT_TRUE(sets().revert(changes_.back().change_set));
  EXPECT_FALSE(store_->get(created->record.id)->active());
  EXPECT_EQ(store_->get(created->record.id)->revoked_reason, "reverted");

  auto second = ops.create("alice@example.com", "tablet", {});
  ASSERT_TRUE(second);
  ASSERT_TRUE(AppPasswords(*resolver_, *store_, ctx(true))
                  .revoke("alice@example.com", "tablet", Actor::admin));
  EXPECT_TRUE(store_->get(second->record.id)->active());  // the dry run revoked nothing
  ASSERT_TRUE(ops.revoke("alice@example.com", "tablet", Actor::admin));
  EXPECT_EQ(changes_.back().operation, "app_password.revoke");
  auto r = sets().revert(changes_.back().change_set);
  EXPECT_EQ(r.code(), core::Code::invalid_argument);
  EXPECT_TRUE(contains(r.status().client_message(), "cannot come back"));
}

TEST_F(JournalTest, ImportIsOneChangeSetDryRunSeesEarlierRows) {
  const std::string file =
      "a@example.org\t{SSHA512}x\tA\n"
      "b@example.org\t{SSHA512}y\n";
  const std::string rows = dump();
  std::istringstream dry_in(file);
  auto dry = users(true).import(dry_in, "f", /*create_domains=*/true);
  ASSERT_TRUE(dry) << dry.status().to_string();
  EXPECT_EQ(*dry, 2u);
  EXPECT_EQ(dump(), rows);
  EXPECT_TRUE(all_records().empty());
  ASSERT_EQ(changes_.size(), 3u);
  EXPECT_EQ(changes_[0].operation, "domain.add");
  // The same file twice fails on the second row... of the duplicate, in a dry run too.
  std::istringstream dup_in(file + "a@example.org\t{SSHA512}z\n");
  auto dup = users(true).import(dup_in, "f", true);
  EXPECT_EQ(dup.code(), core::Code::already_exists);
  EXPECT_EQ(dup.status().client_message().rfind("f:3: ", 0), 0u) << dup.status().client_message();

  changes_.clear();
  std::istringstream in(file);
  ASSERT_TRUE(users().import(in, "f", true));
  auto recs = all_records();
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].change_set, recs[2].change_set);
  ASSERT_TRUE(sets().revert(recs[0].change_set));
  EXPECT_EQ(dir_->find_domain("example.org").code(), core::Code::not_found);
  EXPECT_EQ(dir_->find_account_by_address("a@example.org").code(), core::Code::not_found);
}

TEST_F(JournalTest, PurgeDropsOldRecordsOnly) {
  EXPECT_EQ(*journal_->purge(2'000'000'000), 0u);  // no file yet: nothing, and none created
  EXPECT_FALSE(std::filesystem::exists(tmp_.file("journal.db")));
  ASSERT_TRUE(users().add(new_user("a@example.com")));
  const std::string old_set = last_set();
  clock_.advance(std::chrono::hours(24));
  ASSERT_TRUE(users().add(new_user("b@example.com")));
  EXPECT_EQ(*journal_->purge(1'800'000'000), 0u);  // strictly older
  EXPECT_EQ(*journal_->purge(1'800'000'001), 1u);
  EXPECT_EQ(journal_->show(old_set).code(), core::Code::not_found);
  EXPECT_EQ(sets().revert(old_set).code(), core::Code::not_found);
  EXPECT_EQ(all_records().size(), 1u);
}

TEST_F(JournalTest, OneJournalSharedByThreads) {
  ChangeJournal& journal = *journal_;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&journal, t] {
      for (int i = 0; i < 25; ++i) {
        std::vector<JournalEntry> e(1);
        e[0].record.change_set = "t" + std::to_string(t);
        e[0].record.object = "domain:x" + std::to_string(i);
        e[0].record.before = e[0].record.after = "null";
        EXPECT_TRUE(journal.append(e));
        EXPECT_GT(e[0].record.id, 0);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(all_records().size(), 100u);
  EXPECT_EQ(journal.show("t3")->size(), 25u);
}

}  // namespace
}  // namespace mailroom::service::testing
