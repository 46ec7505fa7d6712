// The in-process libclamav engine (src/filter/libclamav_engine.h) on a database written here:
// scans from memory with mail parsing on, and a signature added to the directory is picked up
// by a reload while the engine keeps answering.
#include "src/filter/libclamav_engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "src/core/base64.h"

namespace mailroom::filter {
namespace {

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

class LibclamavEngineTest : public ::testing::Test {
 protected:
  LibclamavEngineTest() {
    dir_ = std::filesystem::temp_directory_path() / ("mr-libclamav-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    write("first.ndb", "Mailroom.Unit.First:0:*:" + hex("MAILROOM-UNIT-FIRST") + "\n");
  }
  ~LibclamavEngineTest() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(LibclamavEngineTest, ScansMailAndReloadsANewSignature) {
  LibclamavOptions o;
  o.database_dir = dir_.string();
  o.reload_interval = std::chrono::hours(1);  // only check_now() reloads here
  auto engine = open_libclamav_engine(o);
  ASSERT_TRUE(engine) << engine.status().to_string();
  auto& e = **engine;
  EXPECT_EQ(e.name(), "libclamav");
  EXPECT_EQ(e.scan("nothing here").kind, EngineVerdict::Kind::clean);
  auto v = e.scan("xx MAILROOM-UNIT-FIRST yy");
  EXPECT_EQ(v.kind, EngineVerdict::Kind::infected);
  EXPECT_EQ(v.signature.rfind("Mailroom.Unit.First", 0), 0u) << v.signature;
  // Inside a base64 MIME attachment: libclamav decodes the mail.
  std::string mail =
      "From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
      "--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      core::base64_encode("padding MAILROOM-UNIT-FIRST padding") + "\r\n--B--\r\n";
  EXPECT_EQ(e.scan(mail).kind, EngineVerdict::Kind::infected);

  EXPECT_EQ(e.scan("MAILROOM-UNIT-SECOND").kind, EngineVerdict::Kind::clean);
  EXPECT_EQ(e.generation(), 1u);
  write("second.ndb", "Mailroom.Unit.Second:0:*:" + hex("MAILROOM-UNIT-SECOND") + "\n");
  e.check_now();
  for (int i = 0; i < 600 && e.generation() < 2; ++i) {
    EXPECT_NE(e.scan("x").kind, EngineVerdict::Kind::error);  // scans go on meanwhile
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(e.generation(), 2u);
  EXPECT_EQ(e.scan("MAILROOM-UNIT-SECOND").kind, EngineVerdict::Kind::infected);
  EXPECT_EQ(e.scan("MAILROOM-UNIT-FIRST").kind, EngineVerdict::Kind::infected);
}

TEST_F(LibclamavEngineTest, ABrokenDatabaseKeepsTheOldEngine) {
  LibclamavOptions o;
  o.database_dir = dir_.string();
  o.reload_interval = std::chrono::hours(1);
  auto engine = open_libclamav_engine(o);
  ASSERT_TRUE(engine);
  write("broken.ndb", "this is not a signature\n");
  (*engine)->check_now();
  for (int i = 0; i < 600 && (*engine)->failed_reloads() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ((*engine)->failed_reloads(), 1u);
  EXPECT_EQ((*engine)->generation(), 1u);
  EXPECT_EQ((*engine)->scan("MAILROOM-UNIT-FIRST").kind, EngineVerdict::Kind::infected);
}

TEST_F(LibclamavEngineTest, AMessageOverTheSizeLimitIsAnErrorNotClean) {
  LibclamavOptions o;
  o.database_dir = dir_.string();
  o.max_file_size = 16;
  auto engine = open_libclamav_engine(o);
  ASSERT_TRUE(engine);
  EXPECT_EQ((*engine)->scan("sixteen bytes!!!").kind, EngineVerdict::Kind::clean);
  EXPECT_EQ((*engine)->scan("seventeen bytes!!").kind, EngineVerdict::Kind::error);
}

TEST(LibclamavEngine, AMissingDatabaseFailsToOpen) {
  LibclamavOptions o;
  o.database_dir = "/nonexistent/clamav-db";
  EXPECT_FALSE(open_libclamav_engine(o));
}

}  // namespace
}  // namespace mailroom::filter
