#include <gtest/gtest.h>

#include "src/queue/envelope_codec.h"
#include "src/queue/header_facts.h"

namespace mailroom::queue {
namespace {

TEST(EnvelopeCodec, RoundTrip) {
  Envelope e;
  e.sender = "a b%c@example.com";
  e.body = "8BITMIME";
  e.smtputf8 = true;
  e.ret = "HDRS";
  e.envid = "x+2By";
  e.auth_account_id = "uuid-1";
  e.client_ip = "::1";
  e.helo = "client\r\nX-Injected: 1";
  e.received_at = 1700000000;
  EnvelopeRecipient r;
  r.rcpt = "info@example.com";
  r.notify = "SUCCESS,FAILURE";
  r.orcpt = "rfc822;info+40example.com";
  r.destination.account_id = "uuid-2";
  r.destination.address = "alice@example.com";
  r.destination.folder = "INBOX";
  r.destination.quota_bytes = 1000;
  e.recipients.push_back(r);
  r.destination.kind = auth::Destination::Kind::remote;
  r.destination.account_id = "";
  r.destination.address = "x@remote.example";
  r.destination.folder = "";
  r.destination.forwarded_by = "carol smith@example.com";  // a forward, with a space to escape
  e.recipients.push_back(r);
  auto d = decode_envelope(encode_envelope(e));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->sender, e.sender);
  EXPECT_EQ(d->helo, e.helo);
  EXPECT_TRUE(d->smtputf8);
  EXPECT_EQ(d->received_at, e.received_at);
  ASSERT_EQ(d->recipients.size(), 2u);
  EXPECT_EQ(d->recipients[0].destination.address, "alice@example.com");
  EXPECT_EQ(d->recipients[0].destination.quota_bytes, 1000u);
  EXPECT_EQ(d->recipients[0].orcpt, r.orcpt);
  EXPECT_EQ(d->recipients[1].destination.kind, auth::Destination::Kind::remote);
  EXPECT_EQ(d->recipients[1].destination.folder, "");
  EXPECT_EQ(d->recipients[0].destination.forwarded_by, "");
  EXPECT_EQ(d->recipients[1].destination.forwarded_by, "carol smith@example.com");
  // A spool written before forwarded_by existed (ten fields) still decodes.
  auto old = decode_envelope(
      "sender a@example.com\nR b@example.com %20 %20 mailbox id b@example.com"
      " INBOX 0 0\n");
  ASSERT_TRUE(old.has_value());
  ASSERT_EQ(old->recipients.size(), 1u);
  EXPECT_EQ(old->recipients[0].destination.forwarded_by, "");
}

TEST(EnvelopeCodec, RejectsGarbage) {
  EXPECT_FALSE(decode_envelope("sender %ZZ\n").has_value());
  EXPECT_FALSE(decode_envelope("R too few\n").has_value());
}

TEST(HeaderFacts, DecodesEncodedWords) {
  std::string msg =
      "Received: from x by y id MR0000000000000000ABCD;\r\n"
      "From: =?UTF-8?B?w4FsaWNl?= <alice@example.com>\r\n"
      "Subject: =?ISO-8859-1?Q?caf=E9?=\r\n"
      " continued\r\n"
      "Message-ID: <abc@example.com>\r\n"
      "\r\n"
      "Subject: not a header\r\n";
  auto f = extract_header_facts(msg);
  EXPECT_EQ(f.message_id, "abc@example.com");
  EXPECT_EQ(f.from, "\xc3\x81lice <alice@example.com>");
  EXPECT_EQ(f.subject, "caf\xc3\xa9 continued");
  auto ids = queue_ids_in_headers(msg);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0], "MR0000000000000000ABCD");
}

// A decoded subject longer than the log's 998 bytes is cut before a character, not inside one.
TEST(HeaderFacts, LongSubjectsAreCutAtACharacter) {
  std::string subject;
  for (int i = 0; i < 400; ++i) subject += "\xe5\xa0\xb1";  // 1,200 bytes of U+5831
  auto f = extract_header_facts("Subject: " + subject + "\r\n\r\nbody\r\n");
  EXPECT_EQ(f.subject.size(), 996u);  // 332 whole characters
  EXPECT_EQ(f.subject, subject.substr(0, 996));
}

TEST(HeaderFacts, QueueIdsOnlyInHeaders) {
  EXPECT_TRUE(queue_ids_in_headers("Subject: x\r\n\r\nMR0000000000000000ABCD\r\n").empty());
}

}  // namespace
}  // namespace mailroom::queue
