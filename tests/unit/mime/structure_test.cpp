// Golden ENVELOPE / BODYSTRUCTURE / BODY strings and section offsets (RFC 3501 7.4.2, 6.4.5).
#include <gtest/gtest.h>

#include <algorithm>

#include "src/mime/facts.h"

namespace mailroom::mime {
namespace {

std::string cut(std::string_view msg, const PartNode& root, SectionRef ref) {
  auto r = locate_section(root, ref);
  if (!r) return "<none>";
  return std::string(msg.substr(r->begin, r->size()));
}

const std::string kSimple =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.com, \"Carol Q\" <carol@x.org>\r\n"
    "Subject: Hi\r\n"
    "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
    "Message-ID: <B27397-0100000@cac.washington.edu>\r\n"
    "\r\n"
    "Hello\r\n"
    "World\r\n";

TEST(Structure, SimpleEnvelopeAndBody) {
  Facts f = parse_facts(kSimple);
  EXPECT_EQ(
      f.envelope,
      "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"Hi\" ((\"Alice\" NIL \"alice\" \"example.com\")) "
      "((\"Alice\" NIL \"alice\" \"example.com\")) ((\"Alice\" NIL \"alice\" \"example.com\")) "
      "((NIL NIL \"bob\" \"example.com\")(\"Carol Q\" NIL \"carol\" \"x.org\")) NIL NIL NIL "
      "\"<B27397-0100000@cac.washington.edu>\")");
  EXPECT_EQ(
      f.bodystructure,
      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 14 2 NIL NIL NIL NIL)");
  EXPECT_EQ(f.body, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 14 2)");
  EXPECT_EQ(cut(kSimple, f.root, {{}, SectionText::text}), "Hello\r\nWorld\r\n");
  EXPECT_EQ(cut(kSimple, f.root, {{1}, SectionText::none}), "Hello\r\nWorld\r\n");
  EXPECT_EQ(cut(kSimple, f.root, {{2}, SectionText::none}), "<none>");
  EXPECT_EQ(cut(kSimple, f.root, {{}, SectionText::none}), kSimple);
  EXPECT_EQ(f.sort_from, "alice");
  EXPECT_EQ(f.sent_date, 760686745);
  EXPECT_EQ(f.sent_tz, -480);
}

const std::string kNested =
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--XX\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "part one\r\n"
    "--XX\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "\r\n"
    "inner body\r\n"
    "--XX--\r\n"
    "epilogue\r\n";

TEST(Structure, MultipartWithMessage) {
  Facts f = parse_facts(kNested);
  EXPECT_EQ(f.bodystructure,
            "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 8 1 NIL NIL NIL NIL)"
            "(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 28 "
            "(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) "
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL) "
            "3 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL)");
  EXPECT_EQ(f.body,
            "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 8 1)"
            "(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 28 "
            "(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) "
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 10 1) 3) \"mixed\")");
  EXPECT_EQ(cut(kNested, f.root, {{1}, SectionText::none}), "part one");
  EXPECT_EQ(cut(kNested, f.root, {{1}, SectionText::mime}),
            "Content-Type: text/plain; charset=utf-8\r\n\r\n");
  EXPECT_EQ(cut(kNested, f.root, {{2}, SectionText::none}), "Subject: inner\r\n\r\ninner body");
  EXPECT_EQ(cut(kNested, f.root, {{2}, SectionText::header}), "Subject: inner\r\n\r\n");
  EXPECT_EQ(cut(kNested, f.root, {{2}, SectionText::text}), "inner body");
  EXPECT_EQ(cut(kNested, f.root, {{2, 1}, SectionText::none}), "inner body");
  EXPECT_EQ(cut(kNested, f.root, {{1}, SectionText::text}), "<none>");
  EXPECT_EQ(cut(kNested, f.root, {{3}, SectionText::none}), "<none>");
  EXPECT_EQ(cut(kNested, f.root, {{1, 1}, SectionText::none}), "<none>");
  EXPECT_EQ(cut(kNested, f.root, {{}, SectionText::text}).substr(0, 10), "preamble\r\n");
}

const std::string kInner =
    "From: sub@domain.org\r\n"
    "Subject: submsg\r\n"
    "\r\n"
    "Hello world\r\n";
const std::string kOuterHeader =
    "From: user@domain.org\r\n"
    "Mime-Version: 1.0\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n";

