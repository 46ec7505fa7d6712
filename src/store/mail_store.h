// MailStore: users' mailboxes, messages, UIDs, flags, MODSEQ, quota and change notification.
//
// Contract for every caller (SMTP/LMTP delivery, IMAP, POP3, webmail, mailroomctl):
// - Users are keyed by the account's immutable id (never by address).
// - Mailbox names are UTF-8 with '/' as the hierarchy separator; "INBOX" is case-insensitive.
//   Names with empty components, "." or "..", NUL or control characters, or longer than
//   the limit are refused with Code::invalid_argument.
// - A successful append/copy/move/flag change is durable when the call returns (message file,
//   index and directory entries fsync'd). A crash leaves the old or the new state.
// - UIDs strictly increase within a UIDVALIDITY and are never reused. Every change to a
//   message (append, flag change, expunge) gets a MODSEQ greater than all before it in that
//   mailbox (RFC 7162).
// - Errors: not_found (no such mailbox/uid), already_exists, invalid_argument,
//   over_quota (this append would exceed the quota), too_large (the message alone exceeds
//   the quota), io_error, busy.
//
// Threading: thread-safe; calls block on disk I/O. Call from the worker pool, never from an
// I/O thread. Watch callbacks run on an arbitrary thread and must only post work.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/core/status.h"

