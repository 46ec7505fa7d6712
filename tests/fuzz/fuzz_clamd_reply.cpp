// libFuzzer target: what Mailroom reads from clamd (src/filter/clamd_protocol.h), on arbitrary
// bytes, and the INSTREAM framing of arbitrary data.
// Invariants: no crash, leak or UB; an infected reply names a signature of 1..256 printable
// ASCII characters without spaces at the ends; a clean reply is exactly "stream: OK" (with the
// session prefix); frame_instream's chunks decode back to the data, each at most the chunk
// size, ending with one zero-length chunk.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "src/filter/clamd_protocol.h"

using namespace mailroom::filter;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

uint32_t be32(std::string_view s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (uint64_t id : {uint64_t{0}, uint64_t{1}}) {
    clamd::Reply r = clamd::parse_reply(in, id);
    std::string prefix = id ? std::to_string(id) + ": " : "";
    switch (r.kind) {
      case clamd::Reply::Kind::clean:
        check(in == prefix + "stream: OK");
        break;
      case clamd::Reply::Kind::infected:
        check(!r.signature.empty() && r.signature.size() <= clamd::kMaxSignatureName);
        check(r.signature.front() != ' ' && r.signature.back() != ' ');
        for (char c : r.signature) check(c >= 0x20 && c < 0x7f);
        check(in == prefix + "stream: " + r.signature + " FOUND");
        break;
      case clamd::Reply::Kind::error:
        check(in.ends_with(" ERROR"));
        break;
      case clamd::Reply::Kind::malformed:
        check(!r.detail.empty());
        break;
    }
  }
  size_t chunk = size ? (data[0] % 16) + 1 : 1;
  std::string framed = clamd::frame_instream(in, chunk);
  std::string back;
  size_t at = 0;
  for (;;) {
    check(at + 4 <= framed.size());
    uint32_t n = be32(framed, at);
    at += 4;
    if (n == 0) break;
    check(n <= chunk && at + n <= framed.size());
    back.append(framed, at, n);
    at += n;
  }
  check(at == framed.size() && back == in);
  return 0;
}
