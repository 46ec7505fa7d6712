// The Public Suffix List: a small list in the file's format, then Debian's real file.
#include <gtest/gtest.h>
#include <unistd.h>

#include "src/mailauth/dmarc.h"
#include "src/mailauth/dmarc_internal.h"

namespace mailroom::mailauth {
namespace {

const char kPslSmallList[] =
    "// comment line\n"
    "// ===BEGIN ICANN DOMAINS===\n"
    "com\n"
    "uk\n"
    "co.uk   trailing text after whitespace is ignored\n"
    "\n"
    "*.ck\n"
    "!www.ck\n"
    "\xe5\x85\xac\xe5\x8f\xb8.cn\n"  // 公司.cn
    "cn\n"
    "// ===END ICANN DOMAINS===\n"
    "// ===BEGIN PRIVATE DOMAINS===\n"
    "github.io\r\n"
    "// ===END PRIVATE DOMAINS===\n";

TEST(PublicSuffixTest, SmallListRulesWildcardsAndExceptions) {
  auto psl = PublicSuffixList::from_text(kPslSmallList);
  ASSERT_NE(psl, nullptr);
  EXPECT_EQ(psl->organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(psl->organizational_domain("example.co.uk"), "example.co.uk");
  EXPECT_EQ(psl->organizational_domain("Mail.Example.COM."), "example.com");
  // *.ck: every foo.ck is a public suffix, so the organization is one label further.
  EXPECT_EQ(psl->organizational_domain("a.foo.bar.ck"), "foo.bar.ck");
  EXPECT_EQ(psl->organizational_domain("foo.bar.ck"), "foo.bar.ck");
  EXPECT_EQ(psl->organizational_domain("bar.ck"), "bar.ck");  // a public suffix itself
  // !www.ck: www.ck is not a public suffix, ck is.
  EXPECT_EQ(psl->organizational_domain("a.www.ck"), "www.ck");
  EXPECT_EQ(psl->organizational_domain("www.ck"), "www.ck");
  // A public suffix is its own organizational domain.
  EXPECT_EQ(psl->organizational_domain("com"), "com");
  EXPECT_EQ(psl->organizational_domain("co.uk"), "co.uk");
  // No rule: the implicit "*".
  EXPECT_EQ(psl->organizational_domain("a.b.example.unknowntld"), "example.unknowntld");
  EXPECT_EQ(psl->organizational_domain("unknowntld"), "unknowntld");
  // The PRIVATE section counts.
  EXPECT_EQ(psl->organizational_domain("www.alice.github.io"), "alice.github.io");
  // UTF-8 rules match A-labels, and U-labels are converted on the way in.
  EXPECT_EQ(psl->organizational_domain("a.b.xn--55qx5d.cn"), "b.xn--55qx5d.cn");
  EXPECT_EQ(psl->organizational_domain("a.b.\xe5\x85\xac\xe5\x8f\xb8.cn"), "b.xn--55qx5d.cn");
  // Not host names.
  EXPECT_EQ(psl->organizational_domain(""), "");
  EXPECT_EQ(psl->organizational_domain("a..example.com"), "");
  EXPECT_EQ(psl->organizational_domain("a b.com"), "");
}

TEST(PublicSuffixTest, EmptyListIsTheImplicitRule) {
  auto psl = PublicSuffixList::from_text("");
  EXPECT_EQ(psl->organizational_domain("a.b.example.co.uk"), "co.uk");
  EXPECT_EQ(psl->organizational_domain("com"), "com");
}

TEST(PublicSuffixTest, Punycode) {
  // RFC 3492 7.1 and well-known names.
  std::string out;
  ASSERT_TRUE(
      detail::psl_punycode("b\xc3\xbc"
                           "cher",
                           &out));
  EXPECT_EQ(out, "bcher-kva");
  ASSERT_TRUE(detail::psl_punycode("m\xc3\xbcnchen", &out));
  EXPECT_EQ(out, "mnchen-3ya");
  ASSERT_TRUE(detail::psl_punycode("\xe5\x85\xac\xe5\x8f\xb8", &out));  // 公司
  EXPECT_EQ(out, "55qx5d");
  // RFC 3492 7.1 (B) Chinese (simplified): 他们为什么不说中文
  ASSERT_TRUE(detail::psl_punycode(
      "\xe4\xbb\x96\xe4\xbb\xac\xe4\xb8\xba\xe4\xbb\x80\xe4\xb9\x88\xe4\xb8\x8d\xe8\xaf\xb4\xe4"
      "\xb8\xad\xe6\x96\x87",
      &out));
  EXPECT_EQ(out, "ihqwcrb4cv8a8dqg056pqjye");
  EXPECT_FALSE(detail::psl_punycode("\xc3", &out));      // truncated UTF-8
  EXPECT_FALSE(detail::psl_punycode("\xc0\xaf", &out));  // overlong
  EXPECT_EQ(detail::psl_ascii_domain("B\xc3\xbc"
                                     "cher.Example."),
            "xn--bcher-kva.example");
}

TEST(PublicSuffixTest, DebianList) {
  if (::access(PublicSuffixList::kDebianPath, R_OK) != 0) {
    GTEST_SKIP() << PublicSuffixList::kDebianPath
                 << " missing (scripts/setup installs publicsuffix)";
  }
  auto psl = PublicSuffixList::load(PublicSuffixList::kDebianPath);
  ASSERT_NE(psl, nullptr);
  EXPECT_EQ(psl->organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(psl->organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(psl->organizational_domain("com"), "com");
  EXPECT_EQ(psl->organizational_domain("a.foo.bar.ck"), "foo.bar.ck");
  EXPECT_EQ(psl->organizational_domain("a.www.ck"), "www.ck");
  EXPECT_EQ(psl->organizational_domain("a.b.c.kawasaki.jp"), "b.c.kawasaki.jp");
  EXPECT_EQ(psl->organizational_domain("a.city.kawasaki.jp"), "city.kawasaki.jp");
  EXPECT_EQ(psl->organizational_domain("www.alice.github.io"), "alice.github.io");
  EXPECT_EQ(psl->organizational_domain("a.b.xn--55qx5d.cn"), "b.xn--55qx5d.cn");
  EXPECT_EQ(psl->organizational_domain("mail.example.invalidtld"), "example.invalidtld");
}

TEST(PublicSuffixTest, LoadMissingFile) {
  EXPECT_EQ(PublicSuffixList::load("/nonexistent/public_suffix_list.dat"), nullptr);
}

}  // namespace
}  // namespace mailroom::mailauth