namespace mailroom::store {

using core::Code;
using core::Result;
using core::Status;

// System flags as a bit set (RFC 3501 section 2.3.2). \Recent is per session (IMAP's concern).
enum Flag : uint32_t {
  kSeen = 1u << 0,
  kAnswered = 1u << 1,
  kFlagged = 1u << 2,
  kDeleted = 1u << 3,
  kDraft = 1u << 4,
};

enum class SpecialUse { none, inbox, sent, drafts, trash, junk, ads, archive };
const char* special_use_attribute(SpecialUse u);  // "\\Sent", ... ("" for none/inbox)

struct MailboxInfo {
  std::string name;  // UTF-8, '/' separated
  SpecialUse special_use = SpecialUse::none;
  bool subscribed = false;
  uint32_t uid_validity = 0;
  uint32_t uid_next = 1;
  uint64_t highest_modseq = 1;
  uint32_t messages = 0;
  uint32_t unseen = 0;
  uint64_t size = 0;  // bytes of all messages
  // Random, given when the mailbox is created and kept by renames; a mailbox deleted and
  // created again gets a new one (RFC 8474 MAILBOXID). Empty for stores that keep none.
  std::string object_id;
};

struct MessageMeta {
  uint32_t uid = 0;
  uint64_t modseq = 0;
  uint64_t size = 0;          // exact octets of the stored message (CRLF line endings)
  int64_t internal_date = 0;  // seconds since the epoch (UTC)
  int32_t internal_tz = 0;    // minutes east of UTC, for the INTERNALDATE text
  uint32_t flags = 0;         // Flag bits
  std::vector<std::string> keywords;
  // POP3 retrieval mark (for mail recall): 0 when never retrieved.
  int64_t retrieved_at = 0;
  std::string retrieved_by;  // client IP
  std::string guid;          // stable id of the message file across copies (POP3 UIDL base)
  // "Opened" evidence (for mail recall): when \Seen was first set on this copy, and by what
  // (StoreFlagsRequest::origin, or "append" when it arrived \Seen). 0 when never set; clearing
  // \Seen keeps it. Not IMAP-visible: setting it takes no MODSEQ of its own.
  int64_t seen_at = 0;
  std::string seen_via;
  // When the message was saved into this mailbox (append, delivery, COPY, MOVE: the IMAP
  // SAVEDATE of RFC 8514), seconds since the epoch; 0 when unknown (saved before the store
  // kept it).
  int64_t saved_at = 0;
};

struct Snapshot {
  uint32_t uid_validity = 0;
  uint32_t uid_next = 1;
  uint64_t highest_modseq = 1;
  std::string object_id;              // MailboxInfo::object_id
  std::vector<MessageMeta> messages;  // ascending UID
};

// What changed in a mailbox after a given MODSEQ (RFC 7162 CHANGEDSINCE / VANISHED).
struct Changes {
  uint64_t highest_modseq = 0;
  // The mailbox's UIDVALIDITY and UIDNEXT now (0 when the store does not report them): a
  // caller holding an older view sees that the mailbox was deleted and created again.
  uint32_t uid_validity = 0;
  uint32_t uid_next = 0;
  std::vector<MessageMeta> changed;  // new messages and flag changes, ascending UID
  std::vector<uint32_t> expunged;    // UIDs expunged after the MODSEQ, ascending
  // The guid (MessageMeta::guid) each of `expunged` referenced, in the same order; "" when
  // unknown (tombstones older than the FileStore's index version 5). Empty for stores that
  // keep none.
  std::vector<std::string> expunged_guids;
};

struct AppendRequest {
  std::string mailbox = "INBOX";
  std::string_view message;  // raw RFC 5322 message; stored with CRLF line endings
  uint32_t flags = 0;
  std::vector<std::string> keywords;
  int64_t internal_date = 0;  // 0 = now
  int32_t internal_tz = 0;
  // Quota from the Directory (0 = unlimited). Applied per user across all mailboxes.
  uint64_t quota_bytes = 0;
  uint64_t quota_messages = 0;
  bool create_mailbox = false;  // create the mailbox if missing (delivery to a folder)
};

struct AppendResult {
  uint32_t uid_validity = 0;
  uint32_t uid = 0;
  uint64_t modseq = 0;
  std::string guid;  // the new message file's guid (MessageMeta::guid of the new row)
};

// MULTIAPPEND (RFC 3502) and REPLACE (RFC 8508): `messages` appended in order, all or none,
// and with replace_uid != 0 that message of replace_mailbox expunged in the same transaction
// (it is not expunged when an append fails, and nothing is appended when it is gone:
// not_found). Quota is checked message by message, counting the earlier ones of the batch
// and the space the replaced message frees.
struct AppendBatch {
  std::vector<AppendRequest> messages;
  std::string replace_mailbox;
  uint32_t replace_uid = 0;
};

enum class FlagOp { add, remove, replace };

struct StoreFlagsRequest {
  std::vector<uint32_t> uids;
  FlagOp op = FlagOp::add;
  uint32_t flags = 0;
  std::vector<std::string> keywords;
  std::optional<uint64_t> unchanged_since;  // RFC 7162 UNCHANGEDSINCE
  // Who sets the flags ("imap", "jmap", "admin", ...): recorded as MessageMeta::seen_via when
  // this request sets \Seen on a message for the first time. At most 16 characters of
  // [a-z0-9._-] (else invalid_argument); empty records nothing but the time.
  std::string origin;
  // Per-reader \Seen (MailStore::reader_seen): the account id of a reader of another account's
  // mailbox whose \Seen is its own. \Seen in `flags` (and a replace) then applies to that
  // reader's mark, not to the message; the message's own \Seen (the owner's) is kept.
  // UNCHANGEDSINCE compares with the MODSEQ the reader sees; `updated` shows the reader's
  // flags and MODSEQ. A reader's change takes a new MODSEQ of the mailbox (RFC 7162) recorded
  // with the mark, and notifies the mailbox's watchers. Empty: flags as they are stored.
  // Stores that keep no per-reader state ignore it.
  std::string reader;
};

struct StoreFlagsResult {
  std::vector<MessageMeta> updated;  // messages after the change (including unchanged ones
                                     // that matched, so IMAP can answer FETCH FLAGS)
  std::vector<uint32_t> modified;    // UIDs refused by UNCHANGEDSINCE (RFC 7162 [MODIFIED])
};

struct CopyResult {
  uint32_t uid_validity = 0;          // of the destination
  std::vector<uint32_t> source_uids;  // ascending
  std::vector<uint32_t> dest_uids;    // same order as source_uids
};

struct QuotaUsage {
  uint64_t bytes = 0;
  uint64_t messages = 0;
};

struct Quota {
  uint64_t bytes = 0;     // limit, 0 = unlimited
  uint64_t messages = 0;  // limit, 0 = unlimited
};

// Mail recall (the copies of one delivered message file in a user's mailboxes).
struct MessageCopy {  // one copy of a message file in a user's mailboxes
  std::string mailbox;
  uint32_t uid_validity = 0;
  MessageMeta meta;  // flags, keywords, seen_*, retrieved_*, guid, uid, ...
};

struct RecalledCopy {  // one copy in the hidden recall area
  std::string recall_id;
  std::string mailbox;        // where it was
  uint32_t uid_validity = 0;  // of that mailbox then (meta.uid means nothing without it)
  MessageMeta meta;           // as it was (uid = its UID there; modseq 0)
  int64_t recalled_at = 0;
};

struct RestoredCopy {
  std::string mailbox;  // where it is now (its old mailbox, or INBOX if that is gone)
  uint32_t old_uid = 0;
  uint32_t uid_validity = 0;
  uint32_t uid = 0;  // new UID (UIDs are never reused)
};

// One access control entry of a mailbox (RFC 4314; src/imap/acl.h gives the identifiers and
// rights their meaning). `identifier` is stored as the IMAP layer gives it ("anyone",
// "u:<account id>", "g:<group id>", any of them with a leading "-" for negative rights);
// `rights` is a set of RFC 4314 letters.
struct AclEntry {
  std::string identifier;
  std::string rights;
};

// The ACLs of one mailbox of an account (MailStore::acls).
struct MailboxAcl {
  std::string mailbox;
  std::vector<AclEntry> entries;  // by identifier
};

// One mailbox or server annotation (RFC 5464 METADATA): the entry name as the caller
// validated it ("/private/..." or "/shared/...", lower case) and its value (any octets).
struct MetadataEntry {
  std::string name;
  std::string value;
};
// Limits of one user's annotations, all mailboxes and the server entries together (0 = none).
struct MetadataLimits {
  uint64_t max_entries = 0;
  uint64_t max_bytes = 0;  // sum of the values' sizes
};
// One change of SETMETADATA: a value, or nullopt to remove the entry.
using MetadataChange = std::pair<std::string, std::optional<std::string>>;

// Kinds of change reported to watchers.
struct ChangeEvent {
  std::string account_id;
  std::string mailbox;
  uint64_t modseq = 0;
};

class WatchHandle {
 public:
  virtual ~WatchHandle() = default;  // unsubscribes
};

// The POP3 retrieval marks of one session (RFC 1939 RETR/TOP; for mail recall), written as
// the client downloads. One session owns it; its calls never overlap.
class RetrievalJournal {
 public:
  virtual ~RetrievalJournal() = default;
  // Records that `uid` was retrieved at `when` by the session's client. The mark survives a
  // crash of the process once this returns. The FileStore writes one line to the session's
  // journal file (one write(), no fsync, no index lock): the one store call an I/O thread may
  // make, so a download does not wait for the worker pool per message.
  virtual Status append(uint32_t uid, int64_t when) = 0;
  // Makes every mark appended so far durable (survives a power loss) and visible in the index
  // (MessageMeta::retrieved_at). Blocking: worker pool.
  virtual Status sync() = 0;
  // sync(), then retires the journal (its marks live on in the index). Blocking: worker pool.
  // A journal dropped without close() is replayed into the index by the next session of the
  // user or the next start of the store.
  virtual Status close() = 0;
};

class MailStore {
 public:
  virtual ~MailStore() = default;

