// A bounded pool of threads for blocking work (SQLite, LDAP, MariaDB, fsync, antivirus):
// session coroutines `co_await pool.run(fn)` and resume on their own strand when fn returns.
// Never run blocking calls on an I/O thread (STYLE.md example 10).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>
#include <utility>

namespace mailroom::net {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads) : pool_(threads) {}
  ~WorkerPool() { stop(); }

  // Runs f() on a worker thread; exceptions propagate to the awaiting coroutine.
  template <class F>
  auto run(F f) -> boost::asio::awaitable<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    return boost::asio::co_spawn(
        pool_.get_executor(),
        [f = std::move(f)]() mutable -> boost::asio::awaitable<R> {
          if constexpr (std::is_void_v<R>) {
            f();
            co_return;
          } else {
            co_return f();
          }
        },
        boost::asio::use_awaitable);
  }

  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }
  void stop() {
    pool_.stop();
    pool_.join();
  }

 private:
  boost::asio::thread_pool pool_;
};

}  // namespace mailroom::net
