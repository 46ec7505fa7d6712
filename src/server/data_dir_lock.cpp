#include "src/server/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mailroom::server {

int lock_data_dir(const std::string& data_dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir + "/run", ec);
  std::string path = data_dir + "/run/mailroomd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    *error = "another mailroomd" + (holder.empty() ? "" : " (pid " + holder + ")") +
             " is running on the data directory " + data_dir;
    ::close(fd);
    return -1;
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) < 0) {
    // The lock holds without the pid; only the message of a second instance is poorer.
  }
  return fd;
}

}  // namespace mailroom::server
