// LibreOffice headless in the sandbox (office.h soffice_converter).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

#include "src/core/log.h"
#include "src/preview/office.h"
#include "src/sandbox/spawn.h"

namespace mailroom::preview {
namespace {

namespace fs = std::filesystem;

// What LibreOffice reads outside /usr: fontconfig's configuration and cache, Debian's
// /etc/libreoffice (sofficerc and the registry are symlinks there), the loader's cache.
const std::vector<std::string> kSystemPaths = {"/etc/fonts", "/var/cache/fontconfig",
                                               "/etc/libreoffice", "/etc/ld.so.cache"};

std::string random_name() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard<std::mutex> lk(mu);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

bool write_private(const std::string& path, std::string_view data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return close(fd) == 0;
}

// At most `max` octets of the regular file `path`, nullopt when it is larger, missing or not a
// regular file. The sandbox can write its output directory: a symbolic link planted there must
// not make mailroomd read (and serve) a file of the host, hence O_NOFOLLOW and S_ISREG on the
// descriptor that is read.
std::optional<std::string> read_capped(const std::string& path, uint64_t max) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) > max) {
    close(fd);
    return std::nullopt;
  }
  std::string data;
  data.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  data.resize(got);
  return data;
}

const char* outcome_name(sandbox::Outcome o) {
  switch (o) {
    case sandbox::Outcome::exited:
      return "exited";
    case sandbox::Outcome::signaled:
      return "signaled";
    case sandbox::Outcome::timed_out:
      return "timed_out";
    case sandbox::Outcome::cancelled:
      return "cancelled";
  }
  return "?";
}

class Soffice {
 public:
  Soffice(const Options& o, const std::string& cache_dir)
      : options_(o), work_root_(cache_dir + "/work"), template_(cache_dir + "/profile") {
    std::error_code ec;
    fs::remove_all(work_root_, ec);  // what a crash left
    fs::create_directories(work_root_, ec);
    chmod(cache_dir.c_str(), 0700);
    chmod(work_root_.c_str(), 0700);
  }

  Converted convert(const Job& job, const std::atomic<bool>& cancel) {
    bool warm = ensure_template(cancel);
    auto start = std::chrono::steady_clock::now();  // the conversion alone, not the template's
    std::string work = work_root_ + "/" + random_name();
    WorkDir cleanup{work};
    if (!make_work_dir(work)) return failure(job, "mkdir " + work);
    std::string input = "document." + job.extension;
    if (!write_private(work + "/in/" + input, job.input)) return failure(job, "write input");
    if (warm) copy_template(work + "/profile");
    auto exit = run_soffice(work, input, cancel);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    if (!exit) return failure(job, exit.status().log_detail());
    if (exit.value().outcome == sandbox::Outcome::timed_out) {
      MR_LOG_WARN("event=preview.timeout key={} type={} ms={}", job.key, job.extension, ms);
      return Converted{false, {}, "the conversion took too long"};
    }
    // soffice exits 0 even when it could not read the file: the PDF tells.
    auto pdf = read_capped(work + "/out/document.pdf", options_.max_output);
    if (exit.value().outcome != sandbox::Outcome::exited || exit.value().status != 0 || !pdf ||
        !pdf->starts_with("%PDF-")) {
      MR_LOG_INFO("event=preview.convert_failed key={} type={} outcome={} status={} ms={}", job.key,
                  job.extension, outcome_name(exit.value().outcome), exit.value().status, ms);
      return Converted{false, {}, "the document could not be converted"};
    }
    MR_LOG_INFO("event=preview.converted key={} type={} bytes={} pdf_bytes={} profile={} ms={}",
                job.key, job.extension, job.input.size(), pdf->size(), warm ? "copied" : "fresh",
                ms);
    return Converted{true, std::move(*pdf), {}};
  }

 private:
  Converted failure(const Job& job, const std::string& detail) {
    MR_LOG_WARN("event=preview.convert_error key={} detail={}", job.key, core::quote(detail));
    return Converted{false, {}, "internal error"};
  }

  struct WorkDir {
    std::string dir;
    ~WorkDir() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  };

  static bool make_work_dir(const std::string& work) {
    for (const char* sub : {"", "/in", "/out", "/profile"}) {
      if (mkdir((work + sub).c_str(), 0700) != 0) return false;
    }
    return true;
  }

  core::Result<sandbox::Exit> run_soffice(const std::string& work, const std::string& input,
                                          const std::atomic<bool>& cancel) {
    sandbox::Spec spec;
    spec.bwrap = options_.sandbox;
    spec.system_paths = kSystemPaths;
    spec.binds = {{work + "/in", "/tmp/in", false},
                  {work + "/out", "/tmp/out", true},
                  {work + "/profile", "/tmp/profile", true}};
    spec.env = {{"HOME", "/tmp"}, {"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}};
    spec.argv = {options_.converter,
                 "--headless",
                 "--norestore",
                 "--nolockcheck",
                 "--nologo",
                 "--nodefault",
                 "-env:UserInstallation=file:///tmp/profile",
                 "--convert-to",
                 "pdf",
                 "--outdir",
                 "/tmp/out",
                 "/tmp/in/" + input};
    spec.output_file = work + "/log";
    spec.limits.address_space = options_.memory;
    spec.limits.cpu_seconds = static_cast<uint64_t>(options_.cpu);
    spec.limits.file_size = options_.max_output;
    spec.limits.wall_ms = options_.timeout * 1000;
    return sandbox::run(spec, &cancel);
  }

  // The template profile: made once by converting a text of ours in a fresh profile (never
  // from a sender's document, which could leave something in it for everyone after). A fresh
  // profile costs LibreOffice its first-start work at every conversion.
  bool ensure_template(const std::atomic<bool>& cancel) {
    std::lock_guard<std::mutex> lk(mu_);
    std::error_code ec;
    if (fs::is_directory(template_, ec)) return true;
    std::string work = work_root_ + "/" + random_name();
    WorkDir cleanup{work};
    if (!make_work_dir(work) || !write_private(work + "/in/warmup.txt", "Mailroom\n")) return false;
    auto start = std::chrono::steady_clock::now();
    auto exit = run_soffice(work, "warmup.txt", cancel);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
    if (!exit || exit.value().outcome != sandbox::Outcome::exited || exit.value().status != 0 ||
        !fs::is_regular_file(work + "/out/warmup.pdf", ec)) {
      MR_LOG_WARN(
          "event=preview.profile_failed ms={} detail={}", ms,
          core::quote(exit ? outcome_name(exit.value().outcome) : exit.status().log_detail()));
      return false;
    }
    std::string tmp = template_ + ".tmp";
    fs::remove_all(tmp, ec);
    fs::copy(work + "/profile", tmp, fs::copy_options::recursive, ec);
    if (!ec) fs::rename(tmp, template_, ec);
    if (ec) {
      fs::remove_all(tmp, ec);
      return false;
    }
    MR_LOG_INFO("event=preview.profile_ready ms={}", ms);
    return true;
  }

  void copy_template(const std::string& to) {
    std::error_code ec;
    fs::copy(template_, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
  }

  Options options_;
  std::string work_root_;
  std::string template_;
  std::mutex mu_;
};

}  // namespace

Converter soffice_converter(const Options& options, const std::string& cache_dir) {
  auto s = std::make_shared<Soffice>(options, cache_dir);
  return [s](const Job& job, const std::atomic<bool>& cancel) { return s->convert(job, cancel); };
}

}  // namespace mailroom::preview