  // --- mailboxes (per user). The special-use folders are created on first access. ---
  virtual Result<std::vector<MailboxInfo>> list_mailboxes(const std::string& account_id) = 0;
  virtual Result<MailboxInfo> mailbox_status(const std::string& account_id,
                                             const std::string& mailbox) = 0;
  virtual Status create_mailbox(const std::string& account_id, const std::string& mailbox,
                                SpecialUse use = SpecialUse::none) = 0;
  // Deleting a mailbox with children deletes only it when it has inferiors (RFC 3501 6.3.4
  // semantics are the IMAP server's; here: delete_children=false refuses if children exist).
  virtual Status delete_mailbox(const std::string& account_id, const std::string& mailbox,
                                bool delete_children = false) = 0;
  // RFC 3501 6.3.4: deletes the mailbox and its messages but keeps its inferiors (the name
  // then lives on only as their parent, \Noselect in LIST). Default: delete_mailbox(false).
  virtual Status delete_mailbox_keep_inferiors(const std::string& account_id,
                                               const std::string& mailbox) {
    return delete_mailbox(account_id, mailbox, false);
  }
  // Renames a mailbox and its children. Renaming INBOX moves its messages into a new mailbox
  // and leaves INBOX empty (RFC 3501 6.3.5).
  virtual Status rename_mailbox(const std::string& account_id, const std::string& from,
                                const std::string& to) = 0;
  virtual Status set_subscribed(const std::string& account_id, const std::string& mailbox,
                                bool subscribed) = 0;
  // Subscriptions may name mailboxes that do not exist (RFC 3501 6.3.6).
  virtual Result<std::vector<std::string>> subscriptions(const std::string& account_id) = 0;

