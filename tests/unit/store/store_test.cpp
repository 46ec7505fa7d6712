// Messages: UID/MODSEQ rules, flags and keywords, quota, changes_since, copy/move, facts,
// the POP3 retrieval mark and change notification.
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <stdexcept>

#include "src/store/file_store.h"
#include "src/store/maintenance.h"
#include "src/store/message_files.h"
#include "src/store/store_options.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::store::testing {
namespace {

using core::Code;

TEST_F(StoreTest, AppendNormalizesLineEndingsAndSizeIsExact) {
  auto r = put("INBOX", "Subject: x\nA: b\r\n\nbody\rline\n");
  auto data = store_->read_message(kUser, "INBOX", r.uid);
  ASSERT_TRUE(data.is_ok());
  EXPECT_EQ(*data, "Subject: x\r\nA: b\r\n\r\nbody\r\nline\r\n");
  auto snap = store_->snapshot(kUser, "INBOX");
  ASSERT_TRUE(snap.is_ok());
  ASSERT_EQ(snap->messages.size(), 1u);
  EXPECT_EQ(snap->messages[0].size, data->size());
  EXPECT_EQ(snap->messages[0].guid.size(), 32u);
}

TEST_F(StoreTest, MessagePrefixesAreCutFromTheFilesInTheOrderAsked) {
  // FETCH of header fields reads a message's header, not its attachments.
  auto a = put("INBOX", "Subject: a\r\n\r\nfirst body\r\n");
  auto b = put("INBOX", "Subject: bb\r\n\r\nsecond\r\n");
  auto got = store_->read_message_prefixes(kUser, "INBOX", {b.uid, 999, a.uid}, {15, 5, 1000});
  ASSERT_EQ(got.size(), 3u);
  ASSERT_TRUE(got[0].is_ok());
  EXPECT_EQ(*got[0], "Subject: bb\r\n\r\n");
  EXPECT_EQ(got[1].code(), Code::not_found);
  ASSERT_TRUE(got[2].is_ok());
  EXPECT_EQ(*got[2], "Subject: a\r\n\r\nfirst body\r\n");  // shorter than its limit
  auto whole = store_->read_messages(kUser, "INBOX", {a.uid});
  EXPECT_EQ(*whole[0], *got[2]);
}

TEST_F(StoreTest, MessagesAreReadIntoTheCallersBuffersWithAStatusEach) {
  // Bulk FETCH reads the files straight into its output, sized from the index.
  auto a = put("INBOX", "Subject: a\r\n\r\nfirst body\r\n");
  auto b = put("INBOX", "Subject: bb\r\n\r\nsecond\r\n");
  auto c = put("INBOX", "Subject: c\r\n\r\nthird, cut short on disk\r\n");
  std::string wa = *store_->read_message(kUser, "INBOX", a.uid);
  std::string wb = *store_->read_message(kUser, "INBOX", b.uid);
  std::string wc = *store_->read_message(kUser, "INBOX", c.uid);
  // The file of c loses its last octets behind the index's back.
  MessageFiles files(options_.root + "/" + kUser, false);
  std::filesystem::resize_file(files.path_for(c.guid), wc.size() - 4);
  std::string out(wa.size() + wb.size() + wc.size() + 3, '#');
  std::vector<std::span<char>> dest{{out.data(), wb.size()},
                                    {out.data() + wb.size() + 1, 3},
                                    {out.data() + wb.size() + 1, wa.size()},
                                    {out.data() + wb.size() + wa.size() + 2, wc.size()}};
  auto st = store_->read_messages_into(kUser, "INBOX", {b.uid, 999, a.uid, c.uid}, dest);
  ASSERT_EQ(st.size(), 4u);
  EXPECT_TRUE(st[0].is_ok());
  EXPECT_EQ(st[1].code(), Code::not_found);  // no such UID
  EXPECT_TRUE(st[2].is_ok());
  EXPECT_EQ(st[3].code(), Code::io_error) << st[3].to_string();
  EXPECT_EQ(out.substr(0, wb.size() + 1 + wa.size() + 1), wb + "#" + wa + "#");
  // A mailbox that does not exist: not_found for each message.
  auto one = store_->read_messages_into(kUser, "Nope", {a.uid}, {{out.data(), wa.size()}});
  EXPECT_EQ(one[0].code(), Code::not_found);
}

TEST_F(StoreTest, ScanHandsOverTheSnapshotsRecordsOneByOne) {
  // IMAP builds its compact view from scan(): the same records as snapshot(), in UID order.
  put("INBOX", message("1"));
  auto b = put("INBOX", message("2"), kSeen);
  put("INBOX", message("3"));
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", {1}).is_ok());
  auto snap = store_->snapshot(kUser, "INBOX");
  ASSERT_TRUE(snap.is_ok());
  std::vector<MessageMeta> seen;
  auto head = store_->scan(kUser, "INBOX", [&](const MessageMeta& m) { seen.push_back(m); });
  ASSERT_TRUE(head.is_ok());
  EXPECT_TRUE(head->messages.empty());
  EXPECT_EQ(head->uid_validity, snap->uid_validity);
  EXPECT_EQ(head->uid_next, snap->uid_next);
  EXPECT_EQ(head->highest_modseq, snap->highest_modseq);
  ASSERT_EQ(seen.size(), 2u);
  ASSERT_EQ(snap->messages.size(), 2u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].uid, snap->messages[i].uid);
    EXPECT_EQ(seen[i].guid, snap->messages[i].guid);
    EXPECT_EQ(seen[i].flags, snap->messages[i].flags);
  }
  EXPECT_EQ(seen[0].uid, b.uid);
  EXPECT_EQ(store_->scan(kUser, "Nowhere", [](const MessageMeta&) {}).code(), Code::not_found);
}

