// The sort key file (src/imap/sort_key_file.h) and the key tables over the real FileStore
// (src/imap/sort_keys.h): round trip, rejected files rebuilt, concurrent fills. Then the FETCH
// cache (src/imap/fetch_cache.h): its header text answers HEADER.FIELDS exactly as the whole
// header does, and its tables take records batch by batch, persist under their own magic and
// rebuild rejected files.
#include "src/imap/sort_keys.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "src/imap/fetch_cache.h"
#include "src/imap/sort_order.h"
#include "src/imap/thread.h"
#include "src/mime/facts.h"
#include "src/store/store_options.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::imap {
namespace {

using store::testing::StoreTest;

std::string numbered_message(int i) {
  return "From: Person " + std::to_string(i % 7) + " <p" + std::to_string(i % 7) +
         "@example.com>\r\nTo: t@example.com\r\nSubject: Re: topic " + std::to_string(i % 5) +
         "\r\nDate: Mon, " + std::to_string(1 + i % 28) +
         " Jun 2026 10:00:00 +0200\r\nMessage-ID: <m" + std::to_string(i) +
         "@x>\r\nReferences: <m" + std::to_string(i / 2) + "@x>\r\n\r\nbody\r\n";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void spit(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

TEST(SortKeyFile, RecordRoundTrip) {
  KeyFields f;
  f.sent_date = -5;
  f.sent_tz = 120;
  f.fields = 0x1f;
  f.has_sent_date = true;
  f.reply_or_forward = true;
  for (size_t i = 0; i < kKeyTexts; ++i) f.texts[i] = std::string(i, static_cast<char>('a' + i));
  std::string r = encode_key_record(f);
  ASSERT_EQ(key_record_size(r), r.size());
  EXPECT_EQ(key_record_size(r.substr(0, r.size() - 1)), 0u);
  KeyRecord k(r.data());
  EXPECT_EQ(k.sent_date(), -5);
  EXPECT_EQ(k.sent_tz(), 120);
  EXPECT_EQ(k.fields(), 0x1f);
  EXPECT_TRUE(k.has_sent_date());
  EXPECT_TRUE(k.reply_or_forward());
  for (size_t i = 0; i < kKeyTexts; ++i) EXPECT_EQ(k.text(static_cast<KeyText>(i)), f.texts[i]);
  EXPECT_EQ(k.bytes(), r);
  KeyRecord none;
  EXPECT_EQ(none.text(KeyText::references), "");
  EXPECT_FALSE(none.has_sent_date());
}

TEST(SortKeyFile, ImageRoundTripAndEveryCorruptionRejected) {
  std::vector<std::string> recs;
  for (int i = 0; i < 5; ++i) {
    KeyFields f;
    f.texts[0] = "SUBJECT " + std::to_string(i);
    recs.push_back(encode_key_record(f));
  }
  std::vector<std::pair<uint32_t, std::string_view>> entries;
  for (int i = 0; i < 5; ++i) entries.emplace_back(10 + 3 * i, recs[i]);
  std::string image = key_file_image(777, entries);
  auto f = KeyFile::from_bytes(image, 777);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  ASSERT_EQ((*f)->count(), 5u);
  EXPECT_EQ((*f)->uid_at(2), 16u);
  EXPECT_EQ((*f)->record_at(4).text(KeyText::base_subject), "SUBJECT 4");
  EXPECT_EQ(KeyFile::from_bytes(image, 778).code(), core::Code::invalid_argument);
  // Every truncation and every single flipped byte is caught.
  for (size_t n = 0; n < image.size(); ++n)
    EXPECT_FALSE(KeyFile::from_bytes(image.substr(0, n), 777).is_ok()) << n;
  for (size_t i = 0; i < image.size(); ++i) {
    std::string bad = image;
    bad[i] ^= 0x40;
    EXPECT_FALSE(KeyFile::from_bytes(bad, 777).is_ok()) << i;
  }
  EXPECT_TRUE(KeyFile::from_bytes(key_file_image(1, {}), 1).is_ok());
}

// SORT compares 24-octet prefixes first: keys equal in them, shorter than them, or with NUL
// octets must still order as whole octet strings (RFC 5256 7), ties by sequence number.
TEST(SortOrder, PrefixesOrderAsTheWholeKeys) {
  std::vector<std::string> subjects = {"ABCDEFGHZ",
                                       "ABCDEFGHA",
                                       "ABC",
                                       std::string("ABC\0", 4),
                                       "",
                                       "ABCDEFGH",
                                       "\xC3\x89",
                                       "ABC",
                                       "B",
                                       "ABCDEFGHIJKLMNOP",
                                       "ABCDEFGHIJKLMNOPQ",
                                       std::string("ABCDEFGHIJKLMNOP\0", 17),
                                       "ABCDEFGHIJKLMNOPA",
                                       std::string("ABCDEFGHIJKLMNO\0", 16),
                                       "ABCDEFGHIJKLMNOPQRSTUVWX",
                                       "ABCDEFGHIJKLMNOPQRSTUVWXY",
                                       std::string("ABCDEFGHIJKLMNOPQRSTUVWX\0", 25),
                                       "ABCDEFGHIJKLMNOPQRSTUVWA"};
  std::vector<std::string> recs;
  for (const auto& sub : subjects) {
    KeyFields f;
    f.texts[static_cast<size_t>(KeyText::base_subject)] = sub;
    f.has_sent_date = sub.size() % 2 == 1;
    f.sent_date = static_cast<int64_t>(sub.size());
    recs.push_back(encode_key_record(f));
  }
  std::vector<SortInput> in;
  for (size_t i = 0; i < recs.size(); ++i)
    in.push_back({KeyRecord(recs[i].data()), static_cast<int64_t>(100 - i), i % 3});
  std::vector<uint32_t> want(in.size());
  for (uint32_t i = 0; i < want.size(); ++i) want[i] = i;
  std::stable_sort(want.begin(), want.end(),
                   [&](uint32_t a, uint32_t b) { return subjects[a] < subjects[b]; });
  EXPECT_EQ(sort_order(in, {{"SUBJECT", false}}), want);
  std::stable_sort(want.begin(), want.end(),
                   [&](uint32_t a, uint32_t b) { return subjects[a] > subjects[b]; });
  EXPECT_EQ(sort_order(in, {{"SUBJECT", true}}), want);
  // DATE falls back to INTERNALDATE without a sent date (RFC 5256 2.2); SIZE then breaks ties.
  auto date = [&](uint32_t i) {
    return in[i].keys.has_sent_date() ? in[i].keys.sent_date() : in[i].internal_date;
  };
  std::sort(want.begin(), want.end(), [&](uint32_t a, uint32_t b) {
    if (date(a) != date(b)) return date(a) > date(b);
    if (in[a].size != in[b].size) return in[a].size < in[b].size;
    return a < b;
  });
  EXPECT_EQ(sort_order(in, {{"DATE", true}, {"SIZE", false}, {"NONSENSE", false}}), want);
}

class SortKeysTest : public StoreTest {
 protected:
  void SetUp() override {
    options_.facts = [](std::string_view m) { return mime::extract_facts(m); };
    StoreTest::SetUp();
  }
  std::vector<uint32_t> add(int n, int from = 0) {
    std::vector<uint32_t> uids;
    for (int i = from; i < from + n; ++i) uids.push_back(put("INBOX", numbered_message(i)).uid);
    return uids;
  }
  uint32_t uid_validity() { return store_->mailbox_status(kUser, "INBOX")->uid_validity; }
  std::string key_path() {
    auto dir = store_->cache_dir(kUser);  // created on first use
    EXPECT_EQ(*dir, dir_ + "/mail/" + kUser + "/cache");
    return *dir + "/" + std::to_string(uid_validity()) + ".keys";
  }
  // Checks every record against keys computed from the message now.
  void expect_exact(const KeyTable& t, const std::vector<uint32_t>& uids) {
    auto recs = t.lookup(uids);
    for (size_t i = 0; i < uids.size(); ++i) {
      ASSERT_TRUE(recs[i].present()) << uids[i];
      auto m = store_->read_message(kUser, "INBOX", uids[i]);
      std::string want = encode_key_record(key_fields_of(mime::parse_facts(*m)));
      EXPECT_EQ(recs[i].bytes(), want) << uids[i];
    }
  }
};

TEST_F(SortKeysTest, KeysEqualTheFactsAndPersist) {
  auto uids = add(40);
  {
    SortKeyRegistry reg;
    auto t = reg.keys(*store_, kUser, "INBOX", uid_validity(), uids);
    EXPECT_EQ(t->file_count(), 40u);  // first fill: written to the file
    expect_exact(*t, uids);
  }
  ASSERT_TRUE(std::filesystem::exists(key_path()));
  EXPECT_EQ(std::filesystem::status(dir_ + "/mail/" + kUser + "/cache").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  // A new process maps the file and reads nothing from the store.
  MailboxKeys again(key_path(), uid_validity());
  EXPECT_EQ(again.current()->file_count(), 40u);
  expect_exact(*again.current(), uids);
  // New messages: kept in memory until they are more than an eighth of the file.
  auto more = add(3, 40);
  uids.insert(uids.end(), more.begin(), more.end());
  auto t = again.fill(*store_, kUser, "INBOX", uids);
  EXPECT_EQ(t->file_count(), 40u);
  EXPECT_EQ(t->added_count(), 3u);
  expect_exact(*t, uids);
  auto lots = add(5, 43);
  uids.insert(uids.end(), lots.begin(), lots.end());
  t = again.fill(*store_, kUser, "INBOX", uids);
  EXPECT_EQ(t->file_count(), 48u);
  EXPECT_EQ(t->added_count(), 0u);
  expect_exact(*t, uids);
  // The rewrite keeps only the UIDs the mailbox still has.
  ASSERT_TRUE(store_->expunge(kUser, "INBOX", {uids[0], uids[1]}).is_ok());
  uids.erase(uids.begin(), uids.begin() + 2);
  auto last = add(7, 48);
  uids.insert(uids.end(), last.begin(), last.end());
  t = again.fill(*store_, kUser, "INBOX", uids);
  EXPECT_EQ(t->file_count(), uids.size());
  expect_exact(*t, uids);
}

TEST_F(SortKeysTest, BadFilesAreRemovedAndRebuilt) {
  auto uids = add(20);
  { MailboxKeys(key_path(), uid_validity()).fill(*store_, kUser, "INBOX", uids); }
  std::string good = slurp(key_path());
  ASSERT_FALSE(good.empty());
  std::string other = key_file_image(uid_validity() + 1, {});
  std::string flipped = good;
  flipped[good.size() / 2] ^= 1;
  std::string wrong_version = good;
  wrong_version[8] = 9;
  for (const std::string& bad : {good.substr(0, good.size() - 10), good.substr(0, 20), flipped,
                                 wrong_version, other, std::string("garbage")}) {
    spit(key_path(), bad);
    MailboxKeys mk(key_path(), uid_validity());
    EXPECT_EQ(mk.current()->file_count(), 0u);
    EXPECT_FALSE(std::filesystem::exists(key_path()));  // never trusted
    auto t = mk.fill(*store_, kUser, "INBOX", uids);
    expect_exact(*t, uids);
    EXPECT_EQ(slurp(key_path()), good);  // rebuilt, the same bytes
  }
}

TEST_F(SortKeysTest, ConcurrentFillsAgree) {
  auto uids = add(300);
  SortKeyRegistry reg;
  std::vector<std::shared_ptr<const KeyTable>> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i)
    threads.emplace_back(
        [&, i] { got[i] = reg.keys(*store_, kUser, "INBOX", uid_validity(), uids); });
  // A delivery racing the fills.
  auto late = add(1, 300);
  for (auto& t : threads) t.join();
  for (const auto& t : got) expect_exact(*t, uids);
  EXPECT_EQ(reg.tables(), 1u);
  uids.push_back(late[0]);
  expect_exact(*reg.keys(*store_, kUser, "INBOX", uid_validity(), uids), uids);
}

TEST_F(SortKeysTest, GoneMessagesHaveNoRecordAndOtherIncarnationsAreNotFilled) {
  auto uids = add(3);
  MailboxKeys mk("", uid_validity());
  auto t = mk.fill(*store_, kUser, "INBOX", {uids[0], uids[2], 999});
  auto r = t->lookup({uids[0], uids[2], 999});
  EXPECT_TRUE(r[0].present());
  EXPECT_FALSE(r[2].present());
  // A table of another UIDVALIDITY never takes this mailbox's facts.
  MailboxKeys stale("", uid_validity() + 5);
  EXPECT_FALSE(stale.fill(*store_, kUser, "INBOX", uids)->lookup(uids)[0].present());
}

TEST_F(SortKeysTest, FactsBatchMatchesFacts) {
  auto uids = add(600);
  std::vector<uint32_t> ask = {uids[599], 12345, uids[0], uids[300], uids[300]};
  auto got = store_->facts_batch(kUser, "INBOX", ask);
  ASSERT_EQ(got.size(), ask.size());
  EXPECT_EQ(got[1].code(), core::Code::not_found);
  for (size_t i : {0u, 2u, 3u, 4u}) {
    ASSERT_TRUE(got[i].is_ok());
    EXPECT_EQ(*got[i], *store_->facts(kUser, "INBOX", ask[i]));
  }
  EXPECT_FALSE(store_->facts_batch(kUser, "Nope", ask)[0].is_ok());
}

TEST_F(SortKeysTest, RegistryDropsLeastRecentlyUsed) {
  auto uids = add(10);
  ASSERT_TRUE(store_->create_mailbox(kUser, "Other").is_ok());
  uint32_t other = store_->mailbox_status(kUser, "Other")->uid_validity;
  SortKeyRegistry reg(1);  // every table is over budget: only the newest stays
  reg.keys(*store_, kUser, "INBOX", uid_validity(), uids);
  reg.keys(*store_, kUser, "Other", other, {});
  EXPECT_EQ(reg.tables(), 1u);
}

// Headers that stress the filter: folding, repeats, odd names, no blank line, junk lines.
const std::vector<std::string>& hostile_headers() {
  static const std::vector<std::string> kHeaders = {
      "From: a@example.com\r\nTo: b@example.com\r\nSubject: plain\r\n\r\n",
      "Subject: folded\r\n over\r\n\tthree lines\r\nTo: x@example.com\r\nTo: repeated@example."
      "com\r\nX-Other: not cached\r\n continued\r\nCc: c@example.com\r\n\r\n",
      "Subject : spaced name\r\nsubject: lower\r\nMESSAGE-ID: <id@x>\r\nX-Priority: 1\r\n\r\n",
      " leading continuation\r\nFrom: first@example.com\r\njunk line without colon\r\n"
      " continuation of junk\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\n",
      "From: no-blank-line@example.com\r\nSubject: header only",
      "Subject: =?UTF-8?B?w4lsw6h2ZQ==?=\r\nFrom: \xe7\x8e\x8b <w@example.com>\r\n\r\n",
      "X-A: 1\r\nX-B: 2\r\n\r\n",
      "\r\n",
      "",
      "From:\r\nTo:\r\n \r\nSubject:x\r\nReferences: <a@x>\r\n <b@x>\r\nContent-Type: "
      "text/plain;\r\n"
      " charset=utf-8\r\n\r\n"};
  return kHeaders;
}

std::vector<std::string> cached_names() {
  return {fetch_cached_fields().begin(), fetch_cached_fields().end()};
}

TEST(FetchCache, CachedFieldsAnswerEverySubsetLikeTheWholeHeader) {
  const std::vector<std::vector<std::string>> asks = {
      {"From", "To", "Cc", "Subject", "Date", "Message-ID", "References", "In-Reply-To",
       "Content-Type"},
      {"subject"},
      {"SUBJECT", "x-priority", "To", "To"},
      {"Newsgroups"},
      {},
      cached_names()};
  for (const auto& h : hostile_headers()) {
    std::string cached = mime::filter_header(h, cached_names(), false);
    for (const auto& ask : asks) {
      ASSERT_TRUE(fetch_cached_fields_cover(ask));
      EXPECT_EQ(mime::filter_header(cached, ask, false), mime::filter_header(h, ask, false)) << h;
    }
  }
  EXPECT_FALSE(fetch_cached_fields_cover({"Subject", "X-Other"}));
  EXPECT_FALSE(fetch_cached_fields_cover({"DKIM-Signature"}));
  EXPECT_TRUE(fetch_cached_fields_cover({"message-ID", "LIST-UNSUBSCRIBE"}));
}

TEST(FetchCache, RecordHoldsTheFactsAndOnlyCachedFields) {
  std::string msg = "From: a@example.com\r\nX-Big: " + std::string(3000, 'z') +
                    "\r\nSubject: hi\r\nContent-Type: text/plain\r\n\r\nbody text\r\n";
  mime::Facts f = mime::parse_facts(msg);
  auto rec = fetch_record(f, msg);
  ASSERT_TRUE(rec.has_value());
  KeyRecord r(rec->data());
  EXPECT_EQ(fetch_text(r, FetchText::envelope), f.envelope);
  EXPECT_EQ(fetch_text(r, FetchText::bodystructure), f.bodystructure);
  EXPECT_EQ(fetch_text(r, FetchText::body), f.body);
  EXPECT_EQ(fetch_text(r, FetchText::header_fields),
            "From: a@example.com\r\nSubject: hi\r\nContent-Type: text/plain\r\n\r\n");
  // Only the header is needed, and all of it: a shorter read gives no record.
  EXPECT_TRUE(fetch_record(f, std::string_view(msg).substr(0, f.root.header.end)).has_value());
  EXPECT_FALSE(fetch_record(f, std::string_view(msg).substr(0, f.root.header.end - 1)));
}

// The FETCH cache's tables over the real FileStore (fetch_cache.h): the same machinery as the
// key tables, other records, filled batch by batch (MailboxKeys::add).
class FetchCacheTest : public SortKeysTest {
 protected:
  std::vector<uint32_t> add(int n, int from = 0) {
    std::vector<uint32_t> uids;
    for (int i = from; i < from + n; ++i) {
      const auto& h = hostile_headers()[static_cast<size_t>(i) % hostile_headers().size()];
      std::string m = h.empty() || h.find("\r\n\r\n") == std::string::npos ? h + "\r\n" : h;
      uids.push_back(put("INBOX", m + "body " + std::to_string(i) + "\r\n").uid);
    }
    return uids;
  }
  std::string path() {
    return *store_->cache_dir(kUser) + "/" + std::to_string(uid_validity()) + ".fetch";
  }
  std::string want(uint32_t uid) {
    auto m = store_->read_message(kUser, "INBOX", uid);
    return *fetch_record(mime::parse_facts(*m), *m);
  }
  void expect_exact(const KeyTable& t, const std::vector<uint32_t>& uids) {
    auto recs = t.lookup(uids);
    for (size_t i = 0; i < uids.size(); ++i) {
      ASSERT_TRUE(recs[i].present()) << uids[i];
      EXPECT_EQ(recs[i].bytes(), want(uids[i])) << uids[i];
    }
  }
  std::vector<std::pair<uint32_t, std::shared_ptr<const std::string>>> made(
      const std::vector<uint32_t>& uids) {
    std::vector<std::pair<uint32_t, std::shared_ptr<const std::string>>> out;
    for (uint32_t u : uids) out.emplace_back(u, std::make_shared<const std::string>(want(u)));
    return out;
  }
};

TEST_F(FetchCacheTest, FillDerivesFromTheStoreAndPersistsUnderItsOwnMagic) {
  auto uids = add(30);
  SortKeyRegistry reg;
  auto t = reg.keys(*store_, kUser, "INBOX", uid_validity(), uids, kFetchCache);
  EXPECT_EQ(t->file_count(), 30u);
  expect_exact(*t, uids);
  ASSERT_TRUE(std::filesystem::exists(path()));
  MailboxKeys again(path(), uid_validity(), kFetchCache);
  EXPECT_EQ(again.current()->file_count(), 30u);
  expect_exact(*again.current(), uids);
  // The same bytes under the sort keys' magic are refused (and removed), and the other way.
  std::filesystem::copy_file(path(), path() + ".keys");
  MailboxKeys wrong(path() + ".keys", uid_validity());
  EXPECT_EQ(wrong.current()->file_count(), 0u);
  EXPECT_FALSE(std::filesystem::exists(path() + ".keys"));
  // A flipped byte: rejected, removed, rebuilt with the same bytes.
  std::string good;
  {
    std::ifstream in(path(), std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::string bad = good;
  bad[bad.size() - 5] ^= 0x20;
  std::ofstream(path(), std::ios::binary | std::ios::trunc) << bad;
  MailboxKeys rebuilt(path(), uid_validity(), kFetchCache);
  EXPECT_EQ(rebuilt.current()->file_count(), 0u);
  expect_exact(*rebuilt.fill(*store_, kUser, "INBOX", uids), uids);
}

TEST_F(FetchCacheTest, AddTakesBatchesAndRewritesOnTheLastOne) {
  auto uids = add(40);
  MailboxKeys mk(path(), uid_validity(), kFetchCache);
  std::vector<uint32_t> first(uids.begin(), uids.begin() + 25);
  // Not the last batch: kept in memory, no file yet.
  auto t = mk.add(*store_, kUser, "INBOX", made(first), nullptr);
  EXPECT_EQ(t->file_count(), 0u);
  EXPECT_EQ(t->added_count(), 25u);
  EXPECT_FALSE(std::filesystem::exists(path()));
  // Records it has are skipped; the last batch writes the mailbox's UIDs (minus gone ones).
  std::vector<uint32_t> rest(uids.begin() + 20, uids.end());
  std::vector<uint32_t> now(uids.begin() + 1, uids.end());
  t = mk.add(*store_, kUser, "INBOX", made(rest), &now);
  EXPECT_EQ(t->file_count(), 39u);
  EXPECT_EQ(t->added_count(), 0u);
  expect_exact(*t, now);
  EXPECT_FALSE(t->lookup({uids[0]})[0].present());
  MailboxKeys reopened(path(), uid_validity(), kFetchCache);
  expect_exact(*reopened.current(), now);
  // A few more, handed over in any order and twice: in memory until they pass an eighth of
  // the file, once each, ascending.
  auto more = add(3, 40);
  now.insert(now.end(), more.begin(), more.end());
  std::vector<uint32_t> shuffled = {more[2], more[0], more[1], more[0]};
  t = mk.add(*store_, kUser, "INBOX", made(shuffled), &now);
  EXPECT_EQ(t->file_count(), 39u);
  EXPECT_EQ(t->added_count(), 3u);
  expect_exact(*t, now);
  // Records of another incarnation are never taken.
  MailboxKeys other("", uid_validity() + 1, kFetchCache);
  EXPECT_EQ(other.add(*store_, kUser, "INBOX", made(more), nullptr)->added_count(), 0u);
}

}  // namespace
}  // namespace mailroom::imap
