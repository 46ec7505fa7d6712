// The PDF cache (cache.h).
#include "src/preview/cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "src/core/log.h"

namespace mailroom::preview {

namespace fs = std::filesystem;

bool PdfCache::valid_key(std::string_view key) {
  return key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

PdfCache::PdfCache(std::string dir, uint64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  chmod(dir_.c_str(), 0700);
  // Oldest first, so that pushing each to the front leaves the newest there.
  std::vector<std::pair<fs::file_time_type, std::pair<std::string, uint64_t>>> found;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    if (name.size() != 68 || !name.ends_with(".pdf")) {
      if (name.ends_with(".tmp")) fs::remove(e.path(), ec);  // a write cut short
      continue;
    }
    std::string key = name.substr(0, 64);
    if (!valid_key(key) || !e.is_regular_file(ec)) continue;
    found.push_back({e.last_write_time(ec), {key, e.file_size(ec)}});
  }
  std::sort(found.begin(), found.end());
  for (auto& [when, kv] : found) {
    lru_.push_front(kv.first);
    entries_[kv.first] = Entry{kv.second, lru_.begin()};
    total_ += kv.second;
  }
  evict_locked();
}

std::string PdfCache::path_of(const std::string& key) const { return dir_ + "/" + key + ".pdf"; }

std::optional<std::string> PdfCache::get(const std::string& key) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  std::ifstream in(path_of(key), std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) data.clear();
  if (data.size() != it->second.size || !data.starts_with("%PDF-")) {
    // Changed or cut under us: forget it, convert again.
    std::error_code ec;
    fs::remove(path_of(key), ec);
    total_ -= it->second.size;
    lru_.erase(it->second.pos);
    entries_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second.pos);
  utimensat(AT_FDCWD, path_of(key).c_str(), nullptr, 0);  // the order survives a restart
  return data;
}

core::Status PdfCache::put(const std::string& key, std::string_view pdf) {
  if (!valid_key(key)) return core::internal_error("cache key " + key);
  if (pdf.size() > max_bytes_) {
    return core::Status::error(core::Code::too_large, "too large for the cache",
                               std::to_string(pdf.size()) + " octets");
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (entries_.count(key)) return core::Status::ok();
  std::string tmp = path_of(key) + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return core::io_error("cache", tmp + ": " + std::strerror(errno));
  std::string_view rest = pdf;
  while (!rest.empty()) {
    ssize_t n = write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return core::io_error("cache", tmp + ": " + std::strerror(err));
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  close(fd);  // no fsync: a cache entry lost in a crash is converted again
  if (rename(tmp.c_str(), path_of(key).c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return core::io_error("cache", tmp + ": " + std::strerror(err));
  }
  lru_.push_front(key);
  entries_[key] = Entry{pdf.size(), lru_.begin()};
  total_ += pdf.size();
  evict_locked();
  return core::Status::ok();
}

void PdfCache::evict_locked() {
  while (total_ > max_bytes_ && !lru_.empty()) {
    std::string key = lru_.back();
    lru_.pop_back();
    auto it = entries_.find(key);
    total_ -= it->second.size;
    entries_.erase(it);
    std::error_code ec;
    fs::remove(path_of(key), ec);
  }
}

uint64_t PdfCache::bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return total_;
}

std::size_t PdfCache::count() const {
  std::lock_guard<std::mutex> lk(mu_);
  return entries_.size();
}

}  // namespace mailroom::preview
