// The pure parsers of DMARC, table tests on raw strings: the record and the From field.
#include <gtest/gtest.h>

#include "src/mailauth/dmarc_internal.h"

namespace mailroom::mailauth::detail {
namespace {

TEST(DmarcParseTest, IsRecord) {
  EXPECT_TRUE(dmarc_is_record("v=DMARC1; p=none"));
  EXPECT_TRUE(dmarc_is_record("v = DMARC1 ;p=reject"));
  EXPECT_TRUE(dmarc_is_record("v=DMARC1"));
  EXPECT_FALSE(dmarc_is_record("v=dmarc1; p=none"));  // the value is case-sensitive
  EXPECT_FALSE(dmarc_is_record("p=none; v=DMARC1"));  // v= must come first
  EXPECT_FALSE(dmarc_is_record("v=DMARC10; p=none"));
  EXPECT_FALSE(dmarc_is_record(" v=DMARC1; p=none"));
  EXPECT_FALSE(dmarc_is_record("v=spf1 -all"));
  EXPECT_FALSE(dmarc_is_record(""));
}

TEST(DmarcParseTest, Record) {
  DmarcRecord r = dmarc_parse_record(
      "v=DMARC1; p=Reject; sp=quarantine; adkim=s; aspf=s; pct=20; fo=1; x-unknown=y;");
  EXPECT_TRUE(r.usable);
  EXPECT_EQ(r.p, DmarcPolicy::reject);
  EXPECT_TRUE(r.has_sp);
  EXPECT_EQ(r.sp, DmarcPolicy::quarantine);
  EXPECT_TRUE(r.strict_dkim);
  EXPECT_TRUE(r.strict_spf);
  EXPECT_EQ(r.pct, 20);

  r = dmarc_parse_record("v=DMARC1;p=none");
  EXPECT_TRUE(r.usable);
  EXPECT_FALSE(r.has_sp);
  EXPECT_FALSE(r.strict_dkim);
  EXPECT_EQ(r.pct, 100);

  // Invalid adkim/pct: defaults.
  r = dmarc_parse_record("v=DMARC1; p=quarantine; adkim=x; pct=101");
  EXPECT_TRUE(r.usable);
  EXPECT_FALSE(r.strict_dkim);
  EXPECT_EQ(r.pct, 100);
  EXPECT_EQ(dmarc_parse_record("v=DMARC1; p=reject; pct=-1").pct, 100);
  EXPECT_EQ(dmarc_parse_record("v=DMARC1; p=reject; pct=0").pct, 0);
}

TEST(DmarcParseTest, RecordWithoutValidPolicy) {
  // RFC 7489 6.6.3 step 6: no valid p= (or an invalid sp=) and no rua: not applied.
  for (const char* txt : {"v=DMARC1", "v=DMARC1; p=maybe", "v=DMARC1; p=reject; sp=bad",
                          "v=DMARC1; p=reject; sp=bad; rua=nothing"}) {
    DmarcRecord r = dmarc_parse_record(txt);
    EXPECT_FALSE(r.usable) << txt;
    EXPECT_FALSE(r.detail.empty()) << txt;
  }
  // With a valid rua: as if p=none.
  DmarcRecord r = dmarc_parse_record("v=DMARC1; p=maybe; rua=mailto:dmarc@example.com");
  EXPECT_TRUE(r.usable);
  EXPECT_EQ(r.p, DmarcPolicy::none);
  EXPECT_NE(r.detail.find("p=none"), std::string::npos);
  r = dmarc_parse_record("v=DMARC1; sp=reject; rua=bad, mailto:d@example.com");
  EXPECT_TRUE(r.usable);
  EXPECT_EQ(r.p, DmarcPolicy::none);
  EXPECT_FALSE(r.has_sp);
}

struct DmarcFromCase {
  const char* message;
  size_t fields;
  std::vector<std::string> domains;
  bool error;
};

TEST(DmarcParseTest, AuthorDomains) {
  const DmarcFromCase cases[] = {
      {"From: alice@Example.ORG\r\n\r\nbody", 1, {"example.org"}, false},
      {"from: \"Doe, John (x@evil.test)\" <john@example.org> (comment @evil.test)\r\n\r\n",
       1,
       {"example.org"},
       false},
      {"From: \"a@b\"@example.org\r\n\r\n", 1, {"example.org"}, false},
      {"From: Alice\r\n <alice@example.org>\r\nTo: bob@example.net\r\n\r\n",
       1,
       {"example.org"},
       false},
      {"From: <@relay.test:alice@example.org>\r\n\r\n", 1, {"example.org"}, false},
      {"From: a@example.org, b@evil.test\r\n\r\n", 1, {"example.org", "evil.test"}, false},
      {"From: a@example.org\r\nFrom: b@evil.test\r\n\r\n", 2, {"example.org", "evil.test"}, false},
      {"Subject: no from\r\n\r\nFrom: a@example.org\r\n", 0, {}, false},  // body, not header
      {"From: alice\r\n\r\n", 1, {}, true},
      {"From: alice@[192.0.2.1]\r\n\r\n", 1, {}, true},
      {"From: <alice@example.org\r\n\r\n", 1, {}, true},
      {"From: \r\n\r\n", 1, {}, true},
      {"From: alice@b\xc3\xbc"
       "cher.example\n\n",
       1,
       {"xn--bcher-kva.example"},
       false},
      {"Sender: s@example.net\nFrom:a@example.org\n", 1, {"example.org"}, false},
  };
  for (const DmarcFromCase& c : cases) {
    DmarcAuthors a = dmarc_author_domains(c.message);
    EXPECT_EQ(a.from_fields, c.fields) << c.message;
    EXPECT_EQ(a.domains, c.domains) << c.message;
    EXPECT_EQ(!a.error.empty(), c.error) << c.message << " -> " << a.error;
  }
}

}  // namespace
}  // namespace mailroom::mailauth::detail
