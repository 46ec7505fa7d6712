// See records.h.
#include "src/jmap/records.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

constexpr size_t kMaxRecordBytes = 4 << 20;  // far above what the bounded lists need

std::string record_dir(const std::string& mail_root, const std::string& account_id) {
  return mail_root + "/" + account_id + "/jmap";
}

bool safe_component(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

}  // namespace

std::unique_lock<std::mutex> records_lock() {
  static std::mutex mu;
  return std::unique_lock<std::mutex>(mu);
}

core::Status load_record(const std::string& mail_root, const std::string& account_id,
                         const std::string& kind, json::object* out) {
  out->clear();
  if (mail_root.empty() || !safe_component(account_id))
    return core::internal_error("no mail root for JMAP records");
  std::string path = record_dir(mail_root, account_id) + "/" + kind + ".json";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return core::Status::ok();
    return core::internal_error("cannot read " + path + ": " + std::strerror(errno));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxRecordBytes)
    return core::internal_error(path + " is too large");
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::internal_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return core::internal_error(path + " is not a JSON object");
  *out = std::move(v.as_object());
  return core::Status::ok();
}

core::Status save_record(const std::string& mail_root, const std::string& account_id,
                         const std::string& kind, const json::object& doc) {
  if (mail_root.empty() || !safe_component(account_id))
    return core::internal_error("no mail root for JMAP records");
  std::string account_dir = mail_root + "/" + account_id;
  std::string dir = record_dir(mail_root, account_id);
  ::mkdir(mail_root.c_str(), 0700);
  ::mkdir(account_dir.c_str(), 0700);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return core::internal_error("cannot create " + dir + ": " + std::strerror(errno));
  std::string text = json::serialize(doc);
  std::string tmp = dir + "/" + kind + ".json.tmp";
  std::string path = dir + "/" + kind + ".json";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return core::internal_error("cannot write " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  bool ok = true;
  while (ok && done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return core::internal_error("cannot write " + path + ": " + std::strerror(errno));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return core::Status::ok();
}

}  // namespace mailroom::jmap
