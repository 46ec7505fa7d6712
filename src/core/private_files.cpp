#include "src/core/private_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "src/core/base64.h"

namespace mailroom::core {

namespace {

std::string octal(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// chmod when `path` allows group/other access; records the change.
Status restrict_mode(const std::string& path, mode_t want, std::vector<std::string>* repairs) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return io_error("cannot stat " + path, std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode) || (st.st_mode & 077) == 0) return Status::ok();
  if (::chmod(path.c_str(), want) != 0) {
    return io_error("cannot make " + path + " private", std::strerror(errno));
  }
  if (repairs) repairs->push_back(path + ": mode " + octal(st.st_mode) + " -> " + octal(want));
  return Status::ok();
}

}  // namespace

Status make_private_directory(const std::string& dir, std::vector<std::string>* repairs) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("cannot create directory " + dir + ": " + ec.message());
  if (auto s = restrict_mode(dir, 0700, repairs); !s) return s;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return io_error("cannot read directory " + dir, std::strerror(errno));
  Status result = Status::ok();
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    std::string path = dir + "/" + e->d_name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (auto s = restrict_mode(path, 0600, repairs); !s) result = s;
  }
  ::closedir(d);
  return result;
}

Result<std::string> load_or_create_secret(const std::string& path, std::size_t bytes) {
  auto from_hex = [](const std::string& hex) -> std::optional<std::string> {
    std::string out;
    if (hex.size() % 2 != 0) return std::nullopt;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
      auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
      };
      int hi = nib(hex[i]), lo = nib(hex[i + 1]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
  };
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[1024];
      ssize_t n = ::read(fd, buf, sizeof buf);
      ::close(fd);
      std::string text(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      auto raw = from_hex(text);
      if (!raw || raw->size() != bytes) {
        return invalid_argument("malformed secret file " + path + " (expected " +
                                std::to_string(bytes * 2) + " hex digits)");
      }
      return *raw;
    }
    if (errno != ENOENT) return io_error("cannot read " + path, std::strerror(errno));
    std::string raw(bytes, '\0');
    if (::getrandom(raw.data(), bytes, 0) != static_cast<ssize_t>(bytes)) {
      return io_error("getrandom failed", std::strerror(errno));
    }
    std::string hex = hex_encode(raw) + "\n";
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return io_error("cannot create " + tmp, std::strerror(errno));
    bool ok =
        ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
    ::close(fd);
    // link() fails if another process created the file meanwhile: then read theirs.
    if (ok && ::link(tmp.c_str(), path.c_str()) == 0) {
      ::unlink(tmp.c_str());
      return raw;
    }
    ::unlink(tmp.c_str());
    if (!ok) return io_error("cannot write " + path, std::strerror(errno));
  }
  return io_error("cannot create " + path);
}

}  // namespace mailroom::core
