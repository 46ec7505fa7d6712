#include "src/filter/libclamav_engine.h"

#include <clamav.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "src/core/log.h"
#include "src/filter/scan_parts.h"

namespace mailroom::filter {

namespace {

using EnginePtr = std::shared_ptr<const cl_engine>;

core::Status init_once() {
  static std::once_flag once;
  static cl_error_t rc = CL_SUCCESS;
  std::call_once(once, [] { rc = cl_init(CL_INIT_DEFAULT); });
  if (rc != CL_SUCCESS) return core::unavailable(std::string("cl_init: ") + cl_strerror(rc));
  return core::Status::ok();
}

// A private (0700) directory on /dev/shm when that is a tmpfs, for libclamav's temporary
// files; "" when there is none (libclamav then uses its default).
// The directories of processes that died without removing theirs (kill -9) go first: the
// name carries the pid ("mailroom-clamav-<pid>-XXXXXX").
void remove_stale_tmpfs_dirs() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    std::string name = entry.path().filename().string();
    constexpr std::string_view kPrefix = "mailroom-clamav-";
    if (name.rfind(kPrefix, 0) != 0) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + kPrefix.size()));
    struct stat st {};
    if (pid <= 0 || ::lstat(entry.path().c_str(), &st) != 0 || st.st_uid != ::geteuid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove_all(entry.path(), ec);
  }
}

std::string private_tmpfs_dir() {
  struct statfs fs {};
  if (::statfs("/dev/shm", &fs) != 0 || fs.f_type != TMPFS_MAGIC) return "";
  remove_stale_tmpfs_dirs();
  std::string path = "/dev/shm/mailroom-clamav-" + std::to_string(::getpid()) + "-XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) return "";
  return path;
}

core::Result<EnginePtr> load_engine(const LibclamavOptions& o, unsigned int* signatures) {
  cl_engine* e = cl_engine_new();
  if (!e) return core::unavailable("cl_engine_new failed");
  EnginePtr engine(e, [](const cl_engine* p) { cl_engine_free(const_cast<cl_engine*>(p)); });
  cl_engine_set_num(e, CL_ENGINE_MAX_SCANSIZE, static_cast<long long>(o.max_scan_size));
  cl_engine_set_num(e, CL_ENGINE_MAX_FILESIZE, static_cast<long long>(o.max_file_size));
  if (!o.tmp_dir.empty()) cl_engine_set_str(e, CL_ENGINE_TMPDIR, o.tmp_dir.c_str());
  *signatures = 0;
  cl_error_t rc = cl_load(o.database_dir.c_str(), e, signatures, CL_DB_STDOPT);
  if (rc != CL_SUCCESS) {
    return core::unavailable("cl_load " + o.database_dir + ": " + cl_strerror(rc));
  }
  if ((rc = cl_engine_compile(e)) != CL_SUCCESS) {
    return core::unavailable(std::string("cl_engine_compile: ") + cl_strerror(rc));
  }
  return engine;
}

