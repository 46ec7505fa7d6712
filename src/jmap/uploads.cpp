#include "src/jmap/uploads.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "src/core/base64.h"

namespace mailroom::jmap {
namespace fs = std::filesystem;

namespace {

bool valid_blob_id(std::string_view id) {
  if (id.size() != 33 || id[0] != 'U') return false;
  for (char c : id.substr(1))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The account id is a path component only when it is one safe name.
bool valid_account(std::string_view a) {
  if (a.empty() || a.size() > 128 || a == "." || a == "..") return false;
  for (char c : a)
    if (c == '/' || c == '\0') return false;
  return true;
}

std::string dir_of(const std::string& data_dir, const std::string& account_id) {
  return data_dir + "/jmap-uploads/" + account_id;
}

}  // namespace

core::Result<std::string> save_upload(const std::string& data_dir, const std::string& account_id,
                                      std::string_view data) {
  if (!valid_account(account_id)) return core::invalid_argument("bad account id");
  std::string dir = dir_of(data_dir, account_id);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return core::io_error("cannot store the upload", dir + ": " + ec.message());
  ::chmod((data_dir + "/jmap-uploads").c_str(), 0700);
  ::chmod(dir.c_str(), 0700);
  // Expired uploads go; the rest count against the limit.
  size_t live = 0;
  auto now = fs::file_time_type::clock::now();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto age = now - e.last_write_time(ec);
    if (!ec && age > std::chrono::seconds(kUploadLifetimeSeconds))
      fs::remove(e.path(), ec);
    else
      ++live;
  }
  if (live >= kMaxUploadsPerAccount)
    return core::Status::error(core::Code::too_large, "too many uploads pending");
  unsigned char rnd[16];
  if (::getrandom(rnd, sizeof rnd, 0) != static_cast<ssize_t>(sizeof rnd))
    return core::io_error("no randomness", "getrandom");
  std::string id =
      "U" + core::hex_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof rnd));
  std::string path = dir + "/" + id;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return core::io_error("cannot store the upload", path);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) {
      ::close(fd);
      ::unlink(path.c_str());
      return core::io_error("cannot store the upload", path);
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  return id;
}

core::Result<std::string> read_upload(const std::string& data_dir, const std::string& account_id,
                                      std::string_view blob_id) {
  if (!valid_account(account_id) || !valid_blob_id(blob_id)) return core::not_found("no such blob");
  std::string path = dir_of(data_dir, account_id) + "/" + std::string(blob_id);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return core::not_found("no such blob");
  if (std::time(nullptr) - st.st_mtime > kUploadLifetimeSeconds) return core::not_found("expired");
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::not_found("no such blob");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace mailroom::jmap