TEST_F(StoreTest, IdleIndexesAreClosedAndReopenedOnUse) {
  put("INBOX", message("1"));
  auto* fs = dynamic_cast<FileStore*>(store_.get());
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(fs->open_users(), 1u);
  int64_t now = FileStore::idle_seconds();
  EXPECT_EQ(fs->close_idle(now), 0u);  // just used
  EXPECT_EQ(fs->close_idle(now + options_.idle_close_seconds + 1), 1u);
  EXPECT_EQ(fs->open_users(), 0u);
  // Reopened by the next use, nothing lost.
  auto snap = store_->snapshot(kUser, "INBOX");
  ASSERT_TRUE(snap.is_ok());
  EXPECT_EQ(snap->messages.size(), 1u);
  EXPECT_EQ(fs->open_users(), 1u);
  // 0 keeps them open.
  options_.idle_close_seconds = 0;
  FileStore keeping(options_);
  ASSERT_TRUE(keeping.snapshot(kUser, "INBOX").is_ok());
  EXPECT_EQ(keeping.close_idle(now + 100000), 0u);
  EXPECT_EQ(keeping.open_users(), 1u);
}

// Issue 20: an IMAP session that hibernates tells the store it may close the account's index
// at once (MailStore::release_idle); another account's index stays open.
TEST_F(StoreTest, ReleaseIdleClosesThatAccountsIndexOnly) {
  put("INBOX", message("1"));
  auto* fs = dynamic_cast<FileStore*>(store_.get());
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(fs->open_users(), 1u);
  fs->release_idle("0b6c2f1e-0000-4000-8000-000000000000");  // not open: nothing happens
  EXPECT_EQ(fs->open_users(), 1u);
  fs->release_idle(kUser);
  EXPECT_EQ(fs->open_users(), 0u);
  auto snap = store_->snapshot(kUser, "INBOX");  // reopened by the next use, nothing lost
  ASSERT_TRUE(snap.is_ok());
  EXPECT_EQ(snap->messages.size(), 1u);
}

TEST_F(StoreTest, UidsStrictlyIncreaseAndAreNeverReused) {
  auto a = put("INBOX", message("1"));
  auto b = put("INBOX", message("2"));
  EXPECT_EQ(a.uid, 1u);
  EXPECT_EQ(b.uid, 2u);
  EXPECT_GT(b.modseq, a.modseq);
  auto gone = store_->expunge(kUser, "INBOX", {b.uid});
  ASSERT_TRUE(gone.is_ok());
  EXPECT_EQ(*gone, std::vector<uint32_t>{2});
  auto c = put("INBOX", message("3"));
  EXPECT_EQ(c.uid, 3u);  // 2 is never handed out again
  auto st = store_->mailbox_status(kUser, "inbox");
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->uid_next, 4u);
  EXPECT_EQ(st->messages, 2u);
  EXPECT_EQ(st->uid_validity, a.uid_validity);
}

