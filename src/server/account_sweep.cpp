#include "src/server/account_sweep.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "auth/app_passwords.h"
#include "auth/directory.h"
#include "src/core/log.h"
#include "src/net/listener.h"

namespace mailroom::server {

AccountSweep::AccountSweep(std::shared_ptr<auth::Directory> directory,
                           std::shared_ptr<net::ConnectionTracker> tracker,
                           AccountSweepOptions options,
                           std::shared_ptr<auth::AppPasswordStore> app_passwords)
    : directory_(std::move(directory)),
      app_passwords_(std::move(app_passwords)),
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

// Size and mtime of a database and its WAL: any commit changes one of them.
std::string AccountSweep::file_stamp(const std::string& file) {
  std::string stamp;
  if (file.empty()) return stamp;
  for (const std::string& path : {file, file + "-wal"}) {
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
  std::set<std::string> with_sessions(accounts.begin(), accounts.end());
  std::set<std::string> to_check = with_sessions;
  if (app_passwords_) {
    auto holders = app_passwords_->accounts_with_active();
    if (holders) {
      to_check.insert(holders->begin(), holders->end());
    } else {
      MR_LOG_WARN("event=session_sweep_app_passwords_unreadable error={}",
                  core::quote(holders.status().log_detail()));
    }
  }
  std::vector<std::string> done;
  for (const std::string& id : to_check) {
    auto account = directory_->find_account_by_id(id);
    if (app_passwords_) {
      // Revokes (and logs) when the account is gone, not active, or has a new password.
      if (auto r = app_passwords_->reconcile(id, account); !r) {
        MR_LOG_WARN("event=session_sweep_app_passwords_unwritable account={} error={}", id,
                    core::quote(r.status().log_detail()));
      }
    }
    if (!with_sessions.count(id)) continue;
    const char* reason = nullptr;
    if (!account && account.code() == core::Code::not_found) {
      reason = "removed";
    } else if (account && account->status != auth::AccountStatus::active) {
      reason = auth::account_status_name(account->status);
    }
    if (reason == nullptr) continue;  // active, or the directory cannot tell: keep the session
    std::size_t n = tracker_->close_account(id);
    closed += n;
    done.push_back(id);
    MR_LOG_INFO("event=session_revoked account={} reason={} sessions={}", id, reason, n);
  }
  closed += sweep_app_password_sessions(done);
  // One line per pass (at most once per check_interval, else once per recheck_all), so an
  // operator or a test can tell "a pass ran and closed nothing" from "no pass ran yet".
  MR_LOG_INFO("event=session_sweep accounts={} closed={}", to_check.size(), closed);
  return closed;
}

std::size_t AccountSweep::sweep_app_password_sessions(const std::vector<std::string>& done) {
  if (!app_passwords_) return 0;
  std::size_t closed = 0;
  for (const auto& [account_id, app_id] : tracker_->control()->app_passwords()) {
    if (std::find(done.begin(), done.end(), account_id) != done.end()) continue;
    auto app = app_passwords_->get(app_id);
    bool gone = (!app && app.code() == core::Code::not_found) || (app && !app->active());
    if (!gone) continue;  // active, or the file cannot be read: keep the session
    std::size_t n = tracker_->close_account(account_id, app_id);
    closed += n;
    MR_LOG_INFO(
        "event=session_revoked account={} reason=app_password_revoked app_password={} "
        "sessions={}",
        account_id, app_id, n);
  }
  return closed;
}

void AccountSweep::run() {
  std::string last_stamp = file_stamp(options_.directory_file);
  std::string last_app_stamp = file_stamp(options_.app_password_file);
  auto last_full = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.check_interval);
    if (stopping_) break;
    lock.unlock();
    std::string stamp = file_stamp(options_.directory_file);
    std::string app_stamp = file_stamp(options_.app_password_file);
    auto now = std::chrono::steady_clock::now();
    try {
      if (stamp != last_stamp || now - last_full >= options_.recheck_all) {
        last_stamp = stamp;
        last_app_stamp = app_stamp;
        last_full = now;
        sweep();
      } else if (app_stamp != last_app_stamp) {
        last_app_stamp = app_stamp;
        sweep_app_password_sessions();
      }
    } catch (const std::exception& e) {
      MR_LOG_ERROR("event=session_sweep_failed error={}", core::quote(e.what()));
    }
    lock.lock();
  }
}

}  // namespace mailroom::server
