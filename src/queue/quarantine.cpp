#include "src/queue/quarantine.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "src/core/log.h"
#include "src/queue/control.h"
#include "src/queue/envelope_codec.h"
#include "src/store/fs.h"

namespace mailroom::queue {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// One line of the .info file: no CR/LF inside a value.
std::string one_line(std::string s) {
  std::replace_if(
      s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return s;
}

}  // namespace

Quarantine::Quarantine(std::string dir) : Quarantine(std::move(dir), store::real_fs()) {}
Quarantine::Quarantine(std::string dir, std::shared_ptr<store::Fs> fs)
    : dir_(std::move(dir)), fs_(std::move(fs)) {}
Quarantine::~Quarantine() { stop_releasing(); }

std::string Quarantine::path(const std::string& id, const char* ext) const {
  return dir_ + "/" + id + ext;
}

core::Status Quarantine::put(const std::string& queue_id, const Envelope& envelope,
                             const std::string& message, const std::string& scanner,
                             const std::string& reason) {
  if (!valid_queue_id(queue_id)) return core::invalid_argument("not a queue id: " + queue_id);
  // The directory's own entry too (created on first use): quarantining is rare, one more
  // fsync does not matter.
  if (auto st = fs_->make_dir(dir_); !st) return st;
  if (auto st = fs_->sync_dir(fs::path(dir_).parent_path().string()); !st) return st;
  std::string info = "scanner " + one_line(scanner) + "\nreason " + one_line(reason) + "\nat " +
                     std::to_string(std::time(nullptr)) + "\n";
  // Each file: a temporary name, fsync'd, renamed; .info last; then the directory.
  for (auto [ext, data] : {std::pair<const char*, const std::string*>{".eml", &message},
                           {".env", nullptr},
                           {".info", &info}}) {
    std::string encoded;
    if (!data) {
      encoded = encode_envelope(envelope);
      data = &encoded;
    }
    std::string tmp = dir_ + "/." + queue_id + ext + ".tmp";
    fs_->unlink(tmp);
    if (auto st = fs_->write_new(tmp, *data, true); !st) return st;
    if (auto st = fs_->rename(tmp, path(queue_id, ext)); !st) return st;
  }
  return fs_->sync_dir(dir_);
}

core::Result<QuarantineEntry> Quarantine::entry(const std::string& id) const {
  if (!valid_queue_id(id)) return core::not_found("no quarantined message " + id);
  auto info = read_file(path(id, ".info"));
  auto env = read_file(path(id, ".env"));
  if (!info || !env) return core::not_found("no quarantined message " + id);
  auto envelope = decode_envelope(*env);
  if (!envelope) return core::io_error("the envelope of quarantined message " + id + " is damaged");
  QuarantineEntry e;
  e.id = id;
  e.envelope = std::move(*envelope);
  std::istringstream lines(*info);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("scanner ", 0) == 0) e.scanner = line.substr(8);
    if (line.rfind("reason ", 0) == 0) e.reason = line.substr(7);
    if (line.rfind("at ", 0) == 0) e.quarantined_at = std::atoll(line.c_str() + 3);
  }
  std::error_code ec;
  e.size = fs::file_size(path(id, ".eml"), ec);
  e.release_requested = fs::exists(dir_ + "/release/" + id, ec);
  return e;
}

std::vector<QuarantineEntry> Quarantine::list() const {
  std::vector<QuarantineEntry> out;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir_, ec)) {
    std::string name = f.path().filename().string();
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".info") != 0) continue;
    if (auto e = entry(name.substr(0, name.size() - 5))) out.push_back(std::move(*e));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.quarantined_at != b.quarantined_at ? a.quarantined_at < b.quarantined_at : a.id < b.id;
  });
  return out;
}

core::Result<std::string> Quarantine::message(const std::string& id) const {
  if (auto e = entry(id); !e) return e.status();
  auto m = read_file(path(id, ".eml"));
  if (!m) return core::not_found("no quarantined message " + id);
  return *m;
}

