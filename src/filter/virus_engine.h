// The antivirus engines behind the antivirus content scanner (antivirus.h): clamd over a
// socket (clamd_client.h) or libclamav in process (libclamav_engine.h).
//
// Threading: thread-safe; scan() blocks (network or CPU) and runs on the worker pool.
// Three outcomes (STYLE.md example 2): clean, infected (with the signature name), or could not
// tell (error: daemon down, timeout, message over the engine's size limit, engine not loaded).
// An error is never reported as clean.
#pragma once

#include <string>
#include <string_view>

namespace mailroom::filter {

struct EngineVerdict {
  enum class Kind { clean, infected, error };
  Kind kind = Kind::error;
  std::string signature;  // infected
  std::string detail;     // error: for the log (not for the client)

  static EngineVerdict clean() { return {Kind::clean, {}, {}}; }
  static EngineVerdict infected(std::string name) { return {Kind::infected, std::move(name), {}}; }
  static EngineVerdict error(std::string why) { return {Kind::error, {}, std::move(why)}; }
};

class VirusEngine {
 public:
  virtual ~VirusEngine() = default;
  virtual std::string name() const = 0;  // "clamd", "libclamav"
  // Scans `data` as a file: a whole message (the engine decodes MIME and archives) or one
  // decoded MIME part.
  virtual EngineVerdict scan(std::string_view data) = 0;
  // Scans a whole message (CRLF, as received): scan(message) unless the engine splits it
  // itself (libclamav with scan_parts: scan_parts.h).
  virtual EngineVerdict scan_message(std::string_view message) { return scan(message); }
};

}  // namespace mailroom::filter
