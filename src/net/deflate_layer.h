// The COMPRESS=DEFLATE layer (RFC 4978) of a connection: raw deflate (RFC 1951, no zlib or
// gzip header, windowBits -15) in both directions, over the plaintext or TLS stream.
//
// Contract:
// - compress() appends the deflated form of `data` to `out`; with `flush` it ends with a
//   Z_SYNC_FLUSH so the client can read everything sent so far (RFC 4978 4: every response
//   burst is flushed, or IDLE and any waiting client would hang).
// - feed() hands over bytes read from the client; inflate() appends at most `max` decompressed
//   octets of them to `out`. Output is bounded per call so a decompression bomb reaches the
//   reader's line and literal limits a chunk at a time instead of memory. has_pending():
//   fed bytes or produced output remain (inflate() again before reading the socket).
// - A corrupt stream makes inflate() return false; the connection is then unusable.
// - memory(): bytes zlib allocated for this layer (both directions), for the record of what a
//   compressed session costs.
// Not thread-safe; belongs to one connection. zlib stays in the .cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace mailroom::net {

class DeflateLayer {
 public:
  // nullptr when zlib cannot allocate its state.
  static std::unique_ptr<DeflateLayer> create();
  ~DeflateLayer();
  DeflateLayer(const DeflateLayer&) = delete;
  DeflateLayer& operator=(const DeflateLayer&) = delete;

  void compress(std::string_view data, bool flush, std::string& out);
  void feed(std::string_view compressed);
  bool inflate(std::string& out, std::size_t max);
  bool has_pending() const;
  std::size_t memory() const;

  struct State;  // zlib's streams and the allocation counter (deflate_layer.cpp)

 private:
  explicit DeflateLayer(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace mailroom::net