TEST(Structure, TopLevelMessageRfc822) {
  // RFC 3501 6.4.5: a non-multipart message only has part 1, its body; here that body is an
  // encapsulated message, whose parts are 1.1, 1.2, ...
  std::string msg = kOuterHeader + kInner;
  Facts f = parse_facts(msg);
  EXPECT_EQ(cut(msg, f.root, {{1}, SectionText::none}), kInner);
  EXPECT_EQ(cut(msg, f.root, {{1}, SectionText::header}),
            "From: sub@domain.org\r\nSubject: submsg\r\n\r\n");
  EXPECT_EQ(cut(msg, f.root, {{1}, SectionText::text}), "Hello world\r\n");
  EXPECT_EQ(cut(msg, f.root, {{1}, SectionText::mime}), kOuterHeader);
  EXPECT_EQ(cut(msg, f.root, {{1, 1}, SectionText::none}), "Hello world\r\n");
  EXPECT_EQ(cut(msg, f.root, {{1, 2}, SectionText::none}), "<none>");
  EXPECT_EQ(cut(msg, f.root, {{2}, SectionText::none}), "<none>");
  EXPECT_EQ(cut(msg, f.root, {{}, SectionText::text}), kInner);

  // The encapsulated message is multipart: 1.1 and 1.2 are its parts, 2 does not exist.
  std::string multi = kOuterHeader + kNested;
  Facts g = parse_facts(multi);
  EXPECT_EQ(cut(multi, g.root, {{1}, SectionText::none}), kNested);
  EXPECT_EQ(cut(multi, g.root, {{1, 1}, SectionText::none}), "part one");
  EXPECT_EQ(cut(multi, g.root, {{1, 1}, SectionText::mime}),
            "Content-Type: text/plain; charset=utf-8\r\n\r\n");
  EXPECT_EQ(cut(multi, g.root, {{1, 2, 1}, SectionText::none}), "inner body");
  EXPECT_EQ(cut(multi, g.root, {{1, 2}, SectionText::header}), "Subject: inner\r\n\r\n");
  EXPECT_EQ(cut(multi, g.root, {{1, 3}, SectionText::none}), "<none>");
  EXPECT_EQ(cut(multi, g.root, {{2}, SectionText::none}), "<none>");
}

TEST(Structure, GroupsAndOddAddresses) {
  std::string msg =
      "From: undisclosed-recipients:;\r\n"
      "To: Team: a@b.c, \"Q \\\" x\" <d@e.f>;, <@r1,@r2:g@h.i>\r\n"
      "Subject: =?UTF-8?Q?caf=C3=A9?=\r\n"
      "\r\n";
  Facts f = parse_facts(msg);
  EXPECT_EQ(f.envelope,
            "(NIL \"=?UTF-8?Q?caf=C3=A9?=\" ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL "
            "NIL)) ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) ((NIL NIL "
            "\"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) ((NIL NIL \"Team\" NIL)(NIL NIL "
            "\"a\" \"b.c\")(\"Q \\\" x\" NIL \"d\" \"e.f\")(NIL NIL NIL NIL)(NIL \"@r1,@r2\" \"g\" "
            "\"h.i\")) NIL NIL NIL NIL)");
  EXPECT_EQ(f.subject, "café");
}

TEST(Structure, DisplayNamesWithDotsAndComments) {
  // RFC 5322 obs-phrase: "." belongs to the words around it unless spaced apart.
  std::string msg =
      "From: John Q. Public <jqp@example.com>\r\n"
      "To: Dr. X <x@example.com>, Acme Inc. <i@example.com>, J.R.  Smith <j@example.com>,"
      " Spaced . Dot <s@example.com>, \"Quoted. Name\" <q@example.com>\r\n"
      "Cc: a@b.c (Comment \\(x\\) Name), <d@e.f> (dropped), g.h@i.j\r\n"
      "\r\n";
  Facts f = parse_facts(msg);
  EXPECT_NE(f.envelope.find("((\"John Q. Public\" NIL \"jqp\" \"example.com\"))"),
            std::string::npos)
      << f.envelope;
  EXPECT_NE(f.envelope.find("((\"Dr. X\" NIL \"x\" \"example.com\")(\"Acme Inc.\" NIL \"i\" "
                            "\"example.com\")(\"J.R. Smith\" NIL \"j\" \"example.com\")(\"Spaced . "
                            "Dot\" NIL \"s\" \"example.com\")(\"Quoted. Name\" NIL \"q\" "
                            "\"example.com\"))"),
            std::string::npos)
      << f.envelope;
  EXPECT_NE(f.envelope.find("((\"Comment (x) Name\" NIL \"a\" \"b.c\")(NIL NIL \"d\" \"e.f\")"
                            "(NIL NIL \"g.h\" \"i.j\"))"),
            std::string::npos)
      << f.envelope;
}

TEST(Structure, EightBitHeaderBecomesLiteral) {
  std::string msg = "Subject: caf\xc3\xa9\r\n\r\nx";
  Facts f = parse_facts(msg);
  EXPECT_NE(f.envelope.find("{5}\r\ncaf\xc3\xa9"), std::string::npos) << f.envelope;
}

