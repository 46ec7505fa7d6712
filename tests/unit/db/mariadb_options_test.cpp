// The MariaDB connection keys (src/db/mariadb_options.h): server addresses, the shared keys of
// [directory.sql] and [delivery_log], and errors that name the key.
#include "src/db/mariadb_options.h"

#include <gtest/gtest.h>

#include <fstream>

#include "src/core/config_section.h"
#include "tests/unit/auth/test_util.h"  // TempDir

namespace mailroom::db {
namespace {

TEST(ServerAddress, Parses) {
  auto a = parse_server_address("db1.example.com:3307");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "db1.example.com");
  EXPECT_EQ(a->port, 3307u);
  EXPECT_EQ(parse_server_address("db")->port, 3306u);
  auto v6 = parse_server_address("[::1]:3310");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->str(), "[::1]:3310");
  EXPECT_EQ(parse_server_address("/run/mysqld/mysqld.sock")->socket, "/run/mysqld/mysqld.sock");
  for (const char* bad : {"", ":3306", "db:", "db:0", "db:70000", "db:33a", "::1", "[::1"}) {
    EXPECT_FALSE(parse_server_address(bad)) << bad;
  }
}

// Parses `toml` ([delivery_log] keys) and returns the options; `errors` gets the messages.
MariaDbOptions parse(const std::string& toml, std::string* errors) {
  core::ConfigErrors e;
  auto doc = core::ConfigDocument::load_string("[delivery_log]\n" + toml, "test.toml", &e);
  auto root = doc->root();
  auto section = root.child("delivery_log");
  MariaDbOptions o = parse_mariadb_options(section, "maildb", "mailer");
  section.finish();
  for (const auto& m : e.messages()) *errors += m + "\n";
  return o;
}

TEST(MariaDbOptions, Defaults) {
  std::string errors;
  MariaDbOptions o = parse("", &errors);
  EXPECT_EQ(errors, "");
  ASSERT_EQ(o.servers.size(), 1u);
  EXPECT_EQ(o.servers[0].str(), "127.0.0.1:3306");
  EXPECT_EQ(o.database, "maildb");
  EXPECT_EQ(o.user, "mailer");
  EXPECT_EQ(o.pool_size, 4u);
  EXPECT_EQ(o.read_timeout.count(), 10);
  EXPECT_FALSE(o.tls);
}

TEST(MariaDbOptions, KeysAndThePasswordFile) {
  mailroom::testing::TempDir tmp;
  std::ofstream(tmp.file("pw")) << "s3cret\n";
  std::string errors;
  MariaDbOptions o = parse(
      "servers = [\"db1:3307\", \"/run/m.sock\"]\n"
      "password_file = \"" +
          tmp.file("pw") +
          "\"\n"
          "pool_size = 9\nretry_after = \"5s\"\ntls = true\n",
      &errors);
  EXPECT_EQ(errors, "");
  ASSERT_EQ(o.servers.size(), 2u);
  EXPECT_EQ(o.servers[1].socket, "/run/m.sock");
  EXPECT_EQ(o.password, "s3cret");  // the trailing newline is not part of it
  EXPECT_EQ(o.pool_size, 9u);
  EXPECT_EQ(o.retry_after.count(), 5);
  EXPECT_TRUE(o.tls);
}

TEST(MariaDbOptions, ErrorsNameTheKey) {
  std::string errors;
  parse(
      "servers = []\npassword = \"a\"\npassword_file = \"/nonexistent/pw\"\n"
      "read_timeout = \"0s\"\n",
      &errors);
  for (const char* key :
       {"delivery_log.servers", "delivery_log.password_file", "delivery_log.read_timeout"}) {
    EXPECT_NE(errors.find(key), std::string::npos) << key << " in:\n" << errors;
  }
  EXPECT_NE(errors.find("not both"), std::string::npos) << errors;
  EXPECT_NE(errors.find("cannot read /nonexistent/pw"), std::string::npos) << errors;
}

}  // namespace
}  // namespace mailroom::db
