// The Sieve grammar and checks (RFC 5228 section 8 and 2.10.5), on scripts as written, with
// hostile ones: deep nesting, huge lists, unterminated strings, oversized scripts.
#include <gtest/gtest.h>

#include "src/sieve/script.h"

namespace mailroom::sieve {
namespace {

std::string error_of(const std::string& text, const Limits& limits = {}) {
  auto r = parse(text, limits);
  return r ? "" : r.status().client_message();
}

TEST(SieveParser, Rfc5228Section9Example) {
  // RFC 5228 section 9 (with fileinto required, as the example says it must be).
  const char* kScript = R"(#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
)";
  auto r = parse(kScript);
  ASSERT_TRUE(r) << r.status().client_message();
  ASSERT_EQ(r->commands.size(), 5u);
  EXPECT_EQ(r->commands[1].name, "if");
  EXPECT_EQ(r->commands[1].at.line, 11);
  EXPECT_EQ(r->commands[2].tests[0].tagged.count("domain"), 1u);  // tags are case-insensitive
  EXPECT_EQ(r->commands[3].tests[0].tests.size(), 2u);
  EXPECT_EQ(r->required.count("fileinto"), 1u);
}

TEST(SieveParser, StringsNumbersAndComments) {
  auto r = parse(
      "require [\"vacation\"]; /* a\r\n comment */\r\n"
      "vacation :days 1K :subject \"q\\\"uote\\\\d \\x\" text: # hash\r\n"
      "line one\r\n..dot stuffed\r\n.\r\n;\n");
  ASSERT_TRUE(r) << r.status().client_message();
  const Command& v = r->commands[1];
  EXPECT_EQ(v.tagged.at("days").number, 1024u);
  EXPECT_EQ(v.tagged.at("subject").strings[0], "q\"uote\\d x");  // undefined escape: "x"
  EXPECT_EQ(v.positional[0].strings[0], "line one\r\n.dot stuffed\r\n");
  auto big = parse("if size :over 2G { discard; }");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->commands[0].tests[0].positional[0].number, 2ull << 30);
  // Multi-line strings with bare LF line ends (scripts written on Unix).
  auto lf = parse("require \"reject\";\nreject text:\nno\n.\n;");
  ASSERT_TRUE(lf) << lf.status().client_message();
  EXPECT_EQ(lf->commands[1].positional[0].strings[0], "no\r\n");
}

TEST(SieveParser, ErrorsNameLineAndColumn) {
  EXPECT_EQ(error_of("keep;\nfileinto \"x\";"),
            "line 2, column 1: command \"fileinto\" needs require \"fileinto\"");
  EXPECT_EQ(error_of("require \"nosuch\";"), "line 1, column 9: unsupported extension \"nosuch\"");
  EXPECT_EQ(error_of("keep;\nrequire \"fileinto\";"),
            "line 2, column 1: \"require\" must come before any other command");
  EXPECT_EQ(error_of("if true { keep; "), "line 1, column 17: expected '}' or a command");
  EXPECT_EQ(error_of("keep"),
            "line 1, column 5: expected ';' or '{' after the arguments of \"keep\"");
  EXPECT_EQ(error_of("frobnicate;"), "line 1, column 1: unknown command \"frobnicate\"");
  EXPECT_EQ(error_of("if frob { keep; }"), "line 1, column 4: unknown test \"frob\"");
  EXPECT_EQ(error_of("else { keep; }"), "line 1, column 1: \"else\" without a preceding \"if\"");
  EXPECT_EQ(error_of("keep; elsif true { keep; }"),
            "line 1, column 7: \"elsif\" without a preceding \"if\"");
  EXPECT_EQ(error_of("if header :is :contains \"a\" \"b\" { keep; }"),
            "line 1, column 15: \":contains\" conflicts with \":is\"");
  EXPECT_EQ(error_of("if header :comparator \"i;frob\" \"a\" \"b\" { keep; }"),
            "line 1, column 23: unknown comparator \"i;frob\"");
  EXPECT_EQ(error_of("if header :comparator \"i;ascii-numeric\" \"a\" \"b\" { keep; }"),
            "line 1, column 23: comparator \"i;ascii-numeric\" needs require "
            "\"comparator-i;ascii-numeric\"");
  EXPECT_EQ(error_of("if size 10 { keep; }"),
            "line 1, column 4: \"size\" needs \":over\" or \":under\"");
  EXPECT_EQ(error_of("redirect [\"a@b\", \"c@d\"];"),
            "line 1, column 10: \"redirect\" expects a string here");
  EXPECT_EQ(error_of("keep \"x;"), "line 1, column 6: unterminated string");
  EXPECT_EQ(error_of("/* open"), "line 1, column 1: unterminated comment");
  EXPECT_EQ(error_of("require \"reject\"; reject text:\nno end\n"),
            "line 1, column 26: unterminated multi-line string (missing \".\" line)");
  EXPECT_EQ(error_of("if size :over 99999999999999999999 { keep; }"),
            "line 1, column 15: number too large");
  EXPECT_EQ(error_of("if size :over 18014398509481984G { keep; }"),
            "line 1, column 15: number too large");
  EXPECT_EQ(error_of("if envelope :is \"frm\" \"x\" { keep; }"),
            "line 1, column 4: test \"envelope\" needs require \"envelope\"");
  EXPECT_EQ(error_of("require \"envelope\"; if envelope :is \"frm\" \"x\" { keep; }"),
            "line 1, column 37: unknown envelope part \"frm\"");
  EXPECT_EQ(error_of("require \"relational\"; if header :count \"xx\" \"a\" \"1\" { keep; }"),
            "line 1, column 40: unknown relational operator \"xx\"");
  EXPECT_EQ(error_of("if header :user \"to\" \"x\" { keep; }"),
            "line 1, column 11: \"header\" has no tag \":user\"");
  EXPECT_EQ(error_of("if address :user \"to\" \"x\" { keep; }"),
            "line 1, column 12: tag \":user\" needs require \"subaddress\"");
  EXPECT_EQ(error_of("require \"variables\"; set \"1bad\" \"x\";"),
            "line 1, column 26: invalid variable name \"1bad\"");
  EXPECT_EQ(error_of("keep; }"), "line 1, column 7: unexpected '}'");
  EXPECT_EQ(error_of("keep; \x01"), "line 1, column 7: unexpected character '\\x01'");
}

