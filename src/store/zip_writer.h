// A minimal ZIP (PKWARE APPNOTE 6.3.x) writer: deflate via zlib, UTF-8 names (general
// purpose bit 11), no ZIP64 (at most 65535 entries and 4 GiB). Written by hand because
// libzip is not a dependency and the subset needed is ~150 lines.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"

namespace mailroom::store {

class ZipWriter {
 public:
  explicit ZipWriter(std::FILE* out) : out_(out) {}
  // Adds one file; `mtime` (seconds since the epoch, UTC) becomes its DOS date/time.
  core::Status add(const std::string& name, std::string_view data, int64_t mtime);
  // Writes the central directory.
  core::Status finish();

 private:
  struct Entry {
    std::string name;
    uint32_t crc = 0, csize = 0, usize = 0, offset = 0;
    uint16_t method = 0, time = 0, date = 0;
  };
  core::Status put(std::string_view bytes);
  std::FILE* out_;
  uint64_t offset_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace mailroom::store
