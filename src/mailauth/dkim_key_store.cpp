// DkimKeyStore: <dir>/<domain>/<selector>.key (PEM, 0600) and <dir>/<domain>/active, in
// private directories (src/core/private_files.h). Files are written to a temporary name,
// synced, then linked (a new key: never overwrites) or renamed (the active selector) into
// place, so a crash leaves the old state or the new one.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "src/core/private_files.h"
#include "src/mailauth/dkim.h"
#include "src/mailauth/dkim_internal.h"

namespace mailroom::mailauth {
namespace {

enum class Placement { new_file, replace };

core::Status sync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return core::io_error("cannot open " + dir, std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return core::io_error("cannot sync " + dir, std::strerror(errno));
  return core::Status::ok();
}

core::Status write_private_file(const std::string& dir, const std::string& name,
                                const std::string& content, Placement placement) {
  std::string path = dir + "/" + name;
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return core::io_error("cannot create " + tmp, std::strerror(errno));
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return core::io_error("cannot write " + tmp, std::strerror(saved));
  }
  if (placement == Placement::new_file) {
    int rc = ::link(tmp.c_str(), path.c_str());
    saved = errno;
    ::unlink(tmp.c_str());
    if (rc != 0 && saved == EEXIST) {
      return core::Status::error(core::Code::already_exists, name + " already exists");
    }
    if (rc != 0) return core::io_error("cannot create " + path, std::strerror(saved));
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    saved = errno;
    ::unlink(tmp.c_str());
    return core::io_error("cannot replace " + path, std::strerror(saved));
  }
  return sync_directory(dir);
}

// The file's content; not_found when it does not exist.
core::Result<std::string> read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return core::not_found(path + " does not exist");
    return core::io_error("cannot read " + path, std::strerror(errno));
  }
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > 64 * 1024) break;  // a PEM key is a few KB; anything larger is not one
  }
  int saved = errno;
  ::close(fd);
  if (n < 0) return core::io_error("cannot read " + path, std::strerror(saved));
  return out;
}

struct Names {
  std::string domain;
  std::string selector;
};

core::Result<Names> checked_names(const std::string& domain, const std::string& selector) {
  auto d = detail::normalize_domain(domain);
  if (!d) return d.status();
  auto s = detail::normalize_selector(selector);
  if (!s) return s.status();
  return Names{*d, *s};
}

// The selector named in <domain_dir>/active (not checked); not_found without one.
core::Result<std::string> active_selector(const std::string& domain_dir) {
  auto text = read_small_file(domain_dir + "/active");
  if (!text) return text.status();
  std::string selector = std::move(*text);
  while (!selector.empty() && (selector.back() == '\n' || selector.back() == '\r')) {
    selector.pop_back();
  }
  return selector;
}

}  // namespace

DkimKeyStore::DkimKeyStore(std::string dir) : dir_(std::move(dir)) {}

core::Result<DkimKey> DkimKeyStore::create(const std::string& domain, const std::string& selector,
                                           DkimAlgorithm algorithm, int bits) {
  auto names = checked_names(domain, selector);
  if (!names) return names.status();
  std::string domain_dir = dir_ + "/" + names->domain;
  std::string file = names->selector + ".key";
  // Before the (slow, for RSA) key generation; the link below is what makes it exclusive.
  if (::access((domain_dir + "/" + file).c_str(), F_OK) == 0) {
    return core::Status::error(
        core::Code::already_exists,
        "DKIM selector " + names->selector + " already exists for " + names->domain);
  }
  auto key = detail::PrivateKey::generate(algorithm, bits);
  if (!key) return key.status();
  auto pem = key->pem();
  if (!pem) return pem.status();
  auto out = detail::key_from_pem(names->domain, names->selector, *pem);
  if (!out) return out.status();
  for (const auto& d : {dir_, domain_dir}) {
    if (auto s = core::make_private_directory(d, nullptr); !s) return s;
  }
  auto written = write_private_file(domain_dir, file, *pem, Placement::new_file);
  if (written.code() == core::Code::already_exists) {
    return core::Status::error(
        core::Code::already_exists,
        "DKIM selector " + names->selector + " already exists for " + names->domain);
  }
  if (!written) return written;
  return out;
}

core::Result<DkimKey> DkimKeyStore::load(const std::string& domain,
                                         const std::string& selector) const {
  auto names = checked_names(domain, selector);
  if (!names) return names.status();
  std::string path = dir_ + "/" + names->domain + "/" + names->selector + ".key";
  auto pem = read_small_file(path);
  if (pem.code() == core::Code::not_found) {
    return core::not_found("DKIM selector " + names->selector + " not found for " + names->domain);
  }
  if (!pem) return pem.status();
  auto key = detail::key_from_pem(names->domain, names->selector, *pem);
  if (!key) return core::io_error("damaged DKIM key " + path, key.status().to_string());
  return key;
}

core::Status DkimKeyStore::activate(const std::string& domain, const std::string& selector) {
  auto key = load(domain, selector);
  if (!key) return key.status();
  return write_private_file(dir_ + "/" + key->domain, "active", key->selector + "\n",
                            Placement::replace);
}

core::Result<DkimKey> DkimKeyStore::active(const std::string& domain) const {
  auto d = detail::normalize_domain(domain);
  if (!d) return d.status();
  auto selector = active_selector(dir_ + "/" + *d);
  if (selector.code() == core::Code::not_found) {
    return core::not_found("no active DKIM key for " + *d);
  }
  if (!selector) return selector.status();
  auto key = load(*d, *selector);
  // The active key is gone or unreadable: "could not tell", never "do not sign".
  if (!key && key.code() != core::Code::io_error) {
    return core::io_error("the active DKIM key of " + *d + " cannot be loaded",
                          *selector + ": " + key.status().to_string());
  }
  return key;
}

std::vector<std::string> DkimKeyStore::selectors(const std::string& domain) const {
  std::vector<std::string> out;
  auto d = detail::normalize_domain(domain);
  if (!d) return out;
  DIR* dir = ::opendir((dir_ + "/" + *d).c_str());
  if (!dir) return out;
  while (struct dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    constexpr std::string_view kSuffix = ".key";
    if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix)) continue;
    name.resize(name.size() - kSuffix.size());
    auto s = detail::normalize_selector(name);
    if (s && *s == name) out.push_back(name);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

core::Status DkimKeyStore::remove(const std::string& domain, const std::string& selector) {
  auto names = checked_names(domain, selector);
  if (!names) return names.status();
  std::string domain_dir = dir_ + "/" + names->domain;
  auto current = active_selector(domain_dir);
  if (!current && current.code() != core::Code::not_found) return current.status();
  if (current && *current == names->selector) {
    return core::invalid_argument("DKIM selector " + names->selector + " is the active key of " +
                                  names->domain + "; activate another first");
  }
  std::string path = domain_dir + "/" + names->selector + ".key";
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) {
      return core::not_found("DKIM selector " + names->selector + " not found for " +
                             names->domain);
    }
    return core::io_error("cannot remove " + path, std::strerror(errno));
  }
  return sync_directory(domain_dir);
}

}  // namespace mailroom::mailauth
