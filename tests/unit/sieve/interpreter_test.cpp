// The interpreter, command by command and extension by extension (with the RFCs' examples
// where they have one), and its limits.
#include "src/sieve/interpreter.h"

#include <gtest/gtest.h>

#include <set>

#include "auth/offboarding.h"

namespace mailroom::sieve {
namespace {

class FakeEnv : public Environment {
 public:
  bool mailbox_exists(const std::string& name) override { return mailboxes.count(name) > 0; }
  bool duplicate_seen(const std::string& id) override { return seen.count(id) > 0; }
  int64_t now() override { return clock; }
  int32_t zone_minutes() override { return zone; }
  std::set<std::string> mailboxes = {"INBOX", "Junk"};
  std::set<std::string> seen;
  int64_t clock = 1700000000;  // Tue, 14 Nov 2023 22:13:20 +0000
  int32_t zone = 0;
};

const char* kMessage =
    "Received: from a by b; Tue, 14 Nov 2023 10:00:00 +0000\r\n"
    "Received: from c by d; Tue, 14 Nov 2023 09:00:00 +0000\r\n"
    "Date: Tue, 14 Nov 2023 09:30:00 -0500\r\n"
    "From: \"Alice Example\" <alice+news@Example.COM>\r\n"
    "To: bob@example.org, Carol <carol@example.net>\r\n"
    "Cc: undisclosed-recipients:;\r\n"
    "Subject: =?UTF-8?B?TWFrZSBtb25leSBmYXN0?=\r\n"
    "Message-ID: <id1@example.com>\r\n"
    "X-Spam-Score: 7.5\r\n"
    "X-Virus-Status: Clean\r\n"
    "X-Long: first\r\n second\r\n"
    "\r\n"
    "Hello Bob,\r\nthe body text.\r\n";

struct Runner {
  FakeEnv env;
  RunLimits limits;
  MessageInput input{kMessage, "alice+news@example.com", "bob+work@example.org", ""};
  std::unique_ptr<class Run> run;
  Script script;
  std::vector<Script> scripts;

