// The DKIM key store on a temporary directory: modes, activation, names that cannot escape.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "src/mailauth/dkim.h"

namespace mailroom::mailauth {
namespace {

class DkimKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("mailroom-dkim-store-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    dir_ = (root_ / "dkim").string();
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static unsigned mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  std::filesystem::path root_;
  std::string dir_;
};

TEST_F(DkimKeyStoreTest, CreateWritesPrivateFiles) {
  DkimKeyStore store(dir_);
  auto key = store.create("Example.COM", "S1", DkimAlgorithm::ed25519_sha256);
  ASSERT_TRUE(key) << key.status().to_string();
  EXPECT_EQ(key->domain, "example.com");
  EXPECT_EQ(key->selector, "s1");
  EXPECT_EQ(key->dns_txt.rfind("v=DKIM1; k=ed25519; p=", 0), 0u) << key->dns_txt;
  EXPECT_EQ(key->dns_txt.size(), std::string("v=DKIM1; k=ed25519; p=").size() + 44);
  std::string path = dir_ + "/example.com/s1.key";
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(dir_ + "/example.com"), 0700u);
  EXPECT_EQ(mode_of(dir_), 0700u);
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "-----BEGIN PRIVATE KEY-----");

  auto loaded = store.load("example.com", "s1");
  ASSERT_TRUE(loaded) << loaded.status().to_string();
  EXPECT_EQ(loaded->private_key_pem, key->private_key_pem);
  EXPECT_EQ(loaded->dns_txt, key->dns_txt);
  EXPECT_EQ(loaded->algorithm, DkimAlgorithm::ed25519_sha256);

  EXPECT_EQ(store.create("example.com", "s1", DkimAlgorithm::ed25519_sha256).code(),
            core::Code::already_exists);
  EXPECT_EQ(store.load("example.com", "s2").code(), core::Code::not_found);
}

TEST_F(DkimKeyStoreTest, RsaKeysAndSizes) {
  DkimKeyStore store(dir_);
  auto key = store.create("example.com", "r1", DkimAlgorithm::rsa_sha256, 1024);
  ASSERT_TRUE(key) << key.status().to_string();
  EXPECT_EQ(key->algorithm, DkimAlgorithm::rsa_sha256);
  // p= is the DER SubjectPublicKeyInfo: for RSA it starts "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"
  EXPECT_EQ(key->dns_txt.rfind("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GN", 0), 0u)
      << key->dns_txt;
  EXPECT_EQ(store.create("example.com", "r2", DkimAlgorithm::rsa_sha256, 512).code(),
            core::Code::invalid_argument);
  EXPECT_EQ(store.create("example.com", "r2", DkimAlgorithm::rsa_sha256, 100000).code(),
            core::Code::invalid_argument);
  auto signer = DkimSigner::create(*key);
  EXPECT_TRUE(signer) << signer.status().to_string();
}

TEST_F(DkimKeyStoreTest, ActivateActiveSelectorsRemove) {
  DkimKeyStore store(dir_);
  EXPECT_EQ(store.active("example.com").code(), core::Code::not_found);
  EXPECT_TRUE(store.selectors("example.com").empty());
  ASSERT_TRUE(store.create("example.com", "b", DkimAlgorithm::ed25519_sha256));
  ASSERT_TRUE(store.create("example.com", "a", DkimAlgorithm::ed25519_sha256));
  EXPECT_EQ(store.active("example.com").code(), core::Code::not_found);  // create does not activate
  EXPECT_EQ(store.selectors("example.com"), (std::vector<std::string>{"a", "b"}));

  EXPECT_EQ(store.activate("example.com", "c").code(), core::Code::not_found);
  ASSERT_TRUE(store.activate("example.com", "b").is_ok());
  EXPECT_EQ(mode_of(dir_ + "/example.com/active"), 0600u);
  auto active = store.active("EXAMPLE.com");
  ASSERT_TRUE(active) << active.status().to_string();
  EXPECT_EQ(active->selector, "b");

  EXPECT_EQ(store.remove("example.com", "b").code(), core::Code::invalid_argument);  // active
  ASSERT_TRUE(store.activate("example.com", "a").is_ok());
  EXPECT_EQ(store.active("example.com")->selector, "a");
  EXPECT_TRUE(store.remove("example.com", "b").is_ok());
  EXPECT_EQ(store.remove("example.com", "b").code(), core::Code::not_found);
  EXPECT_EQ(store.selectors("example.com"), (std::vector<std::string>{"a"}));

  // An active file naming a key that is gone is "could not tell", not "unsigned".
  std::filesystem::remove(dir_ + "/example.com/a.key");
  EXPECT_EQ(store.active("example.com").code(), core::Code::io_error);
}

TEST_F(DkimKeyStoreTest, NamesCannotLeaveTheDirectory) {
  DkimKeyStore store(dir_);
  EXPECT_EQ(store.create("example.com", "../x", DkimAlgorithm::ed25519_sha256).code(),
            core::Code::invalid_argument);
  EXPECT_EQ(store.create("../example.com", "x", DkimAlgorithm::ed25519_sha256).code(),
            core::Code::invalid_argument);
  EXPECT_EQ(store.create("example.com", "x/y", DkimAlgorithm::ed25519_sha256).code(),
            core::Code::invalid_argument);
  EXPECT_EQ(store.load("example.com", "../../etc/passwd").code(), core::Code::invalid_argument);
  EXPECT_EQ(store.activate("example.com", "..").code(), core::Code::invalid_argument);
  EXPECT_EQ(store.remove("example.com", "../x").code(), core::Code::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(root_ / "x.key"));
  EXPECT_FALSE(std::filesystem::exists(dir_));  // nothing was created
}

TEST_F(DkimKeyStoreTest, DamagedKeyFileIsAnIoError) {
  DkimKeyStore store(dir_);
  ASSERT_TRUE(store.create("example.com", "s", DkimAlgorithm::ed25519_sha256));
  std::ofstream(dir_ + "/example.com/s.key") << "garbage\n";
  EXPECT_EQ(store.load("example.com", "s").code(), core::Code::io_error);
}

}  // namespace
}  // namespace mailroom::mailauth
