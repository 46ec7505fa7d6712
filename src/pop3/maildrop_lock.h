// One POP3 session per maildrop (RFC 1939 section 8: the server "acquires an exclusive-access
// lock on the maildrop"; RFC 2449 section 8.1.1 [IN-USE] when it cannot).
//
// The registry is in-process, keyed by account id, and that is the supported scope: one
// mailroomd process per data directory (DESIGN.md: a mailbox has one writer at a time; with
// several nodes on a NAS each user's sessions are proxied to the node that owns the user).
// Two mailroomd processes on the same data directory are not a supported deployment, and
// [IN-USE] does not hold across them. Should node-to-node proxying not arrive, a shared lock
// is needed (a lock row in the shared MariaDB, or an fcntl lock on the mailbox directory).
//
// Thread-safe. A MaildropLock releases its account when destroyed.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace mailroom::pop3 {

class MaildropLocks;

class MaildropLock {
 public:
  MaildropLock(std::shared_ptr<MaildropLocks> owner, std::string account_id);
  ~MaildropLock();
  MaildropLock(const MaildropLock&) = delete;
  MaildropLock& operator=(const MaildropLock&) = delete;

 private:
  std::shared_ptr<MaildropLocks> owner_;
  std::string account_id_;
};

class MaildropLocks : public std::enable_shared_from_this<MaildropLocks> {
 public:
  // nullptr when another session holds the account's maildrop.
  std::unique_ptr<MaildropLock> try_lock(const std::string& account_id);
  bool is_locked(const std::string& account_id);

 private:
  friend class MaildropLock;
  void release(const std::string& account_id);

  std::mutex mutex_;
  std::set<std::string> held_;
};

}  // namespace mailroom::pop3
