// The ACL commands' grammar (RFC 4314 3) on raw wire strings.
#include <gtest/gtest.h>

#include "src/imap/proto/command.h"

namespace mailroom::imap::proto {
namespace {

TEST(AclParser, ArgumentsOfEachCommand) {
  struct Case {
    const char* line;
    std::vector<std::string> args;
  };
  const Case cases[] = {
      {"a SETACL INBOX bob +lrs", {"INBOX", "bob", "+lrs"}},
      {"a SETACL \"Other Users/alice/Box\" \"$staff@example.com\" \"\"",
       {"Other Users/alice/Box", "$staff@example.com", ""}},
      {"a DELETEACL INBOX -anyone", {"INBOX", "-anyone"}},
      {"a GETACL \"INBOX\"", {"INBOX"}},
      {"a LISTRIGHTS INBOX anyone", {"INBOX", "anyone"}},
      {"a myrights inbox", {"inbox"}},
  };
  for (const auto& c : cases) {
    auto r = parse_command(c.line);
    ASSERT_TRUE(r.ok()) << c.line << ": " << r.error.message;
    EXPECT_EQ(r.command->args, c.args) << c.line;
  }
}

TEST(AclParser, MalformedIsAnError) {
  for (const char* line : {"a SETACL INBOX bob", "a SETACL INBOX", "a GETACL", "a DELETEACL INBOX",
                           "a MYRIGHTS INBOX extra", "a LISTRIGHTS INBOX", "a SETACL INBOX bob l r",
                           "a GETACL (INBOX)"}) {
    auto r = parse_command(line);
    EXPECT_FALSE(r.ok()) << line;
  }
}

}  // namespace
}  // namespace mailroom::imap::proto
