#include "src/sieve/script_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace mailroom::sieve {
namespace {

std::string hex(const std::string& s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<std::string> unhex(const std::string& s) {
  if (s.size() % 2) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < s.size(); i += 2) {
    auto v = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    int a = v(s[i]), b = v(s[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    out += static_cast<char>(a * 16 + b);
  }
  return out;
}

core::Status errno_status(const std::string& what) {
  return core::Status::error(core::Code::io_error, "cannot store the script",
                             what + ": " + std::strerror(errno));
}

bool make_dir(const std::string& d) { return ::mkdir(d.c_str(), 0700) == 0 || errno == EEXIST; }

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// temp file (0600), fsync, rename, fsync the directory.
core::Status atomic_write(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno_status("open " + tmp);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return errno_status("write " + tmp);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return errno_status("fsync " + tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_status("rename " + path);
  std::string dir = path.substr(0, path.rfind('/'));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return core::Status::ok();
}

}  // namespace

ScriptStore::ScriptStore(std::string mail_root, StoreLimits limits)
    : mail_root_(std::move(mail_root)), limits_(limits) {}

std::string ScriptStore::dir(const std::string& account_id) const {
  return mail_root_ + "/" + account_id + "/sieve";
}

std::string ScriptStore::script_path(const std::string& account_id, const std::string& name) const {
  return dir(account_id) + "/scripts/" + hex(name) + ".sieve";
}

bool ScriptStore::valid_name(const std::string& name) const {
  if (name.empty() || name.size() > limits_.max_name_bytes) return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return false;  // RFC 5804 1.6: no controls
  }
  return true;
}

core::Result<std::vector<ScriptInfo>> ScriptStore::list(const std::string& account_id) {
  std::vector<ScriptInfo> out;
  std::string active = read_file(dir(account_id) + "/active").value_or("");
  DIR* d = ::opendir((dir(account_id) + "/scripts").c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string f = e->d_name;
    if (f.size() <= 6 || f.compare(f.size() - 6, 6, ".sieve") != 0) continue;
    auto name = unhex(f.substr(0, f.size() - 6));
    if (!name) continue;
    struct stat st {};
    if (::stat((dir(account_id) + "/scripts/" + f).c_str(), &st) != 0) continue;
    out.push_back({*name, *name == active, static_cast<uint64_t>(st.st_size)});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const ScriptInfo& a, const ScriptInfo& b) { return a.name < b.name; });
  return out;
}

core::Result<std::string> ScriptStore::get(const std::string& account_id, const std::string& name) {
  if (!valid_name(name)) return core::not_found("no such script");
  auto text = read_file(script_path(account_id, name));
  if (!text) return core::not_found("no such script");
  return *text;
}

core::Result<std::pair<std::string, std::string>> ScriptStore::active(
    const std::string& account_id) {
  auto name = read_file(dir(account_id) + "/active");
  if (!name || name->empty()) return core::not_found("no active script");
  auto text = get(account_id, *name);
  if (!text) return text.status();
  return std::make_pair(*name, *text);
}

core::Status ScriptStore::have_space(const std::string& account_id, const std::string& name,
                                     uint64_t size) {
  if (size > limits_.max_script_bytes) {
    return core::Status::error(
        core::Code::too_large,
        "script too large (limit " + std::to_string(limits_.max_script_bytes) + " octets)");
  }
  auto scripts = list(account_id);
  if (!scripts) return scripts.status();
  uint64_t total = size;
  bool replaces = false;
  for (const auto& s : *scripts) {
    if (s.name == name) {
      replaces = true;
    } else {
      total += s.size;
    }
  }
  if (!replaces && scripts->size() >= limits_.max_scripts) {
    return core::Status::error(core::Code::over_quota, "too many scripts");
  }
  if (total > limits_.max_total_bytes) {
    return core::Status::error(core::Code::over_quota, "scripts too large in total");
  }
  return core::Status::ok();
}

core::Status ScriptStore::write_file(const std::string& path, const std::string& text) {
  return atomic_write(path, text);
}

core::Status ScriptStore::put(const std::string& account_id, const std::string& name,
                              const std::string& text) {
  if (!valid_name(name)) return core::invalid_argument("invalid script name");
  std::lock_guard lock(mu_);
  if (auto s = have_space(account_id, name, text.size()); !s) return s;
  std::string base = mail_root_ + "/" + account_id;
  if (!make_dir(base) || !make_dir(dir(account_id)) || !make_dir(dir(account_id) + "/scripts")) {
    return errno_status("mkdir " + dir(account_id));
  }
  return write_file(script_path(account_id, name), text);
}

core::Status ScriptStore::set_active(const std::string& account_id, const std::string& name) {
  std::lock_guard lock(mu_);
  if (name.empty()) {
    if (::unlink((dir(account_id) + "/active").c_str()) != 0 && errno != ENOENT) {
      return errno_status("unlink active");
    }
    return core::Status::ok();
  }
  if (!get(account_id, name)) return core::not_found("no such script");
  return write_file(dir(account_id) + "/active", name);
}

core::Status ScriptStore::remove(const std::string& account_id, const std::string& name) {
  std::lock_guard lock(mu_);
  if (!get(account_id, name)) return core::not_found("no such script");
  if (read_file(dir(account_id) + "/active").value_or("") == name) {
    return core::Status::error(core::Code::permission_denied,
                               "the active script cannot be deleted");
  }
  if (::unlink(script_path(account_id, name).c_str()) != 0) return errno_status("unlink script");
  return core::Status::ok();
}

core::Status ScriptStore::rename(const std::string& account_id, const std::string& from,
                                 const std::string& to) {
  if (!valid_name(to)) return core::invalid_argument("invalid script name");
  std::lock_guard lock(mu_);
  if (!get(account_id, from)) return core::not_found("no such script");
  if (get(account_id, to))
    return core::Status::error(core::Code::already_exists, "a script of that name exists");
  if (::rename(script_path(account_id, from).c_str(), script_path(account_id, to).c_str()) != 0) {
    return errno_status("rename script");
  }
  if (read_file(dir(account_id) + "/active").value_or("") == from) {
    return write_file(dir(account_id) + "/active", to);
  }
  return core::Status::ok();
}

RecordFile::RecordFile(std::string path, std::size_t max_entries)
    : path_(std::move(path)), max_entries_(max_entries) {}

namespace {
std::string key_hash(const std::string& key) {
  // Not a security boundary (the file is the user's own): a stable 64-bit FNV-1a, twice.
  uint64_t h1 = 1469598103934665603ull, h2 = 1099511628211ull * 31;
  for (unsigned char c : key) {
    h1 = (h1 ^ c) * 1099511628211ull;
    h2 = (h2 ^ c) * 1469598103934665603ull + 7;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h1),
                static_cast<unsigned long long>(h2));
  return buf;
}

std::map<std::string, int64_t> load_records(const std::string& path, int64_t now) {
  std::map<std::string, int64_t> out;
  auto text = read_file(path);
  if (!text) return out;
  std::istringstream in(*text);
  int64_t expiry = 0;
  std::string hash;
  while (in >> expiry >> hash) {
    if (expiry > now) out[hash] = std::max(out[hash], expiry);
  }
  return out;
}
}  // namespace

bool RecordFile::contains(const std::string& key, int64_t now) {
  auto records = load_records(path_, now);
  return records.count(key_hash(key)) > 0;
}

core::Status RecordFile::add(const std::string& key, int64_t expiry, int64_t now) {
  auto records = load_records(path_, now);
  records[key_hash(key)] = expiry;
  std::vector<std::pair<int64_t, std::string>> by_expiry;
  for (auto& [h, e] : records) by_expiry.emplace_back(e, h);
  std::sort(by_expiry.begin(), by_expiry.end());
  if (by_expiry.size() > max_entries_) {
    by_expiry.erase(by_expiry.begin(), by_expiry.end() - static_cast<std::ptrdiff_t>(max_entries_));
  }
  std::string text;
  for (auto& [e, h] : by_expiry) text += std::to_string(e) + " " + h + "\n";
  std::string dir = path_.substr(0, path_.rfind('/'));
  std::string parent = dir.substr(0, dir.rfind('/'));
  make_dir(parent);
  make_dir(dir);
  return atomic_write(path_, text);
}

}  // namespace mailroom::sieve
