// The selected mailbox as one session sees it: sequence numbers, \Recent, and the changes
// not yet announced (RFC 3501 section 7.4.1: EXPUNGE may not be sent during FETCH, STORE or
// SEARCH, so expunged messages keep their sequence numbers until an allowed point).
// Pure data and logic, no I/O: unit-tested on its own.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "src/imap/recent.h"
#include "src/store/mail_store.h"

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
  uint32_t uid_validity = 0;
  uint32_t uid_next = 1;
  uint64_t highest_modseq = 0;
  std::vector<store::MessageMeta> messages;  // index = sequence number - 1
  std::set<uint32_t> recent;                 // UIDs that are \Recent in this session
  std::set<std::string> keywords;            // announced in FLAGS (SELECT or later)

  // Loads a snapshot; `recent_after` is the highest UID another session already saw (claimed
  // by SELECT, peeked by EXAMINE).
  void load(const store::Snapshot& snap, uint32_t recent_after);

  uint32_t exists() const { return static_cast<uint32_t>(messages.size()); }
  // Sequence number of a UID, 0 when not present.
  uint32_t seq_of(uint32_t uid) const;
  const store::MessageMeta* by_uid(uint32_t uid) const;
  store::MessageMeta* by_uid(uint32_t uid);
  uint32_t max_uid() const { return messages.empty() ? 0 : messages.back().uid; }

  // Applies store changes; appends the untagged responses (without "* " and CRLF) to `out`.
  // Returns the number of new messages. `claim_recent` receives the new UIDs that this
  // session may mark \Recent (the caller asks the RecentTracker).
  uint32_t apply(const store::Changes& changes, const SyncOptions& opts,
                 std::vector<std::string>& out);
  // Announces (and drops) pending expunges if allowed.
  void flush_expunges(const SyncOptions& opts, std::vector<std::string>& out);
  // Removes the given UIDs now (own EXPUNGE/MOVE), producing EXPUNGE or VANISHED lines.
  void expunge_now(const std::vector<uint32_t>& uids, const SyncOptions& opts,
                   std::vector<std::string>& out);

  // "(\Seen \Answered $Label [\Recent])"
  std::string flags_of(const store::MessageMeta& m) const;
  // The FLAGS list: system flags and every keyword announced.
  std::string mailbox_flags() const;
  // "OK [PERMANENTFLAGS (...)] ..." without "* ": the system flags, the announced keywords and
  // \* (new keywords allowed); "()" when read-only.
  std::string permanent_flags_line() const;
  // RFC 3501 7.2.6: a client keeps the mailbox's flags from the FLAGS response. Records the
  // keywords of `messages`; when one is new, appends FLAGS and PERMANENTFLAGS to `out` and
  // returns true. Callers put these before the FETCH or EXISTS lines that show the keyword.
  bool announce_keywords(const std::vector<store::MessageMeta>& messages,
                         std::vector<std::string>& out);
  // "* n FETCH (FLAGS (...) [UID u] [MODSEQ (m)])" without "* ".
  std::string fetch_flags_line(const store::MessageMeta& m, const SyncOptions& opts) const;
  // "n FETCH (UID u MODSEQ (m))": a .SILENT STORE under CONDSTORE (RFC 7162 3.1.3).
  std::string fetch_modseq_line(const store::MessageMeta& m) const;

  std::set<uint32_t> pending_expunge;  // UIDs the store removed, not yet announced
};

// Formats a sorted UID list as a compact sequence set "1:3,7".
std::string compact_set(const std::vector<uint32_t>& sorted);

}  // namespace mailroom::imap
