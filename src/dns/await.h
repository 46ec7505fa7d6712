// dns::Resolver's lookups as C++20 awaitables for coroutines on the resolver's io_context
// (src/outbound, src/mailauth). Includes Asio: for .cpp files only.
//
// The resolver runs every callback as a handler of its io_context, never inside the lookup
// call (resolver.h), so the awaiting coroutine is resumed with dispatch: on its own executor,
// without a second trip through the queue.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <string>

#include "src/dns/resolver.h"

namespace mailroom::dns {

// `start(cb)` begins a lookup that calls cb(Answer) once.
// Not a coroutine itself: it returns async_initiate's awaitable, as net::WorkerPool::run does.
// As a coroutine taking the `start` lambda by value it was destroyed twice by GCC 12 (PR 99576:
// "munmap_chunk(): invalid pointer" on the first SPF lookup of a GCC build).
template <class Answer, class Start>
boost::asio::awaitable<Answer> await_answer(Start start) {
  namespace asio = boost::asio;
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(Answer)>(
      [begin = std::move(start)](auto handler) mutable {
        // The handler is move-only and the resolver's std::function wants a copyable callable.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        begin([shared](Answer answer) {
          auto ex = asio::get_associated_executor(*shared);
          asio::dispatch(ex, [shared, answer = std::move(answer)]() mutable {
            std::move (*shared)(std::move(answer));
          });
        });
      },
      asio::use_awaitable);
}

// `r` must outlive the lookup (it outlives every coroutine on its io_context).
inline boost::asio::awaitable<MxAnswer> await_mx(Resolver& r, const std::string& name) {
  return await_answer<MxAnswer>([&r, name](auto done) { r.mx(name, std::move(done)); });
}
inline boost::asio::awaitable<AddressAnswer> await_addresses(Resolver& r, const std::string& name) {
  return await_answer<AddressAnswer>([&r, name](auto done) { r.addresses(name, std::move(done)); });
}
inline boost::asio::awaitable<TxtAnswer> await_txt(Resolver& r, const std::string& name) {
  return await_answer<TxtAnswer>([&r, name](auto done) { r.txt(name, std::move(done)); });
}

}  // namespace mailroom::dns
