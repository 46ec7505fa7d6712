// The sort/search key cache: per mailbox, the keys SORT, THREAD (RFC 5256) and SEARCH
// FROM/TO/CC/BCC/SUBJECT/SENT* (RFC 3501 6.4.4) compare, computed once per message from its
// facts (src/mime/facts.h) and kept in a memory-mapped file per mailbox (sort_key_file.h,
// src/store/FORMAT.md "Sort key cache"), so a command reads precomputed keys instead of
// loading and decoding every message's facts.
//
// Contract:
// - A record depends only on the immutable message, so the record of (account, UIDVALIDITY,
//   UID) is never stale; only UIDs not yet in the table need adding. Expunged UIDs may linger
//   until the next rewrite of the file (they are never asked for again: UIDs are not reused).
// - Files that fail validation are removed and rebuilt, never trusted. New records live in
//   memory until they exceed an eighth of the file's count; then the file is rewritten whole
//   (tmp, fsync, rename) with the UIDs still in the mailbox.
// - A message whose facts cannot be read (expunged meanwhile) gets no record: lookup answers
//   an empty KeyRecord, which compares like mime::Facts{} did before.
//
// Threading: SortKeyRegistry and MailboxKeys are thread-safe. keys() blocks on the store and
// the disk: call it from the worker pool, never from an I/O thread. A KeyTable is immutable:
// a command keeps the one it got while others add records.
//
// Where the state lives with several nodes: per node and disposable (a cache). The files sit
// in the user's store directory on the shared store; only the node owning the mailbox writes
// them, and a node that takes over validates before it uses them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "src/imap/sort_key_file.h"

namespace mailroom::mime {
struct Facts;
}
namespace mailroom::store {
class MailStore;
}

namespace mailroom::imap {

class SortOrderCache;  // src/imap/sort_order.h

// RFC 3501 6.4.4 SUBJECT as SEARCH compares it: folded, runs of blanks as one space (as
// Dovecot does, so a subject folded over two lines is found by the words on both).
std::string search_subject(std::string_view subject);
// The record of a message's facts.
KeyFields key_fields_of(const mime::Facts& f);

// What one kind of per-mailbox record cache is: its files (kind, "<uidvalidity><suffix>" in
// MailStore::cache_dir) and how the records of messages are computed from the store (one
// entry per UID of `uids`, ascending; nullopt when the message cannot be read, e.g. expunged
// meanwhile). Blocking: worker pool.
using DeriveRecords = std::vector<std::optional<std::string>> (*)(
    store::MailStore& store, const std::string& account_id, const std::string& mailbox,
    const std::vector<uint32_t>& uids);
struct CacheSpec {
  CacheFileKind kind;
  std::string_view suffix;
  DeriveRecords derive = nullptr;
};
// The sort/search keys: key_fields_of() each message's facts, in "<uidvalidity>.keys".
extern const CacheSpec kSortKeyCache;

// The records of one mailbox at one moment: the file's plus those added since.
class KeyTable {
 public:
  // The record of each UID of `uids` (ascending), KeyRecord{} for the ones it lacks. The views
  // live as long as this table.
  std::vector<KeyRecord> lookup(const std::vector<uint32_t>& uids) const;
  size_t file_count() const { return file_ ? file_->count() : 0; }
  size_t added_count() const { return added_.size(); }
  size_t bytes() const { return (file_ ? file_->bytes() : 0) + added_bytes_; }

