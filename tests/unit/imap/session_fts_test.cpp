// SEARCH BODY/TEXT with the full-text index (src/fts, search.cpp): messages the index has seen
// are candidates by word (or word start) and CJK n-grams, verified by the substring matcher;
// messages delivered since are read and matched as without the index; no index, no change.
#include <gtest/gtest.h>

#include "src/fts/indexer.h"
#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

const char kLogin[] = "a LOGIN alice wonderland\r\n";
const char kAccount[] = "acct-alice";

class ImapFts : public ImapSession {
 protected:
  ImapFts() {
    indexer_ =
        std::make_shared<fts::Indexer>(fts::Options{}, (dir_ / "mail").string(), services_.store);
    services_.fts = indexer_;
  }
  void index() {
    auto s = indexer_->catch_up(kAccount);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  static std::string utf8_search(const std::string& tag, const std::string& key,
                                 const std::string& value) {
    return tag + " SEARCH CHARSET UTF-8 " + key + " {" + std::to_string(value.size()) + "+}\r\n" +
           value + "\r\n";
  }
  std::shared_ptr<fts::Indexer> indexer_;
};

TEST_F(ImapFts, IndexedAndNotYetIndexedMessagesAreBothFound) {
  run({std::string(kLogin) +
       append("b", message("one", "foobar \xe5\x85\xa8\xe6\x96\x87\xe6\xaa\xa2\xe7\xb4\xa2")) +
       append("c", message("two", "nothing to see")) + "d LOGOUT\r\n"});
  index();
  // Delivered after the index caught up: above its mark, searched the old way.
  std::string out = run(
      {std::string(kLogin) +
       append("b", message("three", "foobar \xe5\x85\xa8\xe6\x96\x87\xe6\xaa\xa2\xe7\xb4\xa2")) +
       "c SELECT INBOX\r\n" + utf8_search("d", "BODY", "\xe6\x96\x87\xe6\xaa\xa2") +  // 文檢
       utf8_search("e", "TEXT", "\xe5\x85\xa8\xe6\x96\x87") +                         // 全文
       "f SEARCH BODY foobar\r\n"
       "g SEARCH BODY oob\r\n"
       "h SEARCH TEXT two\r\n"
       "i SEARCH BODY zzz\r\n"
       "j SEARCH NOT BODY foobar\r\n"
       "k SEARCH OR BODY nothing BODY foob\r\n"
       "l LOGOUT\r\n"});
  auto untagged = [&](const std::string& tag) {
    auto l = lines_of(out, tag);
    return l.size() >= 2 ? l[l.size() - 2] : std::string();
  };
  EXPECT_EQ(untagged("d"), "* SEARCH 1 3") << out;
  EXPECT_EQ(untagged("e"), "* SEARCH 1 3") << out;
  EXPECT_EQ(untagged("f"), "* SEARCH 1 3") << out;
  // Inside a word: the indexed message 1 is not a candidate (word-start semantics, as
  // Dovecot's FTS); message 3, not yet indexed, is matched as a substring.
  EXPECT_EQ(untagged("g"), "* SEARCH 3") << out;
  EXPECT_EQ(untagged("h"), "* SEARCH 2") << out;  // TEXT covers the header (Subject: two)
  EXPECT_EQ(tagged(out, "i"), "i OK SEARCH completed") << out;
  EXPECT_EQ(untagged("i"), "* SEARCH") << out;
  EXPECT_EQ(untagged("j"), "* SEARCH 2") << out;
  EXPECT_EQ(untagged("k"), "* SEARCH 1 2 3") << out;
  // The search queued the user for catching up (message 3 is above the mark).
  EXPECT_GE(indexer_->queued(), 1u);
  index();
  out = run({std::string(kLogin) + "b SELECT INBOX\r\nc SEARCH BODY oob\r\nd LOGOUT\r\n"});
  auto l = lines_of(out, "c");
  ASSERT_GE(l.size(), 2u) << out;
  EXPECT_EQ(l[l.size() - 2], "* SEARCH") << out;  // both indexed now: word-start semantics
}

TEST_F(ImapFts, WithoutAnIndexSearchIsASubstringScan) {
  services_.fts.reset();
  std::string out = run({std::string(kLogin) + append("b", message("one", "foobar")) +
                         "c SELECT INBOX\r\nd SEARCH BODY oob\r\ne LOGOUT\r\n"});
  auto l = lines_of(out, "d");
  ASSERT_GE(l.size(), 2u) << out;
  EXPECT_EQ(l[l.size() - 2], "* SEARCH 1") << out;
}

}  // namespace
}  // namespace mailroom::imap