  // --- messages ---
  virtual Result<AppendResult> append(const std::string& account_id,
                                      const AppendRequest& request) = 0;
  // See AppendBatch. This fallback (test stores) is not atomic: it appends one by one and
  // expunges what it appended when a later step fails.
  virtual Result<std::vector<AppendResult>> append_batch(const std::string& account_id,
                                                         const AppendBatch& batch);
  virtual Result<Snapshot> snapshot(const std::string& account_id, const std::string& mailbox) = 0;
  // snapshot() without the list: the mailbox's header fields (`messages` left empty), and
  // each message's record handed to `visit` in ascending UID order, one at a time (the record
  // is reused between calls), so a caller that keeps a compact form of each (the IMAP shared
  // view) holds no transient copy of every record. `visit` runs under the store's locks:
  // keep it short, never call the store from it. This fallback walks snapshot().
  virtual Result<Snapshot> scan(const std::string& account_id, const std::string& mailbox,
                                const std::function<void(const MessageMeta&)>& visit) {
    auto snap = snapshot(account_id, mailbox);
    if (!snap) return snap;
    for (const auto& m : snap->messages) visit(m);
    snap->messages.clear();
    return snap;
  }
  // The records of `uids` of one mailbox, in the order of `uids` (not_found for a UID not
  // there): what the compact IMAP view does not keep (guid, saved_at), for the FETCH and SEARCH
  // items that ask for it. This fallback reads the whole snapshot.
  virtual std::vector<Result<MessageMeta>> message_metas(const std::string& account_id,
                                                         const std::string& mailbox,
                                                         const std::vector<uint32_t>& uids) {
    std::vector<Result<MessageMeta>> out;
    auto snap = snapshot(account_id, mailbox);
    for (uint32_t uid : uids) {
      if (!snap) {
        out.push_back(snap.status());
        continue;
      }
      auto it = std::lower_bound(snap->messages.begin(), snap->messages.end(), uid,
                                 [](const MessageMeta& m, uint32_t u) { return m.uid < u; });
      if (it == snap->messages.end() || it->uid != uid)
        out.push_back(core::not_found("no such message"));
      else
        out.push_back(*it);
    }
    return out;
  }
  virtual Result<Changes> changes_since(const std::string& account_id, const std::string& mailbox,
                                        uint64_t modseq) = 0;
  virtual Result<StoreFlagsResult> store_flags(const std::string& account_id,
                                               const std::string& mailbox,
                                               const StoreFlagsRequest& request) = 0;
  // Removes the given UIDs; returns the UIDs actually removed (ascending).
  virtual Result<std::vector<uint32_t>> expunge(const std::string& account_id,
                                                const std::string& mailbox,
                                                const std::vector<uint32_t>& uids) = 0;
  virtual Result<CopyResult> copy(const std::string& account_id, const std::string& from,
                                  const std::vector<uint32_t>& uids, const std::string& to,
                                  const Quota& quota) = 0;
  // Copy then expunge from the source, atomically for observers (RFC 6851).
  virtual Result<CopyResult> move(const std::string& account_id, const std::string& from,
                                  const std::vector<uint32_t>& uids, const std::string& to) = 0;

