// LIST patterns (RFC 3501 6.3.8): a table of pattern / name / expected, and the inputs that
// made the old backtracking matcher exponential.
#include "src/imap/proto/list_pattern.h"

#include <gtest/gtest.h>

#include <string>

namespace mailroom::imap::proto {
namespace {

struct Case {
  const char* pattern;
  const char* name;
  bool expected;
};

TEST(ListPattern, Table) {
  const Case cases[] = {
      {"*", "INBOX", true},
      {"*", "Work/Projects/2024", true},
      {"%", "Work", true},
      {"%", "Work/Projects", false},  // "%" stops at the hierarchy delimiter
      {"Work/%", "Work/Projects", true},
      {"Work/%", "Work/Projects/2024", false},
      {"Work/*", "Work/Projects/2024", true},
      {"Work/*", "Work", false},
      {"Work*", "Work", true},  // "*" matches nothing too
      {"Work%", "Work", true},
      {"W%k", "Work", true},
      {"W%k", "W/k", false},
      {"W*k", "W/k", true},
      {"%/%", "Work/Projects", true},
      {"%/%", "Work", false},
      {"*/2024", "Work/Projects/2024", true},
      {"%/2024", "Work/Projects/2024", false},
      {"Work", "Work", true},
      {"Work", "work", false},  // only INBOX is case-insensitive
      {"Work", "Works", false},
      {"Works", "Work", false},
      {"", "", true},
      {"", "x", false},
      {"x", "", false},
      {"%*%", "a/b/c", true},  // a run with a "*" is "*"
      {"%%%", "a/b", false},   // a run of "%" is "%"
      {"a%%b", "ab", true},
      {"*b", "aaab", true},
      {"*b", "aaba", false},
      {"*a*b*", "xaybz", true},
      {"*a*b*", "xbyaz", false},
      // INBOX, in any case, also as the first hierarchy level.
      {"inbox", "INBOX", true},
      {"InBoX", "INBOX", true},
      {"inbox/%", "INBOX/Sub", true},
      {"inbox/sub", "INBOX/Sub", false},  // below INBOX names keep their case
      {"INBOX/Sub", "INBOX/Sub", true},
      {"inb*", "INBOX", true},
      {"inb*", "INBOX/Sub", true},
      {"inb%", "INBOX/Sub", false},
      {"*box", "INBOX", true},
      {"inbox", "INBOXES", false},
      {"inboxes", "INBOXES", false},  // "INBOXES" is an ordinary name
      {"INBOXES", "INBOXES", true},
      {"inbox*", "INBOXES", false},
      // Modified UTF-7 names are matched byte for byte (the session matches in wire space).
      {"&U,BTFw-", "&U,BTFw-", true},
      {"&U*", "&U,BTFw-/x", true},
      {"&", "&U,BTFw-", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ListPattern(c.pattern).matches(c.name), c.expected)
        << "pattern \"" << c.pattern << "\" name \"" << c.name << "\"";
  }
}

TEST(ListPattern, LongPatternsStayLinear) {
  // The old recursive matcher tried every split of the name among the stars: exponential, so
  // this test never ended (ctest's timeout fails it). No wall-clock bound here: these cases
  // take milliseconds with ASan, and a shared machine's noise must not fail the test.
  std::string name(240, 'a');
  std::string stars_b = std::string(30, '*') + "b";
  std::string alternating;
  for (int i = 0; i < 100; ++i) alternating += "%a";
  alternating += "b";
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(ListPattern(stars_b).matches(name));
    EXPECT_FALSE(ListPattern(alternating).matches(name));
    EXPECT_TRUE(ListPattern(std::string(ListPattern::kMaxLength, '*')).matches(name));
  }
  EXPECT_TRUE(ListPattern(std::string(200, '%') + "a").matches(name));
  EXPECT_TRUE(ListPattern("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a").matches(name));
}

TEST(ListPattern, PatternLongerThanNameIsRejectedEarly) {
  std::string pattern(ListPattern::kMaxLength, 'a');
  EXPECT_FALSE(ListPattern(pattern).matches("aaaa"));
  EXPECT_TRUE(ListPattern(pattern).matches(pattern));
}

}  // namespace
}  // namespace mailroom::imap::proto
