#include "src/filter/clamd_protocol.h"

#include <algorithm>

namespace mailroom::filter::clamd {

std::string chunk_header(uint32_t length) {
  std::string h(4, '\0');
  h[0] = static_cast<char>((length >> 24) & 0xff);
  h[1] = static_cast<char>((length >> 16) & 0xff);
  h[2] = static_cast<char>((length >> 8) & 0xff);
  h[3] = static_cast<char>(length & 0xff);
  return h;
}

std::string frame_instream(std::string_view data, size_t chunk_size) {
  chunk_size = std::clamp<size_t>(chunk_size, 1, UINT32_MAX);
  std::string out;
  out.reserve(data.size() + (data.size() / chunk_size + 2) * 4);
  for (size_t pos = 0; pos < data.size(); pos += chunk_size) {
    size_t n = std::min(chunk_size, data.size() - pos);
    out += chunk_header(static_cast<uint32_t>(n));
    out.append(data.substr(pos, n));
  }
  out += chunk_header(0);
  return out;
}

namespace {

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

Reply malformed(std::string why) {
  Reply r;
  r.kind = Reply::Kind::malformed;
  r.detail = std::move(why);
  return r;
}

constexpr std::string_view kStream = "stream: ";
constexpr std::string_view kFound = " FOUND";
constexpr std::string_view kError = " ERROR";

}  // namespace

Reply parse_reply(std::string_view reply, uint64_t session_id) {
  if (reply.size() > kMaxReply) return malformed("reply too long");
  if (!printable(reply)) return malformed("control or non-ASCII byte in the reply");
  if (session_id > 0) {
    std::string prefix = std::to_string(session_id) + ": ";
    if (reply.substr(0, prefix.size()) != prefix) return malformed("reply to another request");
    reply.remove_prefix(prefix.size());
  }
  Reply r;
  if (reply.size() > kError.size() && reply.ends_with(kError)) {
    r.kind = Reply::Kind::error;
    r.detail = std::string(reply.substr(0, reply.size() - kError.size()));
    return r;
  }
  if (!reply.starts_with(kStream)) return malformed("not a stream reply");
  reply.remove_prefix(kStream.size());
  if (reply == "OK") {
    r.kind = Reply::Kind::clean;
    return r;
  }
  if (reply.size() > kFound.size() && reply.ends_with(kFound)) {
    std::string_view name = reply.substr(0, reply.size() - kFound.size());
    if (name.empty() || name.size() > kMaxSignatureName || name.front() == ' ' ||
        name.back() == ' ') {
      return malformed("bad signature name");
    }
    r.kind = Reply::Kind::infected;
    r.signature = std::string(name);
    return r;
  }
  return malformed("unknown stream result");
}

}  // namespace mailroom::filter::clamd
