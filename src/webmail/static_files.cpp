#include "src/webmail/static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "src/core/address.h"

namespace mailroom::webmail {

namespace {

constexpr std::size_t kMaxPath = 200;
constexpr int kMaxDepth = 4;
constexpr off_t kMaxFile = 16 << 20;

std::string_view extension(std::string_view rel) {
  auto slash = rel.rfind('/');
  auto name = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  auto dot = name.rfind('.');
  return dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
}

// Reads a regular file below the root without following a symbolic link at its last step
// (O_NOFOLLOW); the path itself holds no "..", so it cannot leave the root by its segments.
std::optional<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<std::string> out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= kMaxFile) {
    std::string data(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < data.size()) {
      ssize_t n = ::read(fd, data.data() + got, data.size() - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got == data.size()) out = std::move(data);
  }
  ::close(fd);
  return out;
}

bool accepts_gzip(std::string_view accept_encoding) {
  // RFC 9110 12.5.3: "gzip" listed without q=0.
  std::string ae = core::ascii_lower(accept_encoding);
  std::string_view v = ae;
  while (!v.empty()) {
    auto comma = v.find(',');
    auto item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    auto semi = item.find(';');
    auto coding = item.substr(0, semi);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding != "gzip") continue;
    if (semi == std::string_view::npos) return true;
    std::string p;
    for (char c : item.substr(semi + 1))
      if (c != ' ') p += c;
    if (!p.starts_with("q=")) return true;
    return std::strtod(p.c_str() + 2, nullptr) > 0;
  }
  return false;
}

}  // namespace

bool safe_relative_path(std::string_view rel) {
  if (rel.empty() || rel.size() > kMaxPath) return false;
  int depth = 0;
  while (true) {
    auto slash = rel.find('/');
    auto seg = rel.substr(0, slash);
    if (seg.empty() || seg.front() == '.') return false;  // "", ".", "..", dot files
    for (char c : seg) {
      bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      if (!ok) return false;
    }
    if (++depth > kMaxDepth) return false;
    if (slash == std::string_view::npos) break;
    rel.remove_prefix(slash + 1);
  }
  return true;
}

std::optional<std::string> content_type_for(std::string_view rel) {
  auto ext = extension(rel);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return std::nullopt;
}

bool is_hashed_asset(std::string_view rel) {
  // esbuild's [name]-[hash]: 8 characters of [A-Z0-9] before the extension.
  if (!rel.starts_with("assets/")) return false;
  auto dot = rel.rfind('.');
  auto dash = rel.rfind('-', dot);
  if (dot == std::string_view::npos || dash == std::string_view::npos || dot - dash - 1 != 8) {
    return false;
  }
  for (auto c : rel.substr(dash + 1, 8)) {
    if (!std::isupper(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return true;
}

http::Response serve_file(const std::string& root, std::string_view rel,
                          std::string_view accept_encoding) {
  auto type = content_type_for(rel);
  if (!safe_relative_path(rel) || !type || root.empty()) {
    return http::Response::problem(404, "Not Found", "no such file");
  }
  std::string path = root + "/" + std::string(rel);
  std::optional<std::string> body;
  bool gzip = false;
  if (accepts_gzip(accept_encoding)) {
    body = read_file(path + ".gz");
    gzip = body.has_value();
  }
  if (!body) body = read_file(path);
  if (!body) return http::Response::problem(404, "Not Found", "no such file");
  http::Response r;
  r.status = 200;
  r.body = std::move(*body);
  r.set_header("Content-Type", *type);
  if (gzip) r.set_header("Content-Encoding", "gzip");
  r.set_header("Vary", "Accept-Encoding");
  r.set_header("Cache-Control",
               is_hashed_asset(rel) ? "public, max-age=31536000, immutable" : "no-cache");
  return r;
}

}  // namespace mailroom::webmail