  // The stored message (CRLF line endings, exactly `size` octets).
  virtual Result<std::string> read_message(const std::string& account_id,
                                           const std::string& mailbox, uint32_t uid) = 0;
  // Several messages, in the order of `uids` (one index lookup for all in the FileStore; POP3
  // read-ahead). This fallback reads them one by one.
  virtual std::vector<Result<std::string>> read_messages(const std::string& account_id,
                                                         const std::string& mailbox,
                                                         const std::vector<uint32_t>& uids) {
    std::vector<Result<std::string>> out;
    out.reserve(uids.size());
    for (uint32_t uid : uids) out.push_back(read_message(account_id, mailbox, uid));
    return out;
  }
  // Message uids[i] straight into dest[i], which is exactly its size (MessageMeta::size): bulk
  // FETCH reads the files into its output buffer. One status per message: not_found when it was
  // expunged meanwhile, io_error when its file is shorter. This fallback reads and copies.
  virtual std::vector<Status> read_messages_into(const std::string& account_id,
                                                 const std::string& mailbox,
                                                 const std::vector<uint32_t>& uids,
                                                 const std::vector<std::span<char>>& dest) {
    std::vector<Result<std::string>> msgs = read_messages(account_id, mailbox, uids);
    std::vector<Status> out;
    out.reserve(msgs.size());
    for (size_t i = 0; i < msgs.size(); ++i) {
      if (!msgs[i]) {
        out.push_back(msgs[i].status());
      } else if (msgs[i]->size() < dest[i].size()) {
        out.push_back(core::io_error("message shorter than its index entry"));
      } else {
        std::copy_n(msgs[i]->data(), dest[i].size(), dest[i].data());
        out.push_back(Status::ok());
      }
    }
    return out;
  }
  // The first limits[i] octets of message uids[i] (fewer when it is shorter), in the order of
  // `uids`: a FETCH of header fields reads each message's header, not its attachments. This
  // fallback reads whole messages and cuts them.
  virtual std::vector<Result<std::string>> read_message_prefixes(
      const std::string& account_id, const std::string& mailbox, const std::vector<uint32_t>& uids,
      const std::vector<uint64_t>& limits) {
    std::vector<Result<std::string>> out = read_messages(account_id, mailbox, uids);
    for (size_t i = 0; i < out.size() && i < limits.size(); ++i) {
      if (out[i] && out[i]->size() > limits[i]) out[i]->resize(limits[i]);
    }
    return out;
  }
  // Parsed facts cached at delivery (opaque blob produced by the FactsExtractor given at
  // construction; empty when none was configured).
  virtual Result<std::string> facts(const std::string& account_id, const std::string& mailbox,
                                    uint32_t uid) = 0;
  // Computes the facts again with the current extractor, keeps them in place of the cached
  // blob and returns them: for a blob of an older format (src/mime decodes it, sees the old
  // version and asks once). Stores that cache nothing just answer facts().
  virtual Result<std::string> refresh_facts(const std::string& account_id,
                                            const std::string& mailbox, uint32_t uid) {
    return facts(account_id, mailbox, uid);
  }

  // The facts of several messages, in the order of `uids` (not_found for a UID not there):
  // for filling caches of a whole mailbox without a query per message (the FileStore reads
  // a few hundred per index query). This fallback asks facts() for each.
  virtual std::vector<Result<std::string>> facts_batch(const std::string& account_id,
                                                       const std::string& mailbox,
                                                       const std::vector<uint32_t>& uids) {
    std::vector<Result<std::string>> out;
    out.reserve(uids.size());
    for (uint32_t uid : uids) out.push_back(facts(account_id, mailbox, uid));
    return out;
  }
  // The directory where caches derived from the user's messages may keep files (the IMAP
  // sort key files, FORMAT.md "Sort key cache"), created 0700 when missing. Its files are
  // disposable: removing them loses nothing. not_found for stores that keep no files (test
  // stores): callers then cache in memory only.
  virtual Result<std::string> cache_dir(const std::string& account_id) {
    (void)account_id;
    return core::not_found("this mail store has no cache directory");
  }

