// RFC 5256 base subject and THREAD algorithms (src/imap/thread.h).
#include "src/imap/thread.h"

#include <gtest/gtest.h>

#include <deque>

namespace mailroom::imap {
namespace {

// ThreadItem holds views: the texts live here for the whole test program.
std::string_view keep(std::string s) {
  static std::deque<std::string> texts;
  return texts.emplace_back(std::move(s));
}

ThreadItem msg(uint32_t id, int64_t date, std::string subject, std::string message_id,
               std::string references = "", std::string in_reply_to = "") {
  ThreadItem t;
  t.id = id;
  t.sent_date = date;
  BaseSubject b = base_subject(subject);
  t.base_subject = keep(std::move(b.text));
  t.reply_or_forward = b.reply_or_forward;
  t.message_id = keep(std::move(message_id));
  t.references = keep(std::move(references));
  t.in_reply_to = keep(std::move(in_reply_to));
  return t;
}

TEST(BaseSubject, RemovesLeadersTrailersAndBlobs) {
  // The text is in i;unicode-casemap form (RFC 5051): upper case, decomposed.
  auto b = base_subject("Re: [foo] Fwd: Hello (fwd)");
  EXPECT_EQ(b.text, "HELLO");
  EXPECT_TRUE(b.reply_or_forward);
  EXPECT_EQ(base_subject("RE[2]: Status").text, "STATUS");
  EXPECT_EQ(base_subject("[fwd: Re: Lunch]").text, "LUNCH");
  EXPECT_TRUE(base_subject("[fwd: Lunch]").reply_or_forward);
  auto plain = base_subject("  Quarterly \t  report  ");
  EXPECT_EQ(plain.text, "QUARTERLY REPORT");
  EXPECT_FALSE(plain.reply_or_forward);
  // A blob that would leave nothing is the subject itself (RFC 5256 2.1 step 4).
  EXPECT_EQ(base_subject("[PATCH]").text, "[PATCH]");
  EXPECT_EQ(base_subject("[list] news").text, "NEWS");
  EXPECT_EQ(base_subject("Re:").text, "");
  EXPECT_EQ(base_subject("Reply to all").text, "REPLY TO ALL");
}

TEST(BaseSubject, UnicodeCasemapOrder) {
  // RFC 5051: "é" is "E" + U+0301 (before "F"); "_" (0x5F) sorts after the titlecase letters.
  EXPECT_EQ(base_subject("éclair").text,
            "E\xcc\x81"
            "CLAIR");
  EXPECT_LT(base_subject("éclair").text, base_subject("fish").text);
  EXPECT_LT(base_subject("Zebra").text, base_subject("_private").text);
  EXPECT_EQ(base_subject("Re: Ärger").text, base_subject("ärger").text);
  EXPECT_EQ(base_subject("Ｒｅ： ｔｅｓｔ").text, "TEST");  // compatibility decomposition
}

TEST(ThreadReferences, ChainsAndBranches) {
  std::vector<ThreadItem> v = {msg(1, 100, "a", "<a@x>"), msg(2, 200, "Re: a", "<b@x>", "<a@x>"),
                               msg(3, 300, "Re: a", "<c@x>", "<a@x> <b@x>")};
  EXPECT_EQ(thread_references(v), "(1 2 3)");
  v = {msg(1, 100, "a", "<a@x>"), msg(2, 200, "Re: a", "<b@x>", "<a@x>"),
       msg(3, 300, "Re: a", "<c@x>", "", "<a@x>")};
  EXPECT_EQ(thread_references(v), "(1 (2)(3))");
}

TEST(ThreadReferences, DummyParentAtRootKeepsSiblings) {
  // Both reply to a message that is not in the mailbox: a dummy root with two children.
  std::vector<ThreadItem> v = {msg(1, 100, "Re: gone", "<b@x>", "<missing@x>"),
                               msg(2, 200, "Re: gone", "<c@x>", "<missing@x>")};
  EXPECT_EQ(thread_references(v), "((1)(2))");
  // One child only: promoted to the root.
  v = {msg(1, 100, "Re: gone", "<b@x>", "<missing@x>")};
  EXPECT_EQ(thread_references(v), "(1)");
}

TEST(ThreadReferences, MergesByBaseSubject) {
  // RFC 5256 2.2 step 5: a reply without references joins the thread of its original.
  std::vector<ThreadItem> v = {msg(1, 100, "Lunch", "<a@x>"), msg(2, 300, "Other", "<o@x>"),
                               msg(3, 200, "Re: Lunch", "<b@x>")};
  EXPECT_EQ(thread_references(v), "(1 3)(2)");
  // Two originals with the same subject: a new dummy holds both.
  v = {msg(1, 100, "Lunch", "<a@x>"), msg(2, 200, "Lunch", "<b@x>")};
  EXPECT_EQ(thread_references(v), "((1)(2))");
  // A dummy thread and a message thread with the same subject: the message joins the dummy.
  v = {msg(1, 100, "Re: Lunch", "<b@x>", "<gone@x>"), msg(2, 200, "Re: Lunch", "<c@x>", "<gone@x>"),
       msg(3, 300, "Lunch", "<d@x>")};
  EXPECT_EQ(thread_references(v), "((1)(2)(3))");
  // Empty base subjects are never merged.
  v = {msg(1, 100, "Re:", "<a@x>"), msg(2, 200, "", "<b@x>")};
  EXPECT_EQ(thread_references(v), "(1)(2)");
}

TEST(ThreadReferences, SortsBySentDateThenSequence) {
  std::vector<ThreadItem> v = {msg(1, 300, "x", "<a@x>"), msg(2, 100, "y", "<b@x>"),
                               msg(3, 100, "z", "<c@x>")};
  EXPECT_EQ(thread_references(v), "(2)(3)(1)");
  v = {msg(1, 100, "x", "<a@x>"), msg(2, 500, "Re: x", "<b@x>", "<a@x>"),
       msg(3, 400, "Re: x", "<c@x>", "<a@x>")};
  EXPECT_EQ(thread_references(v), "(1 (3)(2))");
}

TEST(ThreadReferences, SurvivesLoopsDuplicatesAndGarbage) {
  std::vector<ThreadItem> v = {msg(1, 100, "a", "<a@x>", "<b@x>"),
                               msg(2, 200, "b", "<b@x>", "<a@x>")};
  // RFC 5256 2.2 step 1.B: message 1 becomes a child of <b@x>; message 2 would then make
  // <a@x> its parent, which closes a loop, so that link is not made: one thread, 2 above 1.
  EXPECT_EQ(thread_references(v), "(2 1)");
  // Duplicate Message-ID: the second message gets its own identity.
  v = {msg(1, 100, "a", "<a@x>"), msg(2, 200, "b", "<a@x>"), msg(3, 300, "c", "<c@x>", "<a@x>")};
  EXPECT_EQ(thread_references(v), "(1 3)(2)");
  v = {msg(1, 100, "a", "no brackets", "<<>> <", "garbage"), msg(2, 200, "b", "")};
  EXPECT_EQ(thread_references(v), "(1)(2)");
  // A message referencing itself.
  v = {msg(1, 100, "a", "<a@x>", "<a@x>")};
  EXPECT_EQ(thread_references(v), "(1)");
}

TEST(ThreadOrderedSubject, GroupsBySubject) {
  std::vector<ThreadItem> v = {msg(1, 100, "b", ""), msg(2, 50, "a", ""), msg(3, 200, "Re: b", ""),
                               msg(4, 300, "re: B", ""), msg(5, 60, "Re: a", "")};
  EXPECT_EQ(thread_orderedsubject(v), "(2 5)(1 (3)(4))");
}

TEST(ThreadReferences, DeepAndWideMailboxesStayLinear) {
  // 100,000 replies in one chain (each to the one before, some in a side branch): no
  // recursion as deep as the thread, no walk up the whole chain per message.
  constexpr uint32_t kChain = 100000;
  std::vector<ThreadItem> v;
  std::string want = "(1";
  for (uint32_t i = 1; i <= kChain; ++i) {
    std::string refs = i > 1 ? "<" + std::to_string(i - 1) + "@x>" : "";
    v.push_back(msg(i, i, "Re: chain", "<" + std::to_string(i) + "@x>", refs));
    if (i > 1) want += " " + std::to_string(i);
  }
  EXPECT_EQ(thread_references(v), want + ")");
  // 20,000 threads of two unrelated messages with one subject each: every pair is merged
  // under a dummy (RFC 5256 2.2 step 5C), without a search of the root list per merge.
  std::vector<ThreadItem> w;
  for (uint32_t i = 0; i < 40000; ++i)
    w.push_back(msg(i + 1, i, "Topic " + std::to_string(i / 2), "<w" + std::to_string(i) + "@x>"));
  std::string out = thread_references(w);
  EXPECT_EQ(out.substr(0, 20), "((1)(2))((3)(4))((5)");
}

}  // namespace
}  // namespace mailroom::imap
