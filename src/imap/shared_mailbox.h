// One view of a mailbox shared by every session that selects it (issue 25): the UIDs, flags,
// keywords, MODSEQs, sizes and dates of its messages in packed 32-byte rows, as immutable
// versions. A change builds a new version (copy-on-write of the row array); sessions move to
// it when they synchronize and keep only what differs for them (MailboxView: EXPUNGEs not yet
// announced, their \Recent UIDs). 200 sessions on a 100,000-message INBOX share one 3.2 MB
// array instead of holding 200 copies of ~130 bytes per message.
//
// Threading: SharedMailbox::refresh() blocks on the store (worker pool); current() and the
// versions themselves are safe to read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "src/core/chunk_heap.h"
#include "src/core/status.h"
#include "src/store/mail_store.h"

namespace mailroom::imap {

// One message as IMAP shows it. Keywords are an index into the mailbox's KeywordSets.
struct MessageRow {
  uint32_t uid = 0;
  uint32_t size = 0;  // octets (RFC822.SIZE); larger messages are refused long before 4 GiB
  uint64_t modseq = 0;
  int64_t internal_date = 0;
  uint32_t keywords = 0;    // KeywordSets id; 0 = none
  int16_t internal_tz = 0;  // minutes east of UTC
  uint8_t flags = 0;        // store::Flag bits
  uint8_t reserved = 0;
};
static_assert(sizeof(MessageRow) == 32, "MessageRow is the per-message cost of a shared view");
// A version's rows live in core::ChunkHeap, not in glibc's heap: they are read at SELECT and
// dropped when every session on the mailbox hibernates (SharedMailbox::release_rows), and in the
// process heap their blocks (and those the vector outgrew while scanning) left partly used pages
// around the sessions' long-lived blocks (issue 20).
using MessageRows = std::vector<MessageRow, core::ChunkAllocator<MessageRow>>;

// The distinct keyword sets of a mailbox, each sorted; id 0 is the empty set. Append-only:
// an id never changes meaning, so rows of older versions stay valid.
class KeywordSets {
 public:
  KeywordSets();
  const std::vector<std::string>& at(uint32_t id) const { return *sets_[id]; }
  size_t size() const { return sets_.size(); }
  // The id of `keywords` (sorted by the store), or nullopt when this table lacks it.
  std::optional<uint32_t> find(const std::vector<std::string>& keywords) const;
  // Adds `keywords` (not yet present); the new id is the old size(). Only on a table not yet
  // published in a Version (the builder's copy).
  uint32_t add(const std::vector<std::string>& keywords);

 private:
  std::vector<std::shared_ptr<const std::vector<std::string>>> sets_;
  std::map<std::vector<std::string>, uint32_t> ids_;
};

// A mailbox at one MODSEQ. Immutable once published.
struct Version {
  uint32_t uid_validity = 0;
  uint32_t uid_next = 1;
  uint64_t highest_modseq = 0;
  // Versions built one from another share a lineage; a load from a snapshot starts a new one
  // (its keyword ids and its MODSEQ history are not comparable with an earlier load's).
  uint64_t lineage = 0;
  std::string object_id;  // the mailbox's (store::MailboxInfo::object_id)
  MessageRows rows;       // ascending UID
  // Counted when the version is built (STATUS of a selected mailbox reads them, not the rows).
  uint32_t unseen = 0;
  uint64_t total_size = 0;
  uint32_t first_unseen = 0;  // sequence number (SELECT's [UNSEEN n]), 0 when none
  std::shared_ptr<const KeywordSets> keyword_sets;
  // What changed from the version it was built from (highest_modseq `from_modseq`), so a
  // session on that version applies the difference without comparing every row.
  uint64_t from_modseq = 0;
  std::vector<uint32_t> changed;   // UIDs added or with new flags/keywords/MODSEQ, ascending
  std::vector<uint32_t> expunged;  // ascending

