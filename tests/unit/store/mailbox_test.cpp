// The mailbox tree: special-use folders, create/delete/rename of hierarchies, INBOX rules,
// name safety, subscriptions.
#include <set>

#include "src/store/names.h"
#include "src/store/store_options.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

using core::Code;

std::set<std::string> names(MailStore& s, const std::string& user) {
  std::set<std::string> out;
  auto list = s.list_mailboxes(user);
  for (auto& b : *list) out.insert(b.name);
  return out;
}

TEST_F(StoreTest, SpecialFoldersExistOnFirstAccess) {
  auto list = store_->list_mailboxes(kUser);
  ASSERT_TRUE(list.is_ok());
  std::map<std::string, SpecialUse> uses;
  for (auto& b : *list) uses[b.name] = b.special_use;
  EXPECT_EQ(uses.size(), 6u);
  EXPECT_EQ(uses["INBOX"], SpecialUse::inbox);
  EXPECT_EQ(uses["Sent"], SpecialUse::sent);
  EXPECT_EQ(uses["Drafts"], SpecialUse::drafts);
  EXPECT_EQ(uses["Trash"], SpecialUse::trash);
  EXPECT_EQ(uses["Junk"], SpecialUse::junk);
  EXPECT_EQ(uses["Ads"], SpecialUse::ads);
  EXPECT_STREQ(special_use_attribute(SpecialUse::sent), "\\Sent");
  auto subs = store_->subscriptions(kUser);
  EXPECT_EQ(subs->size(), 6u);
  // Deleting a special folder is allowed and it does not come back on reopen.
  ASSERT_TRUE(store_->delete_mailbox(kUser, "Ads", false).is_ok());
  store_ = open_file_store(options_);
  EXPECT_EQ(names(*store_, kUser).count("Ads"), 0u);
}

TEST_F(StoreTest, InboxIsCaseInsensitiveAndCannotBeDeleted) {
  put("inBoX", message("1"));
  EXPECT_EQ(store_->mailbox_status(kUser, "INBOX")->messages, 1u);
  EXPECT_EQ(store_->create_mailbox(kUser, "Inbox", SpecialUse::none).code(), Code::already_exists);
  EXPECT_EQ(store_->delete_mailbox(kUser, "inbox", true).code(), Code::invalid_argument);
  ASSERT_TRUE(store_->create_mailbox(kUser, "inbox/Sub", SpecialUse::none).is_ok());
  EXPECT_EQ(names(*store_, kUser).count("INBOX/Sub"), 1u);
  // Only the first component is INBOX-folded.
  ASSERT_TRUE(store_->create_mailbox(kUser, "Work/inbox", SpecialUse::none).is_ok());
  EXPECT_EQ(names(*store_, kUser).count("Work/inbox"), 1u);
}

TEST_F(StoreTest, CreateMakesParentsAndRefusesDuplicates) {
  ASSERT_TRUE(store_->create_mailbox(kUser, "a/b/c", SpecialUse::none).is_ok());
  auto n = names(*store_, kUser);
  EXPECT_TRUE(n.count("a") && n.count("a/b") && n.count("a/b/c"));
  EXPECT_EQ(store_->create_mailbox(kUser, "a/b", SpecialUse::none).code(), Code::already_exists);
  EXPECT_TRUE(store_->create_mailbox(kUser, "旅行/台北", SpecialUse::none).is_ok());
  EXPECT_TRUE(store_->mailbox_status(kUser, "旅行/台北").is_ok());
}

