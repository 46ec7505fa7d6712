// Shared fixtures for the store tests: a temp root removed at the end.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "src/store/mail_store.h"
#include "src/store/store_options.h"

namespace mailroom::store::testing {

inline std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "mailroom-store-XXXXXX").string();
  char* p = ::mkdtemp(tmpl.data());
  if (!p) std::abort();
  return tmpl;
}

inline std::string message(const std::string& subject, const std::string& body = "hello") {
  return "From: a@example.com\nTo: b@example.com\nSubject: " + subject + "\n\n" + body + "\n";
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir();
    options_.root = dir_ + "/mail";
    options_.fsync = false;  // durability is the crash test's subject, not these
    store_ = open_file_store(options_);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  AppendResult put(const std::string& mailbox, const std::string& msg, uint32_t flags = 0) {
    AppendRequest r;
    r.mailbox = mailbox;
    r.message = msg;
    r.flags = flags;
    auto res = store_->append(kUser, r);
    EXPECT_TRUE(res.is_ok()) << res.status().to_string();
    return res.is_ok() ? *res : AppendResult{};
  }
  static constexpr const char* kUser = "0b6c2f1e-1111-4222-8333-944455556666";
  std::string dir_;
  StoreOptions options_;
  std::unique_ptr<MailStore> store_;
};

}  // namespace mailroom::store::testing
