#include "src/jmap/uploads.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

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

constexpr std::string_view kReleasedSuffix = ".i";

bool is_released(const fs::path& p) { return p.filename().string().ends_with(kReleasedSuffix); }

struct Sweep {
  size_t pending = 0;
  // Released uploads still kept, oldest first.
  std::vector<std::pair<fs::file_time_type, fs::path>> released;
};

// Removes the expired files of an account's upload directory and counts the others.
Sweep sweep(const std::string& dir) {
  Sweep out;
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto written = e.last_write_time(ec);
    if (ec) continue;  // removed meanwhile
    bool released = is_released(e.path());
    auto lifetime =
        std::chrono::seconds(released ? kImportedLifetimeSeconds : kUploadLifetimeSeconds);
    if (now - written > lifetime) {
      fs::remove(e.path(), ec);
    } else if (released) {
      out.released.emplace_back(written, e.path());
    } else {
      ++out.pending;
    }
  }
  std::sort(out.released.begin(), out.released.end());
  return out;
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
  // Expired uploads go; the pending rest count against the limit (released ones do not).
  if (sweep(dir).pending >= kMaxUploadsPerAccount)
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
  int64_t lifetime = kUploadLifetimeSeconds;
  if (::stat(path.c_str(), &st) != 0) {
    path += kReleasedSuffix;
    lifetime = kImportedLifetimeSeconds;
    if (::stat(path.c_str(), &st) != 0) return core::not_found("no such blob");
  }
  if (std::time(nullptr) - st.st_mtime > lifetime) return core::not_found("expired");
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::not_found("no such blob");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void release_upload(const std::string& data_dir, const std::string& account_id,
                    std::string_view blob_id) {
  if (!valid_account(account_id) || !valid_blob_id(blob_id)) return;
  std::string dir = dir_of(data_dir, account_id);
  std::string path = dir + "/" + std::string(blob_id);
  std::string released = path + std::string(kReleasedSuffix);
  if (::rename(path.c_str(), released.c_str()) != 0) return;  // not pending (any more)
  ::utimensat(AT_FDCWD, released.c_str(), nullptr, 0);        // its hour starts now
  auto kept = sweep(dir).released;
  std::error_code ec;
  for (size_t i = 0; i + kMaxImportedPerAccount < kept.size(); ++i) fs::remove(kept[i].second, ec);
}

}  // namespace mailroom::jmap
