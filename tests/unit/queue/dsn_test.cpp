#include "src/queue/dsn.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::queue {
namespace {

// Helper names carry a dsn_ prefix: the test target is built in unity batches.

constexpr int64_t dsn_t0 = 1700000000;  // Tue, 14 Nov 2023 22:13:20 +0000

const char* const dsn_original =
    "Received: from client.example by mx.example.org id MR1;\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@remote.example\r\n"
    "Subject: lunch\r\n"
    "Message-ID: <m1@example.org>\r\n"
    "\r\n"
    "Body line one.\r\n"
    "Body line two.\r\n";

DsnInput dsn_failed_input() {
  DsnInput in;
  in.reporting_mta = "mx.example.org";
  in.postmaster = "MAILER-DAEMON@mx.example.org";
  in.to = "alice@example.org";
  in.envid = "ENV-42";
  in.queue_id = "MR00000000000000000042";
  in.arrival_date = dsn_t0 - 3600;
  in.now = dsn_t0;
  in.message_id = "<dsn.MR00000000000000000042@mx.example.org>";
  DsnRecipient a;
  a.recipient = "bob@remote.example";
  a.original_recipient = "rfc822;bob@remote.example";
  a.action = DsnAction::failed;
  a.status = "5.1.1";
  a.remote_mta = "mx1.remote.example";
  a.diagnostic = "550 5.1.1 <bob@remote.example>: no such user";
  a.last_attempt = dsn_t0 - 60;
  DsnRecipient b;
  b.recipient = "carol@other.example";
  b.action = DsnAction::failed;
  b.status = "5.4.4";
  in.recipients = {a, b};
  return in;
}

// The message split the way a MIME reader splits it, with no help from the code under test.
struct DsnParsed {
  std::string headers;  // the top-level header block, unfolded
  std::string boundary;
  std::string preamble;
  std::vector<std::string> parts;  // each part: its headers, empty line, body
  bool closed = false;             // the close delimiter was found
  std::string epilogue;
};

std::string dsn_unfold(std::string_view block) {
  std::string out;
  for (size_t i = 0; i < block.size(); ++i) {
    if (block.substr(i, 2) == "\r\n" && i + 2 < block.size() &&
        (block[i + 2] == ' ' || block[i + 2] == '\t')) {
      ++i;  // RFC 5322 2.2.3: CRLF before whitespace is removed
      continue;
    }
    out += block[i];
  }
  return out;
}

DsnParsed dsn_parse(const std::string& msg) {
  DsnParsed p;
  size_t hend = msg.find("\r\n\r\n");
  if (hend == std::string::npos) return p;
  p.headers = dsn_unfold(std::string_view(msg).substr(0, hend + 2));
  size_t b = p.headers.find("boundary=\"");
  if (b == std::string::npos) return p;
  b += 10;
  p.boundary = p.headers.substr(b, p.headers.find('"', b) - b);
  std::string body = msg.substr(hend + 4);
  const std::string delim = "--" + p.boundary;
  // RFC 2046 5.1.1: a delimiter is CRLF "--" boundary at the start of a line; the first one
  // may open the body.
  size_t pos = body.starts_with(delim) ? 0 : body.find("\r\n" + delim);
  if (pos == std::string::npos) return p;
  p.preamble = body.substr(0, pos);
  pos = body.starts_with(delim) && pos == 0 ? delim.size() : pos + 2 + delim.size();
  while (true) {
    if (body.compare(pos, 2, "--") == 0) {
      p.closed = true;
      p.epilogue = body.substr(pos + 2);
      break;
    }
    if (body.compare(pos, 2, "\r\n") != 0) break;
    pos += 2;
    size_t next = body.find("\r\n" + delim, pos);
    if (next == std::string::npos) break;
    p.parts.push_back(body.substr(pos, next - pos));
    pos = next + 2 + delim.size();
  }
  return p;
}

// The value of the first field `name` in an (unfolded) header block, or "<absent>".
std::string dsn_field_value(std::string_view block, std::string_view name) {
  size_t pos = 0;
  while (pos < block.size()) {
    size_t eol = block.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = block.size();
    std::string_view line = block.substr(pos, eol - pos);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':') {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return std::string(v);
    }
    if (line.empty()) break;
    pos = eol + 2;
  }
  return "<absent>";
}

