// Converted PDFs on disk, keyed by the SHA-256 of what was converted (office.h), so a second
// preview of the same attachment — by anyone who can read it — is a file read.
//
// Files: <dir>/<64 hex>.pdf, 0600, in a 0700 directory; written to a temporary name and
// renamed. Least recently used first out when the total passes max_bytes (the order is kept
// in memory and rebuilt from the files' mtimes at start; a hit touches the mtime).
// Threading: every method takes the object's mutex (file I/O of one PDF under it).
// State: per node and disposable (several nodes each keep their own).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "src/core/status.h"

namespace mailroom::preview {

class PdfCache {
 public:
  // Creates `dir` (0700) if missing and indexes the PDFs already there.
  PdfCache(std::string dir, uint64_t max_bytes);

  // The PDF of `key` (64 lower-case hex digits), or nullopt.
  std::optional<std::string> get(const std::string& key);
  // Keeps `pdf` under `key`, then evicts the least recently used until the total fits.
  // A PDF larger than max_bytes alone is not kept: too_large.
  core::Status put(const std::string& key, std::string_view pdf);

  uint64_t bytes() const;
  std::size_t count() const;
  static bool valid_key(std::string_view key);

 private:
  std::string path_of(const std::string& key) const;
  void evict_locked();

  std::string dir_;
  uint64_t max_bytes_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // most recent at the front
  struct Entry {
    uint64_t size;
    std::list<std::string>::iterator pos;
  };
  std::map<std::string, Entry> entries_;
  uint64_t total_ = 0;
};

}  // namespace mailroom::preview