 private:
  friend class MailboxKeys;
  std::shared_ptr<const KeyFile> file_;
  // Records not in file_, ascending UID.
  std::vector<std::pair<uint32_t, std::shared_ptr<const std::string>>> added_;
  size_t added_bytes_ = 0;
};

// The record table of one mailbox incarnation (account, UIDVALIDITY) for one CacheSpec.
class MailboxKeys {
 public:
  // `path` is the file ("" keeps the table in memory only). A file that exists but fails
  // validation is removed here.
  MailboxKeys(std::string path, uint32_t uid_validity, const CacheSpec& spec = kSortKeyCache);
  // The table with a record for every UID of `uids` (ascending, the mailbox's messages now)
  // whose facts can be read. Missing ones are read from the store in batches
  // (MailStore::facts_batch); one fill runs at a time per mailbox, a second waits for it and
  // then finds the work done.
  std::shared_ptr<const KeyTable> fill(store::MailStore& store, const std::string& account_id,
                                       const std::string& mailbox,
                                       const std::vector<uint32_t>& uids);
  std::shared_ptr<const KeyTable> current() const;
  // Adds records a command computed itself while it read the messages anyway (FETCH builds
  // them batch by batch): (uid, record) ascending; UIDs the table has are skipped. Checks
  // first that `mailbox` still has this UIDVALIDITY (else adds nothing). With `uids_now` (the
  // mailbox's UIDs now, ascending; the command's last call) the file is rewritten as after a
  // fill(); without, only once the records in memory pass kEagerRewriteBytes. Blocking.
  std::shared_ptr<const KeyTable> add(
      store::MailStore& store, const std::string& account_id, const std::string& mailbox,
      std::vector<std::pair<uint32_t, std::shared_ptr<const std::string>>> records,
      const std::vector<uint32_t>* uids_now);
  // Records in memory beyond which add() rewrites the file before the command ends.
  static constexpr size_t kEagerRewriteBytes = size_t{64} << 20;

 private:
  // The table with `fresh` (ascending, none in `t`) added; the file rewritten when due.
  std::shared_ptr<const KeyTable> publish(
      const KeyTable& t, std::vector<std::pair<uint32_t, std::shared_ptr<const std::string>>> fresh,
      const std::vector<uint32_t>* uids_now);
  std::shared_ptr<const KeyTable> rewrite(const KeyTable& t, const std::vector<uint32_t>* uids);

  const std::string path_;
  const uint32_t uid_validity_;
  const CacheSpec& spec_;
  std::mutex fill_mu_;
  mutable std::mutex mu_;
  std::shared_ptr<const KeyTable> table_;
};

// Every mailbox's record tables in the process (sort keys, FETCH cache), shared by all
// sessions (a per-node cache), keyed by account, UIDVALIDITY and kind; least recently used
// tables are dropped beyond `max_bytes` (mapped file sizes plus records in memory).
class SortKeyRegistry {
 public:
  explicit SortKeyRegistry(size_t max_bytes = size_t{512} << 20);
  // MailboxKeys::fill of the mailbox's table, opening it (and its file, under
  // MailStore::cache_dir) on first use. Blocking: worker pool.
  std::shared_ptr<const KeyTable> keys(store::MailStore& store, const std::string& account_id,
                                       const std::string& mailbox, uint32_t uid_validity,
                                       const std::vector<uint32_t>& uids,
                                       const CacheSpec& spec = kSortKeyCache);
  // The mailbox's table of `spec` as it is (opened on first use), for callers that add
  // records themselves (MailboxKeys::add; then note() the table they got). Blocking.
  std::shared_ptr<MailboxKeys> open(store::MailStore& store, const std::string& account_id,
                                    uint32_t uid_validity, const CacheSpec& spec);
  // Accounts for the size of a table of open()'s mailbox and drops old tables over budget.
  void note(const std::string& account_id, uint32_t uid_validity, const CacheSpec& spec,
            const KeyTable& table);
  // The SORT orders kept for the mailbox (sort_order.h), null when its sort key table is not
  // in the registry (call after keys()). Dropped with that table; their bytes count towards
  // max_bytes from the mailbox's next keys().
  std::shared_ptr<SortOrderCache> orders(const std::string& account_id, uint32_t uid_validity);
  size_t bytes() const;
  size_t tables() const;

 private:
  struct Entry {
    std::shared_ptr<MailboxKeys> keys;
    std::shared_ptr<SortOrderCache> orders;  // kSortKeyCache entries, made on first use
    size_t bytes = 0;
    std::list<std::string>::iterator lru;
  };
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string, Entry> entries_;
  size_t bytes_ = 0;
};

// A table for one command without a registry (test servers): in memory, filled now.
std::shared_ptr<const KeyTable> transient_keys(store::MailStore& store,
                                               const std::string& account_id,
                                               const std::string& mailbox, uint32_t uid_validity,
                                               const std::vector<uint32_t>& uids,
                                               const CacheSpec& spec = kSortKeyCache);

}  // namespace mailroom::imap