std::string dsn_part_body(const std::string& part) {
  size_t e = part.find("\r\n\r\n");
  return e == std::string::npos ? std::string() : part.substr(e + 4);
}

// The groups of a message/delivery-status body, unfolded: [0] per-message, then recipients.
std::vector<std::string> dsn_groups(const std::string& status_body) {
  std::vector<std::string> groups;
  std::string body = dsn_unfold(status_body);
  size_t pos = 0;
  while (pos < body.size()) {
    size_t e = body.find("\r\n\r\n", pos);
    if (e == std::string::npos) {
      groups.push_back(body.substr(pos));
      break;
    }
    groups.push_back(body.substr(pos, e + 2 - pos));
    pos = e + 4;
  }
  return groups;
}

TEST(Dsn, ActionNames) {
  EXPECT_STREQ(dsn_action_name(DsnAction::failed), "failed");
  EXPECT_STREQ(dsn_action_name(DsnAction::delayed), "delayed");
  EXPECT_STREQ(dsn_action_name(DsnAction::delivered), "delivered");
  EXPECT_STREQ(dsn_action_name(DsnAction::relayed), "relayed");
  EXPECT_STREQ(dsn_action_name(DsnAction::expanded), "expanded");
}

TEST(Dsn, FailedReportStructure) {
  std::string msg = build_dsn(dsn_failed_input(), dsn_original);
  DsnParsed p = dsn_parse(msg);
  const std::string& h = p.headers;
  EXPECT_EQ(dsn_field_value(h, "From"), "\"Mail Delivery System\" <MAILER-DAEMON@mx.example.org>");
  EXPECT_EQ(dsn_field_value(h, "To"), "<alice@example.org>");
  EXPECT_EQ(dsn_field_value(h, "Subject"), "Undelivered Mail Returned to Sender");
  EXPECT_EQ(dsn_field_value(h, "Date"), "Tue, 14 Nov 2023 22:13:20 +0000");
  EXPECT_EQ(dsn_field_value(h, "Message-ID"), "<dsn.MR00000000000000000042@mx.example.org>");
  EXPECT_EQ(dsn_field_value(h, "MIME-Version"), "1.0");
  EXPECT_EQ(dsn_field_value(h, "Auto-Submitted"), "auto-replied");
  EXPECT_EQ(dsn_field_value(h, "Content-Type"),
            "multipart/report; report-type=delivery-status;\tboundary=\"" + p.boundary + "\"");
  ASSERT_FALSE(p.boundary.empty());
  EXPECT_NE(p.boundary.find("MR00000000000000000042"), std::string::npos);

  ASSERT_TRUE(p.closed);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(p.epilogue, "\r\n");
  // The boundary occurs only in the Content-Type and the four delimiters.
  size_t count = 0;
  for (size_t at = msg.find(p.boundary); at != std::string::npos; at = msg.find(p.boundary, at + 1))
    ++count;
  EXPECT_EQ(count, 5u);

  EXPECT_EQ(dsn_field_value(p.parts[0], "Content-Type"), "text/plain; charset=utf-8");
  std::string text = dsn_part_body(p.parts[0]);
  EXPECT_NE(text.find("<bob@remote.example>: delivery failed (5.1.1)"), std::string::npos);
  EXPECT_NE(text.find("Remote server: mx1.remote.example"), std::string::npos);
  EXPECT_NE(text.find("It replied: 550 5.1.1 <bob@remote.example>: no such user"),
            std::string::npos);
  EXPECT_NE(text.find("<carol@other.example>: delivery failed (5.4.4)"), std::string::npos);

  EXPECT_EQ(dsn_field_value(p.parts[1], "Content-Type"), "message/delivery-status");
  auto groups = dsn_groups(dsn_part_body(p.parts[1]));
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(dsn_field_value(groups[0], "Reporting-MTA"), "dns; mx.example.org");
  EXPECT_EQ(dsn_field_value(groups[0], "Original-Envelope-Id"), "ENV-42");
  EXPECT_EQ(dsn_field_value(groups[0], "X-Mailroom-Queue-ID"), "MR00000000000000000042");
  EXPECT_EQ(dsn_field_value(groups[0], "Arrival-Date"), "Tue, 14 Nov 2023 21:13:20 +0000");

  EXPECT_EQ(dsn_field_value(groups[1], "Original-Recipient"), "rfc822;bob@remote.example");
  EXPECT_EQ(dsn_field_value(groups[1], "Final-Recipient"), "rfc822; bob@remote.example");
  EXPECT_EQ(dsn_field_value(groups[1], "Action"), "failed");
  EXPECT_EQ(dsn_field_value(groups[1], "Status"), "5.1.1");
  EXPECT_EQ(dsn_field_value(groups[1], "Remote-MTA"), "dns; mx1.remote.example");
  EXPECT_EQ(dsn_field_value(groups[1], "Diagnostic-Code"),
            "smtp; 550 5.1.1 <bob@remote.example>: no such user");
  EXPECT_EQ(dsn_field_value(groups[1], "Last-Attempt-Date"), "Tue, 14 Nov 2023 22:12:20 +0000");
  EXPECT_EQ(dsn_field_value(groups[1], "Will-Retry-Until"), "<absent>");

  EXPECT_EQ(dsn_field_value(groups[2], "Original-Recipient"), "<absent>");
  EXPECT_EQ(dsn_field_value(groups[2], "Final-Recipient"), "rfc822; carol@other.example");
  EXPECT_EQ(dsn_field_value(groups[2], "Action"), "failed");
  EXPECT_EQ(dsn_field_value(groups[2], "Status"), "5.4.4");
  EXPECT_EQ(dsn_field_value(groups[2], "Remote-MTA"), "<absent>");
  EXPECT_EQ(dsn_field_value(groups[2], "Diagnostic-Code"), "<absent>");
  EXPECT_EQ(dsn_field_value(groups[2], "Last-Attempt-Date"), "<absent>");
}

