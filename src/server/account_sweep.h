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
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace mailroom::auth {
class Directory;
}
namespace mailroom::net {
class ConnectionTracker;
}

namespace mailroom::server {

struct AccountSweepOptions {
  std::chrono::milliseconds check_interval{2000};
  std::chrono::milliseconds recheck_all{60000};
  std::string directory_file;  // the SQLite file whose changes trigger a pass
};

class AccountSweep {
 public:
  AccountSweep(std::shared_ptr<auth::Directory> directory,
               std::shared_ptr<net::ConnectionTracker> tracker, AccountSweepOptions options);
  ~AccountSweep();  // stops the thread
  AccountSweep(const AccountSweep&) = delete;
  AccountSweep& operator=(const AccountSweep&) = delete;

  // One pass over every authenticated account; returns the number of connections closed.
  std::size_t sweep();

 private:
  void run();
  std::string file_stamp() const;

  std::shared_ptr<auth::Directory> directory_;
  std::shared_ptr<net::ConnectionTracker> tracker_;
  AccountSweepOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mailroom::server
