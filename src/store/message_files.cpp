#include "src/store/message_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "src/core/metric_catalog.h"
#include "src/store/fs.h"

namespace mailroom::store {
namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string normalize_crlf(std::string_view m) {
  std::string out;
  out.reserve(m.size() + m.size() / 40 + 2);
  for (size_t i = 0; i < m.size(); ++i) {
    char c = m[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < m.size() && m[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string new_guid() {
  unsigned char buf[16];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = getrandom(buf + got, sizeof buf - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : buf) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

bool valid_guid(std::string_view g) {
  if (g.size() != 32) return false;
  for (char c : g)
    if (!is_hex(c)) return false;
  return true;
}

core::Status fsync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status("open dir", path);
  static metrics::Histogram& fsync_time = metrics::store_fsync("directory");
  int rc = metrics::timed(fsync_time, [fd] { return ::fsync(fd); });
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) return errno_status("fsync dir", path);
  return core::Status::ok();
}

core::Status make_dirs(const std::string& path, bool durable) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return core::Status::ok();
    return core::io_error("mail store disk error", path + " is not a directory");
  }
  auto slash = path.find_last_of('/');
  std::string parent = slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
  if (slash != std::string::npos && slash != 0) {
    auto s = make_dirs(parent, durable);
    if (!s.is_ok()) return s;
  }
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return errno_status("mkdir", path);
  if (durable) return fsync_dir(parent);
  return core::Status::ok();
}

MessageFiles::MessageFiles(std::string user_dir, bool durable, std::shared_ptr<Fs> fs)
    : dir_(std::move(user_dir)), durable_(durable), fs_(fs ? std::move(fs) : real_fs()) {}

core::Status MessageFiles::prepare() {
  auto s = make_dirs(dir_, durable_);
  if (s.is_ok()) s = ensure_dir(dir_ + "/msg");
  if (s.is_ok()) s = ensure_dir(dir_ + "/tmp");
  return s;
}

core::Status MessageFiles::ensure_dir(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return core::Status::ok();
  auto s = fs_->make_dir(path);
  if (s.is_ok() && durable_) s = fs_->sync_dir(path.substr(0, path.find_last_of('/')));
  return s;
}

std::string MessageFiles::path_for(std::string_view guid) const {
  std::string p = dir_ + "/msg/";
  p.append(guid.substr(0, 2));
  p += '/';
  p.append(guid);
  p += ".eml";
  return p;
}

core::Status MessageFiles::write(std::string_view guid, std::string_view data) {
  std::string tmp = dir_ + "/tmp/" + std::string(guid) + ".tmp";
  auto s = fs_->write_new(tmp, data, durable_);
  if (!s.is_ok()) return s;
  std::string bucket = dir_ + "/msg/" + std::string(guid.substr(0, 2));
  s = ensure_dir(bucket);
  if (s.is_ok()) s = fs_->rename(tmp, path_for(guid));
  if (!s.is_ok()) {
    fs_->unlink(tmp);
    return s;
  }
  if (durable_) return fs_->sync_dir(bucket);
  return core::Status::ok();
}

MessageFiles::~MessageFiles() {
  if (int fd = msg_fd_.load(); fd >= 0) ::close(fd);
}

int MessageFiles::open_file(std::string_view guid) const {
  int dir = msg_fd_.load(std::memory_order_acquire);
  if (dir < 0) {
    int fd = ::open((dir_ + "/msg").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      int none = -1;
      if (msg_fd_.compare_exchange_strong(none, fd, std::memory_order_acq_rel)) {
        dir = fd;
      } else {  // another thread opened it first
        ::close(fd);
        dir = none;
      }
    }
  }
  if (dir >= 0 && guid.size() >= 2) {
    std::string rel(guid.substr(0, 2));
    rel += '/';
    rel.append(guid);
    rel += ".eml";
    int fd = ::openat(dir, rel.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT) return fd;
  }
  // No msg/ yet, or missing through the held directory (replaced meanwhile): the full path.
  return ::open(path_for(guid).c_str(), O_RDONLY | O_CLOEXEC);
}

core::Result<std::string> MessageFiles::read(std::string_view guid, uint64_t limit) const {
  int fd = open_file(guid);
  if (fd < 0) {
    if (errno == ENOENT) return core::not_found("message file missing", path_for(guid));
    return errno_status("open", path_for(guid));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    auto s = errno_status("stat", path_for(guid));
    ::close(fd);
    return s;
  }
  std::string out(static_cast<size_t>(std::min<uint64_t>(st.st_size, limit)), '\0');
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::read(fd, out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(off);
  return out;
}

core::Status MessageFiles::read_into(std::string_view guid, std::span<char> dest) const {
  int fd = open_file(guid);
  if (fd < 0) {
    if (errno == ENOENT) return core::not_found("message file missing", path_for(guid));
    return errno_status("open", path_for(guid));
  }
  size_t off = 0;
  int error = 0;
  while (off < dest.size()) {
    ssize_t n = ::read(fd, dest.data() + off, dest.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  if (error) {
    errno = error;
    return errno_status("read", path_for(guid));
  }
  if (off < dest.size())
    return core::io_error("message file shorter than its index entry",
                          path_for(guid) + " has " + std::to_string(off) + " of " +
                              std::to_string(dest.size()) + " octets");
  return core::Status::ok();
}

core::Result<uint64_t> MessageFiles::size_of(std::string_view guid) const {
  struct stat st;
  std::string p = path_for(guid);
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return core::not_found("message file missing", p);
    return errno_status("stat", p);
  }
  return static_cast<uint64_t>(st.st_size);
}

void MessageFiles::remove(std::string_view guid) const { fs_->unlink(path_for(guid)); }

std::vector<std::string> MessageFiles::list() const {
  std::vector<std::string> out;
  std::string msg = dir_ + "/msg";
  DIR* d = ::opendir(msg.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string bucket = e->d_name;
    if (bucket.size() != 2 || !is_hex(bucket[0]) || !is_hex(bucket[1])) continue;
    DIR* b = ::opendir((msg + "/" + bucket).c_str());
    if (!b) continue;
    while (dirent* f = ::readdir(b)) {
      std::string name = f->d_name;
      if (name.size() == 36 && name.compare(32, 4, ".eml") == 0 && valid_guid(name.substr(0, 32)) &&
          name.compare(0, 2, bucket) == 0)
        out.push_back(name.substr(0, 32));
    }
    ::closedir(b);
  }
  ::closedir(d);
  return out;
}

std::vector<std::string> MessageFiles::list_tmp(int64_t min_age_seconds) const {
  std::vector<std::string> out;
  std::string tmp = dir_ + "/tmp";
  DIR* d = ::opendir(tmp.c_str());
  if (!d) return out;
  int64_t now = ::time(nullptr);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (::stat((tmp + "/" + name).c_str(), &st) != 0) continue;
    if (now - st.st_mtime >= min_age_seconds) out.push_back(name);
  }
  ::closedir(d);
  return out;
}

}  // namespace mailroom::store