TEST(Dsn, OptionalPerMessageFieldsLeftOut) {
  DsnInput in = dsn_failed_input();
  in.envid.clear();
  in.arrival_date = 0;
  auto groups = dsn_groups(dsn_part_body(dsn_parse(build_dsn(in, dsn_original)).parts.at(1)));
  ASSERT_FALSE(groups.empty());
  EXPECT_EQ(dsn_field_value(groups[0], "Original-Envelope-Id"), "<absent>");
  EXPECT_EQ(dsn_field_value(groups[0], "Arrival-Date"), "<absent>");
  EXPECT_EQ(dsn_field_value(groups[0], "Reporting-MTA"), "dns; mx.example.org");
}

TEST(Dsn, MultiLineReplyFlattenedAndFolded) {
  DsnInput in = dsn_failed_input();
  in.recipients.resize(1);
  in.recipients[0].diagnostic =
      "550-5.7.1 The message was rejected because it looks like unsolicited mail\r\n"
      "550-5.7.1 to this server; see https://postmaster.remote.example/rejected for\n"
      "550 5.7.1 more\x07 information\tand\x7f help\r\nX-Injected: 1\r\n";
  std::string msg = build_dsn(in, dsn_original);
  DsnParsed p = dsn_parse(msg);
  ASSERT_EQ(p.parts.size(), 3u);
  std::string raw_status = dsn_part_body(p.parts[1]);
  // Folded: no line of the status part is longer than 78 characters.
  for (size_t pos = 0; pos < raw_status.size();) {
    size_t eol = raw_status.find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos);
    EXPECT_LE(eol - pos, 78u) << raw_status.substr(pos, eol - pos);
    pos = eol + 2;
  }
  EXPECT_NE(raw_status.find("\r\n "), std::string::npos) << "expected a folded line";
  auto groups = dsn_groups(raw_status);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(dsn_field_value(groups[1], "Diagnostic-Code"),
            "smtp; 550-5.7.1 The message was rejected because it looks like unsolicited "
            "mail 550-5.7.1 to this server; see https://postmaster.remote.example/rejected "
            "for 550 5.7.1 more information and help X-Injected: 1");
  // The injected line became text, not a field, neither in the status part nor the text.
  EXPECT_EQ(dsn_field_value(groups[1], "X-Injected"), "<absent>");
  EXPECT_EQ(msg.find("\r\nX-Injected"), std::string::npos);
  EXPECT_EQ(msg.find('\x07'), std::string::npos);
  EXPECT_EQ(msg.find('\x7f'), std::string::npos);
}

