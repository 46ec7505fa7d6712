// Running an untrusted document through a Debian tool in a sandbox: bubblewrap (bwrap) for the
// namespaces (no network, no IPC, own PID namespace, read-only /usr, a private /tmp, only the
// paths named below), util-linux's prlimit for the resource limits, posix_spawn (not fork: the
// caller may be a large multi-threaded process) into a process group of its own, and a wall
// clock after which the whole group is killed.
//
// Why bwrap and prlimit: posix_spawn cannot set rlimits or namespaces in the child, and a
// well-kept setuid-free tool does both without a fork of ours. prlimit sets the limits on
// itself and execs bwrap, so they hold for every process of the sandbox.
//
// Threading: run() blocks its thread for up to limits.wall_seconds; call it from a worker of
// its own (never from an I/O thread). Nothing here keeps state between calls.
// Layers: core only.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "src/core/status.h"

namespace mailroom::sandbox {

struct Limits {
  uint64_t address_space = 0;  // bytes of virtual memory of each process (RLIMIT_AS); 0: none
  uint64_t cpu_seconds = 0;    // RLIMIT_CPU of each process; 0: none
  uint64_t file_size = 0;      // the largest file a process may write (RLIMIT_FSIZE); 0: none
  uint64_t open_files = 256;   // RLIMIT_NOFILE
  int64_t wall_ms = 60'000;    // after this the process group is killed (SIGKILL)
};

// A host path seen at `target` inside the sandbox.
struct Bind {
  std::string source;
  std::string target;
  bool writable = false;
};

struct Spec {
  // bubblewrap; empty runs the command without namespaces (rlimits, process group and wall
  // clock still apply): for the unit tests of callers, never for documents from mail.
  std::string bwrap = "/usr/bin/bwrap";
  std::string prlimit = "/usr/bin/prlimit";
  // Read-only host paths that exist on some systems only (/etc/fonts ...): bound when present.
  std::vector<std::string> system_paths;
  std::vector<Bind> binds;
  std::vector<std::pair<std::string, std::string>> env;  // the whole environment
  std::vector<std::string> argv;                         // argv[0] an absolute path
  std::string output_file;  // stdout and stderr (created 0600); empty: /dev/null
  Limits limits;
};

enum class Outcome {
  exited,     // `status` is the exit code
  signaled,   // `status` is the signal (SIGXCPU, SIGXFSZ, SIGKILL from an rlimit ...)
  timed_out,  // the wall clock ran out; the group was killed
  cancelled,  // `cancel` became true; the group was killed
};

struct Exit {
  Outcome outcome = Outcome::exited;
  int status = 0;
};

// The full command line run() spawns (prlimit ... -- bwrap ... -- argv).
std::vector<std::string> command_line(const Spec& spec);

// Spawns the command and waits for it. Every descriptor but 0-2 is closed in the child.
// Errors: io_error when it cannot be spawned (a missing tool, no memory).
core::Result<Exit> run(const Spec& spec, const std::atomic<bool>* cancel = nullptr);

// True when `path` is an executable file.
bool executable(const std::string& path);

}  // namespace mailroom::sandbox
