// DKIM signing: the RFC 8463 Appendix A vector bit for bit, and signatures of our own checked
// by an independent verifier (dkimpy, the python3-dkim package) with the TXT record we
// publish as its only DNS answer.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "src/core/base64.h"
#include "src/mailauth/dkim.h"
#include "src/mailauth/dkim_internal.h"

namespace mailroom::mailauth {
namespace {

// RFC 8463 Appendix A: the RFC 8032 7.1 test key (seed nWGxne/9...) as PKCS#8 PEM.
const char kRfc8463KeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
const char kRfc8463Txt[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

// RFC 8463 A.2, the message (the same as RFC 6376 Appendix A).
const char kRfcMessage[] =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

// RFC 8463 A.3, the Ed25519 signature of that message with its b= emptied, and its b=.
const char kRfc8463SignatureNoB[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=";
const char kRfc8463B[] =
    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";

// Exit 0 when dkimpy verifies argv[1] with argv[2] as the TXT record of argv[3], 1 when it
// does not, 77 when dkimpy is not installed. dkimpy's verifier adds a "from" to every h= it
// checks (its own over-signing); argv[4] "strict" turns that off, so that it checks what the
// h= we wrote says and nothing more (RFC 6376 5.4.2).
const char kVerifyScript[] = R"(
import sys
try:
    import dkim
except ImportError:
    sys.exit(77)
if sys.argv[4] == 'strict':
    class AsWritten(list):
        def append(self, item):
            pass
    plain = dkim.DKIM.verify_sig
    dkim.DKIM.verify_sig = lambda self, sig, h, *rest: plain(self, sig, AsWritten(h), *rest)
msg = open(sys.argv[1], 'rb').read()
txt = open(sys.argv[2], 'rb').read()
def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    return txt if n == sys.argv[3] else None
sys.exit(0 if dkim.verify(msg, dnsfunc=dnsfunc) else 1)
)";

class DkimSignTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto rsa = detail::PrivateKey::generate(DkimAlgorithm::rsa_sha256, 2048);
    ASSERT_TRUE(rsa) << rsa.status().to_string();
    auto pem = rsa->pem();
    ASSERT_TRUE(pem);
    auto key = detail::key_from_pem("football.example.com", "mr202612", *pem);
    ASSERT_TRUE(key) << key.status().to_string();
    rsa_key_ = new DkimKey(*key);
  }
  static void TearDownTestSuite() {
    delete rsa_key_;
    rsa_key_ = nullptr;
  }
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mailroom-dkim-sign-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static DkimKey ed25519_key() {
    auto key = detail::key_from_pem("football.example.com", "brisbane", kRfc8463KeyPem);
    EXPECT_TRUE(key) << key.status().to_string();
    return key ? *key : DkimKey{};
  }

  static std::string sign(const DkimKey& key, const std::string& message,
                          DkimSignOptions options = {}) {
    if (options.timestamp == 0) options.timestamp = 1528637909;
    auto signer = DkimSigner::create(key, options);
    EXPECT_TRUE(signer) << signer.status().to_string();
    if (!signer) return "";
    auto header = (*signer)->sign(message);
    EXPECT_TRUE(header) << header.status().to_string();
    return header ? *header : "";
  }

  // dkimpy's verdict on `message` with `key`'s TXT record: 0 verified, 1 not.
  int dkimpy(const DkimKey& key, const std::string& message, bool strict = false) {
    std::string msg_path = (dir_ / "message.eml").string();
    std::string txt_path = (dir_ / "txt").string();
    std::ofstream(msg_path, std::ios::binary) << message;
    std::ofstream(txt_path, std::ios::binary) << key.dns_txt;
    std::string name = key.selector + "._domainkey." + key.domain + ".";
    pid_t pid = ::fork();
    if (pid == 0) {
      const char* argv[] = {"/usr/bin/python3",
                            "-c",
                            kVerifyScript,
                            msg_path.c_str(),
                            txt_path.c_str(),
                            name.c_str(),
                            strict ? "strict" : "default",
                            nullptr};
      ::execv(argv[0], const_cast<char* const*>(argv));
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 77 || code == 127) {
      ADD_FAILURE() << "dkimpy is missing: install python3-dkim (scripts/setup)";
    }
    return code;
  }

  static std::string replace(std::string s, const std::string& from, const std::string& to) {
    auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) s.replace(pos, from.size(), to);
    return s;
  }

  static inline DkimKey* rsa_key_ = nullptr;
  std::filesystem::path dir_;
};

TEST_F(DkimSignTest, Rfc8463KeyAndDnsRecord) {
  DkimKey key = ed25519_key();
  EXPECT_EQ(key.algorithm, DkimAlgorithm::ed25519_sha256);
  EXPECT_EQ(key.dns_txt, kRfc8463Txt);
}