core::Status Quarantine::remove(const std::string& id) {
  if (auto e = entry(id); !e) return e.status();
  // .info first: from then on the entry is not listed, whatever remains.
  for (const char* ext : {".info", ".env", ".eml"}) fs_->unlink(path(id, ext));
  fs_->unlink(dir_ + "/release/" + id);
  return fs_->sync_dir(dir_);
}

core::Status Quarantine::request_release(const std::string& id) {
  if (auto e = entry(id); !e) return e.status();
  if (auto st = fs_->make_dir(dir_ + "/release"); !st) return st;
  if (auto st = fs_->sync_dir(dir_); !st) return st;
  std::string marker = dir_ + "/release/" + id;
  std::error_code ec;
  if (fs::exists(marker, ec)) return core::Status::ok();
  if (auto st = fs_->write_new(marker, "", true); !st) return st;
  return fs_->sync_dir(dir_ + "/release");
}

size_t Quarantine::deliver_released(Queue& queue) {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir_ + "/release", ec)) {
    ids.push_back(f.path().filename().string());
  }
  std::sort(ids.begin(), ids.end());
  size_t sent = 0;
  for (const auto& id : ids) {
    auto e = entry(id);
    auto m = e ? message(id) : core::Result<std::string>(e.status());
    if (!m) {
      MR_LOG_ERROR("event=quarantine_release_failed id={} detail={}", core::quote(id),
                   core::quote(m.status().to_string()));
      fs_->unlink(dir_ + "/release/" + id);
      continue;
    }
    std::promise<core::Status> done;
    auto accepted = done.get_future();
    queue.submit(id, e->envelope, std::move(*m),
                 [&done](core::Result<std::string> r) { done.set_value(r.status()); });
    core::Status st = accepted.get();
    if (!st) {
      // Kept (request and entry) for the next round.
      MR_LOG_ERROR("event=quarantine_release_failed id={} detail={}", id,
                   core::quote(st.to_string()));
      continue;
    }
    // The queue has it durably: the quarantined copy goes (a crash in between delivers it
    // once from the queue and leaves the entry for the administrator to delete).
    (void)remove(id);
    MR_LOG_INFO("event=quarantine_released id={} rcpts={}", id, e->envelope.recipients.size());
    ++sent;
  }
  return sent;
}

size_t Quarantine::expire(int64_t now, int64_t retention_seconds) {
  size_t removed = 0;
  if (retention_seconds > 0) {
    for (const auto& e : list()) {
      if (e.quarantined_at + retention_seconds > now) continue;
      if (remove(e.id)) {
        MR_LOG_INFO("event=quarantine_expired id={} scanner={} age_days={}", e.id, e.scanner,
                    (now - e.quarantined_at) / 86400);
        ++removed;
      }
    }
  }
  // Leftovers of a put() that crashed before its .info: never listed, so never released.
  std::error_code ec;
  const auto day_ago = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (const auto& f : fs::directory_iterator(dir_, ec)) {
    if (!f.is_regular_file(ec)) continue;
    fs::path p = f.path();
    std::string ext = p.extension().string();
    if (ext != ".eml" && ext != ".env") continue;
    if (fs::exists(fs::path(p).replace_extension(".info"), ec)) continue;
    if (f.last_write_time(ec) > day_ago || ec) continue;
    fs_->unlink(p.string());
    MR_LOG_INFO("event=quarantine_incomplete_removed file={}", core::quote(p.string()));
  }
  return removed;
}

void Quarantine::start_releasing(std::shared_ptr<Queue> queue) {
  std::lock_guard lock(mu_);
  if (releaser_.joinable()) return;
  stop_ = false;
  releaser_ = std::thread([this, queue] {
    std::unique_lock lock(mu_);
    int rounds = 0;
    while (!stop_) {
      lock.unlock();
      deliver_released(*queue);
      if (rounds++ % 60 == 0) expire(std::time(nullptr), retention_seconds_.load());
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; });
    }
  });
}

void Quarantine::stop_releasing() {
  std::thread t;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    t = std::move(releaser_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

}  // namespace mailroom::queue
