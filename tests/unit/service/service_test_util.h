// Fixture for the service-layer tests: a temp directory holding a fresh local directory.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "auth/local/local_directory.h"
#include "tests/unit/auth/test_util.h"

namespace mailroom::service::testing {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth::LocalDirectoryOptions o;
    o.path = tmp_.file("directory.db");
    auto d = auth::LocalDirectory::open(o);
    ASSERT_TRUE(d) << d.status().to_string();
    dir_ = *d;
    auth::Domain example;
    example.name = "example.com";
    ASSERT_TRUE(dir_->add_domain(example));
  }

  mailroom::testing::TempDir tmp_;
  std::shared_ptr<auth::LocalDirectory> dir_;
};

}  // namespace mailroom::service::testing
