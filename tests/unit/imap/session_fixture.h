// The fixture of the IMAP session tests (session_test.cpp, session_ext_test.cpp): a scripted
// transport, the real FileStore in a temporary directory, the fake authenticator
// (alice/wonderland, account "acct-alice") and optionally a fake directory for quotas.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/core/services.h"
#include "src/imap/imap_server.h"
#include "src/imap/session.h"
#include "src/mime/facts.h"
#include "src/net/worker_pool.h"
#include "src/store/mail_store.h"
#include "src/store/store_options.h"
#include "tests/fakes/fake_authenticator.h"
#include "tests/fakes/run_session.h"
#include "tests/fakes/scripted_transport.h"

namespace mailroom::imap {

using mailroom::testing::ScriptedTransport;

// A transport that runs `hook` when the session reads the command line starting with
// `prefix`, before the session sees it: another session's change "while" this one works.
class HookedTransport : public ScriptedTransport {
 public:
  HookedTransport(std::vector<std::string> segments, std::string prefix, std::function<void()> hook)
      : ScriptedTransport(std::move(segments), true),
        prefix_(std::move(prefix)),
        hook_(std::move(hook)) {}
  boost::asio::awaitable<net::ReadStatus> read_command(std::string& line, std::size_t max_length,
                                                       bool* bare_lf) override {
    auto st = co_await ScriptedTransport::read_command(line, max_length, bare_lf);
    if (hook_ && line.rfind(prefix_, 0) == 0) {
      hook_();
      hook_ = nullptr;
    }
    co_return st;
  }
  using ScriptedTransport::read_command;

 private:
  std::string prefix_;
  std::function<void()> hook_;
};

class ImapSession : public ::testing::Test {
 protected:
  ImapSession() : workers_(2) {
    dir_ = std::filesystem::temp_directory_path() /
           ("mailroom-imap-session-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store::StoreOptions so;
    so.root = (dir_ / "mail").string();
    so.fsync = false;  // durability is the store tests' subject
    so.facts = [](std::string_view m) { return mime::extract_facts(m); };
    services_.hostname = "mail.example.com";
    services_.data_dir = dir_.string();
    services_.store = store::open_file_store(so);
    auto authenticator = std::make_shared<mailroom::testing::FakeAuthenticator>();
    authenticator->account_id_prefix = "acct-";
    services_.authenticator = authenticator;
    services_.workers = &workers_;
  }
  ~ImapSession() override {
    workers_.stop();
    std::filesystem::remove_all(dir_);
  }

  std::string run(ScriptedTransport& t) {
    net::SessionHandler handler = make_session_handler(services_, options_);
    EXPECT_TRUE(mailroom::testing::run_session([&] { return handler.run(t); }));
    return t.output;
  }
  std::string run(std::vector<std::string> segments, bool tls = true) {
    ScriptedTransport t(std::move(segments), tls);
    return run(t);
  }

  // The response lines of one tag: its untagged lines since the previous tagged line (or
  // since the greeting), and the tagged line itself (last).
  static std::vector<std::string> lines_of(const std::string& out, const std::string& tag) {
    std::vector<std::string> cur;
    std::size_t pos = out.find("\r\n");
    pos = pos == std::string::npos ? out.size() : pos + 2;
    while (pos < out.size()) {
      std::size_t e = out.find("\r\n", pos);
      if (e == std::string::npos) break;
      std::string line = out.substr(pos, e - pos);
      pos = e + 2;
      cur.push_back(line);
      if (line.rfind(tag + " ", 0) == 0) return cur;
      if (line[0] != '*' && line[0] != '+') cur.clear();
    }
    return {};
  }
  static std::string tagged(const std::string& out, const std::string& tag) {
    auto l = lines_of(out, tag);
    return l.empty() ? "" : l.back();
  }

  static std::string message(const std::string& subject, const std::string& body = "hello") {
    return "From: Carol <carol@remote.example>\r\nTo: alice@example.com\r\nSubject: " + subject +
           "\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <" + subject +
           "@remote.example>\r\n\r\n" + body + "\r\n";
  }
  static std::string append(const std::string& tag, const std::string& msg,
                            const std::string& flags = "") {
    return tag + " APPEND INBOX " + (flags.empty() ? "" : "(" + flags + ") ") + "{" +
           std::to_string(msg.size()) + "+}\r\n" + msg + "\r\n";
  }

  std::filesystem::path dir_;
  net::WorkerPool workers_;
  core::Services services_;
  Options options_;
};

}  // namespace mailroom::imap
