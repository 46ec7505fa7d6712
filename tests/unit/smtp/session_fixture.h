// The fixture of the SMTP/LMTP session tests without sockets: a scripted transport, the real
// resolver and SASL authenticator over an in-memory directory (example.com with alice and
// bob), a queue that records what it is given, two workers. Tests add what they need to dir_,
// queue_, services_ and options_ before run().
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "auth/auth_options.h"
#include "src/filter/blocklist.h"
#include "src/smtp/session.h"
#include "tests/fakes/fake_directory.h"
#include "tests/fakes/fake_queue.h"
#include "tests/fakes/run_session.h"
#include "tests/fakes/scripted_transport.h"

namespace mailroom::smtp::testing {

class SessionFixture : public ::testing::Test {
 protected:
  SessionFixture() : workers_(2) {
    dir_ = std::make_shared<mailroom::testing::FakeDirectory>();
    dir_->add_domain("example.com");
    dir_->add_account("alice@example.com", "wonderland");
    dir_->add_account("bob@example.com", "builder");
    services_.hostname = "mail.example.com";
    services_.directory = dir_;
    services_.resolver = std::make_shared<auth::Resolver>(dir_, auth::ResolverOptions{});
    auth::AuthOptions ao;
    ao.installation_key = "test";
    services_.authenticator = auth::make_authenticator(services_.resolver, ao);
    services_.queue = queue_;
    services_.workers = &workers_;
    blocklist_path_ = std::filesystem::temp_directory_path() /
                      ("mailroom-smtp-session-" + std::to_string(::getpid()) + ".txt");
    std::filesystem::remove(blocklist_path_);
  }
  ~SessionFixture() override { std::filesystem::remove(blocklist_path_); }

  std::string run(mailroom::testing::ScriptedTransport& t, Mode mode = Mode::mx) {
    ServerContext ctx{services_,
                      options_,
                      mode,
                      mode == Mode::lmtp         ? "lmtp"
                      : mode == Mode::submission ? "submission"
                                                 : "smtp",
                      std::make_shared<filter::Blocklist>(blocklist_path_.string()),
                      std::make_shared<RateLimiter>(0)};
    Session session(ctx, t);
    EXPECT_TRUE(mailroom::testing::run_session([&] { return session.run(); }));
    return t.output;
  }
  std::string run(std::vector<std::string> segments, Mode mode = Mode::mx, bool tls = false) {
    mailroom::testing::ScriptedTransport t(std::move(segments), tls);
    return run(t, mode);
  }

  std::shared_ptr<mailroom::testing::FakeDirectory> dir_;
  std::shared_ptr<mailroom::testing::FakeQueue> queue_ =
      std::make_shared<mailroom::testing::FakeQueue>();
  net::WorkerPool workers_;
  core::Services services_;
  Options options_;
  std::filesystem::path blocklist_path_;
};

}  // namespace mailroom::smtp::testing