TEST_F(StoreTest, ModseqIncreasesOnEveryChange) {
  auto a = put("INBOX", message("1"));
  auto st0 = store_->mailbox_status(kUser, "INBOX");
  StoreFlagsRequest f;
  f.uids = {a.uid};
  f.flags = kSeen;
  auto r1 = store_->store_flags(kUser, "INBOX", f);
  ASSERT_TRUE(r1.is_ok());
  ASSERT_EQ(r1->updated.size(), 1u);
  EXPECT_GT(r1->updated[0].modseq, a.modseq);
  // Setting a flag that is already set changes nothing and does not bump MODSEQ.
  auto st1 = store_->mailbox_status(kUser, "INBOX");
  auto r2 = store_->store_flags(kUser, "INBOX", f);
  ASSERT_TRUE(r2.is_ok());
  auto st2 = store_->mailbox_status(kUser, "INBOX");
  EXPECT_GT(st1->highest_modseq, st0->highest_modseq);
  EXPECT_EQ(st2->highest_modseq, st1->highest_modseq);
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", {a.uid}).is_ok());
  auto st3 = store_->mailbox_status(kUser, "INBOX");
  EXPECT_GT(st3->highest_modseq, st2->highest_modseq);
}

TEST_F(StoreTest, FlagsAndKeywords) {
  auto a = put("INBOX", message("1"), kDraft);
  StoreFlagsRequest f;
  f.uids = {a.uid, 999};  // 999 does not exist: ignored
  f.op = FlagOp::add;
  f.flags = kSeen | kFlagged;
  f.keywords = {"$Forwarded", "Work", "work"};
  auto r = store_->store_flags(kUser, "INBOX", f);
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->updated.size(), 1u);
  EXPECT_EQ(r->updated[0].flags, uint32_t(kSeen | kFlagged | kDraft));
  EXPECT_EQ(r->updated[0].keywords, (std::vector<std::string>{"$Forwarded", "Work"}));
  f.op = FlagOp::remove;
  f.flags = kFlagged;
  f.keywords = {"WORK"};
  r = store_->store_flags(kUser, "INBOX", f);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->updated[0].flags, uint32_t(kSeen | kDraft));
  EXPECT_EQ(r->updated[0].keywords, std::vector<std::string>{"$Forwarded"});
  f.op = FlagOp::replace;
  f.flags = kAnswered;
  f.keywords = {};
  r = store_->store_flags(kUser, "INBOX", f);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->updated[0].flags, uint32_t(kAnswered));
  EXPECT_TRUE(r->updated[0].keywords.empty());
  // Unknown bits are dropped; bad keywords are refused.
  f.flags = 0xFFFFFF00u | kSeen;
  r = store_->store_flags(kUser, "INBOX", f);
  EXPECT_EQ(r->updated[0].flags, uint32_t(kSeen));
  f.keywords = {"bad word"};
  EXPECT_EQ(store_->store_flags(kUser, "INBOX", f).code(), Code::invalid_argument);
  f.keywords = {"\\Seen"};
  EXPECT_EQ(store_->store_flags(kUser, "INBOX", f).code(), Code::invalid_argument);
  auto st = store_->mailbox_status(kUser, "INBOX");
  EXPECT_EQ(st->unseen, 0u);
}

TEST_F(StoreTest, UnchangedSinceReportsModified) {
  auto a = put("INBOX", message("1"));
  auto b = put("INBOX", message("2"));
  StoreFlagsRequest f;
  f.uids = {b.uid};
  f.flags = kSeen;
  auto r = store_->store_flags(kUser, "INBOX", f);
  uint64_t b_modseq = r->updated[0].modseq;
  f.uids = {a.uid, b.uid};
  f.flags = kFlagged;
  f.unchanged_since = b_modseq - 1;  // a is older, b was changed after
  r = store_->store_flags(kUser, "INBOX", f);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->modified, std::vector<uint32_t>{b.uid});
  ASSERT_EQ(r->updated.size(), 1u);
  EXPECT_EQ(r->updated[0].uid, a.uid);
}