// The RFC's own signature header: our canonicalization, header selection and Ed25519-SHA256
// must reproduce its bh= and b= exactly (Ed25519 is deterministic).
TEST_F(DkimSignTest, Rfc8463AppendixAVector) {
  std::vector<detail::HeaderField> fields;
  std::string body;
  detail::split_message(kRfcMessage, &fields, &body);
  EXPECT_EQ(core::base64_encode(detail::sha256(relaxed_body(body))),
            "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
  // h=from:to:subject:date:message-id:from:subject:date; the last three have no instance left.
  std::string data;
  for (const auto& f : fields) data += relaxed_header(f.name, f.value) + "\r\n";
  std::string sig = kRfc8463SignatureNoB;
  auto colon = sig.find(':');
  data += relaxed_header(sig.substr(0, colon), sig.substr(colon + 1));
  auto key = detail::PrivateKey::from_pem(kRfc8463KeyPem);
  ASSERT_TRUE(key) << key.status().to_string();
  auto b = key->sign(data);
  ASSERT_TRUE(b) << b.status().to_string();
  EXPECT_EQ(core::base64_encode(*b), kRfc8463B);
  // And dkimpy agrees that the RFC's message verifies with the key we derived.
  EXPECT_EQ(dkimpy(ed25519_key(), sig + kRfc8463B + "\r\n" + kRfcMessage), 0);
}

TEST_F(DkimSignTest, Ed25519SignatureVerifiesWithDkimpy) {
  DkimKey key = ed25519_key();
  std::string header = sign(key, kRfcMessage);
  EXPECT_NE(header.find("a=ed25519-sha256;"), std::string::npos) << header;
  EXPECT_NE(header.find("bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;"), std::string::npos);
  EXPECT_EQ(header, sign(key, kRfcMessage));  // deterministic
  EXPECT_EQ(dkimpy(key, header + kRfcMessage), 0) << header;
}

TEST_F(DkimSignTest, RsaSignatureVerifiesWithDkimpy) {
  std::string header = sign(*rsa_key_, kRfcMessage);
  EXPECT_EQ(header.rfind("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
                         "d=football.example.com;\r\n\ts=mr202612; t=1528637909;",
                         0),
            0u)
      << header;
  EXPECT_NE(header.find("h=from:to:subject:date:message-id:from;"), std::string::npos) << header;
  EXPECT_EQ(dkimpy(*rsa_key_, header + kRfcMessage), 0) << header;
}

TEST_F(DkimSignTest, FoldsAt78ColumnsWithTabs) {
  DkimSignOptions options;
  options.timestamp = std::time(nullptr);  // dkimpy refuses an expired signature
  options.expire_after = 86400;
  std::string header = sign(*rsa_key_, kRfcMessage, options);
  EXPECT_NE(header.find("x=" + std::to_string(options.timestamp + 86400) + ";"), std::string::npos);
  ASSERT_GE(header.size(), 2u);
  EXPECT_EQ(header.substr(header.size() - 2), "\r\n");
  std::istringstream lines(header);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ASSERT_FALSE(line.empty());
    ASSERT_EQ(line.back(), '\r') << "bare LF in " << header;
    line.pop_back();
    EXPECT_LE(line.size(), 78u) << line;
    if (n++ > 0) EXPECT_EQ(line.front(), '\t') << line;
  }
  EXPECT_GT(n, 4);  // a 2048-bit b= alone needs five lines
  EXPECT_EQ(dkimpy(*rsa_key_, header + kRfcMessage), 0) << header;
}

TEST_F(DkimSignTest, SignsOnlyPresentHeadersBottomUpAndOverSignsFrom) {
  const std::string message =
      "Received: from x by y\r\n"
      "From: Joe <joe@football.example.com>\r\n"
      "To: a@example.net\r\n"
      "Subject: one\r\n"
      "To: b@example.net,\r\n"
      "\tc@example.net\r\n"
      "\r\n"
      "body\r\n";
  std::string header = sign(*rsa_key_, message);
  EXPECT_NE(header.find("h=from:to:to:subject:from;"), std::string::npos) << header;
  EXPECT_EQ(header.find("received"), std::string::npos);
  EXPECT_EQ(dkimpy(*rsa_key_, header + message), 0) << header;
  // Swapping the two To fields changes which instance each h= entry takes.
  std::string swapped = replace(message, "To: a@example.net\r\n", "");
  swapped = replace(swapped, "\r\n\r\nbody", "\r\nTo: a@example.net\r\n\r\nbody");
  EXPECT_EQ(dkimpy(*rsa_key_, header + swapped), 1);
}

