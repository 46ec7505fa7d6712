// Administrator block lists (src/filter/blocklist.h): entry validation, the file format, the
// atomic rewrite, matching (CIDR, senders, domains), and reloading after a change, with an
// injected clock instead of waiting for kRecheck.
#include "src/filter/blocklist.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace mailroom::filter {
namespace {

namespace fs = std::filesystem;

class BlocklistTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "mailroom-blocklist-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = blocklist_path(dir_.string());
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_text(const std::string& text) {
    std::ofstream f(path_, std::ios::binary | std::ios::trunc);
    f << text;
  }
  void write_entries(const std::vector<std::pair<std::string, std::string>>& entries) {
    std::vector<BlockEntry> list;
    for (const auto& [kind, value] : entries) {
      auto e = make_block_entry(kind, value);
      ASSERT_TRUE(e) << kind << " " << value << ": " << e.status().to_string();
      list.push_back(*e);
    }
    ASSERT_TRUE(write_blocklist(path_, list).is_ok());
  }
  // A Blocklist whose clock only moves when the test says so.
  Blocklist make() {
    return Blocklist(path_, [this] { return now_; });
  }
  void advance() { now_ += Blocklist::kRecheck; }

  fs::path dir_;
  std::string path_;
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::now();
};

TEST(BlockEntry, NormalizesValidEntries) {
  struct Case {
    const char* kind;
    const char* value;
    const char* want_kind;
    const char* want_value;
  };
  for (const Case& c :
       {Case{"ip", "192.0.2.7", "ip", "192.0.2.7"},
        Case{"IP", "198.51.100.0/24", "ip", "198.51.100.0/24"},
        Case{"ip", "2001:DB8::/32", "ip", "2001:db8::/32"},
        Case{"ip", "0.0.0.0/0", "ip", "0.0.0.0/0"}, Case{"ip", "::/0", "ip", "::/0"},
        Case{"ip", "2001:db8::1/128", "ip", "2001:db8::1/128"},
        Case{"Sender", "Spam@Bad.Example", "sender", "spam@bad.example"},
        Case{"domain", "Bad.EXAMPLE", "domain", "bad.example"}}) {
    auto e = make_block_entry(c.kind, c.value);
    ASSERT_TRUE(e) << c.kind << " " << c.value << ": " << e.status().to_string();
    EXPECT_EQ(e->kind, c.want_kind);
    EXPECT_EQ(e->value, c.want_value);
  }
}

TEST(BlockEntry, RefusesInvalidEntriesNamingTheProblem) {
  struct Case {
    const char* kind;
    const char* value;
    const char* says;
  };
  for (const Case& c : {Case{"ip", "", "not an IP address or CIDR block"},
                        Case{"ip", "300.1.1.1", "not an IP address or CIDR block: 300.1.1.1"},
                        Case{"ip", "10.0.0.0/33", "not an IP address or CIDR block: 10.0.0.0/33"},
                        Case{"ip", "2001:db8::/129", "not an IP address or CIDR block"},
                        Case{"ip", "10.0.0.0/", "not an IP address or CIDR block"},
                        Case{"ip", "bad.example", "not an IP address or CIDR block"},
                        Case{"sender", "", "not an address"},
                        Case{"sender", "no-at-sign", "not an address: no-at-sign"},
                        Case{"domain", "", "not a domain"},
                        Case{"domain", "[192.0.2.1]", "not a domain: [192.0.2.1]"},
                        Case{"domain", "bad example", "not a domain"},
                        Case{"color", "red", "kind must be ip, sender or domain: color"},
                        Case{"", "192.0.2.7", "kind must be ip, sender or domain"}}) {
    auto e = make_block_entry(c.kind, c.value);
    ASSERT_FALSE(e) << c.kind << " " << c.value;
    EXPECT_EQ(e.code(), core::Code::invalid_argument);
    EXPECT_NE(e.status().client_message().find(c.says), std::string::npos)
        << e.status().client_message();
  }
}

TEST_F(BlocklistTest, MissingFileIsEmptyAndBlocksNothing) {
  auto entries = read_blocklist(path_);
  ASSERT_TRUE(entries);
  EXPECT_TRUE(entries->empty());
  auto b = make();
  EXPECT_FALSE(b.blocks_ip("192.0.2.7"));
  EXPECT_FALSE(b.blocks_sender("anyone@bad.example"));
}

