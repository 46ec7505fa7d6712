// libFuzzer target: the COMPRESS=DEFLATE layer (RFC 4978, src/net/deflate_layer.h) on
// arbitrary client bytes. Invariants: no crash or leak; inflate() never returns more than it
// was allowed per call; a refused stream stays refused; and what the layer compresses, a
// second layer inflates back exactly (in bursts, like responses).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/net/deflate_layer.h"

using mailroom::net::DeflateLayer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::size_t chunk = 1 + data[0] * 64u;  // 1 .. 16321 octets per inflate() call
  std::size_t piece = 1 + data[1] % 64u;  // the input arrives in pieces of this size
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  auto l = DeflateLayer::create();
  if (!l) return 0;
  std::size_t total = 0;
  bool refused = false;
  for (std::size_t at = 0; at < in.size() && !refused; at += piece) {
    l->feed(in.substr(at, piece));
    for (int guard = 0; guard < 4096; ++guard) {
      std::string out;
      if (!l->inflate(out, chunk)) {
        refused = true;
        break;
      }
      if (out.size() > chunk) __builtin_trap();
      total += out.size();
      if (total > (std::size_t{64} << 20)) return 0;  // a bomb: the caller's limits stop it
      if (out.empty() && !l->has_pending()) break;
    }
  }

  // Round trip: compress the input as response bursts, inflate it with another layer.
  auto a = DeflateLayer::create();
  auto b = DeflateLayer::create();
  if (!a || !b) return 0;
  std::string z;
  for (std::size_t at = 0; at < in.size(); at += piece * 7) {
    z.clear();
    std::string_view burst = in.substr(at, piece * 7);
    a->compress(burst.substr(0, burst.size() / 2), false, z);
    a->compress(burst.substr(burst.size() / 2), true, z);
    b->feed(z);
    std::string back;
    for (int guard = 0; guard < 100000; ++guard) {
      std::size_t before = back.size();
      if (!b->inflate(back, chunk)) __builtin_trap();
      if (back.size() == before && !b->has_pending()) break;
    }
    if (back != burst) __builtin_trap();  // a sync flush makes every burst whole
  }
  return 0;
}
