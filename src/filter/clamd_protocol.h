// clamd's wire protocol, the part Mailroom speaks (clamd(8), "COMMANDS"): a session
// (zIDSESSION ... zEND) so one connection carries many scans, and zINSTREAM, whose data is a
// sequence of chunks, each a 4-byte big-endian length then that many bytes, ended by a chunk
// of length zero. Every command and reply of the "z" form ends with a NUL byte.
//
// Pure: no I/O (clamd_client.cpp does the sockets), so the reply parser is fuzzed
// (tests/fuzz/fuzz_clamd_reply.cpp) and table-tested on raw wire strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mailroom::filter::clamd {

inline constexpr std::string_view kIdSession{"zIDSESSION\0", 11};
inline constexpr std::string_view kInstream{"zINSTREAM\0", 10};
inline constexpr std::string_view kEnd{"zEND\0", 5};
inline constexpr std::string_view kPing{"zPING\0", 6};
// The longest reply Mailroom reads (a signature name is far shorter); beyond it the connection
// is dropped as broken.
inline constexpr size_t kMaxReply = 4096;
inline constexpr size_t kMaxSignatureName = 256;

// The 4-byte big-endian length that precedes one INSTREAM chunk (length 0 ends the stream).
std::string chunk_header(uint32_t length);

// The whole INSTREAM payload after the command: `data` in chunks of at most `chunk_size`
// bytes, then the zero-length end. For tests and small messages; the client sends the same
// bytes without the copy.
std::string frame_instream(std::string_view data, size_t chunk_size);

struct Reply {
  enum class Kind { clean, infected, error, malformed };
  Kind kind = Kind::malformed;
  std::string signature;  // infected: the signature name
  std::string detail;     // error: clamd's text; malformed: why it was not understood
};

// One reply without its NUL terminator. In a session (`session_id` > 0) clamd prefixes the
// reply with "<id>: " (the id of the command it answers, counted from 1); a reply to another
// id is malformed. Accepted forms (strictly; anything else is malformed):
//   "stream: OK"                       clean
//   "stream: <name> FOUND"             infected; name printable ASCII, no spaces at the ends
//   "<text> ERROR"                     error, e.g. "INSTREAM size limit exceeded. ERROR"
Reply parse_reply(std::string_view reply, uint64_t session_id);

}  // namespace mailroom::filter::clamd