class LibclamavEngine : public ReloadingEngine {
 public:
  LibclamavEngine(LibclamavOptions o, EnginePtr engine, bool own_tmp_dir)
      : options_(std::move(o)), engine_(std::move(engine)), own_tmp_dir_(own_tmp_dir) {
    std::memset(&stat_, 0, sizeof stat_);
    cl_statinidir(options_.database_dir.c_str(), &stat_);
    thread_ = std::thread([this] { watch(); });
  }
  ~LibclamavEngine() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    cl_statfree(&stat_);
    engine_.reset();
    if (own_tmp_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(options_.tmp_dir, ec);
    }
  }

  std::string name() const override { return "libclamav"; }

  EngineVerdict scan(std::string_view data) override {
    if (auto v = over_limit(data)) return *v;
    return scan_buffer(*current(), data, "data", all_parsers());
  }

  EngineVerdict scan_message(std::string_view message) override {
    if (auto v = over_limit(message)) return *v;
    EnginePtr engine = current();
    if (!options_.scan_parts) return scan_buffer(*engine, message, "message", all_parsers());
    SplitLimits limits;
    limits.max_leaf_bytes = options_.max_file_size;
    ScanUnits units = split_for_scan(message, limits);
    if (units.whole) {
      MR_LOG_DEBUG("event=antivirus_whole_message engine=libclamav reason={}",
                   core::quote(units.reason));
      return scan_buffer(*engine, message, "message", all_parsers());
    }
    // The skeleton is typed as mail by libclamav and matched as such, but not parsed as mail:
    // its parts are the leaves below.
    cl_scan_options skeleton = all_parsers();
    skeleton.parse &= ~static_cast<unsigned int>(CL_SCAN_PARSE_MAIL);
    // An empty part has nothing to match (and libclamav maps no empty buffer).
    EngineVerdict v = EngineVerdict::clean();
    if (!units.skeleton.empty()) v = scan_buffer(*engine, units.skeleton, "message", skeleton);
    for (size_t i = 0; i < units.leaves.size() && v.kind == EngineVerdict::Kind::clean; ++i) {
      if (!units.leaves[i].empty()) {
        v = scan_buffer(*engine, units.leaves[i], "part", all_parsers());
      }
    }
    return v;
  }

  uint64_t generation() const override {
    std::lock_guard lock(mu_);
    return generation_;
  }

  uint64_t failed_reloads() const override {
    std::lock_guard lock(mu_);
    return failed_reloads_;
  }

  void check_now() override {
    std::lock_guard lock(mu_);
    check_requested_ = true;
    cv_.notify_all();
  }

 private:
  // libclamav skips what exceeds its file size limit and calls it clean: not for us.
  std::optional<EngineVerdict> over_limit(std::string_view data) const {
    if (data.size() <= options_.max_file_size) return std::nullopt;
    return EngineVerdict::error("message of " + std::to_string(data.size()) +
                                " bytes exceeds max_file_size (" +
                                std::to_string(options_.max_file_size) + ")");
  }

  EnginePtr current() const {
    std::lock_guard lock(mu_);
    return engine_;
  }

  static cl_scan_options all_parsers() {
    cl_scan_options opts;
    std::memset(&opts, 0, sizeof opts);
    opts.parse = ~0u;  // every parser: mail (MIME, base64), archives, documents, HTML
    return opts;
  }

  static EngineVerdict scan_buffer(const cl_engine& engine, std::string_view data, const char* name,
                                   cl_scan_options opts) {
    cl_fmap_t* map = cl_fmap_open_memory(data.data(), data.size());
    if (!map) return EngineVerdict::error("cl_fmap_open_memory failed");
    const char* virname = nullptr;
    unsigned long scanned = 0;
    cl_error_t rc = cl_scanmap_callback(map, name, &virname, &scanned, &engine, &opts, nullptr);
    cl_fmap_close(map);
    if (rc == CL_VIRUS) return EngineVerdict::infected(virname ? virname : "unknown");
    if (rc == CL_CLEAN) return EngineVerdict::clean();
    return EngineVerdict::error(std::string("libclamav: ") + cl_strerror(rc));
  }

  void watch() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      cv_.wait_for(lock, options_.reload_interval, [&] { return stop_ || check_requested_; });
      if (stop_) return;
      check_requested_ = false;
      lock.unlock();
      reload_if_changed();
      lock.lock();
    }
  }

  // On the watch thread only (stat_ is its own).
  void reload_if_changed() {
    if (cl_statchkdir(&stat_) != 1) return;
    cl_statfree(&stat_);
    std::memset(&stat_, 0, sizeof stat_);
    cl_statinidir(options_.database_dir.c_str(), &stat_);
    unsigned int signatures = 0;
    auto fresh = load_engine(options_, &signatures);
    if (!fresh) {
      MR_LOG_ERROR("event=antivirus_reload_failed engine=libclamav detail={}",
                   core::quote(fresh.status().to_string()));
      std::lock_guard lock(mu_);
      ++failed_reloads_;
      return;
    }
    uint64_t generation;
    {
      std::lock_guard lock(mu_);
      engine_ = std::move(*fresh);
      generation = ++generation_;
    }
    MR_LOG_INFO("event=antivirus_reloaded engine=libclamav signatures={} generation={}", signatures,
                generation);
  }

  LibclamavOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  EnginePtr engine_;
  bool own_tmp_dir_ = false;  // created by open_libclamav_engine: removed with the engine
  uint64_t generation_ = 1;
  uint64_t failed_reloads_ = 0;
  bool stop_ = false;
  bool check_requested_ = false;
  cl_stat stat_;
  std::thread thread_;
};

}  // namespace

core::Result<std::shared_ptr<ReloadingEngine>> open_libclamav_engine(
    const LibclamavOptions& options) {
  if (auto st = init_once(); !st) return st;
  LibclamavOptions o = options;
  bool own_tmp_dir = false;
  if (o.tmp_dir.empty()) {
    o.tmp_dir = private_tmpfs_dir();
    own_tmp_dir = !o.tmp_dir.empty();
  }
  unsigned int signatures = 0;
  auto engine = load_engine(o, &signatures);
  if (!engine) {
    if (own_tmp_dir) ::rmdir(o.tmp_dir.c_str());
    return engine.status();
  }
  MR_LOG_INFO(
      "event=antivirus_loaded engine=libclamav version={} signatures={} database={} tmp_dir={}",
      cl_retver(), signatures, core::quote(o.database_dir),
      core::quote(o.tmp_dir.empty() ? "(libclamav default)" : o.tmp_dir));
  return std::shared_ptr<ReloadingEngine>(
      std::make_shared<LibclamavEngine>(std::move(o), std::move(*engine), own_tmp_dir));
}

}  // namespace mailroom::filter
