// A bounded pool of threads for blocking work (SQLite, LDAP, MariaDB, fsync, antivirus):
// session coroutines `co_await pool.run(fn)` and resume on their own executor (their I/O
// thread) when fn returns.
// Never run blocking calls on an I/O thread (STYLE.md example 10).
//
// run() is an Asio asynchronous operation built with async_initiate and plain completion
// handlers, not with co_spawn of a capturing coroutine lambda: GCC 12 destroys the captures
// of such lambdas twice (seen as ASan bad-free on captured std::strings). fn's result must be
// default-constructible only if fn throws (the exception then propagates to the awaiter).
#pragma once

#include <atomic>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "src/core/metric_catalog.h"

namespace mailroom::net {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads)
      : pool_(threads), threads_(static_cast<double>(threads)) {
    metrics::worker_pool_threads().add(threads_);
  }
  ~WorkerPool() { stop(); }

  // Runs f() on a worker thread; exceptions propagate to the awaiting coroutine.
  template <class F>
  auto run(F f) {
    using R = std::invoke_result_t<F&>;
    if constexpr (std::is_void_v<R>) {
      return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                         void(std::exception_ptr)>(
          [this](auto handler, F fn) {
            queued_->inc();
            boost::asio::post(pool_, [handler = std::move(handler), fn = std::move(fn),
                                      queued = queued_, busy = busy_]() mutable {
              queued->dec();
              busy->inc();
              std::exception_ptr error;
              try {
                fn();
              } catch (...) {
                error = std::current_exception();
              }
              busy->dec();
              auto ex = boost::asio::get_associated_executor(handler);
              boost::asio::dispatch(ex, [handler = std::move(handler), error]() mutable {
                std::move(handler)(error);
              });
            });
          },
          boost::asio::use_awaitable, std::move(f));
    } else {
      return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                         void(std::exception_ptr, R)>(
          [this](auto handler, F fn) {
            queued_->inc();
            boost::asio::post(pool_, [handler = std::move(handler), fn = std::move(fn),
                                      queued = queued_, busy = busy_]() mutable {
              queued->dec();
              busy->inc();
              std::exception_ptr error;
              std::optional<R> result;
              try {
                result.emplace(fn());
              } catch (...) {
                error = std::current_exception();
              }
              busy->dec();
              auto ex = boost::asio::get_associated_executor(handler);
              boost::asio::dispatch(
                  ex, [handler = std::move(handler), error, result = std::move(result)]() mutable {
                    if (result) {
                      std::move(handler)(error, std::move(*result));
                    } else {
                      std::move(handler)(error, R{});
                    }
                  });
            });
          },
          boost::asio::use_awaitable, std::move(f));
    }
  }

  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }
  void stop() {
    pool_.stop();
    pool_.join();
    if (!stopped_.exchange(true)) metrics::worker_pool_threads().add(-threads_);
  }

 private:
  boost::asio::thread_pool pool_;
  // mailroom_worker_pool_{queued_tasks,busy_workers,threads}: a task counts as queued from
  // run() until a worker starts it, then as busy until it returns. Tasks posted straight to
  // executor() are not counted.
  metrics::Gauge* queued_ = &metrics::worker_pool_queued();
  metrics::Gauge* busy_ = &metrics::worker_pool_busy();
  double threads_;
  std::atomic<bool> stopped_{false};
};

// The one way sessions run blocking work (SQLite, the directory, fsync, the store): f() on
// the pool, its result (of any type, also the non-default-constructible core::Result<T>)
// back on the session's executor; exceptions propagate to the awaiting coroutine.
// `f` is taken by forwarding reference and moved into a named task before the co_await:
// GCC 12 destroys prvalues passed by value to a coroutine twice (PR 99576) and mishandles
// temporaries inside co_await expressions.
template <class F>
boost::asio::awaitable<std::invoke_result_t<std::decay_t<F>&>> blocking(WorkerPool& pool, F&& f) {
  using R = std::invoke_result_t<std::decay_t<F>&>;
  if constexpr (std::is_void_v<R>) {
    auto task = [fn = std::decay_t<F>(std::forward<F>(f))]() mutable { fn(); };
    co_await pool.run(std::move(task));
  } else {
    auto task = [fn = std::decay_t<F>(std::forward<F>(f))]() mutable {
      return std::optional<R>(fn());
    };
    auto r = co_await pool.run(std::move(task));
    co_return std::move(*r);
  }
}

}  // namespace mailroom::net