TEST(Dsn, CrlfEverywhereEvenForBareLfOriginal) {
  DsnInput in = dsn_failed_input();
  in.full_message = true;
  std::string lf_original =
      "From: alice@example.org\nSubject: lf\n\nline one\nline two\rstray cr\nno final newline";
  std::string msg = build_dsn(in, lf_original);
  for (size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n') ASSERT_TRUE(i > 0 && msg[i - 1] == '\r') << "bare LF at " << i;
    if (msg[i] == '\r') ASSERT_TRUE(i + 1 < msg.size() && msg[i + 1] == '\n') << "bare CR at " << i;
  }
  ASSERT_TRUE(msg.ends_with("\r\n"));
  DsnParsed p = dsn_parse(msg);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(dsn_part_body(p.parts[2]),
            "From: alice@example.org\r\nSubject: lf\r\n\r\nline one\r\nline two\r\nstray "
            "cr\r\nno final newline\r\n");
}

TEST(Dsn, HeadersOnlyByDefault) {
  DsnParsed p = dsn_parse(build_dsn(dsn_failed_input(), dsn_original));
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(dsn_field_value(p.parts[2], "Content-Type"), "text/rfc822-headers");
  std::string returned = dsn_part_body(p.parts[2]);
  EXPECT_EQ(returned,
            "Received: from client.example by mx.example.org id MR1;\r\n"
            "From: Alice <alice@example.org>\r\n"
            "To: bob@remote.example\r\n"
            "Subject: lunch\r\n"
            "Message-ID: <m1@example.org>\r\n");
  EXPECT_EQ(returned.find("Body line"), std::string::npos);
}

TEST(Dsn, FullMessageWhenAsked) {
  DsnInput in = dsn_failed_input();
  in.full_message = true;
  DsnParsed p = dsn_parse(build_dsn(in, dsn_original));
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(dsn_field_value(p.parts[2], "Content-Type"), "message/rfc822");
  EXPECT_EQ(dsn_part_body(p.parts[2]), dsn_original);
}

TEST(Dsn, FullMessageOverTheCapReturnsHeaders) {
  DsnInput in = dsn_failed_input();
  in.full_message = true;
  std::string big = std::string(dsn_original) + std::string(200, 'x') + "\r\n";
  in.max_returned = big.size();  // at the cap: still whole
  DsnParsed at_cap = dsn_parse(build_dsn(in, big));
  ASSERT_EQ(at_cap.parts.size(), 3u);
  EXPECT_EQ(dsn_field_value(at_cap.parts[2], "Content-Type"), "message/rfc822");
  EXPECT_EQ(dsn_part_body(at_cap.parts[2]), big);

  in.max_returned = big.size() - 1;  // one byte over: headers only
  DsnParsed over = dsn_parse(build_dsn(in, big));
  ASSERT_EQ(over.parts.size(), 3u);
  EXPECT_EQ(dsn_field_value(over.parts[2], "Content-Type"), "text/rfc822-headers");
  EXPECT_EQ(dsn_part_body(over.parts[2]).find("xxxx"), std::string::npos);
  EXPECT_NE(dsn_part_body(over.parts[2]).find("Subject: lunch\r\n"), std::string::npos);
}

TEST(Dsn, BoundaryAvoidsContent) {
  DsnInput in = dsn_failed_input();
  in.full_message = true;
  // The boundary the first try would use, planted in the original as a delimiter line.
  std::string first_try = dsn_parse(build_dsn(in, dsn_original)).boundary;
  ASSERT_FALSE(first_try.empty());
  std::string hostile =
      std::string(dsn_original) + "--" + first_try + "\r\nmore\r\n--" + first_try + "--\r\n";
  std::string msg = build_dsn(in, hostile);
  DsnParsed p = dsn_parse(msg);
  EXPECT_NE(p.boundary, first_try);
  EXPECT_EQ(hostile.find(p.boundary), std::string::npos);
  ASSERT_TRUE(p.closed);
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(dsn_part_body(p.parts[2]), hostile);
}

