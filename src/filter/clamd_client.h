// clamd as a VirusEngine: zINSTREAM (clamd_protocol.h) over a Unix socket or TCP, inside
// zIDSESSION sessions kept in a small pool of idle connections.
//
// Limits and failures (each an EngineVerdict::error, never clean): connect timeout; scan
// timeout (from the first byte sent to the verdict); a message over `stream_max_length`
// (clamd's StreamMaxLength: clamd would stop reading and answer "size limit exceeded", so it is
// not sent at all); a reply that is not one of clamd's (clamd::parse_reply). A pooled
// connection clamd closed meanwhile (its IdleTimeout) is retried once on a new connection.
//
// Threading: thread-safe; scan() blocks (worker pool only).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/filter/virus_engine.h"

namespace mailroom::filter {

struct ClamdOptions {
  // "/run/clamav/clamd.ctl" (a path: Unix socket) or "host:port" / "[v6]:port" (TCP).
  std::string address = "/run/clamav/clamd.ctl";
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds scan_timeout{60000};
  size_t max_idle_connections = 4;
  // clamd's idle sessions end after its IdleTimeout (30 s by default); ours are dropped first.
  std::chrono::milliseconds max_idle_time{20000};
  uint64_t stream_max_length = 25u << 20;  // clamd's StreamMaxLength default
  size_t chunk_size = 64u << 10;
};

class ClamdClient : public VirusEngine {
 public:
  explicit ClamdClient(ClamdOptions options);
  ~ClamdClient() override;
  std::string name() const override { return "clamd"; }
  EngineVerdict scan(std::string_view data) override;

  // Idle connections now in the pool (tests).
  size_t idle_connections();

 private:
  struct Connection;
  std::unique_ptr<Connection> take_idle();
  void give_back(std::unique_ptr<Connection> c);
  std::unique_ptr<Connection> connect(std::string* error);

  ClamdOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace mailroom::filter
