// Administrator block lists (seed product: "blacklists of bad IPs and bad senders").
//
// One text file, <data_dir>/blocklist.txt, one entry per line ("#" comments):
//   ip 192.0.2.7            ip 198.51.100.0/24       ip 2001:db8::/32
//   sender spam@bad.example (exact envelope sender, case-insensitive)
//   domain bad.example      (the sender's domain or any subdomain)
// mailroomctl edits it atomically (temp file + rename); the server re-reads it whenever its
// modification time, size or inode changes, so changes apply without a restart.
//
// Threading: Blocklist is thread-safe; lookups stat() the file (cheap, no blocking I/O
// beyond that) and re-read it only when it changed.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/core/status.h"

namespace mailroom::filter {

struct BlockEntry {
  std::string kind;   // "ip" | "sender" | "domain"
  std::string value;  // normalized: lower-case; CIDR as written with its prefix length
};

// Validates and normalizes an entry; invalid_argument names the problem.
core::Result<BlockEntry> make_block_entry(const std::string& kind, const std::string& value);

// Reads / writes the file (write: temp file, fsync, rename). A missing file is empty.
core::Result<std::vector<BlockEntry>> read_blocklist(const std::string& path);
core::Status write_blocklist(const std::string& path, const std::vector<BlockEntry>& entries);

std::string blocklist_path(const std::string& data_dir);

class Blocklist {
 public:
  // How soon a change to the file is seen by the server.
  static constexpr std::chrono::milliseconds kRecheck{500};

  // Tests pass a clock to step over kRecheck without waiting; empty: steady_clock::now.
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit Blocklist(std::string path, Clock clock = {});
  ~Blocklist();

  bool blocks_ip(const std::string& ip);
  // `address` is local@domain (any case); the null sender is never blocked.
  bool blocks_sender(const std::string& address);

  struct Compiled;

 private:
  std::shared_ptr<const Compiled> current();

  std::string path_;
  Clock clock_;
  std::mutex mu_;
  std::shared_ptr<const Compiled> compiled_;
  std::string stamp_;  // mtime/size/inode of the loaded file
  // The file is stat()ed at most once per kRecheck: blocks_ip runs on the accept path of an
  // I/O thread for every connection, where a file-system call per connection does not belong.
  std::chrono::steady_clock::time_point checked_{};
};

}  // namespace mailroom::filter
