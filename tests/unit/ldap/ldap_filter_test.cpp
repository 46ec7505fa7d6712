#include "auth/ldap/ldap_filter.h"

#include <gtest/gtest.h>

using namespace mailroom::auth::ldap;

// RFC 4515 section 3 and its examples in section 4.
TEST(LdapFilter, EscapesTheFiveSpecialOctets) {
  EXPECT_EQ(escape_filter_value("Parens R Us (for all your parenthetical needs)"),
            "Parens R Us \\28for all your parenthetical needs\\29");
  EXPECT_EQ(escape_filter_value("*"), "\\2a");
  EXPECT_EQ(escape_filter_value("C:\\MyFile"), "C:\\5cMyFile");
  EXPECT_EQ(escape_filter_value(std::string("a\0b", 3)), "a\\00b");
  EXPECT_EQ(escape_filter_value("alice@example.com"), "alice@example.com");
}

TEST(LdapFilter, KeepsUtf8) {
  EXPECT_EQ(escape_filter_value("王小明@例子.台灣"), "王小明@例子.台灣");
}

TEST(LdapFilter, InjectionAttemptStaysOneValue) {
  std::string f = expand_filter("(&(objectClass=inetOrgPerson)(mail=%s))", "x)(uid=*))(|(uid=*");
  EXPECT_EQ(f, "(&(objectClass=inetOrgPerson)(mail=x\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a))");
}

TEST(LdapFilter, ExpandsLocalPartAndDomain) {
  EXPECT_EQ(expand_filter("(|(sAMAccountName=%u)(userPrincipalName=%s)(x=%d))", "bob@corp.example"),
            "(|(sAMAccountName=bob)(userPrincipalName=bob@corp.example)(x=corp.example))");
  EXPECT_EQ(expand_filter("(uid=%u)(d=%d)", "bob"), "(uid=bob)(d=)");
  EXPECT_EQ(expand_filter("100%% (uid=%s)", "a*"), "100% (uid=a\\2a)");
}

TEST(LdapFilter, BinaryBytes) {
  EXPECT_EQ(escape_filter_bytes(std::string("\x01\xff", 2)), "\\01\\ff");
}

TEST(LdapFilter, DnValues) {
  EXPECT_EQ(escape_dn_value("Smith, John"), "Smith\\, John");
  EXPECT_EQ(escape_dn_value(" #x "), "\\ #x\\ ");
  EXPECT_EQ(escape_dn_value("#x"), "\\#x");
}
