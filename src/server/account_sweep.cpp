#include "src/server/account_sweep.h"

#include <sys/stat.h>

#include "auth/directory.h"
#include "src/core/log.h"
#include "src/net/listener.h"

namespace mailroom::server {

AccountSweep::AccountSweep(std::shared_ptr<auth::Directory> directory,
                           std::shared_ptr<net::ConnectionTracker> tracker,
                           AccountSweepOptions options)
    : directory_(std::move(directory)),
      tracker_(std::move(tracker)),
      options_(std::move(options)),
      thread_([this] { run(); }) {}

AccountSweep::~AccountSweep() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

// Size and mtime of the database and its WAL: any commit changes one of them.
std::string AccountSweep::file_stamp() const {
  std::string stamp;
  for (const std::string& path : {options_.directory_file, options_.directory_file + "-wal"}) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      stamp += "-;";
      continue;
    }
    stamp += std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
             std::to_string(st.st_mtim.tv_nsec) + ";";
  }
  return stamp;
}

std::size_t AccountSweep::sweep() {
  std::size_t closed = 0;
  const auto accounts = tracker_->control()->accounts();
  for (const std::string& id : accounts) {
    auto account = directory_->find_account_by_id(id);
    const char* reason = nullptr;
    if (!account && account.code() == core::Code::not_found) {
      reason = "removed";
    } else if (account && account->status != auth::AccountStatus::active) {
      reason = auth::account_status_name(account->status);
    }
    if (reason == nullptr) continue;  // active, or the directory cannot tell: keep the session
    std::size_t n = tracker_->close_account(id);
    closed += n;
    MR_LOG_INFO("event=session_revoked account={} reason={} sessions={}", id, reason, n);
  }
  // One line per pass (at most once per check_interval, else once per recheck_all), so an
  // operator or a test can tell "a pass ran and closed nothing" from "no pass ran yet".
  MR_LOG_INFO("event=session_sweep accounts={} closed={}", accounts.size(), closed);
  return closed;
}

void AccountSweep::run() {
  std::string last_stamp = file_stamp();
  auto last_full = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.check_interval);
    if (stopping_) break;
    lock.unlock();
    std::string stamp = file_stamp();
    auto now = std::chrono::steady_clock::now();
    if (stamp != last_stamp || now - last_full >= options_.recheck_all) {
      last_stamp = stamp;
      last_full = now;
      try {
        sweep();
      } catch (const std::exception& e) {
        MR_LOG_ERROR("event=session_sweep_failed error={}", core::quote(e.what()));
      }
    }
    lock.lock();
  }
}

}  // namespace mailroom::server