TEST_F(StoreTest, UnsafeNamesAreRefused) {
  const std::string bad[] = {"",
                             "../x",
                             "a//b",
                             "/a",
                             "a/",
                             "a/../b",
                             "./a",
                             "a/.",
                             std::string("a\0b", 3),
                             "tab\there",
                             "del\x7f",
                             "line\nfeed",
                             "star*",
                             "pct%",
                             "\xff\xfe",
                             "\xc0\xaf",
                             std::string(256, 'x'),
                             "\xed\xa0\x80"};
  for (const auto& name : bad) {
    EXPECT_EQ(store_->create_mailbox(kUser, name, SpecialUse::none).code(), Code::invalid_argument)
        << "name: " << name;
    EXPECT_EQ(store_->mailbox_status(kUser, name).code(), Code::invalid_argument);
  }
  EXPECT_TRUE(store_->create_mailbox(kUser, std::string(255, 'x'), SpecialUse::none).is_ok());
  EXPECT_EQ(names(*store_, kUser).size(), 7u);
  // The on-disk layout never used a mailbox name as a path.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/x"));
  EXPECT_FALSE(std::filesystem::exists(options_.root + "/x"));
}

TEST(Names, CanonicalAndKeywords) {
  EXPECT_EQ(*canonical_mailbox_name("iNbOx/x", 255), "INBOX/x");
  EXPECT_EQ(*canonical_mailbox_name("Inboxes", 255), "Inboxes");
  EXPECT_TRUE(valid_keyword("$Junk"));
  EXPECT_FALSE(valid_keyword("a(b"));
  EXPECT_FALSE(valid_keyword(""));
  EXPECT_FALSE(valid_keyword("caf\xc3\xa9"));
  EXPECT_EQ(normalize_keywords({"b", "A", "a", "B"}), (std::vector<std::string>{"A", "b"}));
  EXPECT_TRUE(is_same_or_child("a/b", "a"));
  EXPECT_FALSE(is_same_or_child("ab", "a"));
}

TEST_F(StoreTest, DeleteHierarchy) {
  ASSERT_TRUE(store_->create_mailbox(kUser, "p/q/r", SpecialUse::none).is_ok());
  put("p/q", message("1"));
  put("p/q/r", message("2"));
  put("INBOX", message("keep"));
  EXPECT_EQ(store_->delete_mailbox(kUser, "p", false).code(), Code::invalid_argument);
  EXPECT_EQ(store_->delete_mailbox(kUser, "nope", false).code(), Code::not_found);
  ASSERT_TRUE(store_->delete_mailbox(kUser, "p/q/r", false).is_ok());
  ASSERT_TRUE(store_->delete_mailbox(kUser, "p", true).is_ok());
  auto n = names(*store_, kUser);
  EXPECT_EQ(n.count("p") + n.count("p/q") + n.count("p/q/r"), 0u);
  EXPECT_EQ(store_->quota_usage(kUser)->messages, 1u);
  // A recreated name gets a new UIDVALIDITY (RFC 3501 2.3.1.1).
  ASSERT_TRUE(store_->create_mailbox(kUser, "x", SpecialUse::none).is_ok());
  auto v1 = store_->mailbox_status(kUser, "x")->uid_validity;
  put("x", message("1"));
  ASSERT_TRUE(store_->delete_mailbox(kUser, "x", false).is_ok());
  ASSERT_TRUE(store_->create_mailbox(kUser, "x", SpecialUse::none).is_ok());
  auto st = store_->mailbox_status(kUser, "x");
  EXPECT_NE(st->uid_validity, v1);
  EXPECT_EQ(st->messages, 0u);
}

