// Assembles one IMAP command from its lines and literals (RFC 3501 4.3, RFC 7888 LITERAL+).
// Pure: the session reads a line, calls add_line, and when a literal is announced sends the
// continuation (synchronizing literals only), reads exactly that many bytes and calls
// add_literal. Limits are checked before anything is buffered, so a huge literal or command
// is refused without being read into memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::imap::proto {

struct ReaderLimits {
  uint64_t max_literal = 64 * 1024 * 1024;  // APPEND messages
  uint64_t max_command = 72 * 1024 * 1024;  // all lines and literals of one command
  uint32_t max_literals = 1000;             // literals in one command
};

class CommandReader {
 public:
  enum class Next { complete, literal, error };
  struct Step {
    Next next = Next::complete;
    uint64_t literal_size = 0;
    bool synchronizing = false;  // send "+ ..." before reading the literal
    std::string error;           // for Next::error
  };

  explicit CommandReader(ReaderLimits limits = {}) : limits_(limits) {}

  // A line without its CRLF.
  Step add_line(std::string_view line);
  // The literal's bytes (exactly literal_size).
  void add_literal(std::string_view bytes) { buffer_.append(bytes); }
  // The assembled command; resets the reader.
  std::string take();
  void reset();
  std::string_view buffer() const { return buffer_; }

 private:
  ReaderLimits limits_;
  std::string buffer_;
  uint32_t literals_ = 0;
};

// Chunk-level decoder over CommandReader for tests and the fuzzer: feed arbitrary byte
// chunks; complete commands (or errors) come out in order. The server itself uses
// net::Connection's bounded line reader with CommandReader directly.
class WireDecoder {
 public:
  struct Event {
    bool error = false;
    std::string command_or_error;
    bool continuation = false;  // a "+" would be sent here (synchronizing literal)
  };
  explicit WireDecoder(ReaderLimits limits = {}, size_t max_line = 65536)
      : reader_(limits), max_line_(max_line) {}
  std::vector<Event> feed(std::string_view bytes);

 private:
  CommandReader reader_;
  size_t max_line_;
  std::string line_;
  uint64_t literal_left_ = 0;
  bool in_literal_ = false;
  bool discarding_ = false;
  std::string literal_;
};

}  // namespace mailroom::imap::proto
