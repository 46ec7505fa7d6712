// METADATA (RFC 5464) and LIST-METADATA (RFC 9590) through the session (no sockets), over the
// real FileStore: values set and read back (strings, literals, literal8 with NUL), NIL removes,
// DEPTH 0/1/infinity, MAXSIZE with LONGENTRIES, the limits (MAXSIZE, TOOMANY) refusing the
// whole command, bad entry names BAD, server entries from the options and read-only,
// /private/specialuse from the special use, annotations kept by RENAME and gone with DELETE.
#include <gtest/gtest.h>

#include <regex>

#include "tests/unit/imap/session_fixture.h"

namespace mailroom::imap {
namespace {

const char kMetaLogin[] = "a LOGIN alice wonderland\r\n";

class ImapMetadata : public ImapSession {
 protected:
  std::string session(const std::string& commands) {
    return run({std::string(kMetaLogin) + commands + "z LOGOUT\r\n"});
  }
};

TEST_F(ImapMetadata, AdvertisedAfterLogin) {
  std::string out = session("b CAPABILITY\r\n");
  auto l = lines_of(out, "b");
  ASSERT_FALSE(l.empty());
  EXPECT_NE(l.front().find(" METADATA METADATA-SERVER"), std::string::npos) << out;
  EXPECT_NE(l.front().find(" LIST-METADATA"), std::string::npos) << out;
  std::string before = run({"a CAPABILITY\r\nb LOGOUT\r\n"});
  EXPECT_EQ(before.find("METADATA"), std::string::npos) << before;
}

TEST_F(ImapMetadata, SetGetRemoveOnMailboxAndServer) {
  std::string out = session(
      "b CREATE Work\r\n"
      "c SETMETADATA Work (/shared/comment \"Team box\" /private/comment {5+}\r\nmine!)\r\n"
      "d GETMETADATA Work (/SHARED/comment /private/comment /shared/vendor/acme/none)\r\n"
      "e SETMETADATA \"\" (/private/comment \"about the server\")\r\n"
      "f GETMETADATA \"\" /private/comment\r\n"
      "g SETMETADATA Work (/private/comment NIL /shared/vendor/acme/gone NIL)\r\n"
      "h GETMETADATA Work (/shared/comment /private/comment)\r\n"
      "i GETMETADATA Nowhere /shared/comment\r\n");
  EXPECT_EQ(tagged(out, "c"), "c OK SETMETADATA completed") << out;
  auto d = lines_of(out, "d");
  ASSERT_EQ(d.size(), 2u) << out;
  EXPECT_EQ(d[0],
            "* METADATA \"Work\" (/shared/comment \"Team box\" /private/comment \"mine!\" "
            "/shared/vendor/acme/none NIL)");
  auto f = lines_of(out, "f");
  ASSERT_EQ(f.size(), 2u) << out;
  EXPECT_EQ(f[0], "* METADATA \"\" (/private/comment \"about the server\")");
  EXPECT_EQ(tagged(out, "g"), "g OK SETMETADATA completed");
  auto h = lines_of(out, "h");
  ASSERT_EQ(h.size(), 2u) << out;
  EXPECT_EQ(h[0], "* METADATA \"Work\" (/shared/comment \"Team box\" /private/comment NIL)");
  EXPECT_EQ(tagged(out, "i").rfind("i NO [NONEXISTENT]", 0), 0u) << out;
  // Durable in the index: another session (and the store itself) sees them.
  auto stored = services_.store->metadata("acct-alice", "Work");
  ASSERT_TRUE(stored) << stored.status().to_string();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].name, "/shared/comment");
}

TEST_F(ImapMetadata, BinaryValuesWithNulComeBackAsLiteral8) {
  std::string bin("\x00\x01\xff\r\nz", 6);
  std::string out = session("b SETMETADATA INBOX (/private/vendor/x/bin ~{6}\r\n" + bin +
                            ")\r\n"
                            "c GETMETADATA INBOX /private/vendor/x/bin\r\n"
                            "d SETMETADATA INBOX (/private/vendor/x/ml {4+}\r\na\r\nb)\r\n"
                            "e GETMETADATA INBOX /private/vendor/x/ml\r\n");
  EXPECT_EQ(tagged(out, "b"), "b OK SETMETADATA completed") << out;
  EXPECT_NE(out.find("* METADATA \"INBOX\" (/private/vendor/x/bin ~{6}\r\n" + bin + ")\r\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("* METADATA \"INBOX\" (/private/vendor/x/ml {4}\r\na\r\nb)\r\n"),
            std::string::npos)
      << out;
}

