#include "src/store/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "src/core/metric_catalog.h"
#include "src/store/message_files.h"

namespace mailroom::store {

core::Status errno_status(const char* what, const std::string& path) {
  return core::io_error("mail store disk error",
                        std::string(what) + " " + path + ": " + std::strerror(errno));
}

namespace {

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

class RealFs final : public Fs {
 public:
  core::Status write_new(const std::string& path, std::string_view data, bool sync) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return errno_status("create", path);
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        auto s = errno_status("write", path);
        ::close(fd);
        ::unlink(path.c_str());
        return s;
      }
      off += static_cast<size_t>(n);
    }
    static metrics::Histogram& fsync_time = metrics::store_fsync("file");
    if (sync && metrics::timed(fsync_time, [fd] { return ::fsync(fd); }) != 0) {
      auto s = errno_status("fsync", path);
      ::close(fd);
      ::unlink(path.c_str());
      return s;
    }
    if (::close(fd) != 0) {
      auto s = errno_status("close", path);
      ::unlink(path.c_str());
      return s;
    }
    return core::Status::ok();
  }
  core::Status make_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return errno_status("mkdir", path);
    return core::Status::ok();
  }
  core::Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return errno_status("rename", to);
    return core::Status::ok();
  }
  core::Status sync_dir(const std::string& path) override { return fsync_dir(path); }
  void unlink(const std::string& path) override { ::unlink(path.c_str()); }
};

}  // namespace

std::shared_ptr<Fs> real_fs() {
  static std::shared_ptr<Fs> fs = std::make_shared<RealFs>();
  return fs;
}

core::Status FaultInjectingFs::write_new(const std::string& path, std::string_view data,
                                         bool sync) {
  auto s = real_fs()->write_new(path, data, sync);
  if (!s.is_ok()) return s;
  std::lock_guard<std::mutex> lk(mu_);
  if (!sync) unsynced_data_.insert(path);
  ops_.push_back({DirOp::create_file, parent_of(path), path, {}});
  return s;
}

core::Status FaultInjectingFs::make_dir(const std::string& path) {
  struct stat st;
  bool existed = ::stat(path.c_str(), &st) == 0;
  auto s = real_fs()->make_dir(path);
  if (!s.is_ok() || existed) return s;
  std::lock_guard<std::mutex> lk(mu_);
  ops_.push_back({DirOp::create_dir, parent_of(path), path, {}});
  return s;
}

core::Status FaultInjectingFs::rename(const std::string& from, const std::string& to) {
  auto s = real_fs()->rename(from, to);
  if (!s.is_ok()) return s;
  std::lock_guard<std::mutex> lk(mu_);
  if (unsynced_data_.erase(from)) unsynced_data_.insert(to);
  ops_.push_back({DirOp::rename_in, parent_of(to), to, from});
  return s;
}

core::Status FaultInjectingFs::sync_dir(const std::string& path) {
  auto s = real_fs()->sync_dir(path);
  if (!s.is_ok()) return s;
  std::lock_guard<std::mutex> lk(mu_);
  std::erase_if(ops_, [&](const DirOp& op) { return op.dir == path; });
  return s;
}

void FaultInjectingFs::unlink(const std::string& path) {
  real_fs()->unlink(path);
  std::lock_guard<std::mutex> lk(mu_);
  unsynced_data_.erase(path);
}

size_t FaultInjectingFs::pending_operations() const {
  std::lock_guard<std::mutex> lk(mu_);
  return unsynced_data_.size() + ops_.size();
}

void FaultInjectingFs::drop_unsynced() {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& path : unsynced_data_) ::truncate(path.c_str(), 0);
  unsynced_data_.clear();
  // Undo entry changes newest first.
  std::vector<DirOp> all = std::move(ops_);
  ops_.clear();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    std::error_code ec;
    switch (it->kind) {
      case DirOp::create_file:
        ::unlink(it->path.c_str());
        break;
      case DirOp::create_dir:
        std::filesystem::remove_all(it->path, ec);
        break;
      case DirOp::rename_in:
        ::rename(it->path.c_str(), it->from.c_str());
        break;
    }
  }
}

}  // namespace mailroom::store
