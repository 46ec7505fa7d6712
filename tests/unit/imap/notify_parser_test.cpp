// The NOTIFY grammar (RFC 5465 8) and its combination rules (5, 6): every filter, events and
// NONE, MessageNew's fetch attributes, unknown events kept for [BADEVENT] (no syntax error),
// and malformed commands refused with a reason for the tagged BAD.
#include <gtest/gtest.h>

#include "src/imap/proto/command.h"

namespace mailroom::imap::proto {
namespace {

TEST(NotifyGrammar, NoneAndSetWithEveryFilter) {
  auto none = parse_command("a NOTIFY NONE");
  ASSERT_TRUE(none.ok()) << none.error.message;
  EXPECT_TRUE(none.command->notify.none);

  auto r = parse_command(
      "a notify set status (Selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (Subject)]) "
      "MessageExpunge FlagChange)) (inboxes (MessageNew MessageExpunge)) (personal "
      "(MailboxName SubscriptionChange)) (subscribed NONE) (subtree Lists (MessageNew "
      "MessageExpunge)) (mailboxes (\"Other Users/bob/Box\" Work Work) (MessageNew "
      "MessageExpunge FlagChange))");
  ASSERT_TRUE(r.ok()) << r.error.message;
  const auto& n = r.command->notify;
  EXPECT_FALSE(n.none);
  EXPECT_TRUE(n.status);
  ASSERT_EQ(n.groups.size(), 6u);
  EXPECT_EQ(n.groups[0].filter, NotifyFilter::selected);
  EXPECT_EQ(n.groups[0].events, kMessageNew | kMessageExpunge | kFlagChange);
  ASSERT_EQ(r.command->fetch.size(), 2u);
  EXPECT_EQ(r.command->fetch[0].item, FetchItem::uid);
  EXPECT_EQ(n.groups[1].filter, NotifyFilter::inboxes);
  EXPECT_EQ(n.groups[2].events, kMailboxName | kSubscriptionChange);
  EXPECT_EQ(n.groups[3].filter, NotifyFilter::subscribed);
  EXPECT_EQ(n.groups[3].events, 0u);
  EXPECT_EQ(n.groups[4].filter, NotifyFilter::subtree);
  EXPECT_EQ(n.groups[4].mailboxes, (std::vector<std::string>{"Lists"}));
  EXPECT_EQ(n.groups[5].filter, NotifyFilter::mailboxes);
  // Names kept once, as sent (modified UTF-7: the session decodes them).
  EXPECT_EQ(n.groups[5].mailboxes, (std::vector<std::string>{"Other Users/bob/Box", "Work"}));
  EXPECT_TRUE(n.unknown_events.empty());

  auto delayed = parse_command("a NOTIFY SET (selected-delayed (MessageNew MessageExpunge))");
  ASSERT_TRUE(delayed.ok()) << delayed.error.message;
  EXPECT_EQ(delayed.command->notify.groups[0].filter, NotifyFilter::selected_delayed);
  EXPECT_TRUE(delayed.command->fetch.empty());
}

TEST(NotifyGrammar, UnknownEventsAreKeptForBadevent) {
  auto r = parse_command("a NOTIFY SET (personal (MessageNew MessageExpunge x-Bogus))");
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(r.command->notify.unknown_events, (std::vector<std::string>{"x-Bogus"}));
  auto meta = parse_command("a NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange))");
  ASSERT_TRUE(meta.ok()) << meta.error.message;
  EXPECT_EQ(meta.command->notify.groups[0].events, kMailboxMetadataChange | kServerMetadataChange);
}

TEST(NotifyGrammar, MalformedIsBad) {
  const char* bad[] = {
      "a NOTIFY",                                                         // no verb
      "a NOTIFY ON",                                                      // not SET / NONE
      "a NOTIFY SET",                                                     // no groups
      "a NOTIFY SET ()",                                                  // empty group
      "a NOTIFY SET (personal)",                                          // no events
      "a NOTIFY SET (personal ())",                                       // empty event list
      "a NOTIFY SET (everything (MessageNew MessageExpunge))",            // unknown filter
      "a NOTIFY SET (subtree (MessageNew MessageExpunge))",               // subtree needs names
      "a NOTIFY SET (mailboxes () (MessageNew MessageExpunge))",          // empty name list
      "a NOTIFY SET (personal (MessageNew MessageExpunge)",               // unclosed
      "a NOTIFY SET (personal (MessageNew MessageExpunge)) ",             // trailing space
      "a NOTIFY SET  (personal (MessageNew MessageExpunge))",             // two spaces
      "a NOTIFY SET (personal (MessageNew))",                             // 5: without Expunge
      "a NOTIFY SET (personal (MessageExpunge))",                         // 5: without New
      "a NOTIFY SET (personal (FlagChange))",                             // 5: needs New+Expunge
      "a NOTIFY SET (personal (MessageNew MessageNew MessageExpunge))",   // twice
      "a NOTIFY SET (selected (MessageNew MessageExpunge MailboxName))",  // 6: message only
      "a NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",    // fetch-atts: selected only
      "a NOTIFY SET (selected (MessageNew (BOGUS) MessageExpunge))",  // bad fetch-att
      ("a NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew "
       "MessageExpunge))"),  // the selected mailbox twice
      "a NOTIFY NONE extra",
  };
  for (const char* c : bad) {
    auto r = parse_command(c);
    EXPECT_FALSE(r.ok()) << c;
    if (!r.ok()) {
      EXPECT_EQ(r.error.tag, "a") << c;
      EXPECT_FALSE(r.error.message.empty()) << c;
    }
  }
}

TEST(NotifyGrammar, BoundedGroupsAndNames) {
  std::string many = "a NOTIFY SET";
  for (size_t i = 0; i <= kMaxNotifyGroups; ++i) many += " (personal NONE)";
  EXPECT_FALSE(parse_command(many).ok());
  std::string names = "a NOTIFY SET (mailboxes (";
  for (size_t i = 0; i <= kMaxNotifyNames; ++i) names += (i ? " m" : "m") + std::to_string(i);
  names += ") (MessageNew MessageExpunge))";
  auto r = parse_command(names);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error.message.find("Too many"), std::string::npos);
}

}  // namespace
}  // namespace mailroom::imap::proto
