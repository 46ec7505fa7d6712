// A streamed HTTP response (Server-Sent Events for JMAP push, RFC 8620 7.3): a handler returns
// a Response whose `stream` is set; the server sends the head, then keeps the connection open
// on its I/O thread (no worker is held) and writes what the stream's source renders each time
// another thread calls notify(), plus a heartbeat. The response has no Content-Length and ends
// by closing the connection (RFC 9112 6.3 rule 8).
//
// Bounded by construction: there is no queue of chunks. notify() only marks the stream dirty;
// when the connection can write, the server calls render() once (on the worker pool) and
// sends its bytes. A burst of notifications, or a reader slower than the changes, yields one
// render of the latest state.
//
// Lifetime: the server holds the Stream until the connection ends, then calls on_close once
// (on the I/O thread). notify() and close() may be called from any thread at any time, also
// after the end (they do nothing then).
//
// Light on purpose (no Asio): included through http.h by every front end.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

namespace mailroom::http {

class Stream {
 public:
  struct Chunk {
    std::string bytes;  // sent as is ("" sends nothing)
    bool last = false;  // end the stream after sending it
  };

  // Set by the handler before it returns the response.
  // Runs on the worker pool (it may block) after notify(); never two at once for one stream.
  std::function<Chunk()> render;
  // Runs on the worker pool every `recheck` (0: never): false ends the stream (the session
  // was signed out, the account disabled).
  std::function<bool()> still_allowed;
  std::chrono::seconds recheck{0};
  // Written every `heartbeat` without other output (0: none); keeps proxies from timing the
  // connection out and finds a vanished client by the failed write.
  std::string heartbeat_text;
  std::chrono::seconds heartbeat{0};
  // Called once when the stream ends for any reason (also when it never started: a cap).
  std::function<void()> on_close;
  // The caller's account: counted against the per-user cap and registered on the connection,
  // so that closing the account's sessions (account sweep, admin API) closes the stream.
  std::string account_id;
  std::string address;
  std::string app_password_id;
  // Render once right after the head (the first event), as if notify() had been called.
  bool render_at_start = false;
  // The stream ends at this time (the bearer token it was opened with expires); max: never.
  std::chrono::system_clock::time_point ends_at = std::chrono::system_clock::time_point::max();

  // Any thread: something changed; the server will call render() when it can write.
  void notify() {
    dirty_.store(true);
    wake();
  }
  // Any thread: end the stream at the server's next turn.
  void close() {
    closed_.store(true);
    wake();
  }
  bool closed() const { return closed_.load(); }

  // The server's side (src/http/stream_session.cpp).
  bool take_dirty() { return dirty_.exchange(false); }
  void set_waker(std::function<void()> waker) {
    std::lock_guard<std::mutex> lk(mu_);
    waker_ = std::move(waker);
  }

 private:
  void wake() {
    std::lock_guard<std::mutex> lk(mu_);
    if (waker_) waker_();
  }
  std::atomic<bool> dirty_{false};
  std::atomic<bool> closed_{false};
  std::mutex mu_;
  std::function<void()> waker_;  // posts to the connection's executor; cleared at the end
};

}  // namespace mailroom::http
