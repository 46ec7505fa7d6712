// The selected mailbox as one session sees it: sequence numbers, \Recent, and the changes
// not yet announced (RFC 3501 section 7.4.1: EXPUNGE may not be sent during FETCH, STORE or
// SEARCH, so expunged messages keep their sequence numbers until an allowed point).
//
// The rows are a shared Version (shared_mailbox.h) that every session on the mailbox reads; a
// session keeps only what differs for it: the rows the store expunged that it has not announced
// yet, the UIDs it expunged itself before the shared version caught up, its \Recent UID ranges
// and the keywords it announced. Only while such differences exist does it hold a private copy
// of the row list.
// Pure data and logic, no I/O: unit-tested on its own.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "src/imap/recent.h"
#include "src/imap/shared_mailbox.h"

namespace mailroom::imap {

struct SyncOptions {
  bool allow_expunge = true;  // false during non-UID FETCH/STORE/SEARCH
  bool with_uid = false;      // FETCH responses carry UID (UID commands)
  bool with_modseq = false;   // CONDSTORE enabled
  bool qresync = false;       // VANISHED instead of EXPUNGE (RFC 7162 3.2.10)
};

class MailboxView {
 public:
  std::string name;  // UTF-8
  bool read_only = false;
  std::set<std::string> keywords;  // announced in FLAGS (SELECT or later)

  // Starts on `version`; `recent_after` is the highest UID another session already saw
  // (claimed by SELECT, peeked by EXAMINE): every message above it is \Recent here.
  void load(std::shared_ptr<const Version> version, uint32_t recent_after);

  uint32_t uid_validity() const { return base_ ? base_->uid_validity : asleep_.uid_validity; }
  uint32_t uid_next() const { return base_ ? base_->uid_next : asleep_.uid_next; }
  uint64_t highest_modseq() const { return highest_modseq_; }
  // nullptr while hibernated.
  const std::shared_ptr<const Version>& version() const { return base_; }
  // Version::lineage of the rows (kept while hibernated: a reload of the shared rows continues
  // it unless the mailbox was replaced, SharedMailbox::release_rows).
  uint64_t lineage() const { return base_ ? base_->lineage : asleep_.lineage; }

  uint32_t exists() const { return static_cast<uint32_t>(rows().size()); }
  // The message with sequence number `seq` (1..exists()).
  const MessageRow& at(uint32_t seq) const { return rows()[seq - 1]; }
  const MessageRows& rows() const { return private_ ? own_ : base_->rows; }
  // Sequence number of a UID, 0 when not present.
  uint32_t seq_of(uint32_t uid) const;
  const MessageRow* by_uid(uint32_t uid) const;
  uint32_t max_uid() const { return rows().empty() ? 0 : rows().back().uid; }
  const std::vector<std::string>& keywords_of(const MessageRow& r) const {
    return base_->keywords_of(r);
  }

  // Moves to `next`, a later version of the same lineage (Version::lineage), appending the untagged
  // responses (without "* " and CRLF) to `out`: FLAGS/PERMANENTFLAGS for new keywords, FETCH for
  // messages whose flags changed (except the UIDs in `announced`, whose new flags the caller
  // reports itself), EXPUNGE/VANISHED when allowed, EXISTS. Returns the number of new
  // messages (the caller then asks the RecentTracker and calls add_recent).
  uint32_t adopt(std::shared_ptr<const Version> next, const SyncOptions& opts,
                 std::vector<std::string>& out, const std::vector<uint32_t>& announced = {});
  // Announces (and drops) pending expunges if allowed.
  void flush_expunges(const SyncOptions& opts, std::vector<std::string>& out);
  bool has_pending_expunges() const { return !ghosts_.empty(); }
  // Removes the given UIDs now (own EXPUNGE/MOVE), producing EXPUNGE or VANISHED lines.
  void expunge_now(const std::vector<uint32_t>& uids, const SyncOptions& opts,
                   std::vector<std::string>& out);

