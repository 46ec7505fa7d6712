// The full-text index over a real FileStore (src/fts/indexer.h, index.h): CJK substrings in
// UTF-8, Big5, GB2312 and attachments; Latin words; expunge, copy, deleted mailboxes; an index
// behind the store; the index deleted and rebuilt; hostile messages; the background thread.
#include "src/fts/indexer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "src/core/base64.h"
#include "src/mime/facts.h"
#include "src/store/mail_store.h"
#include "src/store/store_options.h"
#include "tests/unit/fts/fixtures.h"

namespace mailroom::fts {
namespace {

constexpr const char* kUser = "0b6c2f1e-1111-4222-8333-944455556666";

std::string text_message(const std::string& subject, const std::string& body,
                         const std::string& charset = "utf-8") {
  return "From: Wang <wang@example.com>\r\nTo: li@example.com\r\nSubject: " + subject +
         "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=" + charset +
         "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n";
}

class IndexerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mailroom-fts-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    dir_ = tmpl;
    open();
  }
  void open(Options o = {}) {
    indexer_.reset();
    store_.reset();
    store::StoreOptions so;
    so.root = dir_ + "/mail";
    so.fsync = false;
    indexer_ = std::make_shared<Indexer>(o, so.root);
    so.on_change = [this](const store::ChangeEvent& ev) { indexer_->notify(ev.account_id); };
    store_ = store::open_file_store(so);
    indexer_->attach(store_);
  }
  void TearDown() override {
    indexer_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  uint32_t put(const std::string& msg, const std::string& mailbox = "INBOX") {
    store::AppendRequest r;
    r.mailbox = mailbox;
    r.message = msg;
    auto res = store_->append(kUser, r);
    EXPECT_TRUE(res.is_ok()) << res.status().to_string();
    return res.is_ok() ? res->uid : 0;
  }
  // Messages that match none of the tests' needles: the index answers only while at most
  // half of a mailbox may match.
  void filler(int n, const std::string& mailbox = "INBOX") {
    for (int i = 0; i < n; ++i) put(text_message("filler", "nothing of note here"), mailbox);
  }
  store::MailboxInfo box(const std::string& name = "INBOX") {
    auto b = store_->mailbox_status(kUser, name);
    EXPECT_TRUE(b.is_ok());
    return b.is_ok() ? *b : store::MailboxInfo{};
  }
  void catch_up() {
    auto s = indexer_->catch_up(kUser);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  std::optional<Candidates> find(const std::string& needle, const std::string& mailbox = "INBOX",
                                 Scope scope = Scope::body) {
    auto b = box(mailbox);
    return indexer_->candidates(kUser, b.uid_validity, b.uid_next - 1, scope,
                                mime::fold_case(needle));
  }
  // The candidates, or {0} when the index could not narrow (nullopt, or narrows false), so
  // a test cannot pass by the index saying nothing.
  std::vector<uint32_t> uids(const std::string& needle, const std::string& mailbox = "INBOX",
                             Scope scope = Scope::body) {
    auto c = find(needle, mailbox, scope);
    return c && c->narrows ? c->uids : std::vector<uint32_t>{0};
  }
  uint64_t documents() {
    auto st = indexer_->status(kUser);
    EXPECT_TRUE(st.is_ok());
    return st.is_ok() ? st->documents : 0;
  }

  std::string dir_;
  std::shared_ptr<store::MailStore> store_;
  std::shared_ptr<Indexer> indexer_;
};

using V = std::vector<uint32_t>;

TEST_F(IndexerTest, CjkSubstringsOfTwoOrMoreCharactersInEveryCharset) {
  uint32_t utf8 = put(text_message("週報", "本週進度：全文檢索已經完成。"));
  uint32_t big5 = put(text_message(
      "big5", "\xa4\xa4\xa4\xe5\xa5\xfe\xa4\xe5\xc0\xcb\xaf\xc1\xb4\xfa\xb8\xd5", "big5"));
  uint32_t gb = put(text_message(
      "gb", "\xbc\xf2\xcc\xe5\xd6\xd0\xce\xc4\xcb\xd1\xcb\xf7\xb2\xe2\xca\xd4", "gb2312"));
  uint32_t attached = put(
      "Subject: attached\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nsee the file\r\n"
      "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; "
      "filename=a.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "6ZmE5Lu26KOh55qE6Zec6Y215a2X5Liy\r\n--b--\r\n");
  uint32_t other = put(text_message("other", "完全無關的郵件"));
  catch_up();
  EXPECT_EQ(uids("全文檢索"), (V{utf8, big5}));
  EXPECT_EQ(uids("檢索"), (V{utf8, big5}));
  EXPECT_EQ(uids("進度"), V{utf8});
  EXPECT_EQ(uids("檢索測試"), V{big5});
  EXPECT_EQ(uids("中文全"), V{big5});
  EXPECT_EQ(uids("体中"), V{gb});
  EXPECT_EQ(uids("搜索测试"), V{gb});
  EXPECT_EQ(uids("關鍵字"), V{attached});
  EXPECT_EQ(uids("的關"), V{attached});
  EXPECT_EQ(uids("無關"), V{other});
  EXPECT_EQ(uids("無鍵"), V{});                        // both characters occur, never side by side
  EXPECT_EQ(uids("週報", "INBOX", Scope::body), V{});  // the subject is not body text
  EXPECT_EQ(uids("週報", "INBOX", Scope::text), V{utf8});
}

TEST_F(IndexerTest, LatinWordsMatchAsWordsOrTheirStart) {
  uint32_t a = put(text_message("q3", "The Quarterly REVENUE report is attached."));
  uint32_t b = put(text_message("lunch", "Lunch at noon? Straße geschlossen."));
  catch_up();
  EXPECT_EQ(uids("revenue"), V{a});
  EXPECT_EQ(uids("quarterly revenue"), V{a});
  EXPECT_EQ(uids("reve"), V{a});         // the start of a word
  EXPECT_EQ(uids("evenue"), V{});        // inside a word: not a candidate (README "Semantics")
  EXPECT_EQ(uids("strasse"), V{b});      // case folded as SEARCH folds the needle (ß -> ss)
  EXPECT_FALSE(find("at").has_value());  // too short to narrow: the caller scans
  EXPECT_FALSE(find("?!").has_value());
}

TEST_F(IndexerTest, NeedlesInMostOfTheMailboxAreLeftToTheScan) {
  uint32_t a = put(text_message("a", "tamarind paste"));
  uint32_t b = put(text_message("b", "tamarind juice"));
  filler(1);
  catch_up();
  auto c = find("tamarind");  // 2 of 3: reading locations would not pay, the caller scans
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->narrows);
  EXPECT_TRUE(c->uids.empty());
  EXPECT_EQ(uids("paste"), V{a});
  EXPECT_EQ(uids("juice"), V{b});
}

TEST_F(IndexerTest, ExpungedMessageIsNoLongerACandidate) {
  uint32_t a = put(text_message("a", "pineapple invoice"));
  uint32_t b = put(text_message("b", "pineapple receipt"));
  filler(3);
  catch_up();
  EXPECT_EQ(uids("pineapple"), (V{a, b}));
  auto gone = store_->expunge(kUser, "INBOX", {a});
  ASSERT_TRUE(gone.is_ok());
  catch_up();
  EXPECT_EQ(uids("pineapple"), V{b});
  EXPECT_EQ(uids("invoice"), V{});
  EXPECT_EQ(documents(), 4u);  // b and the fillers
}

TEST_F(IndexerTest, CopyAndMoveAddLocationsNotDocuments) {
  uint32_t a = put(text_message("a", "mangosteen season"));
  filler(2);
  catch_up();
  ASSERT_TRUE(store_->create_mailbox(kUser, "Archive").is_ok());
  filler(2, "Archive");
  auto copied = store_->copy(kUser, "INBOX", {a}, "Archive", {});
  ASSERT_TRUE(copied.is_ok());
  catch_up();
  EXPECT_EQ(documents(), 5u);  // the copy shares the original's document
  EXPECT_EQ(uids("mangosteen", "Archive"), V{copied->dest_uids[0]});
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", {a}).is_ok());
  catch_up();
  EXPECT_EQ(uids("mangosteen", "INBOX"), V{});
  EXPECT_EQ(uids("mangosteen", "Archive"), V{copied->dest_uids[0]});
  EXPECT_EQ(documents(), 5u);
  ASSERT_TRUE(store_->delete_mailbox(kUser, "Archive").is_ok());
  catch_up();
  EXPECT_EQ(documents(), 2u);  // INBOX's fillers
}

TEST_F(IndexerTest, MessagesAboveTheMarkAreLeftToTheCaller) {
  uint32_t a = put(text_message("a", "durian"));
  filler(3);
  catch_up();
  uint32_t b = put(text_message("b", "durian"));  // delivered, not indexed yet
  auto c = find("durian");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->indexed_through, b - 1);  // a and the fillers
  EXPECT_LT(c->indexed_through, b);      // SEARCH reads b itself
  EXPECT_EQ(c->uids, V{a});
  EXPECT_GE(indexer_->queued(), 1u);  // the store's notice (and the search) queued the user
  catch_up();
  EXPECT_EQ(uids("durian"), (V{a, b}));
}

TEST_F(IndexerTest, DeletedIndexIsRebuiltWithNothingLost) {
  std::vector<uint32_t> all;
  for (int i = 0; i < 30; ++i)
    all.push_back(put(text_message("m", "lychee 荔枝 " + std::to_string(i))));
  filler(30);
  catch_up();
  EXPECT_EQ(uids("荔枝"), all);
  std::filesystem::remove_all(dir_ + "/mail/" + kUser + "/fts");
  EXPECT_FALSE(find("荔枝").has_value());  // no index: SEARCH scans
  ASSERT_TRUE(indexer_->rebuild(kUser).is_ok());
  EXPECT_EQ(uids("荔枝"), all);
  EXPECT_EQ(uids("lychee"), all);
  EXPECT_EQ(documents(), 60u);
  auto st = indexer_->status(kUser);
  ASSERT_TRUE(st.is_ok());
  for (const auto& m : st->mailboxes) EXPECT_EQ(m.pending, 0u) << m.name;
}

TEST_F(IndexerTest, HostileMessagesAreIndexedWithinBounds) {
  Options o;
  o.max_text_bytes = 64 << 10;
  open(o);
  std::string huge = "starfruit ";
  while (huge.size() < (4u << 20)) huge += "filler words of a very long message ";
  huge += "kumquat";
  uint32_t big = put(text_message("huge", huge));
  uint32_t bad = put(text_message("bad", "\xff\xfe guava \x80\x81", "x-unknown-charset"));
  uint32_t bin =
      put("Subject: bin\r\nContent-Type: application/octet-stream\r\n"
          "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQoLDA0ODw==\r\n");
  static constexpr char kNul[] = "Subject: nul\r\n\r\npapaya\0\0\0tail\r\n";
  uint32_t nul = put(std::string(kNul, sizeof(kNul) - 1));
  catch_up();
  EXPECT_EQ(uids("starfruit"), V{big});
  EXPECT_EQ(uids("kumquat"), V{});  // past max_text_bytes: documented limit
  EXPECT_EQ(uids("guava"), V{bad});
  EXPECT_EQ(uids("papaya"), V{nul});
  EXPECT_EQ(documents(), 4u);
  auto st = indexer_->status(kUser);
  ASSERT_TRUE(st.is_ok());
  EXPECT_LT(st->bytes, 4u << 20);  // the huge body was cut, not indexed whole
  (void)bin;
}

TEST_F(IndexerTest, BackgroundThreadIndexesWhatTheStoreCommits) {
  indexer_->start();
  filler(2);
  uint32_t a = put(text_message("a", "rambutan"));
  indexer_->drain();
  EXPECT_EQ(uids("rambutan"), V{a});
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", {a}).is_ok());
  indexer_->drain();
  EXPECT_EQ(uids("rambutan"), V{});
  indexer_->stop();
}

TEST_F(IndexerTest, FullQueueDropsNoticesAndCatchingUpRepairs) {
  Options o;
  o.queue_limit = 1;
  open(o);
  indexer_->notify("someone-else");
  filler(2);
  uint32_t a = put(text_message("a", "longan"));  // its notice is dropped: the queue is full
  EXPECT_GE(indexer_->dropped_notices(), 1u);
  auto c = find("longan");
  EXPECT_FALSE(c.has_value());  // never indexed: SEARCH scans
  catch_up();                   // what the next notice or SEARCH leads to
  EXPECT_EQ(uids("longan"), V{a});
}

TEST_F(IndexerTest, DisabledIndexerAnswersNothing) {
  Options o;
  o.enabled = false;
  open(o);
  put(text_message("a", "jackfruit"));
  EXPECT_EQ(indexer_->queued(), 0u);
  catch_up();
  EXPECT_FALSE(find("jackfruit").has_value());
}

// A DOCX attachment's Chinese text (docx2txt): the index keeps it, so SEARCH can match a
// 2-character substring found nowhere else; a needle whose n-grams are all in the attachment
// but not as one substring is no attachment match (no false positive).
TEST_F(IndexerTest, AttachmentTextIsMatchedAsASubstring) {
  if (::access("/usr/bin/docx2txt", X_OK) != 0) GTEST_SKIP() << "docx2txt is not installed";
  uint32_t with = put(
      "Subject: report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
      "--b\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml."
      "document\r\nContent-Disposition: attachment; filename=r.docx\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      core::base64_encode(fixtures::docx("中文附件 文件")) + "\r\n--b--\r\n");
  filler(3);
  catch_up();
  auto c = find("附件");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->attachment_uids, V{with});
  EXPECT_EQ(c->uids, V{with});
  c = find("中文件");  // bigrams 中文 and 文件 are there, the substring is not
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->attachment_uids.empty());
}

}  // namespace
}  // namespace mailroom::fts