TEST_F(DkimSignTest, RelaxedCanonicalizationToleratesWhitespaceChanges) {
  std::string header = sign(*rsa_key_, kRfcMessage);
  std::string changed = replace(kRfcMessage, "Subject: Is dinner ready?\r\n",
                                "subject:   Is dinner\r\n\t ready?  \r\n");
  changed = replace(changed, "the game.  Are", "the game. \t Are");
  changed += "\r\n\r\n";
  EXPECT_EQ(dkimpy(*rsa_key_, header + changed), 0) << header;
}

TEST_F(DkimSignTest, BareLineFeedsAreReadAsCrlf) {
  std::string lf_message = kRfcMessage;
  std::string::size_type pos = 0;
  while ((pos = lf_message.find("\r\n", pos)) != std::string::npos) lf_message.erase(pos, 1);
  EXPECT_EQ(sign(*rsa_key_, lf_message), sign(*rsa_key_, kRfcMessage));
  DkimKey key = ed25519_key();
  EXPECT_EQ(dkimpy(key, sign(key, lf_message) + kRfcMessage), 0);
}

TEST_F(DkimSignTest, ModifiedBodyFails) {
  for (const DkimKey& key : {*rsa_key_, ed25519_key()}) {
    std::string header = sign(key, kRfcMessage);
    EXPECT_EQ(dkimpy(key, header + replace(kRfcMessage, "hungry", "thirsty")), 1);
    EXPECT_EQ(dkimpy(key, header + kRfcMessage + "P.S.\r\n"), 1);
  }
}

TEST_F(DkimSignTest, ModifiedFromFails) {
  for (const DkimKey& key : {*rsa_key_, ed25519_key()}) {
    std::string header = sign(key, kRfcMessage);
    EXPECT_EQ(dkimpy(key, header + replace(kRfcMessage, "Joe SixPack", "Joe SixPacks")), 1);
  }
}

TEST_F(DkimSignTest, AddedSecondFromFails) {
  const std::string forged = "From: Mallory <mallory@football.example.com>\r\n";
  for (const DkimKey& key : {*rsa_key_, ed25519_key()}) {
    std::string header = sign(key, kRfcMessage);
    for (bool strict : {false, true}) {
      // Above the original From the added one is what most readers show; only the extra
      // "from" in h= catches it (a strict verifier takes instances bottom up).
      EXPECT_EQ(dkimpy(key, header + forged + kRfcMessage, strict), 1);
      EXPECT_EQ(
          dkimpy(key, header + replace(kRfcMessage, "\r\n\r\nHi.", "\r\n" + forged + "\r\nHi."),
                 strict),
          1);
    }
    // The control: To is signed once, not over-signed, so a To added on top passes a strict
    // verifier; that is what the extra "from" prevents for From.
    EXPECT_EQ(dkimpy(key, header + "To: Mallory <m@example.org>\r\n" + kRfcMessage, true), 0);
  }
}

TEST_F(DkimSignTest, ExtraHeadersOptionAndMissingFrom) {
  DkimSignOptions options;
  options.headers = {"Subject", "X-Custom", "subject"};  // From is added; duplicates dropped
  const std::string message = std::string("X-Custom: 1\r\n") + kRfcMessage;
  std::string header = sign(*rsa_key_, message, options);
  EXPECT_NE(header.find("h=from:subject:x-custom:from;"), std::string::npos) << header;
  EXPECT_EQ(dkimpy(*rsa_key_, header + message), 0);
  EXPECT_EQ(dkimpy(*rsa_key_, header + replace(message, "X-Custom: 1", "X-Custom: 2")), 1);

  auto signer = DkimSigner::create(*rsa_key_);
  ASSERT_TRUE(signer);
  EXPECT_EQ((*signer)->sign("To: a@example.net\r\n\r\nbody\r\n").code(),
            core::Code::invalid_argument);
}

TEST_F(DkimSignTest, CreateRejectsBadKeys) {
  DkimKey key = ed25519_key();
  key.algorithm = DkimAlgorithm::rsa_sha256;  // says RSA, holds Ed25519
  EXPECT_EQ(DkimSigner::create(key).code(), core::Code::invalid_argument);
  key = ed25519_key();
  key.private_key_pem = "not a key";
  EXPECT_EQ(DkimSigner::create(key).code(), core::Code::invalid_argument);
  key = ed25519_key();
  key.selector = "../x";
  EXPECT_EQ(DkimSigner::create(key).code(), core::Code::invalid_argument);
  DkimSignOptions options;
  options.headers = {"from", "x-bad:name"};
  EXPECT_EQ(DkimSigner::create(ed25519_key(), options).code(), core::Code::invalid_argument);
}

}  // namespace
}  // namespace mailroom::mailauth
