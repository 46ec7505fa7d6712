// One SMTP/LMTP session: a coroutine on the connection's strand. Internal header; the command
// handlers live one stage per file (cmd_hello.cpp, cmd_auth.cpp, cmd_envelope.cpp,
// cmd_data.cpp, message.cpp).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "auth/resolver.h"
#include "src/core/services.h"
#include "src/filter/blocklist.h"
#include "src/net/transport.h"
#include "src/net/worker_pool.h"
#include "src/queue/queue.h"
#include "src/smtp/proto/command.h"
#include "src/smtp/smtp_server.h"

namespace mailroom::smtp {

namespace asio = boost::asio;

enum class Mode { mx, submission, lmtp };

// Per-IP connection rate (a sliding one-minute window).
class RateLimiter {
 public:
  explicit RateLimiter(size_t per_minute) : per_minute_(per_minute) {}
  bool allow(const std::string& ip);

 private:
  size_t per_minute_;
  std::mutex mu_;
  std::map<std::string, std::deque<int64_t>> seen_;
};

// Shared by every session of one listener.
struct ServerContext {
  core::Services& services;
  Options options;
  Mode mode;
  std::string protocol;
  std::shared_ptr<filter::Blocklist> blocklist;
  std::shared_ptr<RateLimiter> rate;
};

struct RcptEntry {
  std::string rcpt;  // as given (str())
  std::string orcpt, notify;
  std::vector<auth::Destination> destinations;
};

struct Transaction {
  bool active = false;
  std::string sender;   // "" for <>
  proto::Command mail;  // MAIL parameters
  std::vector<RcptEntry> rcpts;
  // BDAT (RFC 3030)
  bool bdat = false;
  std::string chunks;
  uint64_t chunk_bytes = 0;
  bool oversize = false;
  // Policy bundles (auth/policy; policy_stage.cpp), settled at MAIL.
  bool may_send_outside = true;  // the authenticated sender's
  uint64_t sender_max_size = 0;  // the authenticated sender's; 0 = no policy limit
  // MX without AUTH: the sender's domain is not hosted here; nullopt: the directory could not
  // tell at MAIL.
  std::optional<bool> sender_outside = false;
};

class Session {
 public:
  Session(ServerContext& ctx, net::Transport& conn);
  asio::awaitable<void> run();

 private:
  // session.cpp
  void reply(const proto::Reply& r);
  void reply(int code, const char* enhanced, const std::string& text);
  void reset_transaction();
  // Refuses the message at the end of DATA/BDAT and resets the transaction: one reply, or in
  // LMTP one per accepted recipient (RFC 2033 4.2).
  void refuse_message(int code, const char* enhanced, const std::string& text);
  auth::ClientInfo client_info() const;
  bool authenticated() const { return principal_.has_value(); }
  // The client is one of [smtp] trusted_networks (a gateway in front of us).
  bool from_trusted_network() const;
  // The client is one of [smtp] relay_networks (may relay without AUTH on the MX port).
  bool from_relay_network() const;
  bool check_limits();  // false: the session must end (421 sent)
  // Runs the command's handler from the command table (session.cpp).
  asio::awaitable<void> dispatch(const proto::Command& cmd);
  friend struct CommandTable;

  // cmd_hello.cpp
  asio::awaitable<void> cmd_hello(const proto::Command& cmd);
  asio::awaitable<void> cmd_starttls(const proto::Command& cmd);
  bool starttls_prepare();      // checks and the 220 reply
  void starttls_done(bool ok);  // after Connection::start_tls (which drops pipelined input)
  asio::awaitable<void> cmd_simple(const proto::Command& cmd);  // NOOP RSET VRFY EXPN HELP
  asio::awaitable<void> cmd_quit(const proto::Command& cmd);

  // cmd_auth.cpp
  asio::awaitable<void> cmd_auth(const proto::Command& cmd);

  // cmd_envelope.cpp
  asio::awaitable<void> cmd_mail(const proto::Command& cmd);
  asio::awaitable<void> cmd_rcpt(const proto::Command& cmd);

  // policy_stage.cpp: policy bundles by directory group (auth/policy/policy.h).
  // At MAIL: the sender's bundle (send outside, maximum size) and whether an unauthenticated
  // sender is outside the company. False when answered (552 5.3.4, 451 4.4.3).
  asio::awaitable<bool> sender_policy(const proto::Command& cmd, Transaction& tx);
  // At the end of DATA/BDAT: false when the message is larger than the sender's or a local
  // recipient's policy allows (answered 552 5.3.4, transaction reset).
  bool message_size_allowed(uint64_t size);

  // cmd_data.cpp
  asio::awaitable<void> cmd_data(const proto::Command& cmd);
  asio::awaitable<void> cmd_bdat(const proto::Command& cmd);

  // message.cpp: Received:, submission fixes, then queue (SMTP) or deliver (LMTP).
  asio::awaitable<void> finish_message(std::string body);
  std::string received_header(const std::string& queue_id) const;
  // content_scan_stage.cpp: the content scanners (antivirus, spam) before the 250. False when
  // the transaction was answered (refused or quarantined); else headers, a rewritten body and
  // Junk/Ads folders are applied to prefix, body and env.
  asio::awaitable<bool> scan_content(const std::string& queue_id, queue::Envelope& env,
                                     std::string& prefix, std::string& body,
                                     const std::string& authentication_results);
  asio::awaitable<bool> quarantine(const std::string& queue_id, const queue::Envelope& env,
                                   const std::string& message, const std::string& scanner,
                                   const std::string& reason);

  ServerContext& ctx_;
  net::Transport& conn_;
  std::string session_id_;
  std::string helo_;
  bool esmtp_ = false;
  bool greeted_ = false;
  std::optional<auth::Principal> principal_;
  Transaction tx_;
  size_t errors_ = 0;
  size_t junk_commands_ = 0;
  bool quit_ = false;
};

}  // namespace mailroom::smtp
