// DKIM verification: signatures made by our DkimSigner and by an independent signer (dkimpy,
// the python3-dkim package), keys served by a real dnsmasq on a loopback port
// (tests/unit/dns/dns_rig.h); table tests for the tag-list, signature and key record parsers
// and for simple canonicalization.
#include "src/mailauth/dkim_verify.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "src/core/base64.h"
#include "src/core/clock.h"
#include "src/dns/resolver.h"
#include "src/mailauth/dkim.h"
#include "src/mailauth/dkim_internal.h"
#include "src/mailauth/dkim_verify_internal.h"
#include "tests/unit/dns/dns_rig.h"

namespace mailroom::mailauth {
namespace {

constexpr int64_t kSignedAt = 1'800'000'000;  // t= of our own signatures

const char kVerifyMessage[] =
    "From: Alice <alice@example.test>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: Lunch\r\n"
    "Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n"
    "Message-ID: <lunch.1@example.test>\r\n"
    "\r\n"
    "Hello Bob.\r\n"
    "\r\n"
    "See you at noon.\r\n";

// argv: message, key, selector, domain, header canon, body canon, algorithm, l= (1/0), output.
// Exit 77 when dkimpy is not installed.
const char kDkimpySignScript[] = R"(
import sys
try:
    import dkim
except ImportError:
    sys.exit(77)
a = sys.argv
sig = dkim.sign(open(a[1], 'rb').read(), a[3].encode(), a[4].encode(), open(a[2], 'rb').read(),
                canonicalize=(a[5].encode(), a[6].encode()), signature_algorithm=a[7].encode(),
                length=a[8] == '1')
open(a[9], 'wb').write(sig)
)";

// dnsmasq's txt-record takes <character-string>s of at most 255 bytes each; the resolver
// joins them again (RFC 6376 3.6.2.2).
std::string dnsmasq_txt(const std::string& name, const std::string& text) {
  std::string line = "txt-record=" + name;
  for (std::size_t pos = 0; pos < text.size(); pos += 200) {
    line += ",\"" + text.substr(pos, 200) + "\"";
  }
  return line;
}

// The TXT record of a 512-bit RSA key (too short: RFC 8301). PrivateKey refuses to make one.
std::string short_rsa_txt() {
  EVP_PKEY* key = EVP_RSA_gen(512);
  if (key == nullptr) return "";
  unsigned char* der = nullptr;
  int size = i2d_PUBKEY(key, &der);
  std::string out;
  if (size > 0) {
    out =
        "v=DKIM1; k=rsa; p=" + core::base64_encode(std::string(reinterpret_cast<char*>(der), size));
  }
  OPENSSL_free(der);
  EVP_PKEY_free(key);
  return out;
}

// `header` (a DKIM-Signature) with the first character of its b= value changed.
std::string with_broken_b(std::string header) {
  for (std::size_t pos = header.find("b="); pos != std::string::npos;
       pos = header.find("b=", pos + 1)) {
    if (pos == 0 || (header[pos - 1] != ' ' && header[pos - 1] != '\t')) continue;
    std::size_t v = pos + 2;
    while (v < header.size() && std::strchr(" \t\r\n", header[v]) != nullptr) ++v;
    if (v < header.size()) header[v] = header[v] == 'A' ? 'B' : 'A';
    return header;
  }
  ADD_FAILURE() << "no b= in " << header;
  return header;
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

class DkimVerifyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto rsa = detail::PrivateKey::generate(DkimAlgorithm::rsa_sha256, 2048);
    ASSERT_TRUE(rsa) << rsa.status().to_string();
    auto ed = detail::PrivateKey::generate(DkimAlgorithm::ed25519_sha256, 0);
    ASSERT_TRUE(ed) << ed.status().to_string();
    auto rsa_key = detail::key_from_pem("example.test", "rsa", *rsa->pem());
    auto ed_key = detail::key_from_pem("example.test", "ed", *ed->pem());
    ASSERT_TRUE(rsa_key && ed_key);
    rsa_key_ = new DkimKey(*rsa_key);
    ed_key_ = new DkimKey(*ed_key);
    std::string short_txt = short_rsa_txt();
    ASSERT_FALSE(short_txt.empty());
    dnsmasq_ = new dns::rig::Dnsmasq({
        dnsmasq_txt("rsa._domainkey.example.test", rsa_key_->dns_txt),
        dnsmasq_txt("ed._domainkey.example.test", ed_key_->dns_txt),
        dnsmasq_txt("revoked._domainkey.example.test", "v=DKIM1; k=rsa; p="),
        dnsmasq_txt("short._domainkey.example.test", short_txt),
        dnsmasq_txt("testing._domainkey.example.test", rsa_key_->dns_txt + "; t=y"),
        dnsmasq_txt("strict._domainkey.example.test", rsa_key_->dns_txt + "; t=s"),
    });
    ASSERT_TRUE(dnsmasq_->ok()) << dnsmasq_->why();
  }
  static void TearDownTestSuite() {
    delete dnsmasq_;
    delete rsa_key_;
    delete ed_key_;
    dnsmasq_ = nullptr;
    rsa_key_ = ed_key_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(dnsmasq_ != nullptr && dnsmasq_->ok());
    dns::ResolverOptions options;
    options.servers = {dnsmasq_->server()};
    options.timeout_ms = 2000;
    options.tries = 1;
    auto r = dns::Resolver::create(io_, options);
    ASSERT_TRUE(r) << r.status().to_string();
    resolver_ = *r;
    dir_ = std::filesystem::temp_directory_path() /
           ("mailroom-dkim-verify-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (resolver_) resolver_->shutdown();
    io_.restart();
    io_.poll();
    std::filesystem::remove_all(dir_);
  }

  // `key` with another selector (the private key stays): for names with other records.
  static DkimKey with_selector(const DkimKey& key, const std::string& selector,
                               const std::string& domain = "example.test") {
    DkimKey out = key;
    out.selector = selector;
    out.domain = domain;
    return out;
  }

  // `message` with our DKIM-Signature prepended.
  static std::string signed_by(const DkimKey& key, const std::string& message,
                               DkimSignOptions options = {}) {
    if (options.timestamp == 0) options.timestamp = kSignedAt;
    auto signer = DkimSigner::create(key, options);
    EXPECT_TRUE(signer) << signer.status().to_string();
    if (!signer) return message;
    auto header = (*signer)->sign(message);
    EXPECT_TRUE(header) << header.status().to_string();
    return (header ? *header : "") + message;
  }

  // `message` with dkimpy's DKIM-Signature prepended (made now, with the real clock's t=).
  std::string dkimpy_signed(const DkimKey& key, const std::string& message,
                            const std::string& header_canon, const std::string& body_canon,
                            const std::string& algorithm = "rsa-sha256", bool length = false) {
    std::string msg_path = (dir_ / "message.eml").string();
    std::string key_path = (dir_ / "key.pem").string();
    std::string out_path = (dir_ / "signature").string();
    std::ofstream(msg_path, std::ios::binary) << message;
    std::ofstream(key_path, std::ios::binary) << key.private_key_pem;
    pid_t pid = ::fork();
    if (pid == 0) {
      const char* argv[] = {"/usr/bin/python3",
                            "-c",
                            kDkimpySignScript,
                            msg_path.c_str(),
                            key_path.c_str(),
                            key.selector.c_str(),
                            key.domain.c_str(),
                            header_canon.c_str(),
                            body_canon.c_str(),
                            algorithm.c_str(),
                            length ? "1" : "0",
                            out_path.c_str(),
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
    EXPECT_EQ(code, 0) << "dkimpy could not sign";
    std::ifstream in(out_path, std::ios::binary);
    std::stringstream signature;
    signature << in.rdbuf();
    return signature.str() + message;
  }

  // Runs verify() to its callback on the test's io_context.
  DkimVerification verify(const std::string& message, const core::Clock* clock = nullptr,
                          size_t max_signatures = 5) {
    core::ManualClock fixed(kSignedAt + 60);
    DkimVerifier verifier(*resolver_, max_signatures, clock != nullptr ? clock : &fixed);
    std::optional<DkimVerification> out;
    verifier.verify(std::make_shared<const std::string>(message),
                    [&out](DkimVerification v) { out = std::move(v); });
    io_.restart();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!out && std::chrono::steady_clock::now() < deadline) {
      if (io_.run_one_for(std::chrono::milliseconds(100)) == 0 && io_.stopped()) break;
    }
    EXPECT_TRUE(out.has_value()) << "the callback never ran";
    return out.value_or(DkimVerification{});
  }

  // The one result of a message with one signature.
  DkimSignatureResult verify_one(const std::string& message, const core::Clock* clock = nullptr) {
    DkimVerification v = verify(message, clock);
    EXPECT_EQ(v.signatures.size(), 1u);
    return v.signatures.empty() ? DkimSignatureResult{} : v.signatures[0];
  }

  static DkimKey* rsa_key_;
  static DkimKey* ed_key_;
  static dns::rig::Dnsmasq* dnsmasq_;
  boost::asio::io_context io_;
  std::shared_ptr<dns::Resolver> resolver_;
  std::filesystem::path dir_;
};

DkimKey* DkimVerifyTest::rsa_key_ = nullptr;
DkimKey* DkimVerifyTest::ed_key_ = nullptr;
dns::rig::Dnsmasq* DkimVerifyTest::dnsmasq_ = nullptr;

#define EXPECT_RESULT(r, expected, detail_part)                                           \
  do {                                                                                    \
    EXPECT_STREQ(dkim_result_name((r).result), dkim_result_name(expected)) << (r).detail; \
    EXPECT_NE((r).detail.find(detail_part), std::string::npos) << (r).detail;             \
  } while (0)

TEST_F(DkimVerifyTest, NoSignatureGivesEmptyList) {
  EXPECT_TRUE(verify(kVerifyMessage).signatures.empty());
}

TEST_F(DkimVerifyTest, RsaSignaturePasses) {
  std::string message = signed_by(*rsa_key_, kVerifyMessage);
  DkimSignatureResult r = verify_one(message);
  EXPECT_RESULT(r, DkimResult::pass, "");
  EXPECT_EQ(r.detail, "");
  EXPECT_EQ(r.domain, "example.test");
  EXPECT_EQ(r.selector, "rsa");
  EXPECT_EQ(r.algorithm, "rsa-sha256");
  EXPECT_EQ(r.identity, "@example.test");
  ASSERT_EQ(r.b_prefix.size(), 8u);
  EXPECT_NE(message.find("b=" + r.b_prefix), std::string::npos);
}

TEST_F(DkimVerifyTest, Ed25519SignaturePasses) {
  DkimSignatureResult r = verify_one(signed_by(*ed_key_, kVerifyMessage));
  EXPECT_RESULT(r, DkimResult::pass, "");
  EXPECT_EQ(r.algorithm, "ed25519-sha256");
  EXPECT_EQ(r.selector, "ed");
}

TEST_F(DkimVerifyTest, DkimpySimpleSimplePasses) {
  std::string message = dkimpy_signed(*rsa_key_, kVerifyMessage, "simple", "simple");
  ASSERT_NE(message.find("c=simple/simple"), std::string::npos) << message;
  EXPECT_RESULT(verify_one(message, &core::real_clock()), DkimResult::pass, "");
}

TEST_F(DkimVerifyTest, DkimpyRelaxedSimplePasses) {
  std::string message = dkimpy_signed(*rsa_key_, kVerifyMessage, "relaxed", "simple");
  ASSERT_NE(message.find("c=relaxed/simple"), std::string::npos) << message;
  EXPECT_RESULT(verify_one(message, &core::real_clock()), DkimResult::pass, "");
}

TEST_F(DkimVerifyTest, SimpleCanonicalizationSeesWhitespaceChanges) {
  std::string message = dkimpy_signed(*rsa_key_, kVerifyMessage, "simple", "simple");
  // Relaxed would not notice either change; simple must.
  EXPECT_RESULT(
      verify_one(replaced(message, "Subject: Lunch", "Subject:  Lunch"), &core::real_clock()),
      DkimResult::fail, "signature did not verify");
  EXPECT_RESULT(verify_one(replaced(message, "Hello Bob.", "Hello Bob. "), &core::real_clock()),
                DkimResult::fail, "body hash mismatch");
  // Empty lines at the end of the body are not part of simple's canonical body.
  EXPECT_RESULT(verify_one(message + "\r\n\r\n", &core::real_clock()), DkimResult::pass, "");
}

TEST_F(DkimVerifyTest, ModifiedBodyFailsOnBodyHash) {
  std::string message = signed_by(*rsa_key_, kVerifyMessage);
  EXPECT_RESULT(verify_one(replaced(message, "noon", "one")), DkimResult::fail,
                "body hash mismatch");
}

TEST_F(DkimVerifyTest, ModifiedHeaderFails) {
  std::string message = signed_by(*ed_key_, kVerifyMessage);
  EXPECT_RESULT(verify_one(replaced(message, "Subject: Lunch", "Subject: Dinner")),
                DkimResult::fail, "signature did not verify");
}

TEST_F(DkimVerifyTest, SecondFromFailsWhenFromIsOverSigned) {
  std::string message = signed_by(*rsa_key_, kVerifyMessage);
  ASSERT_NE(message.find("from;"), std::string::npos);  // h= ends with the extra from
  // Added above or below the signed one: either way the over-signed entry now finds it.
  EXPECT_RESULT(
      verify_one(replaced(message, "From: Alice", "From: Mallory <m@evil.test>\r\nFrom: Alice")),
      DkimResult::fail, "signature did not verify");
  EXPECT_RESULT(verify_one(replaced(message, "To: Bob", "From: Mallory <m@evil.test>\r\nTo: Bob")),
                DkimResult::fail, "signature did not verify");
  // An unsigned header field changes nothing.
  EXPECT_RESULT(verify_one(replaced(message, "To: Bob", "X-Note: hi\r\nTo: Bob")), DkimResult::pass,
                "");
}

TEST_F(DkimVerifyTest, MissingKeyIsPermerror) {
  DkimSignatureResult r = verify_one(signed_by(with_selector(*rsa_key_, "absent"), kVerifyMessage));
  EXPECT_RESULT(r, DkimResult::permerror, "no key at absent._domainkey.example.test");
}

TEST_F(DkimVerifyTest, RevokedKeyFails) {
  DkimSignatureResult r =
      verify_one(signed_by(with_selector(*rsa_key_, "revoked"), kVerifyMessage));
  EXPECT_RESULT(r, DkimResult::fail, "key revoked");
}

TEST_F(DkimVerifyTest, RefusedDnsIsTemperror) {
  // dnsmasq answers REFUSED for names outside local=/test/.
  DkimSignatureResult r =
      verify_one(signed_by(with_selector(*rsa_key_, "rsa", "outside.example"), kVerifyMessage));
  EXPECT_RESULT(r, DkimResult::temperror, "key lookup rsa._domainkey.outside.example");
  EXPECT_EQ(r.domain, "outside.example");
}

TEST_F(DkimVerifyTest, ExpiredSignatureFails) {
  DkimSignOptions options;
  options.expire_after = 3600;
  std::string message = signed_by(*rsa_key_, kVerifyMessage, options);
  core::ManualClock within(kSignedAt + 3000);
  EXPECT_RESULT(verify_one(message, &within), DkimResult::pass, "");
  core::ManualClock after(kSignedAt + 3601);
  EXPECT_RESULT(verify_one(message, &after), DkimResult::fail, "signature expired");
}

TEST_F(DkimVerifyTest, FutureTimestampIsPermerror) {
  std::string message = signed_by(*rsa_key_, kVerifyMessage);
  core::ManualClock skewed(kSignedAt - 200);  // within the 5 minutes allowed
  EXPECT_RESULT(verify_one(message, &skewed), DkimResult::pass, "");
  core::ManualClock earlier(kSignedAt - 3600);
  EXPECT_RESULT(verify_one(message, &earlier), DkimResult::permerror, "in the future");
}

TEST_F(DkimVerifyTest, RsaSha1IsPermerror) {
  std::string message = dkimpy_signed(*rsa_key_, kVerifyMessage, "relaxed", "relaxed", "rsa-sha1");
  ASSERT_NE(message.find("a=rsa-sha1"), std::string::npos) << message;
  DkimSignatureResult r = verify_one(message, &core::real_clock());
  EXPECT_RESULT(r, DkimResult::permerror, "rsa-sha1");
  EXPECT_EQ(r.algorithm, "rsa-sha1");
}

TEST_F(DkimVerifyTest, BodyLengthIsHonouredAndNoted) {
  std::string message =
      dkimpy_signed(*rsa_key_, kVerifyMessage, "relaxed", "relaxed", "rsa-sha256", true);
  ASSERT_NE(message.find(" l="), std::string::npos) << message;
  DkimSignatureResult r =
      verify_one(message + "P.S. Appended by someone else.\r\n", &core::real_clock());
  EXPECT_RESULT(r, DkimResult::pass, "l=");
  // A body shorter than l= cannot be what was signed.
  EXPECT_RESULT(verify_one(replaced(message, "See you at noon.\r\n", ""), &core::real_clock()),
                DkimResult::fail, "longer than the body");
}

TEST_F(DkimVerifyTest, MalformedTagListIsPermerror) {
  std::string message = signed_by(*rsa_key_, kVerifyMessage);
  EXPECT_RESULT(verify_one(replaced(message, "v=1;", "v=1;;")), DkimResult::permerror,
                "empty tag-spec");
  EXPECT_RESULT(verify_one(replaced(message, "v=1;", "v=1; novalue;")), DkimResult::permerror,
                "without \"=\"");
  DkimSignatureResult dup = verify_one(replaced(message, "v=1;", "v=1; d=other.test;"));
  EXPECT_RESULT(dup, DkimResult::permerror, "duplicate tag d=");
  EXPECT_RESULT(verify_one(replaced(message, "v=1;", "v=2;")), DkimResult::permerror,
                "unsupported version");
}

TEST_F(DkimVerifyTest, TwoSignaturesGiveTwoResultsTopToBottom) {
  std::string good = signed_by(*rsa_key_, kVerifyMessage);
  std::string ed_signed = signed_by(*ed_key_, kVerifyMessage);
  std::string ed_header = ed_signed.substr(0, ed_signed.size() - std::strlen(kVerifyMessage));
  // The Ed25519 signature broken (its first b= character changed), above the good one.
  DkimVerification v = verify(with_broken_b(ed_header) + good);
  ASSERT_EQ(v.signatures.size(), 2u);
  EXPECT_RESULT(v.signatures[0], DkimResult::fail, "signature did not verify");
  EXPECT_EQ(v.signatures[0].selector, "ed");
  EXPECT_RESULT(v.signatures[1], DkimResult::pass, "");
  EXPECT_EQ(v.signatures[1].selector, "rsa");
  EXPECT_NE(v.signatures[0].b_prefix, v.signatures[1].b_prefix);
}

TEST_F(DkimVerifyTest, SignaturesBeyondTheLimitAreReportedAsPolicy) {
  std::string message = signed_by(*rsa_key_, signed_by(*ed_key_, kVerifyMessage));
  DkimVerification v = verify(message, nullptr, 1);
  ASSERT_EQ(v.signatures.size(), 2u);
  EXPECT_RESULT(v.signatures[0], DkimResult::pass, "");
  EXPECT_RESULT(v.signatures[1], DkimResult::policy, "not evaluated");
  EXPECT_EQ(v.signatures[1].selector, "ed");
}

TEST_F(DkimVerifyTest, ShortRsaKeyIsPermerror) {
  DkimSignatureResult r = verify_one(signed_by(with_selector(*rsa_key_, "short"), kVerifyMessage));
  EXPECT_RESULT(r, DkimResult::permerror, "under 1024");
}

TEST_F(DkimVerifyTest, TestingKeyIsNotedAndStrictKeyRefusesSubdomainIdentity) {
  DkimSignatureResult r =
      verify_one(signed_by(with_selector(*rsa_key_, "testing"), kVerifyMessage));
  EXPECT_RESULT(r, DkimResult::pass, "testing mode (t=y)");
  // t=s with an i= in a subdomain of d=: refused before anything is hashed.
  std::string strict = signed_by(with_selector(*rsa_key_, "strict"), kVerifyMessage);
  EXPECT_RESULT(verify_one(strict), DkimResult::pass, "");
  EXPECT_RESULT(verify_one(replaced(strict, "v=1;", "v=1; i=@news.example.test;")),
                DkimResult::permerror, "strict (t=s)");
}

TEST_F(DkimVerifyTest, HostileFieldsArePermerror) {
  std::string message = signed_by(*rsa_key_, kVerifyMessage);
  std::string huge = replaced(message, "v=1;", "v=1; z=" + std::string(70000, 'z') + ";");
  EXPECT_RESULT(verify_one(huge), DkimResult::permerror, "longer than 64 KiB");
  std::string many_names = "h=from";
  for (int i = 0; i < 100; ++i) many_names += ":to";
  EXPECT_RESULT(verify_one(replaced(message, "h=", many_names + ":")), DkimResult::permerror,
                "more than 100");
}

// Parsers, table-tested on raw strings.

TEST(DkimTagListTest, ParsesTagsWithFoldingWhitespace) {
  auto tags = detail::parse_tag_list(" a = 1 ;\r\n\tb=x y ;c=; ");
  ASSERT_TRUE(tags) << tags.status().to_string();
  ASSERT_EQ(tags->size(), 3u);
  EXPECT_EQ((*tags)[0].name, "a");
  EXPECT_EQ((*tags)[0].value, "1");
  EXPECT_EQ((*tags)[1].value, "x y");
  EXPECT_EQ((*tags)[2].value, "");
}

TEST(DkimTagListTest, RejectsMalformedLists) {
  for (const char* bad :
       {"", "  ", ";", "a=1;;b=2", "a", "a=1; b", "1a=2", "a-b=1", "a=1; a=2", "a=\x01", "=1"}) {
    EXPECT_FALSE(detail::parse_tag_list(bad)) << "\"" << bad << "\"";
  }
  EXPECT_TRUE(detail::parse_tag_list("a=1;"));
  EXPECT_TRUE(detail::parse_tag_list("A=1; a=2"));  // names are case-sensitive
}

TEST(DkimSignatureTagsTest, ReadsAndChecksTags) {
  const std::string valid =
      "v=1; a=rsa-sha256; c=relaxed; d=Example.Test; s=sel; i=joe@news.example.test; "
      "h=From : To; l=10; q=dns/txt; t=100; x=200; bh=AAAA; b= QU JD\r\n\tRA==";
  detail::DkimSignatureTags tags;
  DkimSignatureResult report;
  ASSERT_TRUE(detail::parse_signature(valid, &tags, &report));
  EXPECT_EQ(tags.domain, "example.test");
  EXPECT_EQ(tags.identity_domain, "news.example.test");
  EXPECT_EQ(tags.header_canon, detail::DkimCanonicalization::relaxed);
  EXPECT_EQ(tags.body_canon, detail::DkimCanonicalization::simple);
  EXPECT_EQ(tags.headers, (std::vector<std::string>{"from", "to"}));
  EXPECT_EQ(tags.signature, "ABCD");  // whitespace inside b= is FWS
  EXPECT_EQ(tags.body_length, 10u);
  EXPECT_EQ(valid.substr(tags.b_begin, tags.b_end - tags.b_begin), " QU JD\r\n\tRA==");
  EXPECT_EQ(report.b_prefix, "QUJDRA==");
  EXPECT_EQ(report.identity, "joe@news.example.test");

  struct Case {
    std::string from, to, why;
  };
  const Case cases[] = {
      {"v=1;", "v=1; a=rsa-sha256;", "duplicate tag a="},
      {"a=rsa-sha256", "a=rsa-sha1", "rsa-sha1"},
      {"a=rsa-sha256", "a=rsa-md5", "unknown algorithm"},
      {"h=From : To", "h=To", "does not sign From"},
      {"i=joe@news.example.test", "i=joe@example.org", "not d= or under it"},
      {"i=joe@news.example.test", "i=joe@badexample.test", "not d= or under it"},
      {"q=dns/txt", "q=http", "unsupported query method"},
      {"x=200", "x=50", "x= is before t="},
      {"l=10", "l=ten", "invalid l="},
      {"c=relaxed", "c=relaxed/strange", "unknown canonicalization"},
      {"bh=AAAA", "bh=A", "bh= is not"},
      {" s=sel;", "", "missing s="},
      {"d=Example.Test", "d=exa_mple.test", "invalid d="},
  };
  for (const Case& c : cases) {
    std::string text = valid;
    text.replace(text.find(c.from), c.from.size(), c.to);
    detail::DkimSignatureTags t;
    DkimSignatureResult r;
    core::Status st = detail::parse_signature(text, &t, &r);
    EXPECT_FALSE(st) << text;
    EXPECT_NE(st.client_message().find(c.why), std::string::npos)
        << c.why << " / " << st.client_message();
  }
}

TEST(DkimKeyRecordTest, ReadsKeyRecords) {
  auto rsa = detail::parse_key_record("v=DKIM1; h=sha1:sha256; k=rsa; s=email; t=y:s; p=QUJD");
  ASSERT_TRUE(rsa) << rsa.status().to_string();
  EXPECT_EQ(rsa->key_type, DkimAlgorithm::rsa_sha256);
  EXPECT_EQ(rsa->public_key, "ABC");
  EXPECT_TRUE(rsa->testing);
  EXPECT_TRUE(rsa->strict);
  auto ed = detail::parse_key_record("k=ed25519; p=QU JD; n=notes");
  ASSERT_TRUE(ed);
  EXPECT_EQ(ed->key_type, DkimAlgorithm::ed25519_sha256);
  EXPECT_FALSE(ed->testing);
  auto revoked = detail::parse_key_record("v=DKIM1; p=");
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->public_key.empty());

  for (const char* bad :
       {"k=rsa; v=DKIM1; p=QUJD", "v=DKIM2; p=QUJD", "v=DKIM1; k=rsa", "k=dsa; p=QUJD",
        "h=sha1; p=QUJD", "s=tlsrpt; p=QUJD", "p=QUJ", "v=spf1 -all"}) {
    EXPECT_FALSE(detail::parse_key_record(bad)) << bad;
  }
}

TEST(DkimSimpleCanonicalizationTest, HeaderAndBody) {
  EXPECT_EQ(detail::simple_header("Subject ", " a  b\r\n\tc\r\n"), "Subject : a  b\r\n\tc");
  EXPECT_EQ(detail::simple_body(""), "\r\n");
  EXPECT_EQ(detail::simple_body("\r\n"), "\r\n");
  EXPECT_EQ(detail::simple_body("\r\n\r\n\r\n"), "\r\n");
  EXPECT_EQ(detail::simple_body("a \r\n\r\n\r\n"), "a \r\n");
  EXPECT_EQ(detail::simple_body("a\r\n\r\nb"), "a\r\n\r\nb\r\n");
  EXPECT_EQ(detail::simple_body("a\nb\n\n"), "a\r\nb\r\n");
}

TEST(DkimResultNameTest, Rfc8601Names) {
  EXPECT_STREQ(dkim_result_name(DkimResult::none), "none");
  EXPECT_STREQ(dkim_result_name(DkimResult::pass), "pass");
  EXPECT_STREQ(dkim_result_name(DkimResult::fail), "fail");
  EXPECT_STREQ(dkim_result_name(DkimResult::policy), "policy");
  EXPECT_STREQ(dkim_result_name(DkimResult::neutral), "neutral");
  EXPECT_STREQ(dkim_result_name(DkimResult::temperror), "temperror");
  EXPECT_STREQ(dkim_result_name(DkimResult::permerror), "permerror");
}

}  // namespace
}  // namespace mailroom::mailauth