TEST_F(StoreTest, ChangesSinceListsChangedAndVanished) {
  auto a = put("INBOX", message("1"));
  auto b = put("INBOX", message("2"));
  auto c = put("INBOX", message("3"));
  auto mark = store_->mailbox_status(kUser, "INBOX")->highest_modseq;
  StoreFlagsRequest f;
  f.uids = {a.uid};
  f.flags = kSeen;
  ASSERT_TRUE(store_->store_flags(kUser, "INBOX", f).is_ok());
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", {b.uid}).is_ok());
  auto d = put("INBOX", message("4"));
  auto ch = store_->changes_since(kUser, "INBOX", mark);
  ASSERT_TRUE(ch.is_ok());
  std::vector<uint32_t> changed;
  for (auto& m : ch->changed) changed.push_back(m.uid);
  EXPECT_EQ(changed, (std::vector<uint32_t>{a.uid, d.uid}));
  EXPECT_EQ(ch->expunged, std::vector<uint32_t>{b.uid});
  EXPECT_EQ(ch->highest_modseq, store_->mailbox_status(kUser, "INBOX")->highest_modseq);
  auto none = store_->changes_since(kUser, "INBOX", ch->highest_modseq);
  EXPECT_TRUE(none->changed.empty());
  EXPECT_TRUE(none->expunged.empty());
  (void)c;
}

TEST_F(StoreTest, TombstonesNameTheMessageTheyRemoved) {
  // JMAP Email/changes names destroyed Emails by the guid (index version 5).
  auto a = put("INBOX", message("1"));
  auto b = put("INBOX", message("2"));
  auto c = put("INBOX", message("3"));
  auto mark = store_->mailbox_status(kUser, "INBOX")->highest_modseq;
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", {c.uid, a.uid}).is_ok());
  ASSERT_TRUE(store_->move(kUser, "INBOX", {b.uid}, "Trash").is_ok());
  auto ch = store_->changes_since(kUser, "INBOX", mark);
  ASSERT_TRUE(ch.is_ok());
  EXPECT_EQ(ch->expunged, (std::vector<uint32_t>{a.uid, b.uid, c.uid}));
  EXPECT_EQ(ch->expunged_guids, (std::vector<std::string>{a.guid, b.guid, c.guid}));
  // Renaming INBOX leaves tombstones for every message it moved out.
  auto d = put("INBOX", message("4"));
  mark = store_->mailbox_status(kUser, "INBOX")->highest_modseq;
  ASSERT_TRUE(store_->rename_mailbox(kUser, "INBOX", "Old").is_ok());
  ch = store_->changes_since(kUser, "INBOX", mark);
  ASSERT_TRUE(ch.is_ok());
  EXPECT_EQ(ch->expunged_guids, std::vector<std::string>{d.guid});
}

TEST_F(StoreTest, QuotaIsExactAndDistinguishesTooLargeFromOverQuota) {
  std::string m1 = message("one", std::string(100, 'x'));
  std::string m2 = message("two", std::string(50, 'y'));
  put("INBOX", m1);
  put("Sent", m2);
  auto usage = store_->quota_usage(kUser);
  ASSERT_TRUE(usage.is_ok());
  uint64_t sum = 0;
  auto list = store_->list_mailboxes(kUser);
  for (auto& b : *list) {
    auto snap = store_->snapshot(kUser, b.name);
    for (auto& m : snap->messages) sum += m.size;
  }
  EXPECT_EQ(usage->bytes, sum);
  EXPECT_EQ(usage->bytes, normalize_crlf(m1).size() + normalize_crlf(m2).size());
  EXPECT_EQ(usage->messages, 2u);

  AppendRequest r;
  r.message = m1;
  r.quota_bytes = usage->bytes + normalize_crlf(m1).size();  // fits exactly
  EXPECT_TRUE(store_->append(kUser, r).is_ok());
  EXPECT_EQ(store_->append(kUser, r).code(), Code::over_quota);
  r.quota_bytes = 10;  // the message alone is larger
  EXPECT_EQ(store_->append(kUser, r).code(), Code::too_large);
  r.quota_bytes = 0;
  r.quota_messages = 3;
  EXPECT_EQ(store_->append(kUser, r).code(), Code::over_quota);
  EXPECT_EQ(store_->quota_usage(kUser)->messages, 3u);

  // Copies count; moves do not change usage; expunge releases.
  auto snap = store_->snapshot(kUser, "INBOX");
  std::vector<uint32_t> uids;
  for (auto& m : snap->messages) uids.push_back(m.uid);
  uint64_t before = store_->quota_usage(kUser)->bytes;
  EXPECT_EQ(store_->copy(kUser, "INBOX", uids, "Trash", Quota{before + 1, 0}).code(),
            Code::over_quota);
  ASSERT_TRUE(store_->copy(kUser, "INBOX", uids, "Trash", Quota{}).is_ok());
  EXPECT_GT(store_->quota_usage(kUser)->bytes, before);
  ASSERT_TRUE(store_->move(kUser, "Trash", {1}, "Junk").is_ok());
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", uids).is_ok());
  ASSERT_TRUE(store_->delete_mailbox(kUser, "Trash", false).is_ok());
  ASSERT_TRUE(store_->delete_mailbox(kUser, "Junk", false).is_ok());
  ASSERT_TRUE(store_->expunge(kUser, "Sent", {1}).is_ok());
  EXPECT_EQ(store_->quota_usage(kUser)->bytes, 0u);
  EXPECT_EQ(store_->quota_usage(kUser)->messages, 0u);
  // Files are gone once nothing references them.
  auto report = fsck_user(options_, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->consistent());
  EXPECT_EQ(report->files, 0u);
  EXPECT_EQ(report->orphan_files, 0u);
}