TEST(SieveParser, LimitsAgainstHostileScripts) {
  Limits limits;
  limits.max_script_bytes = 100;
  auto big = parse(std::string(101, '#'), limits);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.code(), core::Code::too_large);

  // Deep nesting of blocks and of tests ends with an error, not a stack overflow.
  std::string blocks;
  for (int i = 0; i < 100000; ++i) blocks += "if true {";
  Limits wide;
  wide.max_script_bytes = 10 << 20;
  wide.max_commands = 1000000;
  EXPECT_NE(error_of(blocks, wide).find("nested too deeply"), std::string::npos);
  std::string tests = "if ";
  for (int i = 0; i < 100000; ++i) tests += "not ";
  tests += "true { keep; }";
  EXPECT_NE(error_of(tests, wide).find("tests nested too deeply"), std::string::npos);
  std::string lists = "if ";
  for (int i = 0; i < 100000; ++i) lists += "anyof(";
  EXPECT_NE(error_of(lists, wide).find("nested too deeply"), std::string::npos);

  // A huge string list, many commands.
  std::string list = "if header :is \"x\" [";
  for (int i = 0; i < 5000; ++i) list += std::string(i ? "," : "") + "\"a\"";
  list += "] { keep; }";
  EXPECT_NE(error_of(list, wide).find("string list too long"), std::string::npos);
  wide.max_commands = 2048;
  std::string many;
  for (int i = 0; i < 5000; ++i) many += "keep;";
  EXPECT_NE(error_of(many, wide).find("too many commands and tests"), std::string::npos);
  Limits small_strings;
  small_strings.max_string_bytes = 10;
  EXPECT_NE(error_of("require \"reject\"; reject \"01234567890\";", small_strings)
                .find("string too long"),
            std::string::npos);
}

TEST(SieveParser, ExtensionsParse) {
  const char* kScript = R"(require ["fileinto", "reject", "ereject", "envelope", "imap4flags",
  "vacation", "body", "variables", "relational", "subaddress", "copy", "date", "index",
  "mailbox", "spamtest", "spamtestplus", "virustest", "duplicate", "editheader",
  "comparator-i;ascii-numeric"];
if envelope :detail "to" "lists" { fileinto :copy :create :flags ["\\Seen"] "Lists"; }
if body :content "text" :contains "x" { addflag "MyFlags" "$Work"; }
if hasflag :is "MyFlags" "$work" { setflag "\\Flagged"; }
if date :zone "+0100" :value "ge" "Date" "hour" "09" { removeflag "\\Flagged"; }
if currentdate :is "weekday" "0" { ereject "not today"; }
if header :index 1 :last :contains "Received" "x" { deleteheader :index 1 :last "X-A"; }
if spamtest :percent :value "gt" :comparator "i;ascii-numeric" "50" { discard; }
if virustest :value "eq" :comparator "i;ascii-numeric" "5" { discard; }
if duplicate :seconds 60 :header "X-Id" :last { discard; }
if mailboxexists "Junk" { set :lower :length "n" "${1}"; }
if string :count "ge" :comparator "i;ascii-numeric" ["${n}"] "1" { addheader :last "X-N" "${n}"; }
vacation :days 3 :subject "away" :from "me@example.com" :addresses ["me@example.org"] :mime
  :handle "h" "reason";
)";
  auto r = parse(kScript);
  ASSERT_TRUE(r) << r.status().client_message();
  EXPECT_EQ(r->required.size(), supported_extensions().size());
  EXPECT_EQ(extensions_capability().substr(0, 24), "fileinto reject ereject ");
}

}  // namespace
}  // namespace mailroom::sieve
