// Attachment text through Debian's extraction tools (attachment.h).
#include "src/fts/attachment.h"

#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

#include "src/core/log.h"

namespace mailroom::fts {
namespace {

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    char a = s[s.size() - suffix.size() + i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != suffix[i]) return false;
  }
  return true;
}

// argv[0] as a path: itself when it has a '/', else the first executable in PATH.
std::string resolve(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string_view p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!p.empty()) {
    size_t colon = p.find(':');
    std::string dir(p.substr(0, colon));
    p = colon == std::string_view::npos ? std::string_view() : p.substr(colon + 1);
    if (dir.empty()) continue;
    std::string full = dir + "/" + name;
    if (access(full.c_str(), X_OK) == 0) return full;
  }
  return "";
}

void log_missing_once(const std::string& name) {
  static std::mutex mu;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lk(mu);
  if (seen.insert(name).second)
    MR_LOG_WARN("event=fts.extract_tool_missing tool={} detail={}", core::quote(name),
                core::quote("attachments of this type are not indexed"));
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Valid UTF-8 of at most `max` octets (cut on a character boundary; invalid octets dropped).
std::string clean_utf8(std::string_view s, size_t max) {
  std::string out;
  if (g_utf8_validate(s.data(), static_cast<gssize>(s.size()), nullptr)) {
    out.assign(s);
  } else {
    char* v = g_utf8_make_valid(s.data(), static_cast<gssize>(s.size()));
    out = v;
    g_free(v);
  }
  if (out.size() > max) {
    size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(out[n]) & 0xC0) == 0x80) --n;
    out.resize(n);
  }
  return out;
}

}  // namespace

std::vector<std::string> tool_for(const ToolOptions& o, std::string_view content_type,
                                  std::string_view filename) {
  auto is = [&](std::string_view t) { return content_type == t; };
  bool octet = is("application/octet-stream") || content_type.empty();
  if (is("application/pdf") || (octet && ends_with_ci(filename, ".pdf")))
    return {o.pdftotext, "-q", "-enc", "UTF-8", "%f", "-"};
  if (content_type.starts_with("application/vnd.oasis.opendocument.") ||
      (octet && (ends_with_ci(filename, ".odt") || ends_with_ci(filename, ".ods") ||
                 ends_with_ci(filename, ".odp"))))
    return {o.odt2txt, "--encoding=UTF-8", "--width=-1", "%f"};
  if (is("application/vnd.openxmlformats-officedocument.wordprocessingml.document") ||
      (octet && ends_with_ci(filename, ".docx")))
    return {o.docx2txt, "%f", "-"};
  return {};
}

ToolText run_tool(const ToolOptions& o, std::vector<std::string> argv, std::string_view content,
                  std::string_view suffix) {
  ToolText r;
  if (argv.empty()) return r;
  std::string program = resolve(argv[0]);
  if (program.empty()) {
    log_missing_once(argv[0]);
    r.outcome = ToolOutcome::missing;
    return r;
  }
  if (content.size() > o.max_input) {
    r.outcome = ToolOutcome::failed;
    return r;
  }
  std::string dir = o.tmp_dir;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    dir = t && *t ? t : "/tmp";
  }
  std::string path = dir + "/mailroom-fts-XXXXXX" + std::string(suffix);
  int tfd = mkstemps(path.data(), static_cast<int>(suffix.size()));  // 0600 (mkstemp)
  if (tfd < 0) {
    r.outcome = ToolOutcome::failed;
    return r;
  }
  fchmod(tfd, 0600);
  bool written = write_all(tfd, content);
  close(tfd);
  struct Unlink {
    std::string p;
    ~Unlink() { unlink(p.c_str()); }
  } unlink_later{path};
  if (!written) {
    r.outcome = ToolOutcome::failed;
    return r;
  }
  bool has_file = false;
  for (auto& a : argv) {
    if (a == "%f") {
      a = path;
      has_file = true;
    }
  }
  if (!has_file) argv.push_back(path);
  argv[0] = program;
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    r.outcome = ToolOutcome::failed;
    return r;
  }
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = fork();
  if (pid == 0) {
    // The child: async-signal-safe calls only until execv.
    setpgid(0, 0);
    struct rlimit as {
      o.max_memory, o.max_memory
    };
    setrlimit(RLIMIT_AS, &as);
    struct rlimit cpu {
      static_cast<rlim_t>(o.max_cpu_seconds), static_cast<rlim_t>(o.max_cpu_seconds)
    };
    setrlimit(RLIMIT_CPU, &cpu);
    struct rlimit core0 {
      0, 0
    };
    setrlimit(RLIMIT_CORE, &core0);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 2);
    }
    dup2(out[1], 1);
    close_range(3, ~0U, 0);  // none of mailroomd's sockets or files reach the tool
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(out[1]);
  if (devnull >= 0) close(devnull);
  if (pid < 0) {
    close(out[0]);
    r.outcome = ToolOutcome::failed;
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout_ms);
  std::string text;
  bool timed_out = false, over = false;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      timed_out = true;
      break;
    }
    ssize_t got = read(out[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the tool closed its output
    text.append(buf, static_cast<size_t>(got));
    if (text.size() > o.max_bytes + 4) {  // enough for the cap and a cut character
      over = true;
      break;
    }
  }
  close(out[0]);
  if (timed_out || over) {
    kill(-pid, SIGKILL);  // its process group: a wrapper's children too
    kill(pid, SIGKILL);
  }
  // Reaped within the same deadline: a tool that closed its stdout but goes on running is
  // killed too, so the indexer's thread never waits longer than the timeout.
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) break;
    if (w == 0 && std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      timed_out = true;
      break;
    }
    if (w == 0) usleep(2000);
  }
  if (timed_out) {
    r.outcome = ToolOutcome::timed_out;
    return r;
  }
  r.text = clean_utf8(text, o.max_bytes);
  if (over) {
    r.outcome = ToolOutcome::truncated;
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    r.outcome = ToolOutcome::failed;
    r.text.clear();
  } else {
    r.outcome = ToolOutcome::ok;
  }
  return r;
}

ToolText extract_attachment(const ToolOptions& o, std::string_view content_type,
                            std::string_view filename, std::string_view content) {
  if (!o.enabled) return {};
  auto argv = tool_for(o, content_type, filename);
  if (argv.empty()) return {};
  std::string_view suffix = argv[0] == o.pdftotext ? ".pdf"
                            : argv[0] == o.odt2txt ? ".odt"
                                                   : ".docx";
  return run_tool(o, std::move(argv), content, suffix);
}

}  // namespace mailroom::fts
