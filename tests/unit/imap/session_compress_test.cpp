// COMPRESS (RFC 4978) through the session: the tagged OK leaves alone and uncompressed, the
// layer starts once (NO [COMPRESSIONACTIVE] after), unknown mechanisms and bad syntax are BAD
// with the session going on, and only after authentication. The scripted transport models
// the layer as identity (tests/fakes/scripted_transport.h); the deflate itself is tested in
// tests/unit/net (deflate_layer_test, connection_test) and on the wire in test_imap_ext2.py.
#include <gtest/gtest.h>

#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

const char kLoginZ[] = "a LOGIN alice wonderland\r\n";

using ImapCompress = ImapSession;

TEST_F(ImapCompress, AdvertisedAfterLoginAndStartsAfterTheTaggedOk) {
  ScriptedTransport t({"x CAPABILITY\r\n" + std::string(kLoginZ) +
                       "b CAPABILITY\r\nc SELECT INBOX\r\nd COMPRESS DEFLATE\r\ne NOOP\r\n"
                       "f LOGOUT\r\n"},
                      /*tls=*/true);
  std::string out = run(t);
  EXPECT_EQ(out.substr(0, out.find("x OK")).find("COMPRESS=DEFLATE"), std::string::npos) << out;
  EXPECT_NE(out.find(" COMPRESS=DEFLATE", out.find("a OK")), std::string::npos) << out;
  ASSERT_NE(t.compressed_from, std::string::npos) << out;
  // Everything before the layer ends with d's OK, nothing else is in its flush.
  std::string before = out.substr(0, t.compressed_from);
  EXPECT_EQ(before.substr(before.size() - 21), "d OK DEFLATE active\r\n") << out;
  EXPECT_EQ(tagged(out, "e"), "e OK NOOP completed") << out;
}

TEST_F(ImapCompress, OnceOnlyAndUnknownMechanismsAndBadSyntax) {
  ScriptedTransport t(
      {std::string(kLoginZ) + "b COMPRESS GZIP\r\nc COMPRESS\r\nd COMPRESS \"DEFLATE\"\r\n"
                              "e COMPRESS deflate\r\nf COMPRESS DEFLATE\r\ng NOOP\r\nh LOGOUT\r\n"},
      /*tls=*/true);
  std::string out = run(t);
  EXPECT_EQ(tagged(out, "b").rfind("b BAD ", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "c").rfind("c BAD ", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "d").rfind("d BAD ", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "e"), "e OK DEFLATE active") << out;  // case-insensitive
  EXPECT_EQ(tagged(out, "f").rfind("f NO [COMPRESSIONACTIVE]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "g").rfind("g OK", 0), 0u) << out;
}

TEST_F(ImapCompress, NotBeforeAuthentication) {
  ScriptedTransport t({"a COMPRESS DEFLATE\r\nb LOGOUT\r\n"}, /*tls=*/true);
  std::string out = run(t);
  EXPECT_EQ(tagged(out, "a").rfind("a BAD ", 0), 0u) << out;
  EXPECT_EQ(t.compressed_from, std::string::npos);
}

TEST_F(ImapCompress, UntaggedUpdatesWaitForTheNextCommandAfterTheLayer) {
  // Another session expunges while COMPRESS is read: its EXPUNGE must not go out in clear
  // after the OK (the client already inflates); a later command reports it, compressed.
  std::string msg = "Subject: x\r\n\r\nbody\r\n";
  HookedTransport t(
      {std::string(kLoginZ) + "b APPEND INBOX {" + std::to_string(msg.size()) + "+}\r\n" + msg +
       "\r\nc SELECT INBOX\r\nd COMPRESS DEFLATE\r\n"
       "e NOOP\r\nf LOGOUT\r\n"},
      "d COMPRESS", [this] {
        auto gone = services_.store->expunge("acct-alice", "INBOX", {1});
        ASSERT_TRUE(gone.is_ok());
      });
  std::string out = run(t);
  ASSERT_NE(t.compressed_from, std::string::npos) << out;
  EXPECT_EQ(out.find("d OK DEFLATE active\r\n") + 21, t.compressed_from) << out;
  // Absent (npos) or after the layer began, never in clear.
  EXPECT_GT(out.find("* 1 EXPUNGE"), t.compressed_from) << out;
}

}  // namespace
}  // namespace mailroom::imap
