// Keeps each user's full-text index (index.h) up to date with the mail store, off the
// delivery path: the store tells notify() after every commit (StoreOptions::on_change), a
// background thread catches the user's index up. SEARCH asks candidates().
//
// Catching up is idempotent and driven by the store, not by the notices: per mailbox the
// index's mark says which UIDs and MODSEQs it has seen, and changes_since(mark) gives the
// rest. So a lost notice (full queue, crash, a change while mailroomd was down) costs only
// time: the next notice, SEARCH or `mailroomctl index rebuild` repairs it.
//
// Threading: notify() never blocks (an I/O thread or a store callback may call it).
// catch_up(), rebuild() and status() block on disk (worker pool, the indexer's thread or
// mailroomctl). candidates() reads the index (worker pool: SEARCH runs there).
//
// Several nodes: the index lives beside the user's store index on the shared store; only the
// node that owns the user writes it (Xapian's lock refuses a second writer).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "src/core/status.h"
#include "src/fts/attachment.h"
#include "src/fts/extract.h"
#include "src/fts/index.h"

namespace mailroom::core {
class ConfigSection;
}
namespace mailroom::store {
class MailStore;
}

namespace mailroom::fts {

struct Options {
  bool enabled = true;                      // [fts] enabled
  size_t max_text_bytes = size_t{1} << 20;  // [fts] max_text_bytes: body text per message
  size_t queue_limit = 10000;               // [fts] queue_limit: users waiting for the thread
  // [fts] extract_tools, extract_timeout, extract_max_bytes: PDF/Office attachments' text
  // through pdftotext, odt2txt, docx2txt (attachment.h).
  ToolOptions tools;
  size_t commit_every = 1000;  // messages per Xapian commit while catching up
};

// Reads [fts]: enabled, max_text_bytes, queue_limit, extract_tools, extract_timeout,
// extract_max_bytes. Errors are collected in the section.
Options parse_options(core::ConfigSection& section);

struct MailboxIndexStatus {
  std::string name;
  uint32_t uid_validity = 0;
  uint32_t messages = 0;
  uint32_t pending = 0;  // messages above the index's mark (searched by scanning)
};

struct IndexStatus {
  bool exists = false;
  uint64_t documents = 0;  // message files indexed (a copied message counts once)
  uint64_t bytes = 0;
  uint64_t mail_bytes = 0;  // size of the messages in the mailboxes
  std::vector<MailboxIndexStatus> mailboxes;
};

class Indexer {
 public:
  Indexer(Options options, std::string mail_root, std::shared_ptr<store::MailStore> store = {});
  ~Indexer();  // stops the thread (an account in progress stops at its next message)
  Indexer(const Indexer&) = delete;
  Indexer& operator=(const Indexer&) = delete;

  // The store is opened after the indexer (its options carry notify()).
  void attach(std::shared_ptr<store::MailStore> store);
  // Starts the background thread (mailroomd). Without it, notify() only queues.
  void start();
  void stop();

  const Options& options() const { return options_; }

  // Queues the user for catching up; dropped when the queue is full (see above).
  void notify(const std::string& account_id);

  // Brings the user's index up to date with the store now.
  core::Status catch_up(const std::string& account_id);
  // Throws the user's index away and indexes every message again.
  core::Status rebuild(const std::string& account_id);
  core::Result<IndexStatus> status(const std::string& account_id);

  // SEARCH: candidates for `folded_needle` in the mailbox (index.h find_candidates); nullopt
  // when disabled or the index cannot narrow. When the index is behind the mailbox
  // (`max_uid` above its mark) the user is queued for catching up.
  std::optional<Candidates> candidates(const std::string& account_id, uint32_t uid_validity,
                                       uint32_t max_uid, Scope scope,
                                       const std::string& folded_needle);

  // Counters for tests and `index status`.
  uint64_t dropped_notices() const { return dropped_.load(); }
  size_t queued();
  // Waits until the queue is empty and the thread idle (tests).
  void drain();

 private:
  core::Status index_account(const std::string& account_id, bool overwrite);
  void run();

  Options options_;
  std::string mail_root_;
  std::shared_ptr<store::MailStore> store_;
  ExtractLimits limits_;
  std::mutex write_mu_;  // one writer per process (Xapian's lock covers other processes)

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> queued_;
  bool busy_ = false;
  bool stop_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace mailroom::fts
