// net::WorkerPool's gauges (mailroom_worker_pool_*): a task counts as queued from run() until
// a worker starts it, then as busy until it returns, also when it throws.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <stdexcept>
#include <thread>

#include "src/core/metric_catalog.h"
#include "src/net/worker_pool.h"

namespace mailroom::net {
namespace {

// Waits (bounded, so a bug fails instead of hanging) until `done()` holds.
template <class F>
bool pool_metrics_eventually(F done) {
  for (int i = 0; i < 3000 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

TEST(WorkerPoolMetricsTest, QueuedThenBusyThenNeither) {
  auto& queued = metrics::worker_pool_queued();
  auto& busy = metrics::worker_pool_busy();
  auto& threads = metrics::worker_pool_threads();
  const double q0 = queued.value(), b0 = busy.value(), t0 = threads.value();
  boost::asio::io_context ioc;
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  int finished = 0;
  {
    WorkerPool pool(1);
    EXPECT_EQ(threads.value() - t0, 1);
    for (int i = 0; i < 3; ++i) {
      boost::asio::co_spawn(
          ioc,
          [&pool, gate, &finished, i]() -> boost::asio::awaitable<void> {
            try {
              co_await pool.run([gate, i] {
                gate.wait();
                if (i == 2) throw std::runtime_error("task failed");
              });
            } catch (const std::runtime_error&) {
            }
            ++finished;
          },
          boost::asio::detached);
    }
    std::thread io([&ioc] {
      auto guard = boost::asio::make_work_guard(ioc);
      ioc.run_for(std::chrono::seconds(60));
    });
    // One worker: the first task runs (and waits), the other two are queued.
    EXPECT_TRUE(pool_metrics_eventually([&] {
      return busy.value() - b0 == 1 && queued.value() - q0 == 2;
    })) << "busy "
        << busy.value() - b0 << " queued " << queued.value() - q0;
    release.set_value();
    EXPECT_TRUE(
        pool_metrics_eventually([&] { return busy.value() == b0 && queued.value() == q0; }));
    ioc.stop();
    io.join();
    pool.stop();
  }
  EXPECT_EQ(threads.value(), t0);  // stop() and the destructor take it back once
}

}  // namespace
}  // namespace mailroom::net