TEST_F(ImapMetadata, DepthAndMaxsize) {
  std::string big(100, 'x');
  std::string out = session(
      "b SETMETADATA INBOX (/shared/vendor/t/a \"1\" /shared/vendor/t/a/b \"2\" "
      "/shared/vendor/t/a/b/c \"3\" /shared/vendor/t/ab \"sib\" /shared/vendor/t/big \"" +
      big +
      "\")\r\n"
      "c GETMETADATA INBOX /shared/vendor/t/a\r\n"
      "d GETMETADATA (DEPTH 1) INBOX /shared/vendor/t/a\r\n"
      "e GETMETADATA (DEPTH infinity) INBOX /shared/vendor/t/a\r\n"
      "f GETMETADATA (MAXSIZE 50 DEPTH infinity) INBOX /shared/vendor/t\r\n"
      "g GETMETADATA (MAXSIZE 100) INBOX /shared/vendor/t/big\r\n"
      "h GETMETADATA (DEPTH 1) INBOX /shared/vendor/t/none\r\n");
  EXPECT_EQ(lines_of(out, "c")[0], "* METADATA \"INBOX\" (/shared/vendor/t/a \"1\")") << out;
  EXPECT_EQ(lines_of(out, "d")[0],
            "* METADATA \"INBOX\" (/shared/vendor/t/a \"1\" /shared/vendor/t/a/b \"2\")");
  EXPECT_EQ(lines_of(out, "e")[0],
            "* METADATA \"INBOX\" (/shared/vendor/t/a \"1\" /shared/vendor/t/a/b \"2\" "
            "/shared/vendor/t/a/b/c \"3\")");
  auto f = lines_of(out, "f");
  ASSERT_EQ(f.size(), 2u) << out;
  EXPECT_EQ(f[0],
            "* METADATA \"INBOX\" (/shared/vendor/t/a \"1\" /shared/vendor/t/a/b \"2\" "
            "/shared/vendor/t/a/b/c \"3\" /shared/vendor/t/ab \"sib\")");
  EXPECT_EQ(f[1], "f OK [METADATA LONGENTRIES 100] GETMETADATA completed");
  auto g = lines_of(out, "g");
  ASSERT_EQ(g.size(), 2u) << out;
  EXPECT_EQ(g[1], "g OK GETMETADATA completed");
  // DEPTH above 0: an entry with nothing at or below it sends no METADATA response.
  EXPECT_EQ(lines_of(out, "h"), (std::vector<std::string>{"h OK GETMETADATA completed"}));
}

TEST_F(ImapMetadata, LimitsRefuseTheWholeCommand) {
  options_.metadata_max_value = 1024;
  options_.metadata_max_entries = 10;
  options_.metadata_max_bytes = 4096;
  std::string huge(1025, 'h');
  std::string many = "d SETMETADATA INBOX (/shared/vendor/t/applied \"no\"";
  for (int i = 0; i < 10; ++i) many += " /shared/vendor/t/m" + std::to_string(i) + " \"v\"";
  many += ")\r\n";
  std::string heavy = "e SETMETADATA INBOX (/shared/vendor/t/applied \"no\"";
  for (int i = 0; i < 5; ++i)
    heavy += " /shared/vendor/t/h" + std::to_string(i) + " {1000+}\r\n" + std::string(1000, 'y');
  heavy += ")\r\n";
  std::string out = session(
      "b SETMETADATA INBOX (/shared/vendor/t/applied \"no\" /shared/vendor/t/huge {1025+}\r\n" +
      huge + ")\r\n" + "c SETMETADATA INBOX (/shared/vendor/t/keep \"yes\")\r\n" + many + heavy +
      "f GETMETADATA (DEPTH infinity) INBOX /shared/vendor/t\r\n");
  EXPECT_EQ(tagged(out, "b"), "b NO [METADATA MAXSIZE 1024] Value too large") << out;
  EXPECT_EQ(tagged(out, "c"), "c OK SETMETADATA completed");
  EXPECT_EQ(tagged(out, "d"), "d NO [METADATA TOOMANY] Too many annotations") << out;
  EXPECT_EQ(tagged(out, "e"), "e NO [METADATA TOOMANY] Too many annotations") << out;
  EXPECT_EQ(lines_of(out, "f")[0], "* METADATA \"INBOX\" (/shared/vendor/t/keep \"yes\")") << out;
}

TEST_F(ImapMetadata, BadNamesAreBadAndTheSessionGoesOn) {
  std::string out = session(
      "b GETMETADATA INBOX /shared//comment\r\n"
      "c SETMETADATA INBOX (/shared/comment/ \"v\")\r\n"
      "d GETMETADATA INBOX \"/shared/c%\"\r\n"
      "e SETMETADATA INBOX (/foo/bar \"v\")\r\n"
      "f GETMETADATA INBOX \"/shared/caf\xc3\xa9\"\r\n"
      "g GETMETADATA (DEPTH 2) INBOX /shared/comment\r\n"
      "h NOOP\r\n");
  for (const char* t : {"b", "c", "d", "e", "f", "g"})
    EXPECT_EQ(tagged(out, t).rfind(std::string(t) + " BAD ", 0), 0u) << t << "\n" << out;
  EXPECT_EQ(tagged(out, "h"), "h OK NOOP completed");
}