  // POP3 retrieval mark (RFC 1939 RETR/TOP): time and client address.
  virtual Status mark_retrieved(const std::string& account_id, const std::string& mailbox,
                                uint32_t uid, int64_t when, const std::string& client_ip) = 0;
  // Several marks {uid, when} of one client in one transaction; UIDs no longer there are
  // skipped. sync=false: committed without fsync (survives a crash of the process, not of the
  // machine) until a later call with sync=true, which makes it and every earlier one durable.
  virtual Status mark_retrieved_batch(const std::string& account_id, const std::string& mailbox,
                                      const std::vector<std::pair<uint32_t, int64_t>>& marks,
                                      const std::string& client_ip, bool sync) {
    (void)sync;  // this fallback (test stores) writes one mark at a time
    for (const auto& [uid, when] : marks) {
      Status s = mark_retrieved(account_id, mailbox, uid, when, client_ip);
      if (!s.is_ok() && s.code() != Code::not_found) return s;
    }
    return Status::ok();
  }

  // Opens the retrieval journal of one POP3 session of `client_ip` on `mailbox`. This
  // fallback (test stores) writes each mark with mark_retrieved_batch at append.
  virtual Result<std::unique_ptr<RetrievalJournal>> open_retrieval_journal(
      const std::string& account_id, const std::string& mailbox, const std::string& client_ip);

  virtual Result<QuotaUsage> quota_usage(const std::string& account_id) = 0;

  // --- access control lists (RFC 4314; FORMAT.md "Access control lists") ---
  // The stored entries of one mailbox (not_found for no such mailbox). The owner's implicit
  // rights are the IMAP layer's business, not stored. Kept by rename_mailbox (of the mailbox
  // and of a parent), removed with the mailbox. These defaults (test stores) keep none.
  virtual Result<std::vector<AclEntry>> get_acl(const std::string& account_id,
                                                const std::string& mailbox) {
    (void)account_id, (void)mailbox;
    return std::vector<AclEntry>{};
  }
  // Sets the entry of `identifier` (at most 256 octets, no control characters) to `rights`
  // (at most 32 octets of [a-z]); empty `rights` removes it. invalid_argument otherwise.
  virtual Status set_acl(const std::string& account_id, const std::string& mailbox,
                         const std::string& identifier, const std::string& rights) {
    (void)account_id, (void)mailbox, (void)identifier, (void)rights;
    return core::invalid_argument("this mail store keeps no access control lists");
  }
  // Every mailbox of the account that has at least one entry, by name.
  virtual Result<std::vector<MailboxAcl>> acls(const std::string& account_id) {
    (void)account_id;
    return std::vector<MailboxAcl>{};
  }
  // The accounts that ever had an entry written (a superset of those that have one now): where
  // LIST looks for other users' folders to show. `shared`: marked by mark_shared_account.
  struct AclAccount {
    std::string account_id;
    bool shared = false;
  };
  virtual Result<std::vector<AclAccount>> acl_accounts() { return std::vector<AclAccount>{}; }
  // Marks (or unmarks) the account as an administrator's shared mailbox (IMAP lists it in the
  // "Shared/" namespace instead of "Other Users/").
  virtual Status mark_shared_account(const std::string& account_id, bool shared) {
    (void)account_id, (void)shared;
    return core::invalid_argument("this mail store keeps no access control lists");
  }