  // Hibernation of an IDLE session (issue 20): a view with nothing of its own (no expunge
  // waiting to be announced, none of its own ahead of the shared version) lets go of the shared
  // rows and keeps only its UIDs, as ranges, and its HIGHESTMODSEQ: a few dozen bytes instead of
  // 32 per message, so the shared view can drop its rows once every session on it sleeps. Only
  // uid_validity(), uid_next(), highest_modseq(), hibernated() and wake() may be called then.
  bool can_hibernate() const { return base_ && !private_; }
  void hibernate();
  bool hibernated() const { return base_ == nullptr; }
  // Moves a hibernated view to `next`, any later version of its lineage (the rows may have
  // been dropped and loaded again meanwhile), appending the
  // untagged responses as adopt() does. Flag changes are found by MODSEQ (a message whose
  // MODSEQ is above the view's HIGHESTMODSEQ is reported with its flags); expunges by the UIDs
  // missing from `next`. Returns the number of new messages.
  uint32_t wake(std::shared_ptr<const Version> next, const SyncOptions& opts,
                std::vector<std::string>& out);

  // \Recent (RFC 3501 2.3.2): UIDs in [first, last] are \Recent in this session.
  void add_recent(uint32_t first, uint32_t last);
  bool is_recent(uint32_t uid) const;
  uint32_t recent_count() const;  // of the messages present

  // "(\Seen \Answered $Label [\Recent])"
  std::string flags_of(const MessageRow& m) const;
  // The FLAGS list: system flags and every keyword announced.
  std::string mailbox_flags() const;
  // "OK [PERMANENTFLAGS (...)] ..." without "* ": the system flags, the announced keywords and
  // \* (new keywords allowed); "()" when read-only.
  std::string permanent_flags_line() const;
  // RFC 3501 7.2.6: a client keeps the mailbox's flags from the FLAGS response. Records the
  // keywords of `rows` (of version `v`); when one is new, appends FLAGS and PERMANENTFLAGS to
  // `out` and returns true. Callers put these before the FETCH or EXISTS lines that show it.
  bool announce_keywords(const Version& v, const std::vector<const MessageRow*>& rows,
                         std::vector<std::string>& out);
  // "* n FETCH (FLAGS (...) [UID u] [MODSEQ (m)])" without "* ".
  std::string fetch_flags_line(const MessageRow& m, const SyncOptions& opts) const;
  // "n FETCH (UID u MODSEQ (m))": a .SILENT STORE under CONDSTORE (RFC 7162 3.1.3).
  std::string fetch_modseq_line(const MessageRow& m) const;

 private:
  void rebuild();  // own_ and private_ from base_, ghosts_ and removed_
  // The end of adopt() and wake(): the new state (`next` with the session's own differences),
  // then FETCH for `updates` (rows of `next`), the expunges when allowed, EXISTS when `added`.
  uint32_t move_to(std::shared_ptr<const Version> next, std::vector<uint32_t> removed,
                   std::vector<MessageRow> gone, const std::vector<const MessageRow*>& updates,
                   size_t added, const SyncOptions& opts, std::vector<std::string>& out);

  std::shared_ptr<const Version> base_;
  uint64_t highest_modseq_ = 0;
  // Rows the store expunged that this session has not announced (they keep their sequence
  // numbers), ascending UID.
  std::vector<MessageRow> ghosts_;
  // UIDs of base_ this session already announced as expunged (its own EXPUNGE/MOVE), ascending.
  std::vector<uint32_t> removed_;
  bool private_ = false;
  MessageRows own_;  // base_->rows - removed_ + ghosts_, when private_
  std::vector<std::pair<uint32_t, uint32_t>> recent_;  // UID ranges, ascending
  // While hibernated (base_ null): the rows' UIDs as ranges, ascending, and the header.
  struct Asleep {
    std::vector<std::pair<uint32_t, uint32_t>> uids;
    uint32_t uid_validity = 0;
    uint32_t uid_next = 1;
    uint64_t lineage = 0;
  } asleep_;
};

// Formats a sorted UID list as a compact sequence set "1:3,7".
std::string compact_set(const std::vector<uint32_t>& sorted);

}  // namespace mailroom::imap
