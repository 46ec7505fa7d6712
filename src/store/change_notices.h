// Change notices between processes that share one store root (FORMAT.md "Change notices").
//
// Watchers (MailStore::watch) are in-process: an expunge made by mailroomctl would never reach
// an IMAP session of mailroomd, which refreshes its view only when its watch fires. So the
// publishing store (mailroomctl) drops one small file per committed change in a directory and
// the subscribing store (mailroomd) polls it and notifies its own watchers.
//
// Single node: the directory is per data directory. Several nodes on a NAS would need each
// node's sessions told (the owning node is the only writer there, so its changes are local).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/store/mail_store.h"

namespace mailroom::store {

// Writes one notice for `events` into `dir`: `<unique>.notice`, written under a temporary name
// and renamed, one line "account_id<TAB>mailbox<TAB>modseq" per event. Not fsync'd: a notice
// lost in a power loss is harmless, because the sessions it was for end with the server.
// Writes nothing (and succeeds) when no subscriber holds the directory's lock: nobody would
// read it, and notices must not pile up while mailroomd is down.
core::Status publish_notices(const std::string& dir, const std::vector<ChangeEvent>& events);

// The reading side: a thread that polls `dir`, delivers every event of every notice and deletes
// the notice; a malformed notice is deleted without delivering anything.
class NoticeSubscriber {
 public:
  using Deliver = std::function<void(const ChangeEvent&)>;
  // Creates `dir` (0700) when missing, takes its subscriber lock and starts the thread, which
  // also calls `tick` (when given) after every pass: the store's own upkeep.
  NoticeSubscriber(std::string dir, Deliver deliver,
                   std::chrono::milliseconds interval = std::chrono::milliseconds(250),
                   std::function<void()> tick = {});
  ~NoticeSubscriber();  // stops the thread and waits for it (a delivery in progress ends first)
  NoticeSubscriber(const NoticeSubscriber&) = delete;
  NoticeSubscriber& operator=(const NoticeSubscriber&) = delete;

  // One pass over the directory (what the thread does every interval). Returns the number of
  // events delivered.
  size_t poll();

 private:
  void run();
  void take_lock();

  std::string dir_;
  Deliver deliver_;
  std::chrono::milliseconds interval_;
  std::function<void()> tick_;
  int lock_fd_ = -1;     // <dir>/subscriber.lock
  bool locked_ = false;  // flock(LOCK_EX) held on it (set by the constructor, then the thread)
  std::mutex poll_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace mailroom::store