// A lost index.db must not turn into an empty mailbox: opening the user rebuilds the index from
// the message files, and fsck --repair afterwards has no garbage to remove. (Before, opening
// created an empty index and a later fsck --repair deleted every message file as unreferenced.)
TEST_F(StoreTest, MissingIndexIsRebuiltFromTheFilesWhenTheUserIsOpened) {
  put("INBOX", message("1"));
  put("Sent", message("2"));
  store_.reset();
  std::string dir = options_.root + "/" + kUser;
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((dir + "/index.db" + suffix).c_str());
  store_ = open_file_store(options_);
  auto st = store_->mailbox_status(kUser, "INBOX");
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->messages, 2u);  // both recovered into INBOX
  EXPECT_EQ(store_->quota_usage(kUser)->messages, 2u);
  store_.reset();
  auto report = fsck_user(options_, kUser, FsckOptions{true, 0});
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->consistent());
  EXPECT_EQ(report->orphan_files, 0u);
  EXPECT_EQ(report->files, 2u);
  store_ = open_file_store(options_);
  EXPECT_EQ(store_->mailbox_status(kUser, "INBOX")->messages, 2u);
}

// A new user (no index, no files) still starts with an empty index.
TEST_F(StoreTest, NewUserStartsEmpty) {
  auto st = store_->mailbox_status("newcomer", "INBOX");
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->messages, 0u);
}

TEST_F(StoreTest, CopyAndMove) {
  auto a = put("INBOX", message("1"), kSeen);
  auto b = put("INBOX", message("2"));
  ASSERT_TRUE(store_->create_mailbox(kUser, "Archive/2026", SpecialUse::none).is_ok());
  auto c = store_->copy(kUser, "INBOX", {b.uid, a.uid, 77}, "Archive/2026", Quota{});
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->source_uids, (std::vector<uint32_t>{a.uid, b.uid}));
  EXPECT_EQ(c->dest_uids, (std::vector<uint32_t>{1, 2}));
  auto dst = store_->snapshot(kUser, "Archive/2026");
  ASSERT_EQ(dst->messages.size(), 2u);
  EXPECT_EQ(dst->messages[0].flags, uint32_t(kSeen));
  EXPECT_EQ(*store_->read_message(kUser, "Archive/2026", 2),
            *store_->read_message(kUser, "INBOX", b.uid));
  EXPECT_EQ(dst->messages[0].guid, store_->snapshot(kUser, "INBOX")->messages[0].guid);

  auto mark = store_->mailbox_status(kUser, "INBOX")->highest_modseq;
  auto m = store_->move(kUser, "INBOX", {a.uid}, "Archive/2026");
  ASSERT_TRUE(m.is_ok());
  EXPECT_EQ(m->dest_uids, std::vector<uint32_t>{3});
  EXPECT_EQ(store_->snapshot(kUser, "INBOX")->messages.size(), 1u);
  EXPECT_EQ(store_->changes_since(kUser, "INBOX", mark)->expunged, std::vector<uint32_t>{a.uid});
  // Expunging the original keeps the copy readable (shared file).
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", {b.uid}).is_ok());
  EXPECT_TRUE(store_->read_message(kUser, "Archive/2026", 2).is_ok());
  EXPECT_EQ(store_->copy(kUser, "INBOX", {1}, "Nope", Quota{}).code(), Code::not_found);
  EXPECT_EQ(store_->move(kUser, "Nope", {1}, "INBOX").code(), Code::not_found);
}

