// Comparators and match types (RFC 4790, RFC 5228 2.7, RFC 5231), and the glob matcher's
// bounded cost on pathological patterns.
#include "src/sieve/match.h"

#include <gtest/gtest.h>

namespace mailroom::sieve {
namespace {

bool glob(std::string_view p, std::string_view t, Comparator c = Comparator::ascii_casemap,
          std::vector<std::string>* caps = nullptr) {
  Budget b{1000000, 0};
  return glob_match(p, t, c, b, caps);
}

TEST(SieveMatch, Glob) {
  EXPECT_TRUE(glob("*make*money*fast*", "Now MAKE real money very fast!"));
  EXPECT_FALSE(glob("*make*money*fast*", "make money slow", Comparator::octet));
  EXPECT_TRUE(glob("a?c", "abc"));
  EXPECT_FALSE(glob("a?c", "ac"));
  EXPECT_TRUE(glob("", ""));
  EXPECT_FALSE(glob("", "x"));
  EXPECT_TRUE(glob("*", ""));
  EXPECT_TRUE(glob("a\\*b", "a*b"));
  EXPECT_FALSE(glob("a\\*b", "axb"));
  EXPECT_TRUE(glob("a\\?", "a?"));
  EXPECT_FALSE(glob("ABC", "abc", Comparator::octet));
  EXPECT_TRUE(glob("ABC", "abc"));
}

TEST(SieveMatch, CapturesLeftmostShortest) {
  std::vector<std::string> caps;
  // RFC 5229 3.2 example: "*@*.*" against "john@example.com".
  ASSERT_TRUE(glob("*@*.*", "john@mail.example.com", Comparator::ascii_casemap, &caps));
  ASSERT_EQ(caps.size(), 4u);
  EXPECT_EQ(caps[0], "john@mail.example.com");
  EXPECT_EQ(caps[1], "john");
  EXPECT_EQ(caps[2], "mail");
  EXPECT_EQ(caps[3], "example.com");
  ASSERT_TRUE(glob("?b*", "abcd", Comparator::octet, &caps));
  EXPECT_EQ(caps[1], "a");
  EXPECT_EQ(caps[2], "cd");
}

TEST(SieveMatch, PathologicalPatternIsBoundedNotExponential) {
  // A backtracking matcher takes exponential time on this; the iterative one is
  // O(pattern x text), and the budget caps even that.
  std::string text(5000, 'a');
  std::string pattern;
  for (int i = 0; i < 30; ++i) pattern += "*a";
  pattern += "*b";
  Budget budget{50'000'000, 0};
  EXPECT_FALSE(glob_match(pattern, text, Comparator::octet, budget));
  EXPECT_FALSE(budget.exhausted());
  EXPECT_LT(budget.used, 5000u * (pattern.size() + 1));
  Budget small{1000, 0};
  EXPECT_FALSE(glob_match(pattern, text, Comparator::octet, small));
  EXPECT_TRUE(small.exhausted());
}

TEST(SieveMatch, ComparatorsAndRelations) {
  EXPECT_EQ(compare("abc", "ABC", Comparator::ascii_casemap), 0);
  EXPECT_NE(compare("abc", "ABC", Comparator::octet), 0);
  // RFC 4790 9.1.1: numbers by value, leading zeros ignored; non-numbers are "infinity".
  EXPECT_EQ(compare("007", "7", Comparator::ascii_numeric), 0);
  EXPECT_LT(compare("9", "10", Comparator::ascii_numeric), 0);
  EXPECT_GT(compare("x", "99999", Comparator::ascii_numeric), 0);
  EXPECT_EQ(compare("x", "y", Comparator::ascii_numeric), 0);
  EXPECT_EQ(compare("12abc", "12", Comparator::ascii_numeric), 0);
  EXPECT_TRUE(relation_holds(1, Relation::gt));
  EXPECT_TRUE(relation_holds(0, Relation::ge));
  EXPECT_TRUE(relation_holds(-1, Relation::ne));
  EXPECT_FALSE(relation_holds(0, Relation::lt));
  EXPECT_EQ(quote_wildcard("a*b?c\\"), "a\\*b\\?c\\\\");
}

}  // namespace
}  // namespace mailroom::sieve
