#include <gtest/gtest.h>

#include "auth/auth_options.h"
#include "auth/directory_registry.h"
#include "auth/local/local_directory.h"
#include "src/core/config_section.h"
#include "test_util.h"

namespace mailroom::auth {
namespace {

TEST(DirectoryRegistry, LocalIsTheDefault) {
  testing::TempDir tmp;
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string("[directory]\n", "t.toml", &errors);
  auto root = doc->root();
  auto section = root.child("directory");
  auto dir = open_directory(section, tmp.file("data"));
  ASSERT_TRUE(dir) << dir.status().to_string();
  EXPECT_EQ((*dir)->name(), "local");
  EXPECT_NE(dynamic_cast<LocalDirectory*>(dir->get()), nullptr);
  EXPECT_TRUE(errors.empty());
}

TEST(DirectoryRegistry, LocalPathOption) {
  testing::TempDir tmp;
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[directory]\nbackend = \"local\"\n[directory.local]\npath = \"" + tmp.file("x/dir.db") +
          "\"\nbusy_timeout = \"2s\"\n",
      "t.toml", &errors);
  auto root = doc->root();
  auto section = root.child("directory");
  auto dir = open_directory(section, tmp.file("data"));
  ASSERT_TRUE(dir) << dir.status().to_string();
  EXPECT_TRUE(std::filesystem::exists(tmp.file("x/dir.db")));
  EXPECT_TRUE(errors.empty()) << errors.messages().front();
}

TEST(DirectoryRegistry, UnknownBackendIsRefused) {
  testing::TempDir tmp;
  core::ConfigErrors errors;
  auto doc =
      core::ConfigDocument::load_string("[directory]\nbackend = \"nis\"\n", "t.toml", &errors);
  auto root = doc->root();
  auto section = root.child("directory");
  auto dir = open_directory(section, tmp.file("data"));
  // Refused, not replaced by the default backend.
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.status().client_message().find("directory.backend"), std::string::npos)
      << dir.status().to_string();
  EXPECT_FALSE(std::filesystem::exists(tmp.file("data/directory.db")));
  std::string all;
  for (const auto& m : errors.messages()) all += m + "\n";
  EXPECT_NE(all.find("directory.backend: \"nis\" is not one of: local, ldap, sql"),
            std::string::npos)
      << all;
}

TEST(DirectoryRegistry, UnknownKeysAreReported) {
  testing::TempDir tmp;
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[directory]\nbackend = \"local\"\n[directory.local]\nfrobnicate = 1\n", "t.toml", &errors);
  auto root = doc->root();
  auto section = root.child("directory");
  auto dir = open_directory(section, tmp.file("data"));
  ASSERT_EQ(errors.messages().size(), 1u);
  EXPECT_NE(errors.messages()[0].find("directory.local.frobnicate: unknown key"), std::string::npos)
      << errors.messages()[0];
}

// Either way something is asserted: a backend left out of the build says "not built in"; a
// built-in one is opened and refuses its (deliberately empty) server list, before any
// connection is tried.
TEST(DirectoryRegistry, NotBuiltInBackendSaysSo) {
  for (std::string name : {"ldap", "sql"}) {
    SCOPED_TRACE(name);
    const std::string servers_key = name == "ldap" ? "uris" : "servers";
    testing::TempDir tmp;
    core::ConfigErrors errors;
    auto doc =
        core::ConfigDocument::load_string("[directory]\nbackend = \"" + name + "\"\n[directory." +
                                              name + "]\n" + servers_key + " = []\n",
                                          "t.toml", &errors);
    auto root = doc->root();
    auto section = root.child("directory");
    auto dir = open_directory(section, tmp.file("data"));
    ASSERT_FALSE(dir);
    std::string text = dir.status().client_message();
    for (const auto& m : errors.messages()) text += "\n" + m;
    if (directory_backend_built_in(name)) {
      EXPECT_EQ(text.find("is not built in"), std::string::npos) << text;
      EXPECT_NE(text.find("directory." + name + "." + servers_key + ": at least one"),
                std::string::npos)
          << text;
    } else {
      EXPECT_NE(text.find("directory backend " + name + " is not built in"), std::string::npos)
          << text;
    }
  }
  EXPECT_TRUE(directory_backend_built_in("local"));
  EXPECT_FALSE(directory_backend_built_in("nis"));
}

TEST(AuthOptions, ParsesAndValidates) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[auth]\ndefault_domain = \"Example.COM\"\nsubaddress_separator = \"-\"\n"
      "allow_plaintext_on_loopback = true\nmechanisms = [\"plain\", \"SCRAM-SHA-256\"]\n"
      "max_failures_per_account = 7\nlockout = \"1m\"\n",
      "t.toml", &errors);
  auto root = doc->root();
  auto s = root.child("auth");
  auto o = parse_auth_options(s);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.messages().front());
  EXPECT_EQ(o.resolver.default_domain, "example.com");
  EXPECT_EQ(o.resolver.subaddress_separator, '-');
  EXPECT_TRUE(o.allow_plaintext_on_loopback);
  EXPECT_EQ(o.mechanisms, (std::vector<std::string>{"PLAIN", "SCRAM-SHA-256"}));
  EXPECT_EQ(o.throttle.max_failures_per_account, 7);
  EXPECT_EQ(o.throttle.lockout_seconds, 60);
  // Directory passwords: every protocol by default, HTTP Basic (self-recall) included.
  EXPECT_TRUE(o.directory_password_allowed("http"));
  EXPECT_TRUE(o.directory_password_allowed("imap"));
}

TEST(AuthOptions, DirectoryPasswordProtocolsKnowHttp) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[auth]\ndirectory_password_protocols = [\"smtp\", \"HTTP\"]\n", "t.toml", &errors);
  auto root = doc->root();
  auto s = root.child("auth");
  auto o = parse_auth_options(s);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.messages().front());
  EXPECT_TRUE(o.directory_password_allowed("http"));
  EXPECT_FALSE(o.directory_password_allowed("imap"));
}

TEST(AuthOptions, BadValuesAreErrorsNotCrashes) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[auth]\nsubaddress_separator = \"++\"\nmechanisms = [\"GSSAPI\"]\nunknown_key = 1\n",
      "t.toml", &errors);
  auto root = doc->root();
  auto s = root.child("auth");
  auto o = parse_auth_options(s);
  EXPECT_GE(errors.messages().size(), 3u);
  EXPECT_EQ(o.resolver.subaddress_separator, '+');
  EXPECT_TRUE(o.mechanisms.empty());
}

}  // namespace
}  // namespace mailroom::auth