TEST_F(BlocklistTest, CommentsBlankLinesAndBadLines) {
  write_text(
      "# Mailroom block list\n"
      "\n"
      "   # an indented comment\r\n"
      "ip 192.0.2.7\r\n"
      "  sender   Spam@Bad.Example  \n"
      "ip 300.1.1.1\n"  // bad address: skipped
      "color red\n"     // unknown kind: skipped
      "ip\n"            // no value: skipped
      "domain worse.example\n"
      "ip 2001:db8::/32 trailing words are ignored\n");
  auto entries = read_blocklist(path_);
  ASSERT_TRUE(entries);
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& e : *entries) got.emplace_back(e.kind, e.value);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, std::string>>{{"ip", "192.0.2.7"},
                                                                   {"sender", "spam@bad.example"},
                                                                   {"domain", "worse.example"},
                                                                   {"ip", "2001:db8::/32"}}));
  auto b = make();
  EXPECT_TRUE(b.blocks_ip("192.0.2.7"));
  EXPECT_FALSE(b.blocks_ip("300.1.1.1"));
  EXPECT_TRUE(b.blocks_sender("spam@bad.example"));
  EXPECT_TRUE(b.blocks_sender("x@worse.example"));
}

TEST_F(BlocklistTest, Ipv4AndIpv6Boundaries) {
  write_entries({{"ip", "192.0.2.0/24"},
                 {"ip", "203.0.113.9/32"},
                 {"ip", "2001:db8::/32"},
                 {"ip", "2001:db8:ffff::1/128"}});
  auto b = make();
  EXPECT_TRUE(b.blocks_ip("192.0.2.0"));
  EXPECT_TRUE(b.blocks_ip("192.0.2.255"));
  EXPECT_FALSE(b.blocks_ip("192.0.1.255"));
  EXPECT_FALSE(b.blocks_ip("192.0.3.0"));
  EXPECT_TRUE(b.blocks_ip("203.0.113.9"));
  EXPECT_FALSE(b.blocks_ip("203.0.113.8"));
  EXPECT_FALSE(b.blocks_ip("203.0.113.10"));
  EXPECT_TRUE(b.blocks_ip("2001:db8::"));
  EXPECT_TRUE(b.blocks_ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(b.blocks_ip("2001:db9::"));
  EXPECT_FALSE(b.blocks_ip("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(b.blocks_ip("::1"));
  EXPECT_FALSE(b.blocks_ip("not an address"));
  EXPECT_FALSE(b.blocks_ip(""));
}

TEST_F(BlocklistTest, PrefixZeroBlocksItsWholeFamilyOnly) {
  write_entries({{"ip", "0.0.0.0/0"}});
  auto v4 = make();
  EXPECT_TRUE(v4.blocks_ip("0.0.0.0"));
  EXPECT_TRUE(v4.blocks_ip("255.255.255.255"));
  EXPECT_FALSE(v4.blocks_ip("2001:db8::1"));
  write_entries({{"ip", "::/0"}});
  auto v6 = make();
  EXPECT_TRUE(v6.blocks_ip("::"));
  EXPECT_TRUE(v6.blocks_ip("2001:db8::1"));
  EXPECT_FALSE(v6.blocks_ip("192.0.2.1"));
}

TEST_F(BlocklistTest, MappedIpv6PeerMatchesIpv4Rule) {
  write_entries({{"ip", "192.0.2.0/24"}});
  auto b = make();
  EXPECT_TRUE(b.blocks_ip("::ffff:192.0.2.7"));
  EXPECT_TRUE(b.blocks_ip("::ffff:c000:2ff"));
  EXPECT_FALSE(b.blocks_ip("::ffff:192.0.3.7"));
}

TEST_F(BlocklistTest, SendersExactlyDomainsWithSubdomains) {
  write_entries({{"sender", "spam@bad.example"}, {"domain", "worse.example"}});
  auto b = make();
  EXPECT_TRUE(b.blocks_sender("spam@bad.example"));
  EXPECT_TRUE(b.blocks_sender("SPAM@Bad.Example"));
  EXPECT_FALSE(b.blocks_sender("spam2@bad.example"));
  EXPECT_FALSE(b.blocks_sender("spam@sub.bad.example"));  // a sender entry is one address
  EXPECT_TRUE(b.blocks_sender("anyone@worse.example"));
  EXPECT_TRUE(b.blocks_sender("anyone@sub.worse.example"));
  EXPECT_TRUE(b.blocks_sender("anyone@A.B.WORSE.EXAMPLE"));
  EXPECT_FALSE(b.blocks_sender("anyone@notworse.example"));
  EXPECT_FALSE(b.blocks_sender("anyone@worse.example.org"));
  EXPECT_FALSE(b.blocks_sender("anyone@example"));
  EXPECT_FALSE(b.blocks_sender("worse.example"));  // no '@': not an address
}

TEST_F(BlocklistTest, NullSenderIsNeverBlocked) {
  // Bounces (MAIL FROM:<>) must get through whatever the list says.
  write_entries({{"domain", "example"}, {"sender", "mailer-daemon@bad.example"}});
  auto b = make();
  EXPECT_FALSE(b.blocks_sender(""));
  EXPECT_TRUE(b.blocks_sender("x@bad.example"));  // while the list itself is in force
}

TEST_F(BlocklistTest, WriteReplacesTheFileAtomically) {
  write_entries({{"ip", "192.0.2.7"}});
  struct stat before {};
  ASSERT_EQ(::stat(path_.c_str(), &before), 0);
  // A reader that opened the old file keeps reading the old file, whole.
  std::ifstream old_reader(path_);
  write_entries({{"ip", "198.51.100.0/24"}, {"sender", "spam@bad.example"}});
  struct stat after {};
  ASSERT_EQ(::stat(path_.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino) << "rewritten in place, not replaced by a rename";
  std::string old_text((std::istreambuf_iterator<char>(old_reader)), {});
  EXPECT_NE(old_text.find("ip 192.0.2.7\n"), std::string::npos) << old_text;
  EXPECT_EQ(old_text.find("198.51.100.0"), std::string::npos) << old_text;
  // The new file is whole, and no temporary file is left behind.
  auto entries = read_blocklist(path_);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].value, "198.51.100.0/24");
  EXPECT_EQ((*entries)[1].value, "spam@bad.example");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"blocklist.txt"});
}

