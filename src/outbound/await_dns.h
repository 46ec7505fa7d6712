// dns::Resolver's callbacks as awaitables for outbound's coroutines: internal to src/outbound
// (includes Asio). The answer is posted to the awaiting coroutine's executor.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

namespace mailroom::outbound {

// `start(cb)` begins the lookup; cb(Answer) may be called on the resolver's thread.
template <class Answer, class Start>
boost::asio::awaitable<Answer> await_dns(Start start) {
  namespace asio = boost::asio;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Answer)>(
      [start](auto handler) mutable {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        start([h](Answer a) mutable {
          auto ex = asio::get_associated_executor(*h);
          asio::post(ex, [h, a = std::move(a)]() mutable { (*h)(std::move(a)); });
        });
      },
      asio::use_awaitable);
}

}  // namespace mailroom::outbound