TEST_F(ImapMetadata, UnknownAndReadOnlyEntriesAreRefused) {
  options_.metadata_admin = "mailto:postmaster@example.com";
  options_.metadata_comment = "Mailroom test server";
  std::string out = session(
      "b GETMETADATA \"\" (/shared/admin /shared/comment /private/comment)\r\n"
      "c SETMETADATA \"\" (/shared/comment \"changed\")\r\n"
      "d SETMETADATA \"\" (/shared/vendor/x/y \"changed\")\r\n"
      "e SETMETADATA INBOX (/shared/unregistered \"v\")\r\n"
      "f SETMETADATA Sent (/private/specialuse \"\\\\Archive\")\r\n"
      "g GETMETADATA Sent (/private/specialuse /shared/admin)\r\n"
      "h GETMETADATA INBOX /private/specialuse\r\n"
      "i SETMETADATA INBOX (/private/comment \"kept?\" /shared/unregistered \"v\")\r\n"
      "j GETMETADATA INBOX /private/comment\r\n");
  EXPECT_EQ(lines_of(out, "b")[0],
            "* METADATA \"\" (/shared/admin \"mailto:postmaster@example.com\" /shared/comment "
            "\"Mailroom test server\" /private/comment NIL)")
      << out;
  EXPECT_EQ(tagged(out, "c").rfind("c NO [NOPERM]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "d").rfind("d NO [NOPERM]", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "e").rfind("e NO [CANNOT] Unknown entry", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "f").rfind("f NO [CANNOT]", 0), 0u) << out;
  EXPECT_EQ(lines_of(out, "g")[0],
            "* METADATA \"Sent\" (/private/specialuse \"\\\\Sent\" /shared/admin NIL)")
      << out;
  EXPECT_EQ(lines_of(out, "h")[0], "* METADATA \"INBOX\" (/private/specialuse NIL)") << out;
  EXPECT_EQ(tagged(out, "i").rfind("i NO [CANNOT]", 0), 0u) << out;
  EXPECT_EQ(lines_of(out, "j")[0], "* METADATA \"INBOX\" (/private/comment NIL)") << out;
}

TEST_F(ImapMetadata, KeptByRenameGoneWithDelete) {
  std::string out = session(
      "b CREATE Old/Child\r\n"
      "c SETMETADATA Old (/shared/comment \"parent\")\r\n"
      "d SETMETADATA Old/Child (/private/comment \"child\")\r\n"
      "e RENAME Old New\r\n"
      "f GETMETADATA New /shared/comment\r\n"
      "g GETMETADATA New/Child /private/comment\r\n"
      "h DELETE New/Child\r\n"
      "i CREATE New/Child\r\n"
      "j GETMETADATA New/Child /private/comment\r\n"
      "k CREATE Old\r\n"
      "l GETMETADATA Old /shared/comment\r\n");
  EXPECT_EQ(tagged(out, "e"), "e OK RENAME completed") << out;
  EXPECT_EQ(lines_of(out, "f")[0], "* METADATA \"New\" (/shared/comment \"parent\")") << out;
  EXPECT_EQ(lines_of(out, "g")[0], "* METADATA \"New/Child\" (/private/comment \"child\")");
  EXPECT_EQ(lines_of(out, "j")[0], "* METADATA \"New/Child\" (/private/comment NIL)") << out;
  EXPECT_EQ(lines_of(out, "l")[0], "* METADATA \"Old\" (/shared/comment NIL)") << out;
}

TEST_F(ImapMetadata, ListReturnMetadata) {
  std::string out = session(
      "b CREATE Meta\r\n"
      "c CREATE Meta/Sub\r\n"
      "d SETMETADATA Meta (/shared/comment \"listed\" /private/vendor/x/big \"0123456789\")\r\n"
      "e LIST \"\" \"Meta*\" RETURN (METADATA (/shared/comment /private/vendor/x/big) "
      "STATUS (MESSAGES))\r\n"
      "f LIST \"\" \"Meta\" RETURN (METADATA (/private/vendor/x/big MAXSIZE 5))\r\n"
      "g LIST \"\" \"Meta\" RETURN (MAXSIZE 5)\r\n"
      "h LIST \"\" \"Meta\" RETURN (METADATA (/shared/c*))\r\n");
  auto e = lines_of(out, "e");
  ASSERT_EQ(e.size(), 7u) << out;
  EXPECT_EQ(e[0], "* LIST (\\HasChildren) \"/\" \"Meta\"");
  EXPECT_EQ(
      e[1],
      "* METADATA \"Meta\" (/shared/comment \"listed\" /private/vendor/x/big \"0123456789\")");
  EXPECT_EQ(e[2], "* STATUS \"Meta\" (MESSAGES 0)");
  EXPECT_EQ(e[3], "* LIST (\\HasNoChildren) \"/\" \"Meta/Sub\"");
  EXPECT_EQ(e[4], "* METADATA \"Meta/Sub\" (/shared/comment NIL /private/vendor/x/big NIL)");
  auto f = lines_of(out, "f");
  ASSERT_EQ(f.size(), 2u) << out;
  EXPECT_EQ(f[1], "f OK [METADATA LONGENTRIES 10] LIST completed");
  EXPECT_EQ(tagged(out, "g").rfind("g BAD", 0), 0u) << out;
  EXPECT_EQ(tagged(out, "h").rfind("h BAD", 0), 0u) << out;
}

}  // namespace
}  // namespace mailroom::imap
