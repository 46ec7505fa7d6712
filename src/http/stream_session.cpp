#include "src/http/stream_session.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

#include "src/core/log.h"
#include "src/net/connection.h"
#include "src/net/transport.h"
#include "src/net/worker_pool.h"

namespace mailroom::http {

namespace asio = boost::asio;
using Clock = asio::steady_timer::clock_type;

StreamCounter::Refusal StreamCounter::enter(const std::string& account, std::size_t per_user,
                                            std::size_t total) {
  std::lock_guard<std::mutex> lk(mu_);
  if (total_ >= total) return Refusal::total;
  auto& n = per_account_[account];
  if (n >= per_user) {
    if (n == 0) per_account_.erase(account);
    return Refusal::per_user;
  }
  ++n;
  ++total_;
  return Refusal::none;
}

void StreamCounter::leave(const std::string& account) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = per_account_.find(account);
  if (it == per_account_.end()) return;
  if (--it->second == 0) per_account_.erase(it);
  if (total_ > 0) --total_;
}

std::size_t StreamCounter::open() const {
  std::lock_guard<std::mutex> lk(mu_);
  return total_;
}

namespace {

// Shared by the reader and the writer; both run on the connection's executor.
struct StreamState {
  explicit StreamState(const asio::any_io_executor& ex) : wake(ex), finished(ex) {
    finished.expires_at(Clock::time_point::max());
  }
  asio::steady_timer wake;      // the writer sleeps on it; notify() and the reader cancel it
  asio::steady_timer finished;  // the reader waits on it for the writer's end
  bool reader_done = false;
  bool writer_done = false;
};

Clock::time_point after(Clock::time_point now, std::chrono::seconds every) {
  return every.count() > 0 ? now + every : Clock::time_point::max();
}

asio::awaitable<void> stream_writer(net::Transport& t, net::WorkerPool& pool,
                                    std::shared_ptr<Stream> s, std::shared_ptr<StreamState> st) {
  auto now = Clock::now();
  auto next_beat = after(now, s->heartbeat);
  // ends_at is wall-clock time (a token's exp); the timers run on the steady clock.
  auto end = Clock::time_point::max();
  if (s->ends_at != std::chrono::system_clock::time_point::max()) {
    auto left = s->ends_at - std::chrono::system_clock::now();
    end = now + std::chrono::duration_cast<Clock::duration>(
                    std::max(left, std::chrono::system_clock::duration::zero()));
  }
  auto next_check = s->still_allowed ? after(now, s->recheck) : Clock::time_point::max();
  bool render = s->render_at_start;
  try {
    while (!st->reader_done && !s->closed()) {
      if (Clock::now() >= end) {  // nothing is sent once the credential has expired
        MR_LOG_INFO("event=http.stream_expired session={}", t.info().session_id);
        break;
      }
      if (s->take_dirty()) render = true;
      if (render && s->render) {
        render = false;
        auto fn = s->render;
        Stream::Chunk chunk = co_await net::blocking(pool, [fn] { return fn(); });
        if (st->reader_done) break;
        if (!chunk.bytes.empty()) {
          if (!co_await t.write(chunk.bytes)) break;
          next_beat = after(Clock::now(), s->heartbeat);
        }
        if (chunk.last) break;
        continue;
      }
      now = Clock::now();
      if (now >= next_check) {
        auto fn = s->still_allowed;
        bool allowed = co_await net::blocking(pool, [fn] { return fn(); });
        if (!allowed) break;
        next_check = after(Clock::now(), s->recheck);
        continue;
      }
      if (now >= next_beat) {
        if (!co_await t.write(s->heartbeat_text)) break;
        next_beat = after(Clock::now(), s->heartbeat);
        continue;
      }
      // A notify() posted while we rendered or wrote set dirty_ (seen above); one posted
      // from now on cancels this wait: nothing runs on this executor in between.
      st->wake.expires_at(std::min({next_beat, next_check, end}));
      boost::system::error_code ec;
      co_await st->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  } catch (const std::exception& e) {
    MR_LOG_ERROR("event=http.stream_failed session={} error={}", t.info().session_id,
                 core::quote(e.what()));
  }
  st->writer_done = true;
  // Closing the socket wakes the reader. Only a real connection has one; other transports
  // (tests) end their reads by themselves.
  if (!st->reader_done)
    if (auto* c = dynamic_cast<net::Connection*>(&t)) c->close();
  st->finished.cancel();
}

}  // namespace

asio::awaitable<void> run_stream(net::Transport& t, net::WorkerPool& pool,
                                 std::shared_ptr<Stream> stream) {
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<StreamState>(ex);
  std::weak_ptr<StreamState> weak = st;
  stream->set_waker([ex, weak] {
    asio::post(ex, [weak] {
      if (auto s = weak.lock()) s->wake.cancel();
    });
  });
  asio::co_spawn(ex, stream_writer(t, pool, stream, st), asio::detached);
  // The client sends nothing on a stream: whatever comes is read and dropped, a line at a
  // time (bounded); the read ends at the client's close, the server's shutdown or close().
  t.set_idle_timeout(std::chrono::hours(1));
  std::string line;
  for (;;) {
    auto rs = co_await t.read_command(line, 8192);
    if (st->writer_done) break;
    if (rs == net::ReadStatus::ok || rs == net::ReadStatus::too_long ||
        rs == net::ReadStatus::timeout)
      continue;
    break;
  }
  st->reader_done = true;
  st->wake.cancel();
  while (!st->writer_done) {
    boost::system::error_code ec;
    co_await st->finished.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  stream->set_waker(nullptr);
}

}  // namespace mailroom::http
