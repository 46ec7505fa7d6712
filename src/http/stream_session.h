// Internal to src/http: the I/O side of a streamed response (stream.h) and the count of open
// streams behind [http] max_streams and max_streams_per_user. Pulls in Asio: include it only
// from server.cpp, stream_session.cpp and their tests.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "src/http/stream.h"

namespace mailroom::net {
class Transport;
class WorkerPool;
}  // namespace mailroom::net

namespace mailroom::http {

// Open streams of this process, in total and per account (a single-node shortcut: with
// several nodes each counts its own). Thread-safe.
class StreamCounter {
 public:
  enum class Refusal { none, per_user, total };
  Refusal enter(const std::string& account, std::size_t per_user, std::size_t total);
  void leave(const std::string& account);
  std::size_t open() const;

 private:
  mutable std::mutex mu_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_account_;
};

// Runs a stream whose head was sent: a writer coroutine on the connection's executor renders
// (on `pool`) and writes after each notify(), sends heartbeats and rechecks; this coroutine
// reads the connection so that the client's close, the server's shutdown and the account's
// closing (Connection::close) end it. Returns when both are over; on_close is the caller's.
boost::asio::awaitable<void> run_stream(net::Transport& t, net::WorkerPool& pool,
                                        std::shared_ptr<Stream> stream);

}  // namespace mailroom::http
