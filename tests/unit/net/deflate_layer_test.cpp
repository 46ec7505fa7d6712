// The COMPRESS=DEFLATE layer (RFC 4978) against zlib as the client would use it: raw deflate
// both ways, sync flushes that make every burst readable, bounded inflate output (a
// decompression bomb comes out a chunk at a time), a corrupt stream refused.
#include "src/net/deflate_layer.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace mailroom::net {
namespace {

// The client's side: zlib with windowBits -15.
struct Peer {
  z_stream def{}, inf{};
  Peer() {
    deflateInit2(&def, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    inflateInit2(&inf, -15);
  }
  ~Peer() {
    deflateEnd(&def);
    inflateEnd(&inf);
  }
  std::string compress(const std::string& in, int flush = Z_SYNC_FLUSH) {
    std::string out(in.size() + 1024, '\0');
    def.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    def.avail_in = static_cast<uInt>(in.size());
    def.next_out = reinterpret_cast<Bytef*>(out.data());
    def.avail_out = static_cast<uInt>(out.size());
    EXPECT_NE(deflate(&def, flush), Z_STREAM_ERROR);
    out.resize(out.size() - def.avail_out);
    return out;
  }
  // Everything the server's compressed bytes hold, as far as they go.
  std::string inflate_all(const std::string& in) {
    std::string out;
    inf.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    inf.avail_in = static_cast<uInt>(in.size());
    char buf[4096];
    do {
      inf.next_out = reinterpret_cast<Bytef*>(buf);
      inf.avail_out = sizeof buf;
      int r = ::inflate(&inf, Z_SYNC_FLUSH);
      EXPECT_TRUE(r == Z_OK || r == Z_BUF_ERROR) << r;
      out.append(buf, sizeof buf - inf.avail_out);
      if (r == Z_BUF_ERROR) break;
    } while (inf.avail_in > 0 || inf.avail_out == 0);
    return out;
  }
};

std::string drain(DeflateLayer& l, std::size_t chunk = 4096) {
  std::string out;
  for (int guard = 0; guard < 100000; ++guard) {
    std::size_t before = out.size();
    EXPECT_TRUE(l.inflate(out, chunk));
    if (out.size() == before && !l.has_pending()) break;
  }
  return out;
}

TEST(DeflateLayer, EachFlushedBurstIsReadableByTheClientAtOnce) {
  auto l = DeflateLayer::create();
  ASSERT_TRUE(l);
  Peer p;
  std::string z;
  l->compress("* OK first\r\n", false, z);
  l->compress("a OK done\r\n", true, z);
  EXPECT_EQ(p.inflate_all(z), "* OK first\r\na OK done\r\n");
  // A later burst uses the same stream (the dictionary of the first one).
  std::string z2;
  l->compress("+ idling\r\n", true, z2);
  EXPECT_EQ(p.inflate_all(z2), "+ idling\r\n");
  std::string z3;
  l->compress("", true, z3);  // nothing queued: an empty flush is still valid deflate
  EXPECT_EQ(p.inflate_all(z3), "");
  // Large bursts (bulk FETCH) go through in one call.
  std::string big(3 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  std::string z4;
  l->compress(big, true, z4);
  EXPECT_EQ(p.inflate_all(z4), big);
}

TEST(DeflateLayer, ClientInputInAnyPiecesComesOutWhole) {
  auto l = DeflateLayer::create();
  ASSERT_TRUE(l);
  Peer p;
  std::string z = p.compress("a NOOP\r\nb LOGOUT\r\n");
  std::string out;
  for (char c : z) {  // one byte at a time
    l->feed(std::string_view(&c, 1));
    out += drain(*l);
  }
  EXPECT_EQ(out, "a NOOP\r\nb LOGOUT\r\n");
  EXPECT_FALSE(l->has_pending());
}

TEST(DeflateLayer, DecompressionBombComesOutBoundedPerCall) {
  auto l = DeflateLayer::create();
  ASSERT_TRUE(l);
  Peer p;
  std::string z = p.compress(std::string(16 << 20, 'A'));  // 16 MiB in about 16 KiB
  EXPECT_LT(z.size(), 64u << 10);
  l->feed(z);
  std::size_t total = 0, calls = 0;
  std::string out;
  while (l->has_pending()) {
    out.clear();
    ASSERT_TRUE(l->inflate(out, 16384));
    EXPECT_LE(out.size(), 16384u);
    total += out.size();
    ++calls;
  }
  EXPECT_EQ(total, 16u << 20);
  EXPECT_GE(calls, (16u << 20) / 16384);
}

TEST(DeflateLayer, CorruptStreamIsRefused) {
  auto l = DeflateLayer::create();
  ASSERT_TRUE(l);
  l->feed(std::string("\xff\xff\xff\xff garbage", 12));
  std::string out;
  EXPECT_FALSE(l->inflate(out, 4096));
}

TEST(DeflateLayer, DataAfterTheClientsFinalBlockIsRefused) {
  auto l = DeflateLayer::create();
  ASSERT_TRUE(l);
  Peer p;
  std::string z = p.compress("a NOOP\r\n", Z_FINISH) + "more";
  l->feed(z);
  std::string out;
  EXPECT_FALSE(l->inflate(out, 4096));
}

TEST(DeflateLayer, MemoryIsCountedAndBounded) {
  auto l = DeflateLayer::create();
  ASSERT_TRUE(l);
  std::size_t idle = l->memory();
  // zlib's documented needs: deflate (1 << (12 + 2)) + (1 << (5 + 9)) = 32 KiB plus its
  // state; inflate a 32 KiB window (allocated on first use) plus about 7 KiB.
  EXPECT_GT(idle, 32u << 10);
  EXPECT_LT(idle, 48u << 10);
  Peer p;
  l->feed(p.compress(std::string(1 << 20, 'q')));
  drain(*l);
  std::string z;
  l->compress(std::string(1 << 20, 'r'), true, z);
  std::size_t busy = l->memory();
  EXPECT_LT(busy, 96u << 10);
  std::printf("COMPRESS=DEFLATE memory per session: %zu bytes idle, %zu after traffic\n", idle,
              busy);
}

}  // namespace
}  // namespace mailroom::net