TEST(Structure, MissingBoundaryAndNoHeader) {
  Facts f = parse_facts("Content-Type: multipart/mixed\r\n\r\nbody\r\n");
  EXPECT_EQ(f.bodystructure.substr(0, 15), "(\"text\" \"plain\"");
  Facts g = parse_facts("");
  EXPECT_EQ(g.bodystructure,
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)");
  EXPECT_EQ(g.envelope, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

// `levels` nested multiparts, each with one part, around a part whose body is "leaf".
std::string nested(int levels) {
  std::string msg;
  for (int i = 0; i < levels; ++i)
    msg += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
           std::to_string(i) + "\r\n";
  return msg + "\r\nleaf\r\n";
}

// The deepest parenthesis nesting of a BODYSTRUCTURE (no quoted parentheses in these tests).
int paren_depth(const std::string& s) {
  int depth = 0, most = 0;
  for (char c : s) {
    if (c == '(') most = std::max(most, ++depth);
    if (c == ')') --depth;
  }
  return most;
}

// The multipart nodes from the root down the first child, and the node below them.
int multipart_levels(const PartNode& root, const PartNode** below) {
  int n = 0;
  const PartNode* p = &root;
  while (p->kind == PartKind::multipart) {
    EXPECT_EQ(p->children.size(), 1u);
    if (p->children.empty()) break;
    p = &p->children[0];
    ++n;
  }
  *below = p;
  return n;
}

// src/mime/structure.cpp: deeper nesting than this is an opaque leaf.
constexpr int kMaxDepth = 40;

TEST(Structure, DeepNestingIsBounded) {
  // At the limit, every level is a multipart and the text/plain leaf is reached.
  std::string at = nested(kMaxDepth);
  Facts a = parse_facts(at);
  const PartNode* leaf = nullptr;
  EXPECT_EQ(multipart_levels(a.root, &leaf), kMaxDepth);
  EXPECT_EQ(leaf->kind, PartKind::leaf);
  EXPECT_EQ(at.substr(leaf->body.begin, leaf->body.size()), "leaf\r\n");
  EXPECT_NE(a.bodystructure.find("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
                                 "\"7BIT\" 6 1 "),
            std::string::npos);

  // 200 levels: the multiparts stop at the limit; below them one opaque text/plain part
  // holds the rest of the message, and no part is the "leaf" text alone.
  std::string msg = nested(200);
  Facts f = parse_facts(msg);
  EXPECT_EQ(multipart_levels(f.root, &leaf), kMaxDepth);
  EXPECT_EQ(leaf->kind, PartKind::leaf);
  EXPECT_TRUE(leaf->children.empty());
  std::string opaque = msg.substr(leaf->header.begin);
  EXPECT_EQ(opaque.rfind("Content-Type: multipart/mixed; boundary=b40\r\n", 0), 0u);
  EXPECT_EQ(leaf->body.end, msg.size());
  EXPECT_LE(paren_depth(f.bodystructure), kMaxDepth + 2);  // multiparts, the leaf, its params
  EXPECT_EQ(paren_depth(f.bodystructure), paren_depth(a.bodystructure));

  auto blob = extract_facts(msg);
  auto back = decode_facts(blob);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->bodystructure, f.bodystructure);
}

TEST(Facts, RoundTripAndRejectsGarbage) {
  auto blob = extract_facts(kNested);
  auto f = decode_facts(blob);
  ASSERT_TRUE(f.is_ok());
  Facts direct = parse_facts(kNested);
  EXPECT_EQ(f->envelope, direct.envelope);
  EXPECT_EQ(f->bodystructure, direct.bodystructure);
  EXPECT_EQ(f->root.children.size(), 2u);
  EXPECT_EQ(f->root.children[1].children[0].body.size(), 10u);
  EXPECT_FALSE(decode_facts("").is_ok());
  EXPECT_FALSE(decode_facts("MRF1\n99999:x").is_ok());
  EXPECT_FALSE(decode_facts(blob.substr(0, blob.size() - 3)).is_ok());
}

TEST(Header, FilterFields) {
  std::string h = "From: a@b\r\nSubject: x\r\n  folded\r\nTo: c@d\r\n\r\n";
  EXPECT_EQ(filter_header(h, {"subject", "TO"}, false),
            "Subject: x\r\n  folded\r\nTo: c@d\r\n\r\n");
  EXPECT_EQ(filter_header(h, {"subject"}, true), "From: a@b\r\nTo: c@d\r\n\r\n");
  EXPECT_EQ(filter_header(h, {"x-none"}, false), "\r\n");
  auto v = header_values(h, "subject");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], "x  folded");
}

}  // namespace
}  // namespace mailroom::mime