  // Parses and runs `text`; fails the test on a parse error. Returns execute()'s result.
  bool operator()(const std::string& text) {
    auto parsed = parse(text);
    EXPECT_TRUE(parsed) << parsed.status().client_message();
    if (!parsed) return false;
    scripts.push_back(std::move(*parsed));
    run = std::make_unique<class Run>(input, env, limits);
    return run->execute(scripts.back());
  }
  // Whether the script's test is true: runs "if TEST { fileinto "yes"; }".
  bool test(const std::string& require, const std::string& t) {
    std::string text = "require [\"fileinto\"" + std::string(require.empty() ? "" : ", ") +
                       require + "];\nif " + t + " { fileinto \"yes\"; }";
    EXPECT_TRUE((*this)(text)) << run->error();
    return !run->actions().empty();
  }
};

TEST(SieveInterpreter, KeepDiscardStopAndImplicitKeep) {
  Runner r;
  ASSERT_TRUE(r(""));
  EXPECT_TRUE(r.run->implicit_keep());
  ASSERT_TRUE(r("discard;"));
  EXPECT_FALSE(r.run->implicit_keep());
  EXPECT_TRUE(r.run->actions().empty());
  ASSERT_TRUE(r("keep;"));
  EXPECT_FALSE(r.run->implicit_keep());
  ASSERT_EQ(r.run->actions().size(), 1u);
  EXPECT_EQ(r.run->actions()[0].kind, Action::Kind::keep);
  ASSERT_TRUE(r("stop; discard;"));
  EXPECT_TRUE(r.run->implicit_keep());
  EXPECT_TRUE(r.run->stopped());
}

TEST(SieveInterpreter, IfElsifElse) {
  Runner r;
  ASSERT_TRUE(
      r("require \"fileinto\";\nif false { fileinto \"a\"; } elsif true { fileinto \"b\"; }"
        " else { fileinto \"c\"; }\nif true { fileinto \"d\"; } else { fileinto \"e\"; }"));
  ASSERT_EQ(r.run->actions().size(), 2u);
  EXPECT_EQ(r.run->actions()[0].target, "b");
  EXPECT_EQ(r.run->actions()[1].target, "d");
  EXPECT_FALSE(r.run->implicit_keep());
}

TEST(SieveInterpreter, HeaderAddressEnvelopeExistsSize) {
  Runner r;
  EXPECT_TRUE(r.test("", "header :contains \"subject\" \"money\""));  // RFC 2047 decoded
  EXPECT_TRUE(r.test("", "header :is \"X-Long\" \"first second\""));  // unfolded
  EXPECT_FALSE(r.test("", "header :is \"subject\" \"money\""));
  EXPECT_TRUE(r.test("", "header :matches \"Subject\" \"*make*money*fast*\""));
  EXPECT_TRUE(r.test("", "address :is :all \"from\" \"ALICE+news@example.com\""));
  EXPECT_TRUE(r.test("", "address :is :domain [\"To\", \"Cc\"] \"example.net\""));
  EXPECT_TRUE(r.test("", "address :is :localpart \"to\" \"bob\""));
  EXPECT_FALSE(r.test("", "address :is :localpart \"cc\" \"undisclosed-recipients\""));
  EXPECT_TRUE(r.test("\"envelope\"", "envelope :is :domain \"to\" \"example.org\""));
  EXPECT_TRUE(r.test("\"envelope\"", "envelope :is \"from\" \"alice+news@example.com\""));
  EXPECT_TRUE(r.test("", "exists [\"From\", \"X-long\"]"));
  EXPECT_FALSE(r.test("", "exists [\"From\", \"X-None\"]"));
  EXPECT_TRUE(r.test("", "size :under 10K"));
  EXPECT_FALSE(r.test("", "size :over 10K"));
  EXPECT_TRUE(r.test("", "allof (true, not false, anyof (false, true))"));
  EXPECT_FALSE(r.test("", "anyof (false, not true)"));
  EXPECT_TRUE(r.test("", "header :is :comparator \"i;octet\" \"X-Virus-Status\" \"Clean\""));
  EXPECT_FALSE(r.test("", "header :is :comparator \"i;octet\" \"X-Virus-Status\" \"clean\""));
  // The null sender: :all compares "", other parts never match (RFC 5228 5.4).
  r.input.envelope_from = "";
  EXPECT_TRUE(r.test("\"envelope\"", "envelope :is :all \"from\" \"\""));
  EXPECT_FALSE(r.test("\"envelope\"", "envelope :matches :localpart \"from\" \"*\""));
}

TEST(SieveInterpreter, Subaddress) {
  Runner r;  // RFC 5233 section 4
  EXPECT_TRUE(r.test("\"envelope\", \"subaddress\"", "envelope :user \"to\" \"bob\""));
  EXPECT_TRUE(r.test("\"envelope\", \"subaddress\"", "envelope :detail \"to\" \"work\""));
  EXPECT_TRUE(r.test("\"subaddress\"", "address :detail \"from\" \"news\""));
  EXPECT_TRUE(r.test("\"subaddress\"", "address :user \"to\" \"bob\""));
  // No "+": :detail matches nothing, not even "".
  EXPECT_FALSE(r.test("\"subaddress\"", "address :detail :matches \"to\" \"*\""));
}

TEST(SieveInterpreter, FileintoCopyAndFlags) {
  Runner r;
  ASSERT_TRUE(
      r("require [\"fileinto\", \"copy\", \"imap4flags\", \"mailbox\"];\n"
        "fileinto :copy \"A\";\naddflag \"\\\\seen $Work\";\n"
        "fileinto :create \"B/C\";\nkeep :flags \"\\\\Flagged\";"));
  const auto& a = r.run->actions();
  ASSERT_EQ(a.size(), 3u);
  EXPECT_TRUE(a[0].copy);
  EXPECT_TRUE(a[0].flags.empty());
  EXPECT_EQ(a[1].target, "B/C");
  EXPECT_TRUE(a[1].create);
  EXPECT_EQ(a[1].flags, (std::vector<std::string>{"\\Seen", "$Work"}));
  EXPECT_EQ(a[2].flags, (std::vector<std::string>{"\\Flagged"}));
  EXPECT_FALSE(r.run->implicit_keep());
  // :copy alone keeps the implicit keep (RFC 3894 3).
  ASSERT_TRUE(r("require [\"fileinto\", \"copy\"]; fileinto :copy \"A\";"));
  EXPECT_TRUE(r.run->implicit_keep());
}

TEST(SieveInterpreter, Imap4flagsRfc5232Examples) {
  Runner r;
  // RFC 5232 section 3 / 4 examples (variables for the named flag variable).
  ASSERT_TRUE(
      r("require [\"imap4flags\", \"variables\", \"fileinto\", \"relational\",\n"
        "\"comparator-i;ascii-numeric\"];\nsetflag \"\\\\Seen\";\naddflag [\"\\\\Flagged\", "
        "\"\\\\Answered\"];\n"
        "removeflag \"\\\\Seen\";\n"
        "addflag \"MyVar\" \"$Label1 $Label2\";\nremoveflag \"MyVar\" \"$label1\";\n"
        "if hasflag :is \"MyVar\" \"$Label2\" { fileinto \"yes\"; }\n"
        "if hasflag :contains \"flagged\" { fileinto :flags \"${MyVar}\" \"z\"; }\n"
        "if hasflag :count \"eq\" :comparator \"i;ascii-numeric\" \"2\" { keep; }"));
  EXPECT_EQ(r.run->implicit_flags(), (std::vector<std::string>{"\\Flagged", "\\Answered"}));
  const auto& a = r.run->actions();
  ASSERT_EQ(a.size(), 3u) << r.run->error();
  EXPECT_EQ(a[1].flags, (std::vector<std::string>{"$Label2"}));
  EXPECT_EQ(a[2].kind, Action::Kind::keep);
  EXPECT_EQ(a[2].flags, (std::vector<std::string>{"\\Flagged", "\\Answered"}));
}

TEST(SieveInterpreter, RedirectLimitsAndRejectConflicts) {
  Runner r;
  EXPECT_FALSE(parse("redirect \"a@example.com\"; redirect :copy \"b@example.com\";"));
  ASSERT_TRUE(r("require \"copy\"; redirect \"a@example.com\"; redirect :copy \"b@example.com\";"));
  EXPECT_EQ(r.run->actions().size(), 2u);
  EXPECT_FALSE(r.run->implicit_keep());
  r.limits.max_redirects = 2;
  EXPECT_FALSE(r("redirect \"a@x.com\"; redirect \"b@x.com\"; redirect \"c@x.com\";"));
  EXPECT_EQ(r.run->error(), "line 1: too many redirects");
  EXPECT_FALSE(r("redirect \"not an address\";"));
  EXPECT_EQ(r.run->error(), "line 1: redirect to an invalid address");
  EXPECT_FALSE(r("require \"reject\"; keep;\nreject \"no\";"));
  EXPECT_EQ(r.run->error(), "line 2: \"reject\" cannot be combined with the actions before it");
  EXPECT_FALSE(r("require [\"reject\", \"fileinto\"]; reject \"no\"; fileinto \"x\";"));
  ASSERT_TRUE(r("require [\"ereject\"]; ereject \"go away\"; discard;"));
  EXPECT_EQ(r.run->actions()[0].kind, Action::Kind::ereject);
  EXPECT_EQ(r.run->actions()[0].text, "go away");
  EXPECT_FALSE(r.run->implicit_keep());
  r.limits.max_actions = 3;
  EXPECT_FALSE(
      r("require \"fileinto\"; fileinto \"a\"; fileinto \"b\"; fileinto \"c\"; fileinto \"d\";"));
  EXPECT_EQ(r.run->error(), "line 1: too many actions");
}

TEST(SieveInterpreter, StepLimitStopsLoopsOfWork) {
  Runner r;
  r.limits.max_steps = 50;
  std::string text;
  for (int i = 0; i < 60; ++i) text += "if false { keep; }\n";
  EXPECT_FALSE(r(text));
  EXPECT_NE(r.run->error().find("too many steps"), std::string::npos);
  // A pathological :matches against a header charges every octet it compares.
  r.limits.max_steps = 100000;
  // "*" then 1,000 "a" then "b": every start position compares up to 1,000 octets.
  std::string pattern = std::string(1000, 'a');
  std::string msg = "X: " + std::string(20000, 'a') + "\r\n\r\n";
  r.input.message = msg;
  EXPECT_FALSE(r("if header :matches \"X\" \"*" + pattern + "b\" { keep; }"));
  EXPECT_NE(r.run->error().find("CPU limit"), std::string::npos);
}

TEST(SieveInterpreter, Vacation) {
  Runner r;  // RFC 5230 4 and its section 4.1 example
  ASSERT_TRUE(
      r("require \"vacation\";\nif header :contains \"subject\" \"cyrus\" { discard; }\n"
        "vacation :days 23 :addresses [\"tjs@example.edu\", \"ts4z@landru.example.edu\"]\n"
        "  \"I'm away until October 19.\";"));
  ASSERT_EQ(r.run->actions().size(), 1u);
  const Action& v = r.run->actions()[0];
  EXPECT_EQ(v.kind, Action::Kind::vacation);
  EXPECT_EQ(v.period_seconds, 23 * 86400);
  EXPECT_EQ(v.addresses.size(), 2u);
  EXPECT_EQ(v.text, "I'm away until October 19.");
  EXPECT_TRUE(r.run->implicit_keep());  // vacation does not cancel the keep
  EXPECT_FALSE(v.handle.empty());
  ASSERT_TRUE(
      r("require \"vacation\"; vacation :subject \"s\" :from \"me@x.org\" :mime :handle \"h\" "
        "\"t\";"));
  EXPECT_EQ(r.run->actions()[0].handle, "h");
  EXPECT_EQ(r.run->actions()[0].period_seconds, 7 * 86400);
  EXPECT_TRUE(r.run->actions()[0].mime);
  EXPECT_FALSE(r("require \"vacation\"; vacation \"a\"; vacation \"b\";"));
}

TEST(SieveInterpreter, TheOffboardingScriptIsAVacationAndAKeep) {
  Runner r;  // auth/offboarding.h step (b): what OffboardingFilter runs for a departed user
  auth::OffboardingOptions o;
  o.enabled = true;
  o.contact = "hr@example.com";
  o.reply_subject = "%n \"left\" \\ us";
  o.reply_interval_s = 3 * 86400;
  auth::Account a;
  a.address = "bob@example.org";
  a.display_name = "Bob";
  ASSERT_TRUE(r(auth::offboarding_sieve_script(o, a))) << r.run->error();
  ASSERT_EQ(r.run->actions().size(), 2u);
  const Action& v = r.run->actions()[0];
  EXPECT_EQ(v.kind, Action::Kind::vacation);
  EXPECT_EQ(v.period_seconds, 3 * 86400);
  EXPECT_EQ(v.subject, "Bob \"left\" \\ us");
  EXPECT_EQ(v.handle, "offboarding");
  EXPECT_NE(v.text.find("Bob is no longer with the company"), std::string::npos) << v.text;
  EXPECT_NE(v.text.find("hr@example.com"), std::string::npos) << v.text;
  EXPECT_EQ(r.run->actions()[1].kind, Action::Kind::keep);
}

TEST(SieveInterpreter, Body) {
  Runner r;  // RFC 5173
  EXPECT_TRUE(r.test("\"body\"", "body :raw :contains \"the body text\""));
  EXPECT_TRUE(r.test("\"body\"", "body :contains \"hello bob\""));
  EXPECT_TRUE(r.test("\"body\"", "body :content \"text\" :contains \"body text\""));
  EXPECT_FALSE(r.test("\"body\"", "body :content \"image\" :contains \"body\""));
  std::string mp =
      "From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
      "--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "c2VjcmV0IHdvcmQ=\r\n--XX\r\nContent-Type: "
      "application/octet-stream\r\n\r\nBINARYDATA\r\n--XX--\r\n";
  r.input.message = mp;
  EXPECT_TRUE(r.test("\"body\"", "body :text :contains \"secret word\""));
  EXPECT_FALSE(r.test("\"body\"", "body :raw :contains \"secret word\""));
  EXPECT_TRUE(
      r.test("\"body\"", "body :content \"application/octet-stream\" :contains \"BINARYDATA\""));
  EXPECT_FALSE(r.test("\"body\"", "body :content \"text/html\" :contains \"secret\""));
}

TEST(SieveInterpreter, Variables) {
  Runner r;  // RFC 5229 examples (sections 3, 4)
  ASSERT_TRUE(
      r("require [\"variables\", \"fileinto\", \"relational\", "
        "\"comparator-i;ascii-numeric\"];\n"
        "set \"honorific\" \"Mr\";\nset \"first_name\" \"Joe\";\n"
        "set :upperfirst :lower \"a\" \"jOHN\";\nset :length \"len\" \"${a}\";\n"
        "set :quotewildcard \"q\" \"*?\\\\\";\n"
        "if header :matches \"From\" \"*<*@*>\" { fileinto \"${honorific} "
        "${first_name}/${2}/${3}/${a}/${len}\"; }\n"
        "if string :is \"${q}\" \"\\\\*\\\\?\\\\\\\\\" { fileinto \"${unknown}x${}\"; }\n"
        "if string :count \"eq\" :comparator \"i;ascii-numeric\" [\"\", \"a\"] \"1\" { keep; }"));
  ASSERT_EQ(r.run->actions().size(), 3u) << r.run->error();
  EXPECT_EQ(r.run->actions()[0].target, "Mr Joe/alice+news/Example.COM/John/4");
  EXPECT_EQ(r.run->actions()[1].target, "x${}");
  // Without "variables", "${x}" is text.
  ASSERT_TRUE(r("require \"fileinto\"; fileinto \"${x}\";"));
  EXPECT_EQ(r.run->actions()[0].target, "${x}");
  // Values are capped (RFC 5229 3: at least 4000 octets kept).
  r.limits.max_variable_bytes = 4000;
  ASSERT_TRUE(r("require [\"variables\", \"fileinto\"]; set \"a\" \"" + std::string(5000, 'x') +
                "\"; set :length \"n\" \"${a}\"; fileinto \"${n}\";"));
  EXPECT_EQ(r.run->actions()[0].target, "4000");
}

TEST(SieveInterpreter, Relational) {
  Runner r;  // RFC 5231 section 6 examples, on our message
  const char* req = "\"relational\", \"comparator-i;ascii-numeric\"";
  EXPECT_TRUE(
      r.test(req, "header :count \"eq\" :comparator \"i;ascii-numeric\" \"Received\" \"2\""));
  EXPECT_TRUE(
      r.test(req, "address :count \"ge\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] \"2\""));
  EXPECT_FALSE(
      r.test(req, "address :count \"gt\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] \"2\""));
  EXPECT_TRUE(
      r.test(req, "header :value \"gt\" :comparator \"i;ascii-numeric\" \"X-Spam-Score\" \"6\""));
  EXPECT_FALSE(
      r.test(req, "header :value \"lt\" :comparator \"i;ascii-numeric\" \"X-Spam-Score\" \"6\""));
  EXPECT_TRUE(r.test(req, "header :value \"lt\" \"Subject\" \"N\""));  // casemap ordering
}

TEST(SieveInterpreter, DateAndIndex) {
  Runner r;  // RFC 5260
  EXPECT_TRUE(r.test("\"date\"", "date :originalzone :is \"date\" \"hour\" \"09\""));
  EXPECT_TRUE(r.test("\"date\"", "date :zone \"+0000\" :is \"date\" \"time\" \"14:30:00\""));
  EXPECT_TRUE(
      r.test("\"date\"", "date :zone \"+0000\" :is \"date\" \"iso8601\" \"2023-11-14T14:30:00Z\""));
  EXPECT_TRUE(r.test("\"date\"", "date :originalzone :is \"date\" \"zone\" \"-0500\""));
  EXPECT_TRUE(r.test("\"date\"", "date :zone \"+0000\" :is \"date\" \"weekday\" \"2\""));
  EXPECT_TRUE(r.test("\"date\"", "date :zone \"+0000\" :is \"date\" \"julian\" \"60262\""));
  EXPECT_TRUE(
      r.test("\"date\"",
             "date :zone \"+0100\" :is \"date\" \"std11\" \"Tue, 14 Nov 2023 15:30:00 +0100\""));
  EXPECT_FALSE(r.test("\"date\"", "date :zone \"bad\" :is \"date\" \"hour\" \"09\""));
  EXPECT_FALSE(r.test("\"date\"", "date :is \"x-none\" \"year\" \"2023\""));
  EXPECT_TRUE(r.test("\"date\"", "currentdate :zone \"+0000\" :is \"date\" \"2023-11-14\""));
  r.env.zone = 120;
  EXPECT_TRUE(r.test("\"date\"", "currentdate :is \"date\" \"2023-11-15\""));
  // Received: the date after the last ";" (RFC 5260 4); :index picks a field (6).
  EXPECT_TRUE(r.test("\"date\", \"index\"",
                     "date :index 1 :zone \"+0000\" :is \"received\" \"hour\" \"10\""));
  EXPECT_TRUE(r.test("\"date\", \"index\"",
                     "date :index 1 :last :zone \"+0000\" :is \"received\" \"hour\" \"09\""));
  EXPECT_TRUE(r.test("\"index\"", "header :index 2 :contains \"received\" \"from c\""));
  EXPECT_FALSE(r.test("\"index\"", "header :index 3 :contains \"received\" \"from\""));
  EXPECT_TRUE(r.test("\"index\"", "address :index 2 :is \"to\" \"carol@example.net\"") == false);
}

TEST(SieveInterpreter, MailboxSpamtestVirustestDuplicate) {
  Runner r;
  EXPECT_TRUE(r.test("\"mailbox\"", "mailboxexists \"Junk\""));
  EXPECT_FALSE(r.test("\"mailbox\"", "mailboxexists [\"Junk\", \"Nope\"]"));
  const char* num = "\"relational\", \"comparator-i;ascii-numeric\"";
  // X-Spam-Score 7.5 of a default threshold 5: 1 + round(0.75 x 9) = 8; 75 %.
  EXPECT_TRUE(r.test(std::string("\"spamtest\", ") + num,
                     "spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"8\""));
  EXPECT_TRUE(r.test(std::string("\"spamtestplus\", ") + num,
                     "spamtest :percent :value \"eq\" :comparator \"i;ascii-numeric\" \"75\""));
  EXPECT_TRUE(r.test("\"virustest\"", "virustest :is \"1\""));
  r.input.message = "Subject: x\r\n\r\n";
  EXPECT_TRUE(r.test("\"spamtest\"", "spamtest :is \"0\""));  // not tested
  EXPECT_TRUE(r.test("\"virustest\"", "virustest :is \"0\""));
  r.input.message = kMessage;
  EXPECT_FALSE(r.test("\"duplicate\"", "duplicate"));
  ASSERT_EQ(r.run->duplicates().size(), 1u);
  EXPECT_EQ(r.run->duplicates()[0].id, "\n<id1@example.com>");
  EXPECT_EQ(r.run->duplicates()[0].seconds, 7 * 86400);
  r.env.seen.insert("\n<id1@example.com>");
  EXPECT_TRUE(r.test("\"duplicate\"", "duplicate"));
  EXPECT_FALSE(r.test("\"duplicate\"", "duplicate :handle \"h\" :seconds 60"));
  EXPECT_EQ(r.run->duplicates()[0].seconds, 60);
  EXPECT_FALSE(r.test("\"duplicate\"", "duplicate :header \"X-None\""));
  // RFC 7352 3: the same id twice in one run is a duplicate the second time.
  ASSERT_TRUE(
      r("require [\"duplicate\", \"fileinto\"]; if duplicate :uniqueid \"u\" { fileinto \"a\"; }"
        " if duplicate :uniqueid \"u\" { fileinto \"b\"; }"));
  ASSERT_EQ(r.run->actions().size(), 1u);
  EXPECT_EQ(r.run->actions()[0].target, "b");
}

TEST(SieveInterpreter, Editheader) {
  Runner r;  // RFC 5293
  ASSERT_TRUE(
      r("require [\"editheader\", \"fileinto\", \"index\"];\n"
        "addheader \"X-Sieve\" \"one\";\naddheader :last \"X-Sieve\" \"two ✓\";\n"
        "deleteheader \"X-Long\";\ndeleteheader :matches \"X-Spam-Score\" \"7*\";\n"
        "deleteheader \"Received\";\naddheader \"Auto-Submitted\" \"no\";\n"
        "deleteheader :index 1 :last \"X-Sieve\";\n"
        "if header :is \"X-Sieve\" \"one\" { fileinto \"seen-edit\"; }"));
  ASSERT_EQ(r.run->actions().size(), 1u);
  EXPECT_TRUE(r.run->header_edited());
  std::string m = r.run->edited_message();
  EXPECT_EQ(m.rfind("X-Sieve: one\r\nReceived: from a", 0), 0u);
  EXPECT_EQ(m.find("X-Long"), std::string::npos);
  EXPECT_EQ(m.find("X-Spam-Score"), std::string::npos);
  EXPECT_EQ(m.find("Auto-Submitted"), std::string::npos);
  EXPECT_NE(m.find("Received: from c"), std::string::npos);
  EXPECT_EQ(m.find("two"), std::string::npos);
  EXPECT_NE(m.find("\r\n\r\nHello Bob"), std::string::npos);
  ASSERT_TRUE(r("require \"editheader\"; addheader :last \"X-U\" \"✓\";"));
  EXPECT_NE(r.run->edited_message().find("X-U: =?UTF-8?B?4pyT?=\r\n\r\n"), std::string::npos);
}

TEST(SieveInterpreter, ScriptsInSequence) {
  Runner r;
  auto before = parse(
      "require \"fileinto\"; if header :contains \"subject\" \"money\" { fileinto \"Junk\"; stop; "
      "}");
  auto user = parse("require \"fileinto\"; fileinto \"User\";");
  ASSERT_TRUE(before && user);
  class Run run(r.input, r.env, r.limits);
  ASSERT_TRUE(run.execute(*before));
  EXPECT_TRUE(run.stopped());
  ASSERT_TRUE(run.execute(*user));  // skipped after stop
  ASSERT_EQ(run.actions().size(), 1u);
  EXPECT_EQ(run.actions()[0].target, "Junk");
  class Run run2(r.input, r.env, r.limits);
  auto other = parse("require \"editheader\"; addheader \"X-Before\" \"1\";");
  auto check = parse("require \"fileinto\"; if exists \"X-Before\" { fileinto \"Edited\"; }");
  ASSERT_TRUE(run2.execute(*other));
  ASSERT_TRUE(run2.execute(*check));
  ASSERT_EQ(run2.actions().size(), 1u);
  EXPECT_EQ(run2.actions()[0].target, "Edited");
}

}  // namespace
}  // namespace mailroom::sieve
