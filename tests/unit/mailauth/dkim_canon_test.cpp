// Relaxed canonicalization (RFC 6376 3.4), the header split and the name checks.
#include <gtest/gtest.h>

#include "src/mailauth/dkim.h"
#include "src/mailauth/dkim_internal.h"

namespace mailroom::mailauth {
namespace {

// RFC 6376 3.4.5, the example message:
//   A: <SP> X <CRLF>
//   B <SP> : <SP> Y <HTAB><CRLF>
//                 <HTAB> Z <SP><SP><CRLF>
//   <CRLF>
//   <SP> C <SP><CRLF>
//   D <SP><HTAB><SP> E <CRLF>
//   <CRLF>
//   <CRLF>
const char kRfc6376Example[] = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";

TEST(DkimCanon, Rfc6376RelaxedExample) {
  std::vector<detail::HeaderField> fields;
  std::string body;
  detail::split_message(kRfc6376Example, &fields, &body);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(relaxed_header(fields[0].name, fields[0].value), "a:X");
  EXPECT_EQ(relaxed_header(fields[1].name, fields[1].value), "b:Y Z");
  EXPECT_EQ(body, " C \r\nD \t E\r\n\r\n\r\n");
  EXPECT_EQ(relaxed_body(body), " C\r\nD E\r\n");
}

TEST(DkimCanon, RelaxedHeader) {
  EXPECT_EQ(relaxed_header("SUBJECT", "  Hello   World \t\r\n"), "subject:Hello World");
  EXPECT_EQ(relaxed_header("To", " a@example.com,\r\n\t b@example.com\r\n"),
            "to:a@example.com, b@example.com");
  EXPECT_EQ(relaxed_header("X", ""), "x:");
  EXPECT_EQ(relaxed_header("X", " \r\n"), "x:");
  EXPECT_EQ(relaxed_header("Folded", " one\n two\n"), "folded:one two");  // bare LF
}

TEST(DkimCanon, RelaxedBody) {
  EXPECT_EQ(relaxed_body(""), "");  // 3.4.4: empty stays empty (simple would give CRLF)
  EXPECT_EQ(relaxed_body("\r\n"), "");
  EXPECT_EQ(relaxed_body("\r\n \t \r\n\r\n"), "");  // whitespace-only lines are empty lines
  EXPECT_EQ(relaxed_body("abc"), "abc\r\n");        // a missing final CRLF is added
  EXPECT_EQ(relaxed_body("a\r\n\r\nb  \r\n\r\n"), "a\r\n\r\nb\r\n");
  EXPECT_EQ(relaxed_body("a\n\t\tb\n\n"), "a\r\n b\r\n");  // bare LF read as CRLF
}

TEST(DkimCanon, SplitMessage) {
  std::vector<detail::HeaderField> fields;
  std::string body;
  detail::split_message("From: a\r\nnot a header\r\n cont\r\nSubject: x\r\n y\r\n", &fields, &body);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].value, " a\r\n");  // the continuation of a skipped line is skipped too
  EXPECT_EQ(fields[1].name, "Subject");
  EXPECT_EQ(fields[1].value, " x\r\n y\r\n");
  EXPECT_EQ(body, "");
  detail::split_message("From: a\n\nbody\n", &fields, &body);
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(body, "body\n");
}

TEST(DkimNames, DomainsAndSelectors) {
  EXPECT_EQ(*detail::normalize_domain("Example.COM"), "example.com");
  EXPECT_EQ(*detail::normalize_domain("mail-1.example.com."), "mail-1.example.com");
  for (const char* bad :
       {"", ".", "..", "../x", "a/b", "-a.com", "a-.com", "a..com", "a_b.com", "exa mple.com"}) {
    EXPECT_EQ(detail::normalize_domain(bad).code(), core::Code::invalid_argument) << bad;
  }
  EXPECT_EQ(*detail::normalize_selector("MR202612"), "mr202612");
  EXPECT_EQ(*detail::normalize_selector("s1.eu"), "s1.eu");
  for (const char* bad : {"", "../x", "x/y", ".x", "x.", "a..b", "-x", "x-", "a_b", "a b"}) {
    EXPECT_EQ(detail::normalize_selector(bad).code(), core::Code::invalid_argument) << bad;
  }
  EXPECT_EQ(detail::normalize_selector(std::string(64, 'a')).code(), core::Code::invalid_argument);
}

TEST(DkimNames, AlgorithmNames) {
  EXPECT_STREQ(dkim_algorithm_name(DkimAlgorithm::rsa_sha256), "rsa-sha256");
  EXPECT_STREQ(dkim_algorithm_name(DkimAlgorithm::ed25519_sha256), "ed25519-sha256");
}

}  // namespace
}  // namespace mailroom::mailauth
