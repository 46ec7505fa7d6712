// What a POP3 session needs from its connection. net::Connection is adapted to it in
// handler.cpp; unit tests drive sessions through an in-memory transport.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "src/net/connection.h"

namespace mailroom::pop3 {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual const net::ConnectionInfo& info() const = 0;
  virtual bool is_tls() const = 0;
  virtual bool can_start_tls() const = 0;
  virtual boost::asio::awaitable<net::ReadStatus> read_command(std::string& line,
                                                               std::size_t max_length) = 0;
  virtual boost::asio::awaitable<net::ReadStatus> read_line(std::string& line,
                                                            std::size_t max_length) = 0;
  virtual std::size_t buffered() const = 0;
  virtual void queue(std::string_view data) = 0;
  // Tags the connection with the authenticated account (closed if the directory disables it).
  virtual void set_account(const std::string& /*account_id*/, const std::string& /*address*/) {}
  virtual boost::asio::awaitable<bool> flush() = 0;
  // RFC 2595 section 4: the handshake; pipelined plaintext is discarded by the implementation.
  virtual boost::asio::awaitable<bool> start_tls() = 0;
};

}  // namespace mailroom::pop3