TEST(Dsn, DelayedReport) {
  DsnInput in = dsn_failed_input();
  in.recipients.resize(1);
  in.recipients[0].action = DsnAction::delayed;
  in.recipients[0].status = "4.4.1";
  in.recipients[0].diagnostic = "421 4.4.1 try later";
  in.recipients[0].will_retry_until = dsn_t0 + 5 * 86400;
  DsnParsed p = dsn_parse(build_dsn(in, dsn_original));
  EXPECT_EQ(dsn_field_value(p.headers, "Subject"), "Delayed Mail (still being retried)");
  ASSERT_EQ(p.parts.size(), 3u);
  auto groups = dsn_groups(dsn_part_body(p.parts[1]));
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(dsn_field_value(groups[1], "Action"), "delayed");
  EXPECT_EQ(dsn_field_value(groups[1], "Will-Retry-Until"), "Sun, 19 Nov 2023 22:13:20 +0000");
  EXPECT_NE(dsn_part_body(p.parts[0]).find("Will keep trying until: Sun, 19 Nov 2023 22:13:20"),
            std::string::npos);
}

TEST(Dsn, SuccessReports) {
  for (DsnAction a : {DsnAction::delivered, DsnAction::relayed, DsnAction::expanded}) {
    DsnInput in = dsn_failed_input();
    in.recipients.resize(1);
    in.recipients[0].action = a;
    in.recipients[0].status = "2.0.0";
    in.recipients[0].will_retry_until = dsn_t0;  // not a delayed report: ignored
    DsnParsed p = dsn_parse(build_dsn(in, dsn_original));
    EXPECT_EQ(dsn_field_value(p.headers, "Subject"), "Successful Mail Delivery Report");
    ASSERT_EQ(p.parts.size(), 3u);
    auto groups = dsn_groups(dsn_part_body(p.parts[1]));
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(dsn_field_value(groups[1], "Action"), dsn_action_name(a));
    EXPECT_EQ(dsn_field_value(groups[1], "Will-Retry-Until"), "<absent>");
  }
}

TEST(Dsn, MixedKindsReportTheFailure) {
  DsnInput in = dsn_failed_input();
  in.recipients[0].action = DsnAction::delivered;
  DsnParsed p = dsn_parse(build_dsn(in, dsn_original));
  EXPECT_EQ(dsn_field_value(p.headers, "Subject"), "Undelivered Mail Returned to Sender");
}

TEST(Dsn, OriginalRecipientGetsAType) {
  DsnInput in = dsn_failed_input();
  in.recipients[0].original_recipient = "bob@remote.example";
  in.recipients[1].original_recipient = "RFC822;carol+2Bx@other.example";
  DsnParsed p = dsn_parse(build_dsn(in, dsn_original));
  ASSERT_EQ(p.parts.size(), 3u);
  auto groups = dsn_groups(dsn_part_body(p.parts[1]));
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(dsn_field_value(groups[1], "Original-Recipient"), "rfc822;bob@remote.example");
  EXPECT_EQ(dsn_field_value(groups[2], "Original-Recipient"), "RFC822;carol+2Bx@other.example");
}

TEST(Dsn, Utf8AddressUsesGlobalDeliveryStatus) {
  DsnInput in = dsn_failed_input();
  in.recipients[0].recipient =
      "j\xc3\xb6rg@b\xc3\xbc"
      "cher.example";
  DsnParsed p = dsn_parse(build_dsn(in, dsn_original));
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(dsn_field_value(p.parts[1], "Content-Type"), "message/global-delivery-status");
  EXPECT_EQ(dsn_field_value(p.parts[1], "Content-Transfer-Encoding"), "8bit");
  auto groups = dsn_groups(dsn_part_body(p.parts[1]));
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(dsn_field_value(groups[1], "Final-Recipient"),
            "utf-8; j\xc3\xb6rg@b\xc3\xbc"
            "cher.example");
  EXPECT_EQ(dsn_field_value(groups[2], "Final-Recipient"), "utf-8; carol@other.example");
}

TEST(Dsn, AsciiReportKeepsStatusPartAscii) {
  DsnInput in = dsn_failed_input();
  in.recipients[0].diagnostic = "550 5.1.1 Benutzer unbekannt \xe2\x80\x93 sorry";
  DsnParsed p = dsn_parse(build_dsn(in, dsn_original));
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_EQ(dsn_field_value(p.parts[1], "Content-Type"), "message/delivery-status");
  std::string status = dsn_part_body(p.parts[1]);
  for (char c : status) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  // The reader still gets the reply as sent in the text part.
  EXPECT_NE(dsn_part_body(p.parts[0]).find("unbekannt \xe2\x80\x93 sorry"), std::string::npos);
}

