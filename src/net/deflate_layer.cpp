#include "src/net/deflate_layer.h"

#include <zlib.h>

#include <cstdlib>

namespace mailroom::net {

struct DeflateLayer::State {
  z_stream out{};  // deflate: server to client
  z_stream in{};   // inflate: client to server
  bool out_ready = false, in_ready = false;
  std::string pending;        // fed, not yet inflated (in.next_in points into it)
  bool more_output = false;   // the last inflate() filled its room: zlib may hold more
  std::size_t allocated = 0;  // bytes zlib holds (zalloc/zfree below)
  ~State() {
    if (out_ready) deflateEnd(&out);
    if (in_ready) inflateEnd(&in);
  }
};

namespace {

// zlib's allocations, counted: each block carries its size in front.
void* counting_alloc(void* opaque, uInt items, uInt size) {
  auto* s = static_cast<DeflateLayer::State*>(opaque);
  std::size_t n = static_cast<std::size_t>(items) * size;
  auto* p = static_cast<std::size_t*>(std::malloc(n + sizeof(std::max_align_t)));
  if (!p) return nullptr;
  *p = n;
  s->allocated += n;
  return reinterpret_cast<char*>(p) + sizeof(std::max_align_t);
}

void counting_free(void* opaque, void* ptr) {
  if (!ptr) return;
  auto* s = static_cast<DeflateLayer::State*>(opaque);
  auto* p = reinterpret_cast<std::size_t*>(static_cast<char*>(ptr) - sizeof(std::max_align_t));
  s->allocated -= *p;
  std::free(p);
}

}  // namespace

std::unique_ptr<DeflateLayer> DeflateLayer::create() {
  auto s = std::make_unique<State>();
  for (z_stream* z : {&s->out, &s->in}) {
    z->zalloc = counting_alloc;
    z->zfree = counting_free;
    z->opaque = s.get();
  }
  // RFC 4978 4: raw deflate. Inflate must accept the peer's 32 KiB window (-15); what we send
  // may use a smaller one, which any inflater reads. zlib's defaults (-15, memLevel 8) cost
  // 256 KiB per session, 300 KiB with the rest: a server with 100,000 compressed sessions
  // would spend 30 GB on it. A 4 KiB window and memLevel 5 cost 32 KiB (level 6).
  if (deflateInit2(&s->out, 6, Z_DEFLATED, -12, 5, Z_DEFAULT_STRATEGY) != Z_OK) return nullptr;
  s->out_ready = true;
  if (inflateInit2(&s->in, -15) != Z_OK) return nullptr;
  s->in_ready = true;
  return std::unique_ptr<DeflateLayer>(new DeflateLayer(std::move(s)));
}

DeflateLayer::DeflateLayer(std::unique_ptr<State> s) : s_(std::move(s)) {}
DeflateLayer::~DeflateLayer() = default;

void DeflateLayer::compress(std::string_view data, bool flush, std::string& out) {
  z_stream& z = s_->out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int mode = flush ? Z_SYNC_FLUSH : Z_NO_FLUSH;
  for (;;) {
    std::size_t old = out.size();
    std::size_t room = deflateBound(&z, z.avail_in) + 16;
    out.resize(old + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    z.avail_out = static_cast<uInt>(room);
    deflate(&z, mode);  // Z_BUF_ERROR only means "no progress possible": the loop ends below
    out.resize(old + room - z.avail_out);
    // Done when all input is taken and, for a flush, zlib had room to spare (nothing held).
    if (z.avail_in == 0 && (!flush || z.avail_out != 0)) break;
  }
}

void DeflateLayer::feed(std::string_view compressed) {
  z_stream& z = s_->in;
  // Keep what zlib has not consumed yet, then the new bytes (next_in points into pending).
  std::size_t left = z.avail_in;
  if (left > 0)
    s_->pending.erase(0, s_->pending.size() - left);
  else
    s_->pending.clear();
  s_->pending.append(compressed);
  z.next_in = reinterpret_cast<Bytef*>(s_->pending.data());
  z.avail_in = static_cast<uInt>(s_->pending.size());
}

bool DeflateLayer::inflate(std::string& out, std::size_t max) {
  z_stream& z = s_->in;
  std::size_t old = out.size();
  out.resize(old + max);
  z.next_out = reinterpret_cast<Bytef*>(out.data() + old);
  z.avail_out = static_cast<uInt>(max);
  int r = ::inflate(&z, Z_SYNC_FLUSH);
  std::size_t got = max - z.avail_out;
  out.resize(old + got);
  s_->more_output = z.avail_out == 0;
  if (z.avail_in == 0) {
    s_->pending.clear();
    z.next_in = nullptr;
  }
  // Z_BUF_ERROR: no progress for want of input or room, not an error. Z_STREAM_END: the client
  // ended its stream (a final block); more data after it is a protocol error below.
  if (r == Z_OK || r == Z_BUF_ERROR) return true;
  if (r == Z_STREAM_END) return z.avail_in == 0;
  return false;
}

bool DeflateLayer::has_pending() const { return s_->in.avail_in > 0 || s_->more_output; }

std::size_t DeflateLayer::memory() const { return s_->allocated + sizeof(State); }

}  // namespace mailroom::net
