// Closes the open sessions of accounts the directory has disabled or removed (issue 4: "an
// account disabled by the directory admin stops working at once" — login is refused by the
// Resolver, and this closes IMAP (IDLE included), POP3 and SMTP-AUTH sessions already open).
//
// A thread wakes every `check_interval`. When the local directory database (the embedded
// directory, or the replica that LDAP/SQL sync writes) changed since the last pass — seen from
// the file's size and mtime, which every commit changes — or `recheck_all` has passed (the
// backstop for live LDAP/SQL backends without a local file), it looks up every account that has
// an authenticated connection. Not found or not active: its connections are closed and an
// audit line `event=session_revoked` is logged. A directory that cannot answer closes nothing.
// Every pass ends with `event=session_sweep accounts=<looked up> closed=<connections>`.
//
// App passwords (auth/app_passwords.h, issue 16): a full pass also looks up every account that
// holds an active app password and lets the store revoke them when the directory removed or
// disabled the account or changed its password (event=auth.app_password_revoked). Then every
// connection that logged in with an app password no longer active (revoked now, or by
// mailroomctl, or by a login that found it stale) is closed: `event=session_revoked
// account=.. reason=app_password_revoked app_password=<id> sessions=<n>`. A change of the app
// password file alone (a revocation, a login's "last used" date) runs only this second, cheap
// part: no directory lookups. With a live LDAP/SQL backend (no local replica file) the full
// pass runs every recheck_all: one directory lookup per account holding app passwords.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mailroom::auth {
class AppPasswordStore;
class Directory;
}  // namespace mailroom::auth
namespace mailroom::net {
class ConnectionTracker;
}

namespace mailroom::server {

struct AccountSweepOptions {
  std::chrono::milliseconds check_interval{2000};
  std::chrono::milliseconds recheck_all{60000};
  std::string directory_file;     // the SQLite file whose changes trigger a pass
  std::string app_password_file;  // <data_dir>/app-passwords.db: changes trigger the cheap part
};

class AccountSweep {
 public:
  AccountSweep(std::shared_ptr<auth::Directory> directory,
               std::shared_ptr<net::ConnectionTracker> tracker, AccountSweepOptions options,
               std::shared_ptr<auth::AppPasswordStore> app_passwords = nullptr);
  ~AccountSweep();  // stops the thread
  AccountSweep(const AccountSweep&) = delete;
  AccountSweep& operator=(const AccountSweep&) = delete;

  // One pass over every authenticated account (and every account with app passwords);
  // returns the number of connections closed.
  std::size_t sweep();
  // Closes the connections whose app password is no longer active; returns how many. `done`:
  // accounts whose connections were all closed already in this pass.
  std::size_t sweep_app_password_sessions(const std::vector<std::string>& done = {});

 private:
  void run();
  static std::string file_stamp(const std::string& path);

  std::shared_ptr<auth::Directory> directory_;
  std::shared_ptr<auth::AppPasswordStore> app_passwords_;
  std::shared_ptr<net::ConnectionTracker> tracker_;
  AccountSweepOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mailroom::server