  // --- per-reader \Seen on shared mailboxes (FORMAT.md "Per-reader \Seen") ---
  // A reader's \Seen mark of one message: set or cleared, and the mailbox MODSEQ of that
  // change. A message without a mark is unseen for that reader.
  struct ReaderSeen {
    uint32_t uid = 0;
    bool seen = false;
    uint64_t modseq = 0;
  };
  // The marks of `reader` in `mailbox` of `account_id` changed after `since_modseq`, and those
  // of `uids` (ascending), ascending by UID; not_found for no such mailbox. Marks go with their
  // message (expunge, move, recall) and mailbox (delete). These defaults keep none.
  virtual Result<std::vector<ReaderSeen>> reader_seen(const std::string& account_id,
                                                      const std::string& mailbox,
                                                      const std::string& reader,
                                                      uint64_t since_modseq,
                                                      const std::vector<uint32_t>& uids) {
    (void)account_id, (void)mailbox, (void)reader, (void)since_modseq, (void)uids;
    return std::vector<ReaderSeen>{};
  }
  // Drops every mark of `reader` in `mailbox` ("" = every mailbox of the account): the reader
  // lost its rights there, or its account is gone. No MODSEQ, no notice (nobody sees them).
  virtual Status forget_reader(const std::string& account_id, const std::string& reader,
                               const std::string& mailbox) {
    (void)account_id, (void)reader, (void)mailbox;
    return Status::ok();
  }

  // --- mail recall: the hidden recall area (FORMAT.md "Recall area") ---
  // A recall_id is 1 to 64 characters of [A-Za-z0-9_-] (else invalid_argument). A guid is
  // MessageMeta::guid / AppendResult::guid (32 hex digits, else invalid_argument). None of these
  // calls creates a user the store has never seen: they answer "nothing" for one.
  // These defaults (test stores) refuse with invalid_argument.

  // Every copy of message file `guid` in any of the user's mailboxes (COPY and MOVE keep the
  // guid, so copies the user moved or copied are found). Empty when none.
  virtual Result<std::vector<MessageCopy>> find_copies(const std::string& account_id,
                                                       const std::string& guid) {
    (void)account_id, (void)guid;
    return recall_unsupported();
  }
  // How a recall commits: `durable` before the call returns, watchers notified at once;
  // `batched` without waiting for the disk (consistent after a crash, possibly undone by a power
  // loss) until sync_batched() returns, watchers notified by sync_batched(). A recall over
  // 10,000 mailboxes waits for the disk once, not 10,000 times. (Undo stays durable per user:
  // the UIDs it gives out must never be given out again after a power loss.)
  enum class Commit { durable, batched };
  // Moves every copy of `guid` out of the user's mailboxes into the recall area under
  // `recall_id`, in one transaction: rows deleted with expunge tombstones and a new MODSEQ per
  // mailbox (IMAP sessions see EXPUNGE / VANISHED), usage lowered (recalled copies do not count
  // in the quota), watchers of each affected mailbox notified after the commit. The message
  // file stays. Returns the copies moved (empty when none).
  virtual Result<std::vector<RecalledCopy>> recall_copies(const std::string& account_id,
                                                          const std::string& guid,
                                                          const std::string& recall_id,
                                                          int64_t when,
                                                          Commit commit = Commit::durable) {
    (void)account_id, (void)guid, (void)recall_id, (void)when, (void)commit;
    return recall_unsupported();
  }
  // Puts back every copy recalled under `recall_id`: into its mailbox (INBOX if no mailbox of
  // that name exists now), with a new UID and MODSEQ, the same flags, keywords, internal date,
  // seen_* and retrieved_* marks; usage raised without a quota check (an administrator undoes a
  // recall); recall-area rows removed; watchers notified. Idempotent: a second call restores
  // nothing.
  virtual Result<std::vector<RestoredCopy>> restore_recalled(const std::string& account_id,
                                                             const std::string& recall_id) {
    (void)account_id, (void)recall_id;
    return recall_unsupported();
  }
  // Makes every Commit::batched change made so far durable, then notifies their watchers.
  virtual Status sync_batched() { return recall_unsupported(); }
  // The recall area's copies under `recall_id` ("" = every recall), by recall, mailbox, UID.
  virtual Result<std::vector<RecalledCopy>> recalled(const std::string& account_id,
                                                     const std::string& recall_id) {
    (void)account_id, (void)recall_id;
    return recall_unsupported();
  }
  // Deletes the copies recalled under `recall_id` for good (their files when nothing else
  // references them, unlinked after the commit like expunge). Returns how many were purged.
  virtual Result<size_t> purge_recalled(const std::string& account_id,
                                        const std::string& recall_id) {
    (void)account_id, (void)recall_id;
    return recall_unsupported();
  }

