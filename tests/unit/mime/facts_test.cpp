// The facts blob across versions, and the SEARCH text of address lists (RFC 3501 6.4.4).
#include "src/mime/facts.h"

#include <gtest/gtest.h>

namespace mailroom::mime {
namespace {

const std::string kMessage =
    "From: John\r\n\tSmith <js@example.com>\r\n"
    "To: a@example.com\r\n"
    "To: \"John \\\"JJ\\\" Smith\" <jj@example.com>, <@r1,@r2:g@h.i>\r\n"
    "Cc: team: x@example.com, =?UTF-8?Q?J=C3=BCrgen?= <j@example.com>;, z@example.com\r\n"
    "Subject: long\r\n\tsubject\r\n"
    "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n"
    "\r\n"
    "body\r\n";

TEST(Facts, SearchFormOfAddressLists) {
  Facts f = parse_facts(kMessage);
  EXPECT_EQ(f.from, "John Smith <js@example.com>");
  // Every To: field, each one written on its own line.
  EXPECT_EQ(f.to, "a@example.com\nJohn \"JJ\" Smith <jj@example.com>, <@r1,@r2:g@h.i>");
  EXPECT_EQ(f.cc, "team: x@example.com, Jürgen <j@example.com>;, z@example.com");
  EXPECT_EQ(f.bcc, "");
  EXPECT_EQ(f.fields, kFieldFrom | kFieldTo | kFieldCc | kFieldSubject);
  EXPECT_TRUE(f.has_sent_date);  // the epoch is a date like any other
  EXPECT_EQ(f.sent_date, 0);
  Facts g = parse_facts("From:\r\nX-Other: 1\r\n\r\n");
  EXPECT_EQ(g.fields, kFieldFrom);  // present, if empty
  EXPECT_FALSE(g.has_sent_date);
}

TEST(Facts, BlobRoundTripKeepsVersionTwoFields) {
  auto back = decode_facts(extract_facts(kMessage));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  Facts direct = parse_facts(kMessage);
  EXPECT_EQ(back->version, kFactsVersion);
  EXPECT_EQ(back->to, direct.to);
  EXPECT_EQ(back->fields, direct.fields);
  EXPECT_TRUE(back->has_sent_date);
  EXPECT_EQ(back->envelope, direct.envelope);
}

TEST(Facts, VersionOneBlobsStillDecode) {
  // A version 1 blob is a version 2 blob without its last record, under "MRF1".
  std::string blob = extract_facts(kMessage);
  ASSERT_EQ(blob.substr(0, 5), "MRF2\n");
  std::string flags = std::to_string(kFieldFrom | kFieldTo | kFieldCc | kFieldSubject) + " 1";
  std::string record = std::to_string(flags.size()) + ":" + flags;
  ASSERT_TRUE(blob.ends_with(record));
  size_t last = blob.size() - record.size();
  std::string v1 = "MRF1\n" + blob.substr(5, last - 5);
  auto old = decode_facts(v1);
  ASSERT_TRUE(old.is_ok()) << old.status().to_string();
  EXPECT_EQ(old->version, 1u);
  EXPECT_EQ(old->bodystructure, parse_facts(kMessage).bodystructure);
  EXPECT_FALSE(decode_facts("MRF3\n" + blob.substr(5)).is_ok());
  EXPECT_FALSE(decode_facts("MRF2\n" + blob.substr(5, last - 5)).is_ok());  // record missing
}

}  // namespace
}  // namespace mailroom::mime
