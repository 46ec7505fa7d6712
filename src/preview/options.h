// [webmail] office_* keys: the Office preview's converter, sandbox, queue, caps and cache
// (office.h). Parsed with the rest of [webmail] (src/webmail/webmail.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::preview {

struct Options {
  bool enabled = true;                         // office_preview
  std::string converter = "/usr/bin/soffice";  // office_converter
  std::string sandbox = "/usr/bin/bwrap";      // office_sandbox
  std::string cache_dir;                       // office_cache_dir; empty: <data_dir>/office-preview
  int64_t timeout = 60;                        // office_timeout: wall seconds of one conversion
  int64_t cpu = 60;                            // office_cpu: CPU seconds of each process
  uint64_t memory = 2ull << 30;                // office_memory: address space of each process
  uint64_t max_input = 20u << 20;              // office_max_input: a larger attachment: 413
  uint64_t max_output = 50u << 20;             // office_max_output: a larger PDF is a failure
  int64_t concurrency = 1;                     // office_concurrency: conversions at once
  int64_t queue = 8;                           // office_queue: waiting conversions (full: 503)
  int64_t per_user = 2;                        // office_per_user: one account's waiting+running
  uint64_t cache_bytes = 256u << 20;           // office_cache_bytes: converted PDFs kept on disk
};

// Reads the office_* keys of [webmail]; the caller finishes the section.
Options parse_options(core::ConfigSection& section);

}  // namespace mailroom::preview
