// One SMTP client session (RFC 5321) towards one peer address: internal to src/outbound.
// Includes Asio: only outbound's .cpp files include it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/outbound/outbound.h"

struct ssl_ctx_st;

namespace mailroom::outbound {

struct Peer {
  std::string host;  // name used for SNI, certificate checks and reports
  std::string ip;
  uint16_t port = 25;
  std::string label() const { return host + "[" + ip + "]:" + std::to_string(port); }
};

struct ClientSettings {
  std::string helo;
  TlsLevel tls = TlsLevel::may;
  std::shared_ptr<ssl_ctx_st> tls_context;  // client context; verifies when tls == verify
  std::string user;                         // AUTH PLAIN (relay); "" = no AUTH
  std::string password;
  int64_t connect_timeout = 30;
  int64_t command_timeout = 300;
  int64_t data_timeout = 600;
  // MTA-STS testing mode (RFC 8461 5): with a tls level below verify, still check the
  // certificate (against tls_context's trust anchors and the host name) and report a problem
  // in SessionResult::certificate_problem instead of failing.
  bool audit_certificate = false;
};

struct ClientRecipient {
  std::string address;
  std::string notify;
  std::string orcpt;
};

struct ClientMessage {
  std::string sender;
  std::vector<ClientRecipient> recipients;
  std::shared_ptr<const std::string> data;  // CRLF, ready to send (signed, downgraded)
  bool eight_bit = false;                   // the data has 8-bit bytes (BODY=8BITMIME)
  bool smtputf8 = false;                    // RFC 6531: addresses or headers are UTF-8
  std::string ret;                          // RFC 3461
  std::string envid;
  // Called with the peer's EHLO keywords before MAIL when the data has 8-bit bytes and the
  // peer lacks 8BITMIME: returns 7-bit data (RFC 6152 3: downgrade), or null to refuse.
  std::function<std::shared_ptr<const std::string>()> downgrade;
};

struct SessionResult {
  // The peer could not take the transaction at all (connection, greeting, EHLO, TLS, AUTH,
  // MAIL): `failure` says why; the caller tries the next address while it is temporary.
  bool session_failed = false;
  queue::RemoteReply failure;
  std::vector<queue::RemoteReply> replies;  // one per recipient when !session_failed
  // With audit_certificate: why the certificate would not have verified ("" = it would).
  std::string certificate_problem;
};

class ClientSession;

// Idle connections kept after a transaction, for the next message to the same peer with the
// same settings (RFC 5321 allows many transactions per session): a reused connection is
// checked with RSET first. I/O thread only.
class SessionCache {
 public:
  SessionCache();
  ~SessionCache();
  static std::string key(const Peer& peer, const ClientSettings& settings);
  std::unique_ptr<ClientSession> take(const std::string& key);
  // False (the caller closes it) when the cache is full.
  bool put(const std::string& key, std::unique_ptr<ClientSession> session);
  // Removes connections idle for `idle_limit` (or all); the caller says QUIT to them.
  std::vector<std::unique_ptr<ClientSession>> expire(std::chrono::seconds idle_limit,
                                                     bool all = false);
  size_t size() const { return size_; }
  void set_max_idle(size_t n) { max_idle_ = n; }

 private:
  struct Idle {
    std::chrono::steady_clock::time_point since;
    std::unique_ptr<ClientSession> session;
  };
  std::map<std::string, std::vector<Idle>> idle_;
  size_t size_ = 0;
  size_t max_idle_ = 100;
};

// Runs one transaction: on a cached connection to this peer when `cache` has one, else on a
// new one; a connection that ended cleanly goes back to `cache`.
boost::asio::awaitable<SessionResult> run_smtp_session(boost::asio::io_context& io,
                                                       const Peer& peer,
                                                       const ClientSettings& settings,
                                                       const ClientMessage& message,
                                                       SessionCache* cache = nullptr);
// QUIT and close (for connections leaving the cache).
boost::asio::awaitable<void> close_session(std::unique_ptr<ClientSession> session);

// Client TLS contexts: `verify` checks the chain against `ca_file` (or the system store).
core::Result<std::shared_ptr<ssl_ctx_st>> make_client_context(bool verify,
                                                              const std::string& ca_file,
                                                              const std::string& min_version);

}  // namespace mailroom::outbound
