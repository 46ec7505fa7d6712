// The durable spool: append-only segment files with group commit, plus a state journal.
//
// On-disk format (<spool_dir>/):
//   seg-<16 hex>.log   records appended back to back, never rewritten:
//       "MRQ1" | u32 id_len | u32 envelope_len | u64 message_len | u32 crc32 | id | envelope |
//       message            (little-endian; crc32 covers id, envelope and message)
//     A record is durable once the commit thread's fdatasync of its segment returned (and,
//     for a new segment, the fsync of the directory). A torn or corrupt record ends the scan
//     of that segment: it was never acknowledged.
//   state.log          one line per recipient state change: "<queue id> <index> <state>\n".
//     Written without fsync: a kill -9 keeps the page cache, and the queue re-checks the
//     store for recipients whose "delivered" line was lost (see queue.h). Rewritten (compacted)
//     at open.
// A segment is deleted when every message in it is retired and it is no longer the segment
// being appended to.
//
// Group commit: append() hands the record to a commit thread; every record that arrives while
// an fdatasync is running goes into the next batch, so N concurrent sessions share one fsync.
//
// Threading: thread-safe. `done` callbacks run on the commit thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/core/status.h"

namespace mailroom::queue {

struct SpoolOptions {
  std::string dir;
  uint64_t segment_bytes = 64u << 20;
  bool fsync = true;
  // Test hook: called after each successful data sync with the segment path and the size that
  // is now durable (a fault-injection test drops everything after it).
  std::function<void(const std::string& path, uint64_t durable_size)> on_synced;
};

struct SpoolRecord {
  std::string queue_id;
  std::string envelope;  // serialized Envelope (envelope_codec.h)
  std::string message;
  std::map<uint32_t, uint8_t> states;  // recipient index -> last journaled state
};

class Spool {
 public:
  using Done = std::function<void(core::Status)>;

  explicit Spool(SpoolOptions options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Scans the segments and the journal, fills `recovered` with every live message, compacts
  // the journal and starts the commit thread. Call once.
  core::Status open(std::vector<SpoolRecord>* recovered);
  // Stops the commit thread after the current batch (pending appends fail with unavailable).
  void close();

  // Queues a record for the next group commit; `done` runs once it is durable (or failed).
  void append(std::string queue_id, std::string envelope, std::string message, Done done);

  // Journals a recipient state (not synced, see above).
  core::Status set_state(const std::string& queue_id, uint32_t index, uint8_t state);

  // The message will not be needed again: its segment may be deleted once all are retired.
  void retire(const std::string& queue_id);

  // Reads a live message back from its segment (the queue drops the bytes of messages that
  // wait for a remote retry and reads them again here). Blocking disk I/O: queue threads only.
  core::Result<std::string> read_message(const std::string& queue_id) const;

  // Statistics for benchmarks and tests.
  uint64_t syncs() const;
  uint64_t records_written() const;

 private:
  struct Pending {
    std::string queue_id, envelope, message;
    Done done;
  };
  struct Segment {
    std::string path;
    uint64_t live = 0;
    bool current = false;
  };

  void commit_loop();
  core::Status open_new_segment();
  core::Status write_batch(std::vector<Pending>& batch);
  void maybe_delete_segment(uint64_t seq);

  SpoolOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending> pending_;
  bool stopping_ = false;
  bool opened_ = false;
  std::thread commit_thread_;

  // Segments by sequence number; which segment each live message is in.
  std::map<uint64_t, Segment> segments_;
  struct Location {
    uint64_t seq = 0;
    uint64_t offset = 0;  // of the message bytes in the segment
    uint64_t size = 0;
  };
  std::map<std::string, Location> message_segment_;
  uint64_t current_seq_ = 0;
  int current_fd_ = -1;
  uint64_t current_size_ = 0;

  std::mutex journal_mu_;
  int journal_fd_ = -1;

  uint64_t syncs_ = 0;
  uint64_t records_ = 0;
};

// Reads the spool without changing it (mailroomctl while mailroomd runs): every record still
// in a segment, with its journaled states. A missing directory is an empty spool.
core::Status read_spool(const std::string& dir, std::vector<SpoolRecord>* out);

// CRC-32 (IEEE), exposed for tests.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace mailroom::queue