  // --- annotations (RFC 5464; FORMAT.md "Index"): mailbox "" holds the user's server
  // entries. Kept by rename_mailbox, removed with the mailbox. These defaults (test stores)
  // refuse with invalid_argument. ---
  // Every entry of `mailbox`, ascending by name; not_found when the mailbox does not exist.
  virtual Result<std::vector<MetadataEntry>> metadata(const std::string& account_id,
                                                      const std::string& mailbox) {
    (void)account_id, (void)mailbox;
    return metadata_unsupported();
  }
  // Applies every change in one transaction, or none: not_found (no such mailbox),
  // over_quota (the user's entries would pass `limits`). Removing an absent entry is no error.
  virtual Status set_metadata(const std::string& account_id, const std::string& mailbox,
                              const std::vector<MetadataChange>& changes,
                              const MetadataLimits& limits) {
    (void)account_id, (void)mailbox, (void)changes, (void)limits;
    return metadata_unsupported();
  }

  // Change notification: `callback` runs (on any thread) after every committed change to that
  // mailbox made through this object, and (FileStore with StoreOptions::notices = subscribe)
  // through another process's store on the same root. Keep the handle alive to stay subscribed.
  virtual std::unique_ptr<WatchHandle> watch(const std::string& account_id,
                                             const std::string& mailbox,
                                             std::function<void(const ChangeEvent&)> callback) = 0;
  // Mailbox-list notification (IMAP NOTIFY MailboxName / SubscriptionChange, RFC 5465 5.4,
  // 5.5): `callback` runs (on any thread; only post work) after a mailbox of the account was
  // created, deleted, renamed, subscribed or unsubscribed through this object. Not through
  // another process's store: a single-process shortcut (the notices carry mailbox changes
  // only). nullptr when the store keeps no such watch.
  virtual std::unique_ptr<WatchHandle> watch_mailbox_list(const std::string& account_id,
                                                          std::function<void()> callback) {
    (void)account_id, (void)callback;
    return nullptr;
  }

  // A hint: nothing of this process needs the account's open resources now (every IMAP session
  // on its selected mailbox hibernated, issue 20). A store may close them early; the next call
  // that needs them opens them again. Blocking: worker pool. Default: nothing.
  virtual void release_idle(const std::string& account_id) { (void)account_id; }

 private:
  static Status metadata_unsupported() {
    return core::invalid_argument("this mail store keeps no annotations");
  }
  static Status recall_unsupported() {
    return core::invalid_argument("this mail store does not support mail recall");
  }
};

}  // namespace mailroom::store

namespace mailroom::store {
inline Result<std::vector<AppendResult>> MailStore::append_batch(const std::string& account_id,
                                                                 const AppendBatch& batch) {
  std::vector<AppendResult> out;
  auto undo = [&] {
    for (size_t i = 0; i < out.size(); ++i)
      (void)expunge(account_id, batch.messages[i].mailbox, {out[i].uid});
  };
  for (const auto& m : batch.messages) {
    auto r = append(account_id, m);
    if (!r) {
      undo();
      return r.status();
    }
    out.push_back(*r);
  }
  if (batch.replace_uid != 0) {
    auto gone = expunge(account_id, batch.replace_mailbox, {batch.replace_uid});
    if (!gone || gone->empty()) {
      undo();
      return gone ? core::not_found("no such message") : gone.status();
    }
  }
  return out;
}
}  // namespace mailroom::store

// The default open_retrieval_journal() (header-only, so that the contract needs no library).
#include "src/store/direct_retrieval_journal.h"  // IWYU pragma: export