TEST_F(StoreTest, FactsFromExtractorOrLazily) {
  StoreOptions o = options_;
  std::atomic<int> calls{0};
  o.facts = [&](std::string_view m) {
    ++calls;
    return "len=" + std::to_string(m.size());
  };
  auto s = open_file_store(o);
  AppendRequest r;
  r.message = "Subject: a\n\nb\n";
  auto a = s->append(kUser, r);
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(*s->facts(kUser, "INBOX", a->uid), "len=17");
  EXPECT_EQ(calls.load(), 1);  // cached, not recomputed
  // Appended through a store without an extractor: empty there, computed lazily here.
  auto b = put("INBOX", "Subject: b\n\nxy\n");
  EXPECT_EQ(*store_->facts(kUser, "INBOX", b.uid), "");
  EXPECT_EQ(*s->facts(kUser, "INBOX", b.uid), "len=18");
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(s->facts(kUser, "INBOX", 99).code(), Code::not_found);
}

TEST_F(StoreTest, RefreshFactsReplacesTheCachedBlob) {
  // A blob in an older format (here: from the first extractor) is recomputed and kept.
  StoreOptions o = options_;
  std::string version = "v1";
  o.facts = [&](std::string_view m) { return version + ":" + std::to_string(m.size()); };
  auto s = open_file_store(o);
  AppendRequest r;
  r.message = "Subject: a\n\nb\n";
  auto a = s->append(kUser, r);
  ASSERT_TRUE(a.is_ok());
  ASSERT_TRUE(s->copy(kUser, "INBOX", {a->uid}, "INBOX", Quota{}).is_ok());
  version = "v2";
  EXPECT_EQ(*s->facts(kUser, "INBOX", a->uid), "v1:17");
  EXPECT_EQ(*s->refresh_facts(kUser, "INBOX", a->uid), "v2:17");
  EXPECT_EQ(*s->facts(kUser, "INBOX", a->uid), "v2:17");
  EXPECT_EQ(*s->facts(kUser, "INBOX", a->uid + 1), "v2:17");  // the copy shares the file
  EXPECT_EQ(s->refresh_facts(kUser, "INBOX", 99).code(), Code::not_found);
}

TEST_F(StoreTest, ThrowingExtractorDoesNotRefuseDelivery) {
  StoreOptions o = options_;
  bool fail = true;
  o.facts = [&](std::string_view) -> std::string {
    if (fail) throw std::runtime_error("parser bug");
    return "ok";
  };
  auto s = open_file_store(o);
  AppendRequest r;
  r.message = "Subject: a\n\nb\n";
  auto a = s->append(kUser, r);
  ASSERT_TRUE(a.is_ok());
  fail = false;
  EXPECT_EQ(*s->facts(kUser, "INBOX", a->uid), "ok");  // computed on first use
}

TEST_F(StoreTest, RetrievalMark) {
  auto a = put("INBOX", message("1"));
  auto before = store_->mailbox_status(kUser, "INBOX")->highest_modseq;
  ASSERT_TRUE(store_->mark_retrieved(kUser, "INBOX", a.uid, 1700000000, "192.0.2.7").is_ok());
  auto m = store_->snapshot(kUser, "INBOX")->messages.at(0);
  EXPECT_EQ(m.retrieved_at, 1700000000);
  EXPECT_EQ(m.retrieved_by, "192.0.2.7");
  EXPECT_EQ(store_->mailbox_status(kUser, "INBOX")->highest_modseq, before);
  EXPECT_EQ(store_->mark_retrieved(kUser, "INBOX", 42, 1, "x").code(), Code::not_found);
}

// Files in the user's retrievals/ directory (the POP3 retrieval journals).
std::vector<std::string> journals(const std::string& root, const std::string& user) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root + "/" + user + "/retrievals", ec)) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

