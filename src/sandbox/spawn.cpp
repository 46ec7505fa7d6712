// The sandboxed spawn (spawn.h).
#include "src/sandbox/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace mailroom::sandbox {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// The host's top-level directories that Debian 12 makes symlinks into /usr (merged /usr):
// the same symlinks inside, else a read-only bind of the directory.
void add_root_dirs(std::vector<std::string>& a) {
  for (const char* dir : {"/bin", "/sbin", "/lib", "/lib64", "/lib32"}) {
    char target[256];
    ssize_t n = readlink(dir, target, sizeof target - 1);
    if (n > 0) {
      a.insert(a.end(), {"--symlink", std::string(target, static_cast<size_t>(n)), dir});
    } else if (exists(dir)) {
      a.insert(a.end(), {"--ro-bind", dir, dir});
    }
  }
}

void wait_reaped(pid_t pid, int* status) {
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

bool executable(const std::string& path) {
  struct stat st {};
  return !path.empty() && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

std::vector<std::string> command_line(const Spec& spec) {
  std::vector<std::string> a{spec.prlimit, "--core=0",
                             "--nofile=" + std::to_string(spec.limits.open_files)};
  if (spec.limits.address_space) a.push_back("--as=" + std::to_string(spec.limits.address_space));
  if (spec.limits.cpu_seconds) a.push_back("--cpu=" + std::to_string(spec.limits.cpu_seconds));
  if (spec.limits.file_size) a.push_back("--fsize=" + std::to_string(spec.limits.file_size));
  a.push_back("--");
  if (!spec.bwrap.empty()) {
    // No network, IPC, UTS or cgroup namespace of the host, an own PID namespace (its init
    // dies with bwrap, taking every process in it along), no capabilities even as root, a
    // new session (no TIOCSTI on a terminal).
    a.insert(a.end(), {spec.bwrap, "--unshare-all", "--die-with-parent", "--new-session",
                       "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr"});
    add_root_dirs(a);
    for (const auto& p : spec.system_paths) {
      if (exists(p)) a.insert(a.end(), {"--ro-bind", p, p});
    }
    a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"});
    for (const auto& b : spec.binds) {
      a.insert(a.end(), {b.writable ? "--bind" : "--ro-bind", b.source, b.target});
    }
    a.insert(a.end(), {"--clearenv", "--chdir", "/tmp"});
    for (const auto& [k, v] : spec.env) a.insert(a.end(), {"--setenv", k, v});
    a.push_back("--");
  }
  a.insert(a.end(), spec.argv.begin(), spec.argv.end());
  return a;
}

core::Result<Exit> run(const Spec& spec, const std::atomic<bool>* cancel) {
  std::vector<std::string> args = command_line(spec);
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  // Without bwrap the environment is passed as is (bwrap --clearenv sets it otherwise).
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  const char* out = spec.output_file.empty() ? "/dev/null" : spec.output_file.c_str();
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // the server's sockets stay outside
  // Its own process group (so the wall clock kills all of it), default signal dispositions
  // and an empty mask whatever the server's threads block.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int err = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    return core::io_error("the converter could not be started",
                          std::string("posix_spawn ") + args[0] + ": " + std::strerror(err));
  }
  // pidfd (Linux 5.3): poll() tells when the child ends, without SIGCHLD handling.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(spec.limits.wall_ms);
  Exit exit;
  int status = 0;
  for (;;) {
    // Ended? (not reaped yet: the group id stays ours until the kill below)
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    bool cancelled = cancel && cancel->load();
    if (left <= 0 || cancelled) {
      kill(-pid, SIGKILL);  // the group: prlimit became bwrap; bwrap's init takes the rest
      wait_reaped(pid, &status);
      exit.outcome = cancelled ? Outcome::cancelled : Outcome::timed_out;
      exit.status = SIGKILL;
      if (pidfd >= 0) close(pidfd);
      return exit;
    }
    // At most 100 ms asleep so a cancel is seen; without a pidfd, poll as a timer.
    pollfd p{pidfd, POLLIN, 0};
    poll(pidfd >= 0 ? &p : nullptr, pidfd >= 0 ? 1 : 0, static_cast<int>(left < 100 ? left : 100));
  }
  if (pidfd >= 0) close(pidfd);
  // Whatever the main process left running in its group goes with it.
  kill(-pid, SIGKILL);
  wait_reaped(pid, &status);
  if (WIFSIGNALED(status)) {
    exit.outcome = Outcome::signaled;
    exit.status = WTERMSIG(status);
  } else {
    exit.status = WEXITSTATUS(status);
  }
  return exit;
}

}  // namespace mailroom::sandbox
