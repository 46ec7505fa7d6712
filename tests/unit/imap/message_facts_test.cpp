// load_facts over the real FileStore: a facts blob of an older format is recomputed once and
// kept; a store without an extractor is answered by parsing the message.
#include "src/imap/message_facts.h"

#include <gtest/gtest.h>

#include "src/store/store_options.h"
#include "tests/unit/store/store_test_util.h"

namespace mailroom::imap {
namespace {

using store::testing::StoreTest;

const std::string kMessage = "From: John Q. Public <jqp@example.com>\r\nSubject: s\r\n\r\nbody\r\n";

// What the version 1 extractor wrote: "MRF1" and no last record.
std::string version_one_blob(std::string_view message) {
  std::string blob = mime::extract_facts(message);
  mime::Facts f = mime::parse_facts(message);
  std::string flags = std::to_string(f.fields) + (f.has_sent_date ? " 1" : " 0");
  size_t last = blob.size() - (std::to_string(flags.size()) + ":" + flags).size();
  return "MRF1\n" + blob.substr(5, last - 5);
}

class MessageFactsTest : public StoreTest {};

TEST_F(MessageFactsTest, OlderBlobIsRecomputedOnceAndKept) {
  store::StoreOptions o = options_;
  bool old_extractor = true;
  int calls = 0;
  o.facts = [&](std::string_view m) {
    ++calls;
    return old_extractor ? version_one_blob(m) : mime::extract_facts(m);
  };
  auto s = store::open_file_store(o);
  store::AppendRequest r;
  r.message = kMessage;
  auto a = s->append(kUser, r);
  ASSERT_TRUE(a.is_ok());
  ASSERT_EQ(mime::decode_facts(*s->facts(kUser, "INBOX", a->uid))->version, 1u);
  old_extractor = false;
  auto f = load_facts(*s, kUser, "INBOX", a->uid, nullptr);
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->version, mime::kFactsVersion);
  EXPECT_EQ(f->from, "John Q. Public <jqp@example.com>");
  EXPECT_EQ(calls, 2);
  ASSERT_TRUE(load_facts(*s, kUser, "INBOX", a->uid, nullptr).is_ok());
  EXPECT_EQ(calls, 2);  // kept: not recomputed again
  EXPECT_EQ(mime::decode_facts(*s->facts(kUser, "INBOX", a->uid))->version, mime::kFactsVersion);
  EXPECT_EQ(load_facts(*s, kUser, "INBOX", 99, nullptr).code(), core::Code::not_found);
}

TEST_F(MessageFactsTest, WithoutExtractorTheMessageIsParsed) {
  auto a = put("INBOX", kMessage);
  auto f = load_facts(*store_, kUser, "INBOX", a.uid, nullptr);
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->from, "John Q. Public <jqp@example.com>");
  EXPECT_EQ(f->fields, mime::kFieldFrom | mime::kFieldSubject);
}

}  // namespace
}  // namespace mailroom::imap