TEST_F(StoreTest, RetrievalJournalReachesTheIndexAtSyncAndGoesAtClose) {
  auto a = put("INBOX", message("1"));
  auto b = put("INBOX", message("2"));
  auto before = store_->mailbox_status(kUser, "INBOX")->highest_modseq;
  auto j = store_->open_retrieval_journal(kUser, "inbox", "192.0.2.7");
  ASSERT_TRUE(j.is_ok()) << j.status().to_string();
  ASSERT_EQ(journals(options_.root, kUser).size(), 1u);
  ASSERT_TRUE((*j)->append(a.uid, 1700000000).is_ok());
  ASSERT_TRUE((*j)->append(999, 1700000001).is_ok());  // expunged meanwhile: skipped
  // Appended marks are in the journal only; a sync applies them.
  EXPECT_EQ(store_->snapshot(kUser, "INBOX")->messages.at(0).retrieved_at, 0);
  ASSERT_TRUE((*j)->sync().is_ok());
  auto m = store_->snapshot(kUser, "INBOX")->messages;
  EXPECT_EQ(m.at(0).retrieved_at, 1700000000);
  EXPECT_EQ(m.at(0).retrieved_by, "192.0.2.7");
  EXPECT_EQ(m.at(1).retrieved_at, 0);
  ASSERT_TRUE((*j)->append(b.uid, 1700000002).is_ok());
  ASSERT_TRUE((*j)->close().is_ok());
  EXPECT_EQ(store_->snapshot(kUser, "INBOX")->messages.at(1).retrieved_at, 1700000002);
  EXPECT_TRUE(journals(options_.root, kUser).empty());
  // Not an IMAP-visible change.
  EXPECT_EQ(store_->mailbox_status(kUser, "INBOX")->highest_modseq, before);
}

TEST_F(StoreTest, JournalOfADeadSessionIsReplayedWhenTheStoreOpensTheUser) {
  auto a = put("INBOX", message("1"));
  auto b = put("INBOX", message("2"));
  auto c = put("INBOX", message("3"));
  {
    auto j = store_->open_retrieval_journal(kUser, "INBOX", "198.51.100.9");
    ASSERT_TRUE(j.is_ok());
    ASSERT_TRUE((*j)->append(a.uid, 1700000100).is_ok());
    ASSERT_TRUE((*j)->append(c.uid, 1700000101).is_ok());
    // Dropped without sync or close: what a kill -9 of the process leaves behind.
  }
  auto names = journals(options_.root, kUser);
  ASSERT_EQ(names.size(), 1u);
  // A torn last line (the process died inside write()) is ignored.
  std::string path = options_.root + "/" + kUser + "/retrievals/" + names[0];
  FILE* f = std::fopen(path.c_str(), "a");
  std::fputs(std::to_string(b.uid).c_str(), f);
  std::fclose(f);
  store_.reset();
  store_ = open_file_store(options_);  // a restarted process
  auto m = store_->snapshot(kUser, "INBOX")->messages;
  EXPECT_EQ(m.at(0).retrieved_at, 1700000100);
  EXPECT_EQ(m.at(0).retrieved_by, "198.51.100.9");
  EXPECT_EQ(m.at(1).retrieved_at, 0);
  EXPECT_EQ(m.at(2).retrieved_at, 1700000101);
  EXPECT_TRUE(journals(options_.root, kUser).empty());
}

TEST_F(StoreTest, LiveJournalIsNotReplayedAndOldMarksDoNotMoveBack) {
  auto a = put("INBOX", message("1"));
  auto live = store_->open_retrieval_journal(kUser, "INBOX", "192.0.2.1");
  ASSERT_TRUE(live.is_ok());
  ASSERT_TRUE((*live)->append(a.uid, 1700000500).is_ok());
  // A second store (another process) opens the user: the journal is locked, so it stays.
  auto other = open_file_store(options_);
  EXPECT_EQ(other->snapshot(kUser, "INBOX")->messages.at(0).retrieved_at, 0);
  auto j2 = other->open_retrieval_journal(kUser, "INBOX", "192.0.2.2");
  ASSERT_TRUE(j2.is_ok());
  EXPECT_EQ(journals(options_.root, kUser).size(), 2u);
  ASSERT_TRUE((*j2)->append(a.uid, 1700000900).is_ok());
  ASSERT_TRUE((*j2)->close().is_ok());
  EXPECT_EQ(store_->snapshot(kUser, "INBOX")->messages.at(0).retrieved_by, "192.0.2.2");
  // The older mark of the first session arrives later and leaves the newer one in place.
  ASSERT_TRUE((*live)->close().is_ok());
  auto m = store_->snapshot(kUser, "INBOX")->messages.at(0);
  EXPECT_EQ(m.retrieved_at, 1700000900);
  EXPECT_EQ(m.retrieved_by, "192.0.2.2");
  EXPECT_TRUE(journals(options_.root, kUser).empty());
}

