// libclamav in process as a VirusEngine: the signature database is loaded once into an
// engine shared by every scan. A background thread checks the database directory
// (cl_statchkdir) every `reload_interval`; when it changed, a new engine is built on that
// thread and swapped in (a shared_ptr): scans in flight finish on the old engine, which is
// freed after the last of them, so a reload never pauses scanning. A database that fails to
// load keeps the old engine (logged). Scans read from memory (cl_fmap_open_memory,
// cl_scanmap_callback).
//
// A message (scan_message) is split by us (scan_parts.h) when `scan_parts` is on: the skeleton
// is scanned as mail without ClamAV's mail parser, each decoded part with every other parser
// (archives, documents, HTML). ClamAV's mail parser wrote each part to a temporary file and
// cost more per 10 KiB message than mailroomd's whole delivery. What is not done then: the
// phishing URL checks ClamAV runs inside its mail parser on HTML parts (PhishingSignatures,
// .pdb/.wdb databases). A message the splitter does not take (uuencode, BinHex, unknown
// encodings, too deep or too many parts) and scan() of any data keep every parser on.
//
// Built only when CMake finds libclamav (pkg-config libclamav, Debian libclamav-dev);
// otherwise open_libclamav_engine() says it is not built in.
//
// Threading: thread-safe; scan() blocks on CPU (worker pool only).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "src/core/status.h"
#include "src/filter/virus_engine.h"

namespace mailroom::filter {

struct LibclamavOptions {
  std::string database_dir = "/var/lib/clamav";
  std::chrono::milliseconds reload_interval{60000};
  uint64_t max_scan_size = 100u << 20;  // CL_ENGINE_MAX_SCANSIZE: data scanned per message
  uint64_t max_file_size =
      25u << 20;  // CL_ENGINE_MAX_FILESIZE: a message or part beyond it is an error
  // CL_ENGINE_TMPDIR, where libclamav writes the decoded parts and unpacked archive members
  // of every message it scans. "" = a private directory on /dev/shm when that is a tmpfs (on
  // ext4 the file creations cost more than the scan), else libclamav's default (TMPDIR, /tmp).
  std::string tmp_dir;
  // Messages split into parts by us (above); false (default): the message whole, through
  // ClamAV's mail parser, whose HTML parts get ClamAV's phishing URL checks.
  bool scan_parts = false;
};

class ReloadingEngine : public VirusEngine {
 public:
  ~ReloadingEngine() override = default;
  // Number of databases loaded so far (1 after start; +1 per successful reload).
  virtual uint64_t generation() const = 0;
  // Reloads that failed (the database changed but did not load; the old engine stayed).
  virtual uint64_t failed_reloads() const = 0;
  // Checks the directory now instead of at the next interval (tests, mailroomctl).
  virtual void check_now() = 0;
};

// Loads the database (fails when it does not load: the option is named) and starts the
// reload thread.
core::Result<std::shared_ptr<ReloadingEngine>> open_libclamav_engine(
    const LibclamavOptions& options);

}  // namespace mailroom::filter
