// originator_addresses / normalize_header_line_ends: the send-as rule's view of a header.
#include "src/mime/originators.h"

#include <gtest/gtest.h>

namespace mailroom::mime {
namespace {

using Strings = std::vector<std::string>;

TEST(Originators, EveryMailboxOfFromAndSender) {
  auto o = originator_addresses(
      "From: Alice <alice@example.com>, bob@example.com\r\nSender: carol@example.com\r\n"
      "Reply-To: dave@example.com\r\n\r\nFrom: body@example.com\r\n");
  EXPECT_FALSE(o.unparseable);
  EXPECT_EQ(o.addresses, (Strings{"alice@example.com", "bob@example.com", "carol@example.com"}));
}

TEST(Originators, ObsoleteSpaceBeforeColonAndBareCr) {
  EXPECT_EQ(originator_addresses("From : bob@example.com\r\n\r\n").addresses,
            Strings{"bob@example.com"});
  EXPECT_EQ(originator_addresses("Subject: x\rFrom: bob@example.com\r\n\r\nbody").addresses,
            Strings{"bob@example.com"});
  EXPECT_EQ(originator_addresses("Subject: x\nFrom: bob@example.com\n\nbody").addresses,
            Strings{"bob@example.com"});
}

TEST(Originators, GroupsAndCommentsAndUnparseable) {
  auto g = originator_addresses("From: team: a@example.com, b@example.com;\r\n\r\n");
  EXPECT_EQ(g.addresses, (Strings{"a@example.com", "b@example.com"}));
  EXPECT_EQ(originator_addresses("From: (x@evil.example) a@example.com\r\n\r\n").addresses,
            Strings{"a@example.com"});
  EXPECT_TRUE(originator_addresses("From: undisclosed-recipients:;\r\n\r\n").unparseable);
  EXPECT_TRUE(originator_addresses("From: alice\r\n\r\n").unparseable);
  EXPECT_TRUE(originator_addresses("From:\r\n\r\n").unparseable);
  auto none = originator_addresses("Subject: no originator\r\n\r\n");
  EXPECT_TRUE(none.addresses.empty());
  EXPECT_FALSE(none.unparseable);
}

TEST(Originators, NormalizeTouchesOnlyTheHeader) {
  EXPECT_EQ(normalize_header_line_ends("A: 1\rB: 2\nC: 3\r\n\r\nbody\rstays\n"),
            "A: 1\r\nB: 2\r\nC: 3\r\n\r\nbody\rstays\n");
  EXPECT_EQ(normalize_header_line_ends("A: 1\n\nbody\n"), "A: 1\r\n\r\nbody\n");
  EXPECT_EQ(normalize_header_line_ends("no header end"), "no header end");
}

}  // namespace
}  // namespace mailroom::mime
