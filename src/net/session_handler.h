// What a protocol gives a listener: the session coroutine and the line to send when a
// connection is refused before a session starts (too many connections, blocked IP).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>

namespace mailroom::net {

class Transport;

enum class RejectReason { too_many_connections, too_many_from_ip, blocked_ip, shutting_down };

struct SessionHandler {
  // Runs one session to its end. Exceptions are caught and logged by the listener.
  std::function<boost::asio::awaitable<void>(Transport&)> run;
  // The complete protocol answer (with CRLF) for a refused connection, e.g.
  // "421 4.7.0 Too many connections\r\n" or "* BYE Too many connections\r\n".
  std::function<std::string(RejectReason)> reject;
  // Optional connect-time check (the IP block list). Return false to refuse with blocked_ip.
  std::function<bool(const std::string& remote_ip)> accept_ip;
  // Protocols with a login phase (IMAP, POP3, submission): the client must authenticate
  // within this from connect, TLS handshake included, however it spaces its commands; the
  // deadline ends when the session calls Connection::set_account. 0: no login phase.
  std::chrono::seconds login_timeout{0};
};

}  // namespace mailroom::net
