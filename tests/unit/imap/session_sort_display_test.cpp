// SORT=DISPLAY (RFC 5957): the display value of an envelope address (decoded name, else
// mailbox@host, else mailbox, else ""), read back from the ENVELOPE string on any input, and
// DISPLAYFROM / DISPLAYTO through the session next to FROM, with REVERSE and bad criteria.
#include <gtest/gtest.h>

#include "src/imap/sort_display.h"
#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

std::string display_of(std::string_view envelope, EnvelopeList list) {
  auto a = first_envelope_address(envelope, list);
  return display_value(a, a ? a->name : std::nullopt);
}

TEST(SortDisplay, TheFirstAddressOfFromAndTo) {
  const std::string env =
      "(\"Fri, 4 Dec 2026\" \"s\" ((\"Zed \\\"Z\\\"\" NIL \"zed\" \"x.example\")(NIL NIL \"b\" "
      "\"y\")) ((NIL NIL \"sender\" \"x\")) NIL ((NIL NIL \"to\" \"t.example\")) NIL NIL NIL "
      "NIL)";
  EXPECT_EQ(display_of(env, EnvelopeList::from), "Zed \"Z\"");
  EXPECT_EQ(display_of(env, EnvelopeList::to), "to@t.example");
  // A literal name, an empty name (mailbox@host), a group start (its name is the mailbox).
  EXPECT_EQ(display_of("(NIL NIL (({3}\r\nAnn NIL \"a\" \"h\")) NIL NIL NIL NIL NIL NIL NIL)",
                       EnvelopeList::from),
            "Ann");
  EXPECT_EQ(display_of("(NIL NIL ((\"\" NIL \"a\" \"h\")) NIL NIL NIL NIL NIL NIL NIL)",
                       EnvelopeList::from),
            "a@h");
  EXPECT_EQ(display_of("(NIL NIL NIL NIL NIL ((NIL NIL \"team\" NIL)(NIL NIL \"m\" \"h\")"
                       "(NIL NIL NIL NIL)) NIL NIL NIL NIL)",
                       EnvelopeList::to),
            "team");
  EXPECT_EQ(display_of("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)", EnvelopeList::from), "");
}

TEST(SortDisplay, MalformedEnvelopesGiveNoAddress) {
  for (std::string_view bad :
       {"", "(", "(NIL", "(NIL NIL ((\"a", "(NIL NIL (({99}\r\nAnn NIL \"a\" \"h\"))",
        "(NIL NIL (({3}Ann NIL \"a\" \"h\"))", "(NIL NIL ((NIL NIL \"a\"))",
        "(NIL NIL ((NIL NIL \"a\" \"h\" x", "((((((((((((((((((((", "(NIL NIL ({9999999999999}"}) {
    EXPECT_FALSE(first_envelope_address(bad, EnvelopeList::from).has_value()) << bad;
    EXPECT_FALSE(first_envelope_address(bad, EnvelopeList::to).has_value()) << bad;
  }
}

class ImapSortDisplay : public ImapSession {
 protected:
  static std::string mail(const std::string& from, const std::string& to) {
    std::string m;
    if (!from.empty()) m += "From: " + from + "\r\n";
    if (!to.empty()) m += "To: " + to + "\r\n";
    return m + "Subject: s\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\nhi\r\n";
  }
};

TEST_F(ImapSortDisplay, DisplayFromAndDisplayToSortOnTheDisplayedName) {
  // FROM sorts on the mailbox (aaa, yyy, bbb, ccc, none); DISPLAYFROM on what a client shows:
  // "Zed", the decoded "Alice", bbb@x, ccc@x (an empty name), "" (no From).
  std::string out =
      run({"a LOGIN alice wonderland\r\n" + append("b", mail("\"Zed\" <aaa@x>", "Mary <m@x>")) +
           append("c", mail("=?UTF-8?Q?Alice?= <yyy@x>", "nick@x")) +
           append("d", mail("bbb@x", "\"\" <a@x>")) + append("e", mail("\"\" <ccc@x>", "")) +
           append("f", mail("", "=?UTF-8?B?5L2p?= <z@x>")) +
           "g SELECT INBOX\r\n"
           "h SORT (FROM) UTF-8 ALL\r\n"
           "i SORT (DISPLAYFROM) UTF-8 ALL\r\n"
           "j SORT (REVERSE DISPLAYFROM) UTF-8 ALL\r\n"
           "k UID SORT (DISPLAYTO) UTF-8 ALL\r\n"
           "l SORT RETURN (MIN MAX) (DISPLAYFROM) UTF-8 ALL\r\n"
           "m SORT (DISPLAYFROMX) UTF-8 ALL\r\n"
           "n SORT (REVERSE) UTF-8 ALL\r\n"
           "o CAPABILITY\r\n"
           "p LOGOUT\r\n"});
  EXPECT_EQ(lines_of(out, "h")[0], "* SORT 5 1 3 4 2") << out;
  EXPECT_EQ(lines_of(out, "i")[0], "* SORT 5 2 3 4 1") << out;
  EXPECT_EQ(lines_of(out, "j")[0], "* SORT 1 4 3 2 5") << out;
  // To: "" (none) 4, a@x 3, Mary 1, nick@x 2, and the decoded CJK name 佩 (after ASCII) 5.
  EXPECT_EQ(lines_of(out, "k")[0], "* SORT 4 3 1 2 5") << out;
  EXPECT_EQ(lines_of(out, "l")[0], "* ESEARCH (TAG \"l\") MIN 5 MAX 1") << out;
  EXPECT_EQ(tagged(out, "m").rfind("m BAD ", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "n").rfind("n BAD ", 0), 0u) << out;
  EXPECT_NE(lines_of(out, "o")[0].find(" SORT=DISPLAY"), std::string::npos) << out;
  EXPECT_EQ(tagged(out, "p").rfind("p OK", 0), 0u) << out;
}

}  // namespace
}  // namespace mailroom::imap