TEST_F(StoreTest, WatchSeesCommittedChangesUntilHandleDropped) {
  std::vector<uint64_t> seen;
  std::mutex mu;
  auto h = store_->watch(kUser, "inbox", [&](const ChangeEvent& e) {
    std::lock_guard<std::mutex> lk(mu);
    EXPECT_EQ(e.mailbox, "INBOX");
    seen.push_back(e.modseq);
  });
  auto a = put("INBOX", message("1"));
  put("Sent", message("2"));  // another mailbox: not reported
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", {a.uid}).is_ok());
  {
    std::lock_guard<std::mutex> lk(mu);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], a.modseq);
    EXPECT_GT(seen[1], seen[0]);
  }
  h.reset();
  put("INBOX", message("3"));
  std::lock_guard<std::mutex> lk(mu);
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(StoreTest, BadInputsAreRefusedCleanly) {
  AppendRequest r;
  std::string msg = message("x");
  r.message = msg;
  r.mailbox = "NoSuchBox";
  EXPECT_EQ(store_->append(kUser, r).code(), Code::not_found);
  r.create_mailbox = true;
  EXPECT_TRUE(store_->append(kUser, r).is_ok());
  r.mailbox = "../escape";
  EXPECT_EQ(store_->append(kUser, r).code(), Code::invalid_argument);
  r.mailbox = "INBOX";
  r.keywords = {"has space"};
  EXPECT_EQ(store_->append(kUser, r).code(), Code::invalid_argument);
  for (const std::string& bad_user :
       std::vector<std::string>{"", ".", "..", "../etc", "a/b", std::string("a\0b", 3)})
    EXPECT_EQ(store_->list_mailboxes(bad_user).code(), Code::invalid_argument) << bad_user;
  EXPECT_EQ(store_->read_message(kUser, "INBOX", 12345).code(), Code::not_found);
  // Nothing was left behind by the refused appends.
  auto report = fsck_user(options_, kUser, FsckOptions{false, 0});
  ASSERT_TRUE(report.is_ok());
  EXPECT_TRUE(report->consistent());
  EXPECT_EQ(report->orphan_files, 0u);
  EXPECT_EQ(report->files, 1u);
}

// Delivery re-creating "Junk" or "Ads" after the user deleted them (spam and ads verdicts):
// the special use comes back and the folder is subscribed; another new folder gets neither.
TEST_F(StoreTest, DeliveryRecreatesJunkAndAdsAsSpecialFolders) {
  ASSERT_TRUE(store_->list_mailboxes(kUser).is_ok());  // the special folders exist
  for (const char* name : {"Junk", "Ads"}) {
    ASSERT_TRUE(store_->delete_mailbox(kUser, name).is_ok()) << name;
  }
  std::string msg = message("x");
  for (const char* name : {"Junk", "Ads", "Elsewhere"}) {
    AppendRequest r;
    r.message = msg;
    r.mailbox = name;
    r.create_mailbox = true;
    ASSERT_TRUE(store_->append(kUser, r).is_ok()) << name;
  }
  auto boxes = store_->list_mailboxes(kUser);
  ASSERT_TRUE(boxes.is_ok());
  std::map<std::string, MailboxInfo> by_name;
  for (const auto& b : *boxes) by_name[b.name] = b;
  EXPECT_EQ(by_name["Junk"].special_use, SpecialUse::junk);
  EXPECT_TRUE(by_name["Junk"].subscribed);
  EXPECT_EQ(by_name["Ads"].special_use, SpecialUse::ads);
  EXPECT_TRUE(by_name["Ads"].subscribed);
  EXPECT_EQ(by_name["Elsewhere"].special_use, SpecialUse::none);
  EXPECT_FALSE(by_name["Elsewhere"].subscribed);
}

}  // namespace
}  // namespace mailroom::store::testing
