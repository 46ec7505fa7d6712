// Authentication-Results (RFC 8601): the exact header we write, and removing forged ones.
#include <gtest/gtest.h>

#include "src/mailauth/dmarc.h"
#include "src/mailauth/dmarc_internal.h"

namespace mailroom::mailauth {
namespace {

SpfOutcome ar_test_spf(SpfResult result, const std::string& domain, std::string detail = "") {
  SpfOutcome spf;
  spf.result = result;
  spf.domain = domain;
  spf.identity = "mailfrom";
  spf.detail = std::move(detail);
  return spf;
}

DkimSignatureResult ar_test_sig(DkimResult result, const std::string& d, const std::string& s,
                                const std::string& b, std::string detail = "") {
  DkimSignatureResult sig;
  sig.result = result;
  sig.domain = d;
  sig.selector = s;
  sig.b_prefix = b;
  sig.detail = std::move(detail);
  return sig;
}

DmarcOutcome ar_test_dmarc(DmarcResult result, const std::string& from,
                           DmarcPolicy policy = DmarcPolicy::none) {
  DmarcOutcome d;
  d.result = result;
  d.from_domain = from;
  d.policy = policy;
  return d;
}

TEST(AuthResultsTest, AllPass) {
  DkimVerification dkim;
  dkim.signatures.push_back(ar_test_sig(DkimResult::pass, "example.org", "sel", "abcd1234"));
  EXPECT_EQ(
      authentication_results("mx.example.com", ar_test_spf(SpfResult::pass, "example.org"), dkim,
                             ar_test_dmarc(DmarcResult::pass, "example.org"), "alice@example.org"),
      "Authentication-Results: mx.example.com;\r\n"
      "\tspf=pass smtp.mailfrom=alice@example.org;\r\n"
      "\tdkim=pass header.d=example.org header.s=sel header.b=abcd1234;\r\n"
      "\tdmarc=pass header.from=example.org\r\n");
}

TEST(AuthResultsTest, NoSignatureSeveralSignaturesAndQuoting) {
  // Without the envelope address: the domain; no signature: dkim=none.
  EXPECT_EQ(authentication_results("mx.example.com", ar_test_spf(SpfResult::none, "example.org"),
                                   {}, ar_test_dmarc(DmarcResult::none, "example.org")),
            "Authentication-Results: mx.example.com;\r\n"
            "\tspf=none smtp.mailfrom=example.org;\r\n"
            "\tdkim=none;\r\n"
            "\tdmarc=none header.from=example.org\r\n");

  DkimVerification dkim;
  dkim.signatures.push_back(ar_test_sig(DkimResult::pass, "example.org", "sel", "ab/c+d=="));
  dkim.signatures.push_back(
      ar_test_sig(DkimResult::fail, "other.test", "s2", "zzzz", "body hash did not verify"));
  DmarcOutcome dmarc = ar_test_dmarc(DmarcResult::fail, "example.org", DmarcPolicy::reject);
  dmarc.sampled_out = true;
  EXPECT_EQ(authentication_results("mx.example.com", ar_test_spf(SpfResult::softfail, "x.test"),
                                   dkim, dmarc, "john doe.@x.test"),
            "Authentication-Results: mx.example.com;\r\n"
            "\tspf=softfail smtp.mailfrom=\"john doe.\"@x.test;\r\n"
            "\tdkim=pass header.d=example.org header.s=sel header.b=\"ab/c+d==\";\r\n"
            "\tdkim=fail (body hash did not verify) header.d=other.test header.s=s2 "
            "header.b=zzzz;\r\n"
            "\tdmarc=fail (p=reject, sampled out by pct=) header.from=example.org\r\n");
}

TEST(AuthResultsTest, HeloIdentityAndHostileComments) {
  SpfOutcome spf = ar_test_spf(SpfResult::fail, "helo.example.net",
                               "evil)\r\nX-Injected: yes\r\n(more \\ \x01 caf\xc3\xa9");
  spf.identity = "helo";
  DkimVerification dkim;
  dkim.signatures.push_back(
      ar_test_sig(DkimResult::permerror, "bad;domain", "s\"1", "", "((unbalanced"));
  DmarcOutcome dmarc;
  dmarc.result = DmarcResult::permerror;
  dmarc.detail = "From names 2 author domains";
  std::string h = authentication_results("mx.example.com", spf, dkim, dmarc);
  EXPECT_EQ(h,
            "Authentication-Results: mx.example.com;\r\n"
            "\tspf=fail (evil\\) X-Injected: yes \\(more \\\\ caf?"
            "?) smtp.helo=helo.example.net;\r\n"
            "\tdkim=permerror (\\(\\(unbalanced) header.d=\"bad;domain\" header.s=\"s\\\"1\";\r\n"
            "\tdmarc=permerror (From names 2 author domains)\r\n");
  // Only the line breaks we put there.
  size_t breaks = 0;
  for (size_t at = h.find('\n'); at != std::string::npos; at = h.find('\n', at + 1)) ++breaks;
  EXPECT_EQ(breaks, 4u);
}

TEST(AuthResultsTest, AuthservId) {
  EXPECT_EQ(detail::ar_authserv_id(" mx.example.com; spf=pass"), "mx.example.com");
  EXPECT_EQ(detail::ar_authserv_id(" mx.example.com 1; spf=pass"), "mx.example.com");
  EXPECT_EQ(detail::ar_authserv_id(" (c (nested) \\) x) \r\n\tMX.example.com;"), "MX.example.com");
  EXPECT_EQ(detail::ar_authserv_id(" \"mx.example.com\";"), "mx.example.com");
  EXPECT_EQ(detail::ar_authserv_id(" mx.example.com\r\n"), "mx.example.com");
  EXPECT_EQ(detail::ar_authserv_id(" ;"), "");
  EXPECT_EQ(detail::ar_authserv_id(" \"unterminated"), "");
}

TEST(AuthResultsTest, RemoveForged) {
  const std::string message =
      "Received: from a by b;\r\n"
      "\tTue, 1 Jan 2030 00:00:00 +0000\r\n"
      "Authentication-Results: (forged) MX.Example.COM;\r\n"
      "\tspf=pass smtp.mailfrom=bank.example;\r\n"
      "\tdkim=pass header.d=bank.example\r\n"
      "Authentication-Results: mx.example.net; spf=fail\r\n"
      "authentication-results : mx.example.com 1; dmarc=pass\r\n"
      "Authentication-Results: mx.example.com\r\n"
      "Authentication-Results:\r\n"
      "ARC-Authentication-Results: i=1; mx.example.com; spf=pass\r\n"
      "Subject: hi\r\n"
      "\r\n"
      "Authentication-Results: mx.example.com; in the body\r\n"
      "last line\r\n";
  EXPECT_EQ(remove_forged_results(message, "mx.example.com"),
            "Received: from a by b;\r\n"
            "\tTue, 1 Jan 2030 00:00:00 +0000\r\n"
            "Authentication-Results: mx.example.net; spf=fail\r\n"
            "Authentication-Results:\r\n"
            "ARC-Authentication-Results: i=1; mx.example.com; spf=pass\r\n"
            "Subject: hi\r\n"
            "\r\n"
            "Authentication-Results: mx.example.com; in the body\r\n"
            "last line\r\n");
  // Nothing of ours: unchanged, byte for byte; a header-only message too.
  EXPECT_EQ(remove_forged_results(message, "other.example"), message);
  EXPECT_EQ(remove_forged_results("Authentication-Results: mx.example.com; x", "mx.example.com"),
            "");
  EXPECT_EQ(remove_forged_results("Subject: a\n\nbody\n", "mx.example.com"),
            "Subject: a\n\nbody\n");
  // An empty id never matches the id-less field.
  EXPECT_EQ(remove_forged_results("Authentication-Results: ;\r\n\r\n", ""),
            "Authentication-Results: ;\r\n\r\n");
}

}  // namespace
}  // namespace mailroom::mailauth
