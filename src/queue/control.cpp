#include "src/queue/control.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace mailroom::queue {
namespace fs = std::filesystem;

bool valid_queue_id(const std::string& id) {
  if (id.size() != 22 || id.compare(0, 2, "MR") != 0) return false;
  return std::all_of(id.begin() + 2, id.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'A' && c <= 'F');
  });
}

core::Status write_control_request(const std::string& spool_dir, const ControlRequest& r) {
  static const std::vector<std::string> verbs = {"flush", "hold", "release", "delete"};
  if (std::find(verbs.begin(), verbs.end(), r.verb) == verbs.end()) {
    return core::invalid_argument("unknown queue request \"" + r.verb + "\"");
  }
  if (!(r.queue_id.empty() && r.verb == "flush") && !valid_queue_id(r.queue_id)) {
    return core::invalid_argument("not a queue id: \"" + r.queue_id + "\" (MR + 20 hex digits)");
  }
  std::error_code ec;
  fs::create_directories(spool_dir + "/control", ec);
  if (ec) return core::io_error("cannot create " + spool_dir + "/control: " + ec.message());
  static std::atomic<unsigned> counter{0};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string name =
      std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count()) + "-" +
      std::to_string(::getpid()) + "-" + std::to_string(counter++);
  std::string tmp = spool_dir + "/control/." + name + ".tmp";
  std::string final_path = spool_dir + "/control/" + name + ".cmd";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << r.verb << (r.queue_id.empty() ? "" : " " + r.queue_id) << "\n";
    if (!out.flush()) return core::io_error("cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    return core::io_error("cannot rename " + tmp + ": " + std::strerror(errno));
  }
  return core::Status::ok();
}

std::vector<ControlRequest> take_control_requests(const std::string& spool_dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(spool_dir + "/control", ec)) {
    std::string name = e.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".cmd") == 0) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());  // names start with the time in microseconds
  std::vector<ControlRequest> out;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string verb, id;
    if (in >> verb) {
      in >> id;
      out.push_back(ControlRequest{verb, id});
    }
    fs::remove(f, ec);
  }
  return out;
}

std::vector<std::string> held_messages(const std::string& spool_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(spool_dir + "/held", ec)) {
    std::string id = e.path().filename().string();
    if (valid_queue_id(id)) out.push_back(id);
  }
  return out;
}

core::Status set_held(const std::string& spool_dir, const std::string& queue_id, bool held) {
  if (!valid_queue_id(queue_id)) return core::invalid_argument("not a queue id: " + queue_id);
  std::string path = spool_dir + "/held/" + queue_id;
  std::error_code ec;
  if (!held) {
    fs::remove(path, ec);
    return ec ? core::io_error("cannot remove " + path + ": " + ec.message()) : core::Status::ok();
  }
  fs::create_directories(spool_dir + "/held", ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return core::io_error("cannot create " + path + ": " + std::strerror(errno));
  ::close(fd);
  return core::Status::ok();
}

}  // namespace mailroom::queue