// Python's email package, a MIME parser that owes nothing to this code, reads the report.
// argv: file, then the expected Action, Status and Final-Recipient of the first recipient and
// the type of the third part.
const char* const dsn_python_check = R"PY(
import email, email.policy, sys
data = open(sys.argv[1], 'rb').read()
action, status, final, third = sys.argv[2:6]
msg = email.message_from_bytes(data, policy=email.policy.default)
def check(cond, what):
    if not cond:
        print('mismatch:', what, file=sys.stderr)
        sys.exit(1)
check(not msg.defects, 'defects %r' % msg.defects)
check(msg.get_content_type() == 'multipart/report', 'type %s' % msg.get_content_type())
check(msg.get_param('report-type') == 'delivery-status', 'report-type')
check(msg['Auto-Submitted'] == 'auto-replied', 'Auto-Submitted')
parts = msg.get_payload()
check(len(parts) == 3, 'parts %d' % len(parts))
check(parts[0].get_content_type() == 'text/plain', 'part 1 %s' % parts[0].get_content_type())
check(parts[1].get_content_type() == 'message/delivery-status',
      'part 2 %s' % parts[1].get_content_type())
blocks = parts[1].get_payload()
check(len(blocks) == 3, 'status blocks %d' % len(blocks))
check(blocks[0]['Reporting-MTA'] == 'dns; mx.example.org', 'Reporting-MTA')
check(blocks[1]['Action'] == action, 'Action %r' % blocks[1]['Action'])
check(blocks[1]['Status'] == status, 'Status %r' % blocks[1]['Status'])
check(blocks[1]['Final-Recipient'] == final, 'Final-Recipient %r' % blocks[1]['Final-Recipient'])
check(blocks[2]['Final-Recipient'] == 'rfc822; carol@other.example', 'second recipient')
check(parts[2].get_content_type() == third, 'part 3 %s' % parts[2].get_content_type())
if third == 'message/rfc822':
    inner = parts[2].get_payload()[0]
    check(inner['Subject'] == 'lunch', 'returned Subject')
for p in parts:
    check(not p.defects, 'part defects %r' % p.defects)
)PY";

class DsnPython : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("mailroom-dsn-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "check.py") << dsn_python_check;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // The exit code of the script on `dsn`; -1 if it could not be run.
  int run(const std::string& dsn, const std::string& args) {
    std::ofstream(dir_ / "dsn.eml", std::ios::binary) << dsn;
    std::string cmd = "/usr/bin/python3 '" + (dir_ / "check.py").string() + "' '" +
                      (dir_ / "dsn.eml").string() + "' " + args;
    int rc = std::system(cmd.c_str());
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }
  std::filesystem::path dir_;
};

TEST_F(DsnPython, ParsesHeadersOnlyReport) {
  ASSERT_EQ(access("/usr/bin/python3", X_OK), 0) << "/usr/bin/python3 is needed (scripts/setup)";
  std::string dsn = build_dsn(dsn_failed_input(), dsn_original);
  EXPECT_EQ(run(dsn, "failed 5.1.1 'rfc822; bob@remote.example' text/rfc822-headers"), 0);
  // The script does check: a wrong expectation makes it fail.
  EXPECT_EQ(run(dsn, "delayed 5.1.1 'rfc822; bob@remote.example' text/rfc822-headers"), 1);
  EXPECT_EQ(run(dsn, "failed 5.1.1 'rfc822; bob@remote.example' message/rfc822"), 1);
}

TEST_F(DsnPython, ParsesFullReportWithFoldedDiagnostic) {
  ASSERT_EQ(access("/usr/bin/python3", X_OK), 0) << "/usr/bin/python3 is needed (scripts/setup)";
  DsnInput in = dsn_failed_input();
  in.full_message = true;
  in.recipients[0].diagnostic =
      "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
      "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
      "550 5.1.1 unnecessary spaces.";
  EXPECT_EQ(run(build_dsn(in, dsn_original),
                "failed 5.1.1 'rfc822; bob@remote.example' "
                "message/rfc822"),
            0);
}

}  // namespace
}  // namespace mailroom::queue