  const std::vector<std::string>& keywords_of(const MessageRow& r) const {
    return keyword_sets->at(r.keywords);
  }
  // Index of `uid` in rows, or -1.
  ptrdiff_t index_of(uint32_t uid) const;
};

// Builds a version from store data (exposed for the unit tests).
std::shared_ptr<const Version> version_from_snapshot(const store::Snapshot& snap);
// `base` with `changes` applied; nullptr when nothing changed. `changes` must belong to the
// same mailbox incarnation.
std::shared_ptr<const Version> apply_changes(const Version& base, const store::Changes& changes);

// The view of one mailbox, as its owner and every reader sharing \Seen with it see it
// (`reader` empty), or as one reader of another account's mailbox whose \Seen is its own
// ([imap] shared_seen = "per-user"): that view's rows carry the reader's \Seen marks
// (MailStore::reader_seen) instead of the message's, and the MODSEQ of a message is the later
// of its own and of the reader's mark (RFC 7162: the reader's change is a change it sees).
class SharedMailbox {
 public:
  SharedMailbox(std::string account_id, std::string name, std::string reader = {})
      : account_id_(std::move(account_id)), name_(std::move(name)), reader_(std::move(reader)) {}
  const std::string& account_id() const { return account_id_; }
  const std::string& name() const { return name_; }
  // The account whose \Seen this view shows instead of the owner's ("" = the stored flags).
  const std::string& reader() const { return reader_; }
  // The newest version built so far (nullptr before the first refresh).
  std::shared_ptr<const Version> current() const;
  // Brings the view up to date with the store and returns it (blocking: worker pool). One
  // refresh at a time per mailbox: sessions woken by the same change find the work done. A
  // mailbox deleted and created again (new UIDVALIDITY) is loaded afresh.
  core::Result<std::shared_ptr<const Version>> refresh(store::MailStore& store);
  // A refresh asked the store within `age`: current() was the mailbox then.
  bool refreshed_within(std::chrono::milliseconds age) const;
  // Drops the rows when no session is on the current version any more (every session that
  // selected the mailbox hibernated: MailboxView::hibernate); current() is then nullptr and the
  // next refresh() scans the mailbox again, in the same lineage when UIDVALIDITY is the same
  // and the MODSEQ has not gone back (keyword ids are kept, so rows stay comparable). True when
  // rows were dropped.
  bool release_rows();
  // Forgets the current version: the next refresh loads the mailbox afresh (a reader's marks
  // were dropped, which no MODSEQ announces).
  void invalidate();

 private:
  // A reader's view: the owner's change, then the reader's marks over it.
  core::Result<std::shared_ptr<const Version>> refresh_as_reader(
      store::MailStore& store, const std::shared_ptr<const Version>& base);

  const std::string account_id_;
  const std::string name_;
  const std::string reader_;
  std::atomic<int64_t> refreshed_ms_{INT64_MIN / 2};  // steady clock, of the last refresh
  std::mutex refresh_mu_;                             // one refresh at a time
  mutable std::mutex mu_;                             // guards current_
  std::shared_ptr<const Version> current_;
  // What release_rows() kept of the dropped version, for the next load (guarded by mu_).
  struct Dropped {
    uint32_t uid_validity = 0;
    uint64_t highest_modseq = 0;
    uint64_t lineage = 0;
    std::shared_ptr<const KeywordSets> keyword_sets;
  };
  std::optional<Dropped> dropped_;
  std::optional<Dropped> dropped_rows() const;  // a copy of dropped_, under mu_
};

// The shared views of one store (every IMAP listener of a server uses the same), by account
// and mailbox name. A view lives while a session holds it, and the most recently released ones
// are kept (up to a row budget) so a client that selects the same mailbox again finds it warm.
class SharedMailboxes {
 public:
  // 1 Mi rows: 32 MiB of warm views at most.
  explicit SharedMailboxes(size_t keep_rows = size_t{1} << 20) : keep_rows_(keep_rows) {}
  // `reader`: SharedMailbox::reader() (one view per reader with its own \Seen).
  std::shared_ptr<SharedMailbox> acquire(const std::string& account_id, const std::string& name,
                                         const std::string& reader = {});
  // What a warm entry costs beyond its rows: empty mailboxes are not free.
  static constexpr size_t kEntryCost = 64;
  // A session is done with `box`: it joins the warm list (oldest dropped beyond the budget).
  void release(std::shared_ptr<SharedMailbox> box);
  // SharedMailbox::invalidate() of the view of that key, live or warm, if there is one.
  void invalidate(const std::string& account_id, const std::string& name,
                  const std::string& reader);

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // account, mailbox, reader
  struct WarmEntry {
    Key key;
    std::shared_ptr<SharedMailbox> box;
    size_t cost = 0;  // as charged when it joined
  };
  using Warm = std::list<WarmEntry>;
  std::mutex mu_;
  std::map<Key, std::weak_ptr<SharedMailbox>> live_;
  Warm warm_;  // most recent first
  std::map<Key, Warm::iterator> warm_index_;
  size_t warm_cost_ = 0;  // rows + kEntryCost per warm entry
  size_t keep_rows_;
  size_t swept_size_ = 0;
};

}  // namespace mailroom::imap