TEST_F(StoreTest, RenameHierarchy) {
  ASSERT_TRUE(store_->create_mailbox(kUser, "old/child/leaf", SpecialUse::none).is_ok());
  auto r = put("old/child", message("1"));
  auto v = store_->mailbox_status(kUser, "old/child")->uid_validity;
  ASSERT_TRUE(store_->rename_mailbox(kUser, "old", "new/deep").is_ok());
  auto n = names(*store_, kUser);
  EXPECT_TRUE(n.count("new") && n.count("new/deep") && n.count("new/deep/child") &&
              n.count("new/deep/child/leaf"));
  EXPECT_EQ(n.count("old") + n.count("old/child"), 0u);
  auto st = store_->mailbox_status(kUser, "new/deep/child");
  EXPECT_EQ(st->messages, 1u);
  EXPECT_EQ(st->uid_validity, v);
  EXPECT_TRUE(store_->read_message(kUser, "new/deep/child", r.uid).is_ok());
  EXPECT_EQ(store_->rename_mailbox(kUser, "new", "new/deep/x").code(), Code::invalid_argument);
  EXPECT_EQ(store_->rename_mailbox(kUser, "new/deep", "Sent").code(), Code::already_exists);
  EXPECT_EQ(store_->rename_mailbox(kUser, "gone", "x").code(), Code::not_found);
  EXPECT_EQ(store_->rename_mailbox(kUser, "Sent", "inbox").code(), Code::invalid_argument);
  // The rename of a parent must not collide with an existing child name.
  ASSERT_TRUE(store_->create_mailbox(kUser, "t/child", SpecialUse::none).is_ok());
  ASSERT_TRUE(store_->create_mailbox(kUser, "u", SpecialUse::none).is_ok());
  EXPECT_EQ(store_->rename_mailbox(kUser, "new/deep", "t").code(), Code::already_exists);
}

TEST_F(StoreTest, RenameInboxMovesMessagesAndLeavesItEmpty) {
  auto a = put("INBOX", message("1"));
  auto b = put("INBOX", message("2"));
  ASSERT_TRUE(store_->create_mailbox(kUser, "INBOX/kid", SpecialUse::none).is_ok());
  auto mark = store_->mailbox_status(kUser, "INBOX")->highest_modseq;
  ASSERT_TRUE(store_->rename_mailbox(kUser, "INBOX", "Old Inbox").is_ok());
  auto inbox = store_->mailbox_status(kUser, "INBOX");
  ASSERT_TRUE(inbox.is_ok());
  EXPECT_EQ(inbox->messages, 0u);
  EXPECT_EQ(inbox->uid_next, b.uid + 1);  // UIDs still never reused in INBOX
  EXPECT_EQ(store_->changes_since(kUser, "INBOX", mark)->expunged,
            (std::vector<uint32_t>{a.uid, b.uid}));
  auto old = store_->snapshot(kUser, "Old Inbox");
  EXPECT_EQ(old->messages.size(), 2u);
  EXPECT_NE(old->uid_validity, a.uid_validity);
  EXPECT_TRUE(names(*store_, kUser).count("INBOX/kid"));
  EXPECT_EQ(put("INBOX", message("3")).uid, b.uid + 1);
}

TEST_F(StoreTest, Subscriptions) {
  ASSERT_TRUE(store_->set_subscribed(kUser, "Not/There", true).is_ok());  // RFC 3501 6.3.6
  ASSERT_TRUE(store_->set_subscribed(kUser, "Junk", false).is_ok());
  auto subs = store_->subscriptions(kUser);
  std::set<std::string> s(subs->begin(), subs->end());
  EXPECT_TRUE(s.count("Not/There"));
  EXPECT_FALSE(s.count("Junk"));
  EXPECT_EQ(store_->set_subscribed(kUser, "a//b", true).code(), Code::invalid_argument);
  auto list = store_->list_mailboxes(kUser);
  for (auto& b : *list) EXPECT_EQ(b.subscribed, b.name != "Junk") << b.name;
}

TEST_F(StoreTest, UsersAreIsolatedAndCacheEvictionIsHarmless) {
  StoreOptions o = options_;
  o.open_users_cache = 2;
  auto s = open_file_store(o);
  for (int i = 0; i < 5; ++i) {
    AppendRequest r;
    std::string msg = message("user " + std::to_string(i));
    r.message = msg;
    ASSERT_TRUE(s->append("user-" + std::to_string(i), r).is_ok());
  }
  for (int i = 0; i < 5; ++i) {
    auto snap = s->snapshot("user-" + std::to_string(i), "INBOX");
    ASSERT_EQ(snap->messages.size(), 1u);
    auto data = s->read_message("user-" + std::to_string(i), "INBOX", 1);
    EXPECT_NE(data->find("user " + std::to_string(i)), std::string::npos);
  }
}

}  // namespace
}  // namespace mailroom::store::testing
