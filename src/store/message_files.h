// The immutable message files of one user (FORMAT.md "Message files").
//
// A message is written to tmp/, fsync'd, renamed to msg/<2 hex>/<guid>.eml and the directory
// fsync'd before the index may reference it. Files are never modified after the rename.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"

namespace mailroom::store {

// RFC 5322 section 2.3: lines end in CRLF. Bare LF and bare CR become CRLF.
std::string normalize_crlf(std::string_view message);

// 32 lowercase hex digits from the kernel's random source.
std::string new_guid();
bool valid_guid(std::string_view guid);

// fsync of a directory so a rename or a new entry in it survives a crash.
core::Status fsync_dir(const std::string& path);
// mkdir -p; fsyncs each parent whose entries changed.
core::Status make_dirs(const std::string& path, bool durable);

class Fs;

class MessageFiles {
 public:
  // `fs` null: the real file system.
  MessageFiles(std::string user_dir, bool durable, std::shared_ptr<Fs> fs = nullptr);
  ~MessageFiles();
  MessageFiles(const MessageFiles&) = delete;
  MessageFiles& operator=(const MessageFiles&) = delete;

  core::Status prepare();  // creates msg/ and tmp/
  std::string path_for(std::string_view guid) const;
  // Durably stores `data` under `guid` (tmp, fsync, rename, fsync dir).
  core::Status write(std::string_view guid, std::string_view data);
  // The file, or its first `limit` octets.
  core::Result<std::string> read(std::string_view guid, uint64_t limit = UINT64_MAX) const;
  // The file's first dest.size() octets into `dest` (its size comes from the index: no stat);
  // not_found, or io_error when the file is shorter.
  core::Status read_into(std::string_view guid, std::span<char> dest) const;
  // Size in octets, or not_found.
  core::Result<uint64_t> size_of(std::string_view guid) const;
  void remove(std::string_view guid) const;  // best effort: a leftover is garbage for fsck
  // Every guid with a file under msg/ (for fsck).
  std::vector<std::string> list() const;
  // Names of leftover files in tmp/ older than `min_age_seconds`.
  std::vector<std::string> list_tmp(int64_t min_age_seconds) const;
  const std::string& dir() const { return dir_; }

 private:
  core::Status ensure_dir(const std::string& path);
  // A message file opened for reading (-1 and errno on failure), relative to msg/ held open:
  // the kernel walks two path components per file, not the whole data directory path.
  int open_file(std::string_view guid) const;
  std::string dir_;
  mutable std::atomic<int> msg_fd_{-1};  // O_PATH of msg/, opened at the first read
  bool durable_;
  std::shared_ptr<Fs> fs_;
};

}  // namespace mailroom::store
