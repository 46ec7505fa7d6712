// An in-memory net::Transport for session unit tests (SMTP, IMAP, POP3): the client's input
// comes as scripted segments, each available once the previous one is consumed, so a test
// shows what a session does with pipelined input (a segment holding several lines), with
// input after STARTTLS (discarded, RFC 3207 4.2), with a line too long, a literal, or a client
// that goes away (eof) or falls silent (timeout) at the end of the script. Everything the
// session flushes is in `output`.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <deque>
#include <string>
#include <vector>

#include "src/net/transport.h"

namespace mailroom::testing {

class ScriptedTransport : public net::Transport {
 public:
  explicit ScriptedTransport(std::vector<std::string> segments, bool tls = false,
                             bool starttls_allowed = true);

  const net::ConnectionInfo& info() const override { return info_; }
  bool is_tls() const override { return tls_; }
  bool can_start_tls() const override { return starttls_allowed_ && !tls_; }
  std::string tls_version() const override { return tls_ ? "TLSv1.3" : ""; }
  std::string tls_cipher() const override { return tls_ ? "TLS_AES_128_GCM_SHA256" : ""; }
  bool stopping() const override { return false; }
  void set_idle_timeout(std::chrono::seconds) override {}
  boost::asio::awaitable<net::ReadStatus> read_line(std::string& line, std::size_t max_length,
                                                    bool* bare_lf) override;
  boost::asio::awaitable<net::ReadStatus> read_command(std::string& line, std::size_t max_length,
                                                       bool* bare_lf) override;
  boost::asio::awaitable<net::ReadStatus> read_exact(std::string& out, std::size_t n) override;
  std::size_t buffered() const override;
  void queue(std::string_view data) override { pending_ += data; }
  boost::asio::awaitable<bool> flush() override;
  boost::asio::awaitable<bool> start_tls() override;
  // COMPRESS (RFC 4978) modelled as an identity layer: the script stays readable, and
  // `compressed_from` tells where in `output` compression began.
  bool start_compress() override;
  bool compressed() const override { return compressed_from != std::string::npos; }
  void set_account(const std::string& account_id, const std::string&,
                   const std::string& app_password) override {
    account = account_id;
    app_password_id = app_password;
  }
  void clear_account() override {
    account.clear();
    app_password_id.clear();
    ++accounts_cleared;
  }
  void set_secret_input(bool secret) override;
  using net::Transport::read_command;
  using net::Transport::read_line;

  net::ConnectionInfo& mutable_info() { return info_; }

  std::string output;             // everything flushed
  bool end_with_timeout = false;  // after the script: timeout instead of eof
  int flushes = 0;
  std::string discarded;                  // plaintext dropped by start_tls
  std::string account;                    // set by set_account
  std::string app_password_id;            // set by set_account
  int accounts_cleared = 0;               // clear_account() calls
  std::vector<std::string> secret_lines;  // lines read while input was marked secret

  std::size_t compressed_from = std::string::npos;  // set by start_compress

 private:
  net::ReadStatus end_status() const {
    return end_with_timeout ? net::ReadStatus::timeout : net::ReadStatus::eof;
  }
  net::ConnectionInfo info_;
  std::deque<std::string> segments_;
  std::string pending_;
  bool tls_;
  bool starttls_allowed_;
  bool secret_ = false;
};

}  // namespace mailroom::testing
