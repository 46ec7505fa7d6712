// split_for_scan (src/filter/scan_parts.h): what a message is cut into for the virus engine,
// and the messages it hands back whole; hostile shapes stay bounded.
#include "src/filter/scan_parts.h"

#include <gtest/gtest.h>

#include "src/core/base64.h"

namespace mailroom::filter {
namespace {

std::string mixed(const std::string& parts) {
  return "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\npreamble\r\n" +
         parts + "--B--\r\nepilogue\r\n";
}

std::string part(const std::string& headers, const std::string& body) {
  return "--B\r\n" + headers + "\r\n\r\n" + body + "\r\n";
}

TEST(ScanParts, LeavesAreDecodedAndTheSkeletonKeepsEverythingElse) {
  std::string msg = mixed(part("Content-Type: text/plain", "plain text here") +
                          part("Content-Type: application/octet-stream\r\n"
                               "Content-Transfer-Encoding: base64",
                               core::base64_encode("the attachment bytes")) +
                          part("Content-Type: text/html\r\nContent-Transfer-Encoding: "
                               "quoted-printable",
                               "<p>a=3Db</p>"));
  ScanUnits u = split_for_scan(msg);
  ASSERT_FALSE(u.whole) << u.reason;
  ASSERT_EQ(u.leaves.size(), 3u);
  EXPECT_EQ(u.leaves[0], "plain text here");
  EXPECT_EQ(u.leaves[1], "the attachment bytes");
  EXPECT_EQ(u.leaves[2], "<p>a=b</p>");
  for (std::string_view kept : {"Subject: s", "preamble", "epilogue", "Content-Type: text/html",
                                "--B--", "Content-Transfer-Encoding: base64"}) {
    EXPECT_NE(u.skeleton.find(kept), std::string::npos) << kept;
  }
  for (std::string_view cut : {"plain text here", "<p>a=3Db</p>"}) {
    EXPECT_EQ(u.skeleton.find(cut), std::string::npos) << cut;
  }
  EXPECT_EQ(u.skeleton.find(core::base64_encode("the attachment bytes")), std::string::npos);
}

TEST(ScanParts, AnAttachedMessageIsWalkedLikeTheTopLevel) {
  std::string inner =
      "From: inner@example.com\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"I\"\r\n\r\n"
      "--I\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: "
      "base64\r\n\r\n" +
      core::base64_encode("zip bytes") + "\r\n--I--\r\n";
  std::string msg = mixed(part("Content-Type: text/plain", "outer") +
                          part("Content-Type: message/rfc822", inner));
  ScanUnits u = split_for_scan(msg);
  ASSERT_FALSE(u.whole) << u.reason;
  ASSERT_EQ(u.leaves.size(), 2u);
  EXPECT_EQ(u.leaves[1], "zip bytes");
  EXPECT_NE(u.skeleton.find("Subject: inner"), std::string::npos);
}

TEST(ScanParts, APlainMessageIsItsHeaderAndItsBody) {
  ScanUnits u = split_for_scan("Subject: x\r\n\r\nbody\r\n");
  ASSERT_FALSE(u.whole);
  ASSERT_EQ(u.leaves.size(), 1u);
  EXPECT_EQ(u.leaves[0], "body\r\n");
  EXPECT_EQ(u.skeleton, "Subject: x\r\n\r\n");
}

TEST(ScanParts, WhatOnlyTheEnginesMailParserDecodesGoesWhole) {
  // An encoding we do not decode.
  EXPECT_TRUE(split_for_scan(mixed(part("Content-Transfer-Encoding: x-uuencode", "x"))).whole);
  // uuencode, yEnc and BinHex inside a text part, and uuencode in a preamble.
  EXPECT_TRUE(split_for_scan(mixed(part("Content-Type: text/plain",
                                        "see\r\nbegin 644 eicar.com\r\nM6#5/\r\nend")))
                  .whole);
  EXPECT_TRUE(split_for_scan("Subject: y\r\n\r\nbegin 0755 a.exe\r\n").whole);
  EXPECT_TRUE(split_for_scan(mixed(part("", "=ybegin line=128 size=3 name=a"))).whole);
  EXPECT_TRUE(
      split_for_scan(mixed(part("", "(This file must be converted with BinHex 4.0)"))).whole);
  EXPECT_TRUE(split_for_scan("Subject: y\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
                             "begin 644 x\r\n--B\r\n\r\nbody\r\n--B--\r\n")
                  .whole);
  // A message/rfc822 part in base64 (RFC 2046 5.2.1 forbids it; ClamAV decodes it).
  EXPECT_TRUE(split_for_scan(mixed(part("Content-Type: message/rfc822\r\n"
                                        "Content-Transfer-Encoding: base64",
                                        core::base64_encode("Subject: z\r\n\r\nx"))))
                  .whole);
  // Not markers: "begin" inside a line, or without an octal mode.
  EXPECT_FALSE(split_for_scan("Subject: y\r\n\r\nwe begin 644 here\r\nbegin now\r\n").whole);
}

TEST(ScanParts, WhatOurParserReadsDifferentlyFromTheEngineGoesWhole) {
  std::string payload = core::base64_encode("the rest of the attachment");
  // Base64 data after a padding "=": our decoder stops there, the engine's goes on.
  EXPECT_TRUE(
      split_for_scan(mixed(part("Content-Transfer-Encoding: base64", "TVo=\r\n" + payload))).whole);
  EXPECT_TRUE(split_for_scan("Subject: b\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                             "TQ==\r\n" +
                             payload + "\r\n")
                  .whole);
  // Padding at the end only, or followed by what the alphabet lacks, is split as before.
  EXPECT_FALSE(split_for_scan(mixed(part("Content-Transfer-Encoding: base64",
                                         core::base64_encode("ab") + "\r\n\r\n-- ")))
                   .whole);
  // A multipart whose boundary we cannot read (RFC 2231 continuation), in any case.
  EXPECT_TRUE(split_for_scan("Subject: m\r\nContent-Type: multipart/mixed; boundary*0=\"x\"\r\n"
                             "\r\n--x\r\n\r\nbody\r\n--x--\r\n")
                  .whole);
  EXPECT_TRUE(
      split_for_scan(mixed(part("Content-Type: MultiPart/Mixed; boundary*=''C", "--C"))).whole);
  EXPECT_TRUE(split_for_scan(mixed(part("Content-Type: multipart/alternative", "x"))).whole);
  // Repeated Content-Type or Content-Transfer-Encoding, at the top or in a part.
  EXPECT_TRUE(split_for_scan(mixed(part("Content-Type: text/plain\r\ncontent-type: "
                                        "application/octet-stream",
                                        "x")))
                  .whole);
  EXPECT_TRUE(split_for_scan(mixed(part("Content-Transfer-Encoding: 7bit\r\n"
                                        "Content-Transfer-Encoding: base64",
                                        payload)))
                  .whole);
  EXPECT_TRUE(split_for_scan("Subject: t\r\nContent-Type: text/plain\r\n"
                             "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\r\n"
                             "x\r\n--B--\r\n")
                  .whole);
  EXPECT_TRUE(split_for_scan("Subject: t\r\nContent-Transfer-Encoding: 7bit\r\n"
                             "Content-Transfer-Encoding: base64\r\n\r\n" +
                             payload)
                  .whole);
  // One of each stays split.
  EXPECT_FALSE(split_for_scan(mixed(part("Content-Type: text/plain\r\n"
                                         "Content-Transfer-Encoding: base64",
                                         payload)))
                   .whole);
}

TEST(ScanParts, HostileShapesAreBounded) {
  // Too many parts.
  std::string many;
  for (int i = 0; i < 300; ++i) many += part("Content-Type: text/plain", "p");
  ScanUnits u = split_for_scan(mixed(many));
  EXPECT_TRUE(u.whole);
  EXPECT_TRUE(u.leaves.empty());
  SplitLimits roomy;
  roomy.max_leaves = 1000;
  EXPECT_FALSE(split_for_scan(mixed(many), roomy).whole);
  // Too deep: multiparts nested 30 times.
  std::string deep = "x";
  for (int i = 0; i < 30; ++i) {
    std::string b = "b" + std::to_string(i);
    deep = "Content-Type: multipart/mixed; boundary=\"" + b + "\"\r\n\r\n--" + b + "\r\n" + deep +
           "\r\n--" + b + "--\r\n";
  }
  EXPECT_TRUE(split_for_scan("Subject: deep\r\n" + deep).whole);
  // A leaf over the size limit.
  SplitLimits small;
  small.max_leaf_bytes = 4;
  EXPECT_TRUE(split_for_scan("Subject: big\r\n\r\nfive!", small).whole);
  // Anything at all is a message: no crash, every byte in the skeleton or a leaf.
  for (std::string_view junk : {std::string_view(""), std::string_view("\r\n\r\n"),
                                std::string_view("--B--"), std::string_view("\0\0\xff", 3),
                                std::string_view("Content-Type: multipart/mixed; boundary=\"\""
                                                 "\r\n\r\n--\r\n--\r\n")}) {
    ScanUnits j = split_for_scan(junk);
    size_t total = j.skeleton.size();
    for (const auto& l : j.leaves) total += l.size();
    if (!j.whole) EXPECT_EQ(total, junk.size()) << junk;
  }
}

}  // namespace
}  // namespace mailroom::filter