TEST_F(BlocklistTest, WriteFailureLeavesNothingBehind) {
  std::string missing_dir = (dir_ / "missing" / "blocklist.txt").string();
  auto e = make_block_entry("ip", "192.0.2.7");
  ASSERT_TRUE(e);
  auto st = write_blocklist(missing_dir, {*e});
  EXPECT_EQ(st.code(), core::Code::io_error);
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(BlocklistTest, ReloadsAChangedFileOnlyAfterTheRecheckInterval) {
  write_entries({{"sender", "first@bad.example"}});
  auto b = make();
  EXPECT_TRUE(b.blocks_sender("first@bad.example"));
  write_entries({{"sender", "second@bad.example"}});
  // Within kRecheck of the last look the file is not even stat()ed: the old list holds.
  EXPECT_TRUE(b.blocks_sender("first@bad.example"));
  EXPECT_FALSE(b.blocks_sender("second@bad.example"));
  advance();
  EXPECT_FALSE(b.blocks_sender("first@bad.example"));
  EXPECT_TRUE(b.blocks_sender("second@bad.example"));
  // IP rules come from the same reload.
  write_entries({{"ip", "192.0.2.7"}});
  EXPECT_FALSE(b.blocks_ip("192.0.2.7"));
  advance();
  EXPECT_TRUE(b.blocks_ip("192.0.2.7"));
  EXPECT_FALSE(b.blocks_sender("second@bad.example"));
  // A removed file is an empty list.
  ASSERT_TRUE(fs::remove(path_));
  advance();
  EXPECT_FALSE(b.blocks_ip("192.0.2.7"));
}

TEST_F(BlocklistTest, SameSizeRewriteIsSeenThroughTheInode) {
  // Same length and (to the second) the same time: the rename's new inode still tells.
  write_entries({{"sender", "aaaa@bad.example"}});
  auto b = make();
  EXPECT_TRUE(b.blocks_sender("aaaa@bad.example"));
  struct stat before {};
  ASSERT_EQ(::stat(path_.c_str(), &before), 0);
  write_entries({{"sender", "bbbb@bad.example"}});
  struct stat after {};
  ASSERT_EQ(::stat(path_.c_str(), &after), 0);
  ASSERT_EQ(before.st_size, after.st_size);
  timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path_.c_str(), times, 0), 0);
  advance();
  EXPECT_FALSE(b.blocks_sender("aaaa@bad.example"));
  EXPECT_TRUE(b.blocks_sender("bbbb@bad.example"));
}

}  // namespace
}  // namespace mailroom::filter
