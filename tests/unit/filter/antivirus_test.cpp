// The antivirus content scanner (src/filter/antivirus.h) over a fake engine: policies per
// domain, fail closed / open, trusted gateways, the replace policy (virus_replace.h), and the
// [antivirus] section.
#include "src/filter/antivirus.h"

#include <gtest/gtest.h>

#include "src/core/base64.h"
#include "src/core/config_section.h"
#include "src/filter/virus_replace.h"
#include "tests/unit/filter/fake_virus_engine.h"

namespace mailroom::filter {
namespace {

using testing::FakeVirusEngine;

const std::string kInfected =
    "From: a@remote.example\r\nTo: b@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
    "--XX\r\nContent-Type: text/plain\r\n\r\nkeep this text\r\n"
    "--XX\r\nContent-Type: application/octet-stream; name=\"v.bin\"\r\n"
    "Content-Disposition: attachment; filename=\"v.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n" +
    core::base64_encode("a VIRUS payload") + "\r\n--XX--\r\n";

ContentScanInput input(const std::string& message, std::vector<std::string> rcpts,
                       std::string ip = "192.0.2.1") {
  ContentScanInput in;
  in.message = std::make_shared<const std::string>(message);
  in.recipients = std::move(rcpts);
  in.client_ip = std::move(ip);
  return in;
}

AntivirusOptions options() {
  AntivirusOptions o;
  o.engine = "clamd";
  o.domain_policy["q.example"] = VirusPolicy::quarantine;
  o.domain_policy["r.example"] = VirusPolicy::replace;
  return o;
}

std::shared_ptr<FakeVirusEngine> engine_decoding_kinfected() {
  auto e = std::make_shared<FakeVirusEngine>();
  e->encoded_marker = core::base64_encode("a VIRUS payload");
  return e;
}

std::string header(const ContentVerdict& v, const std::string& name) {
  for (const auto& [n, value] : v.add_headers) {
    if (n == name) return value;
  }
  return "";
}

TEST(AntivirusScanner, CleanMailIsAcceptedWithAHeader) {
  auto engine = engine_decoding_kinfected();
  AntivirusScanner s(options(), engine, "mail.example.com");
  auto v = s.scan(input("Subject: x\r\n\r\nfine\r\n", {"b@example.com"}));
  EXPECT_EQ(v.action, ContentAction::accept);
  EXPECT_EQ(header(v, "X-Mailroom-Virus-Scan"), "clean (fake)");
  EXPECT_FALSE(v.replacement);
}

TEST(AntivirusScanner, PolicyPerRecipientDomainStrictestWins) {
  auto engine = engine_decoding_kinfected();
  AntivirusScanner s(options(), engine, "mail.example.com");
  EXPECT_EQ(s.scan(input(kInfected, {"b@example.com"})).action, ContentAction::reject);
  EXPECT_EQ(s.scan(input(kInfected, {"x@Q.example"})).action, ContentAction::quarantine);
  EXPECT_EQ(s.scan(input(kInfected, {"x@r.example"})).action, ContentAction::accept);
  EXPECT_EQ(s.policy_for({"x@r.example", "y@q.example"}), VirusPolicy::quarantine);
  EXPECT_EQ(s.policy_for({"x@r.example", "y@example.com"}), VirusPolicy::reject);
  EXPECT_EQ(s.policy_for({"x@r.example"}), VirusPolicy::replace);
  EXPECT_EQ(s.policy_for({}), VirusPolicy::reject);
  auto rejected = s.scan(input(kInfected, {"b@example.com"}));
  EXPECT_EQ(rejected.reason, "Virus found: Test.Virus");
}

TEST(AntivirusScanner, ScannerDownFailsClosedOrOpen) {
  auto engine = engine_decoding_kinfected();
  engine->down = true;
  AntivirusScanner closed(options(), engine, "h");
  auto v = closed.scan(input(kInfected, {"b@example.com"}));
  EXPECT_EQ(v.action, ContentAction::tempfail);
  EXPECT_EQ(v.reason, "virus scanner unavailable");
  auto o = options();
  o.fail_open = true;
  AntivirusScanner open(o, engine, "h");
  v = open.scan(input(kInfected, {"b@example.com"}));
  EXPECT_EQ(v.action, ContentAction::accept);
  EXPECT_EQ(header(v, "X-Mailroom-Virus-Scan"), "unavailable");
}

TEST(AntivirusScanner, TrustedGatewaysAreSkippedOnlyWhenConfigured) {
  auto engine = engine_decoding_kinfected();
  auto o = options();
  o.trusted_gateways.push_back(*core::Cidr::parse("198.51.100.0/24"));
  AntivirusScanner scanning(o, engine, "h");
  EXPECT_EQ(scanning.scan(input(kInfected, {"b@example.com"}, "198.51.100.9")).action,
            ContentAction::reject);
  o.scan_from_gateways = false;
  AntivirusScanner skipping(o, engine, "h");
  int before = engine->scans;
  auto v = skipping.scan(input(kInfected, {"b@example.com"}, "198.51.100.9"));
  EXPECT_EQ(v.action, ContentAction::accept);
  EXPECT_EQ(engine->scans, before);
  EXPECT_EQ(header(v, "X-Mailroom-Virus-Scan"), "skipped (trusted gateway)");
  // Another client is scanned.
  EXPECT_EQ(skipping.scan(input(kInfected, {"b@example.com"}, "192.0.2.1")).action,
            ContentAction::reject);
}

TEST(VirusReplace, TheInfectedPartBecomesANoticeAndTheRestStays) {
  FakeVirusEngine engine;
  auto r = replace_infected_parts(kInfected, engine, "Test.Virus", "mail.example.com");
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.signatures, std::vector<std::string>{"Test.Virus"});
  EXPECT_NE(r.message.find("keep this text"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("The attachment \"v.bin\" (application/octet-stream) contained a "
                           "virus (Test.Virus)"),
            std::string::npos)
      << r.message;
  EXPECT_EQ(r.message.find(core::base64_encode("a VIRUS payload")), std::string::npos);
  EXPECT_NE(r.message.find("Subject: s\r\n"), std::string::npos);
  EXPECT_EQ(engine.scan(r.message).kind, EngineVerdict::Kind::clean);
  // CRLF throughout.
  for (size_t i = 0; i < r.message.size(); ++i) {
    if (r.message[i] == '\n') ASSERT_TRUE(i > 0 && r.message[i - 1] == '\r') << i;
  }
}

TEST(VirusReplace, WithoutAnInfectedPartTheWholeBodyGoes) {
  FakeVirusEngine engine;
  auto r = replace_infected_parts("Subject: plain\r\n\r\nVIRUS in a plain body\r\n", engine,
                                  "Test.Whole", "h");
  ASSERT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.message.find("VIRUS in"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("Test.Whole"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("Subject: plain"), std::string::npos);
}

TEST(VirusReplace, AnEngineErrorOnAPartReplacesNothing) {
  FakeVirusEngine engine;
  std::string m = kInfected;
  m.replace(m.find("keep this text"), 14, "BROKEN part");
  auto r = replace_infected_parts(m, engine, "Test.Virus", "h");
  EXPECT_FALSE(r.ok);
  AntivirusOptions o = options();
  AntivirusScanner s(o, engine_decoding_kinfected(), "h");
  EXPECT_EQ(s.scan(input(m, {"x@r.example"})).action, ContentAction::tempfail);
}

TEST(AntivirusScanner, ReplacePolicyHandsBackTheRewrittenMessage) {
  AntivirusScanner s(options(), engine_decoding_kinfected(), "h");
  auto v = s.scan(input(kInfected, {"x@r.example"}));
  EXPECT_EQ(v.action, ContentAction::accept);
  ASSERT_TRUE(v.replacement);
  EXPECT_NE(v.replacement->find("keep this text"), std::string::npos);
  EXPECT_EQ(header(v, "X-Mailroom-Virus-Scan"), "infected (Test.Virus), replaced");
}

TEST(AntivirusOptions, ParsesTheSection) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[antivirus]\nengine = \"clamd\"\nclamd_address = \"127.0.0.1:3310\"\n"
      "policy = \"quarantine\"\nfail_open = true\nscan_timeout = \"30s\"\n"
      "stream_max_length = \"10M\"\ntrusted_gateways = [\"192.0.2.0/24\"]\n"
      "scan_from_gateways = false\n[antivirus.domains]\n\"Example.COM\" = \"replace\"\n",
      "test.toml", &errors);
  auto root = doc->root();
  auto s = root.child("antivirus");
  auto o = parse_antivirus_options(s);
  EXPECT_TRUE(errors.empty()) << errors.messages()[0];
  EXPECT_EQ(o.engine, "clamd");
  EXPECT_EQ(o.clamd.address, "127.0.0.1:3310");
  EXPECT_EQ(o.policy, VirusPolicy::quarantine);
  EXPECT_TRUE(o.fail_open);
  EXPECT_EQ(o.clamd.scan_timeout, std::chrono::seconds(30));
  EXPECT_EQ(o.clamd.stream_max_length, 10u << 20);
  ASSERT_EQ(o.trusted_gateways.size(), 1u);
  EXPECT_FALSE(o.scan_from_gateways);
  EXPECT_EQ(o.domain_policy.at("example.com"), VirusPolicy::replace);
}

TEST(AntivirusOptions, NamesBadValues) {
  core::ConfigErrors errors;
  auto doc = core::ConfigDocument::load_string(
      "[antivirus]\nengine = \"sophos\"\npolicy = \"drop\"\ntrusted_gateways = [\"nope\"]\n"
      "typo = 1\n",
      "test.toml", &errors);
  auto root = doc->root();
  auto s = root.child("antivirus");
  parse_antivirus_options(s);
  std::string all;
  for (const auto& e : errors.messages()) all += e + "\n";
  for (const char* key : {"engine", "policy", "trusted_gateways", "typo"}) {
    EXPECT_NE(all.find(key), std::string::npos) << key << "\n" << all;
  }
}

}  // namespace
}  // namespace mailroom::filter
