// The quarantine: messages a content scanner held back before the 250 (an antivirus policy of
// "quarantine"), kept with their envelope until an administrator releases or deletes them
// (`mailroomctl quarantine list|show|release|delete`).
//
// On disk, <data_dir>/quarantine/ (0700; files 0600, they are mail):
//   <id>.eml    the message as it would have been delivered (Received: and scanner headers)
//   <id>.env    its envelope (envelope_codec.h), recipients already resolved
//   <id>.info   "scanner <name>\nreason <text>\nat <unix seconds>\n" — written last: an entry
//               without it is incomplete (a crash while writing) and is not listed
// Entries older than [antivirus] quarantine_retention (default 30 days) are removed by mailroomd
// (event=quarantine_expired).
//   release/<id>  a release request (empty file) left by mailroomctl; mailroomd checks about
//               once a second and at start, submits the message to the queue with its stored
//               envelope, then removes the entry. The id is the message's queue id.
// put() makes all three files durable (write, fsync, rename, fsync the directory) before it
// returns, so the session may answer 250.
//
// Several nodes: the quarantine lives in each node's data directory; mailroomctl on the node
// that quarantined a message releases it there (a single-node shortcut, named as such).
//
// Threading: thread-safe (each entry is its own files); put/list/... block on disk: call from
// the worker pool or mailroomctl.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "src/core/status.h"
#include "src/queue/queue.h"

namespace mailroom::store {
class Fs;
}

namespace mailroom::queue {

struct QuarantineEntry {
  std::string id;  // the queue id the session gave the message
  Envelope envelope;
  std::string scanner;
  std::string reason;
  int64_t quarantined_at = 0;
  uint64_t size = 0;
  bool release_requested = false;
};

class Quarantine {
 public:
  explicit Quarantine(std::string dir);  // <data_dir>/quarantine
  Quarantine(std::string dir, std::shared_ptr<store::Fs> fs);
  ~Quarantine();

  const std::string& dir() const { return dir_; }

  core::Status put(const std::string& queue_id, const Envelope& envelope,
                   const std::string& message, const std::string& scanner,
                   const std::string& reason);
  // Complete entries, oldest first.
  std::vector<QuarantineEntry> list() const;
  // not_found for an unknown (or malformed) id.
  core::Result<QuarantineEntry> entry(const std::string& id) const;
  core::Result<std::string> message(const std::string& id) const;
  core::Status remove(const std::string& id);
  // mailroomctl: asks mailroomd to deliver the message (release/<id>).
  core::Status request_release(const std::string& id);

  // Removes the entries quarantined more than `retention_seconds` before `now` (0: none), and
  // the files of entries a crash left without their .info for more than a day; returns how
  // many entries went. mailroomd's release thread calls it about once a minute.
  size_t expire(int64_t now, int64_t retention_seconds);
  void set_retention(int64_t seconds) { retention_seconds_ = seconds; }

  // mailroomd: submits every requested release to `queue` now; returns how many went.
  size_t deliver_released(Queue& queue);
  // mailroomd: a thread that calls deliver_released about once a second (and expire with the
  // retention about once a minute) until stop_releasing.
  void start_releasing(std::shared_ptr<Queue> queue);
  void stop_releasing();

 private:
  std::string path(const std::string& id, const char* ext) const;
  std::string dir_;
  std::shared_ptr<store::Fs> fs_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread releaser_;
  std::atomic<int64_t> retention_seconds_{0};
};

}  // namespace mailroom::queue
