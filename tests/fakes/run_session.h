// Runs one session coroutine to its end on a private io_context, for session unit tests over
// ScriptedTransport. Returns whether the coroutine finished (false: it was abandoned with
// work pending); an exception from the session is rethrown to the test.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <functional>

namespace mailroom::testing {

inline bool run_session(std::function<boost::asio::awaitable<void>()> session) {
  boost::asio::io_context io;
  bool done = false;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        co_await session();
        done = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return done;
}

}  // namespace mailroom::testing
