// The file-per-message MailStore (private to src/store; FORMAT.md describes the layout).
//
// Locking: one mutex per open user serializes that user's index work inside this process;
// SQLite's BEGIN IMMEDIATE serializes writers across processes (mailroomd and mailroomctl).
// Message files are written before the user lock is taken, so slow fsyncs of one delivery
// do not stall readers longer than the index commit.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/db/sqlite.h"
#include "src/store/mail_store.h"
#include "src/store/message_files.h"
#include "src/store/store_options.h"

namespace mailroom::store {

struct UserIndex {
  UserIndex(std::string id_, std::string dir_, bool durable, std::shared_ptr<Fs> fs)
      : id(std::move(id_)), files(std::move(dir_), durable, std::move(fs)) {}
  // An index only a sweep over many users touched (FileStore::Cache::cold) closes without a
  // checkpoint: its few WAL frames wait for the user's next open, and the sweep does not pay two
  // fsyncs and a truncation per user (mail recall at 10,000 mailboxes: a third of its time).
  ~UserIndex() {
    if (cold && db) db->skip_checkpoint_on_close();
  }
  std::string id;
  std::mutex mu;
  std::unique_ptr<db::Sqlite> db;
  MessageFiles files;
  std::atomic<bool> cold{false};      // opened by a sweep and not used by anyone else since
  std::atomic<int64_t> last_used{0};  // steady clock seconds of the last FileStore::user()
};

// PRAGMA synchronous=NORMAL for the lifetime of the object: commits stop waiting for the disk
// (the retrieval journal, or MailStore::sync_batched(), makes them durable). The connection is
// shared by every writer of the user (appends must stay FULL): restored before the user lock is
// released. Without [store] fsync the connection runs synchronous=OFF: leave it alone then.
class RelaxedSync {
 public:
  explicit RelaxedSync(db::Sqlite& db);
  ~RelaxedSync();
  RelaxedSync(const RelaxedSync&) = delete;
  RelaxedSync& operator=(const RelaxedSync&) = delete;

 private:
  db::Sqlite& db_;
  bool relaxed_;
};

struct MailboxRow {
  int64_t id = 0;
  std::string name;
  SpecialUse special_use = SpecialUse::none;
  uint32_t uid_validity = 0;
  uint32_t uid_next = 1;
  uint64_t highest_modseq = 1;
  std::string object_id;  // MailboxInfo::object_id
};
// SQL for a new mailbox object id: 128 random bits as 32 lower-case hex digits.
#define MAILROOM_NEW_OBJECTID "lower(hex(randomblob(16)))"

// Opens (creating) a user's index.db: WAL, synchronous=FULL with [store] fsync (else OFF).
core::Result<std::unique_ptr<db::Sqlite>> open_index(const std::string& path,
                                                     const StoreOptions& options);
// The index schema version this build writes (FORMAT.md "Index").
inline constexpr int64_t kSchemaVersion = 8;
// The index's schema version: 0 for an empty file (no meta table or no version yet).
core::Result<int64_t> schema_version(db::Sqlite& db);
// Creates the index schema, or migrates an older one to kSchemaVersion in one BEGIN IMMEDIATE
// transaction (safe when two processes open the index at once); idempotent. An index of a
// newer version is refused (newer_schema_error): its rows may mean what this build ignores.
core::Status create_schema(db::Sqlite& db);
core::Status newer_schema_error(int64_t version);
// Migration step to version 6 (store_acl.cpp): the `acl` table. Idempotent.
core::Status add_acl_table(db::Sqlite& db);
// Migration step of version 7: the `metadata` table (store_metadata.cpp); idempotent.
core::Status create_metadata_table(db::Sqlite& db);
// Removes the annotations of a mailbox being deleted (inside the caller's transaction).
core::Status delete_mailbox_metadata(db::Sqlite& db, int64_t mailbox_id);
// Migration step of version 8: the `seen_by` table of per-reader \Seen (store_seen.cpp).
core::Status create_seen_table(db::Sqlite& db);
// Removes the readers' \Seen marks of one message (uid) or of a whole mailbox (uid 0), inside
// the caller's transaction.
core::Status delete_seen_marks(db::Sqlite& db, int64_t mailbox_id, uint32_t uid);
// A reader's mark of one message (store_flags with StoreFlagsRequest::reader).
struct SeenMark {
  bool seen = false;
  uint64_t modseq = 0;
};
core::Result<std::optional<SeenMark>> find_seen_mark(db::Sqlite& db, const std::string& reader,
                                                     int64_t mailbox_id, uint32_t uid);
core::Status put_seen_mark(db::Sqlite& db, const std::string& reader, int64_t mailbox_id,
                           uint32_t uid, bool seen, uint64_t modseq);
// Creates INBOX and the special-use folders once per user.
core::Status init_special_folders(db::Sqlite& db);
core::Result<MailboxRow> find_mailbox(db::Sqlite& db, const std::string& canonical_name);
// Inserts a mailbox (and its missing parents) with fresh UIDVALIDITY values.
core::Result<MailboxRow> insert_mailbox(db::Sqlite& db, const std::string& canonical_name,
                                        SpecialUse use);
core::Status set_mailbox_counters(db::Sqlite& db, const MailboxRow& row);
core::Status add_usage(db::Sqlite& db, int64_t bytes, int64_t messages);
core::Result<QuotaUsage> read_usage(db::Sqlite& db);
// Deletes the files row when no message and no recalled copy references `guid`; returns true
// if it did.
bool drop_file_if_unreferenced(db::Sqlite& db, const std::string& guid);
// Deletes a message row and writes its expunge tombstone at `modseq` (RFC 7162 VANISHED);
// the caller updates the mailbox counters and the usage.
Status delete_message_row(db::Sqlite& db, int64_t mailbox_id, uint32_t uid, uint64_t modseq);
// The message columns read_meta() expects, spliced into SQL literals (SQL text is never built
// at run time: every statement of the store is one cached prepared statement).
#define MAILROOM_META_COLUMNS                                                                     \
  " uid, modseq, size, internal_date, internal_tz, flags, keywords, retrieved_at, retrieved_by, " \
  "guid, seen_at, seen_via, saved_at "
inline constexpr int kMetaColumns = 13;  // how many MAILROOM_META_COLUMNS names
MessageMeta read_meta(const db::Stmt& s);

// An operation's hold on one user's index (FileStore::hold_user, hold_mailbox): the open index
// under its lock for the hold's lifetime and, for a mailbox, the mailbox's row, read inside the
// hold's transaction if it has one:
//   Txn::read           BEGIN: the row and what the operation reads agree;
//   Txn::write          BEGIN IMMEDIATE: kept only by commit();
//   Txn::write_relaxed  the same under RelaxedSync (set before BEGIN, restored after the end).
// Destroyed (or end()): rolled back, restored; then unlocked.
class IndexHold {
 public:
  enum class Txn { none, read, write, write_relaxed };
  explicit IndexHold(std::shared_ptr<UserIndex> user) : user_(std::move(user)), lock_(user_->mu) {}
  UserIndex& user() const { return *user_; }
  db::Sqlite& db() const { return *user_->db; }
  Status begin(Txn txn, bool fsync_enabled);
  Status commit() { return tx_->commit(); }  // a write hold's
  // Ends the transaction now (rolled back unless committed); the lock stays.
  void end() {
    read_.reset();
    tx_.reset();
  }

  MailboxRow row;  // a mailbox hold's

 private:
  struct Rollback {
    void operator()(db::Sqlite* db) const { db->rollback(); }
  };
  std::shared_ptr<UserIndex> user_;
  std::unique_lock<std::mutex> lock_;
  std::unique_ptr<RelaxedSync> relaxed_;  // declared after the lock: restored before unlocking
  std::unique_ptr<db::Transaction> tx_;   // and rolled back before that
  std::unique_ptr<db::Sqlite, Rollback> read_;
};

// The newest POP3 retrieval mark per (canonical mailbox, uid): {time, client IP}.
using JournalMarks = std::map<std::pair<std::string, uint32_t>, std::pair<int64_t, std::string>>;

class WatchRegistry;
class NoticeSubscriber;  // change_notices.h

class FileStore final : public MailStore {
 public:
  explicit FileStore(const StoreOptions& options);
  ~FileStore() override;

  // Closes the open indexes nobody holds that were last used more than
  // StoreOptions::idle_close_seconds before `now` (steady clock seconds; idle_seconds()),
  // after the cache lock is released. Returns how many. The notice thread calls it.
  size_t close_idle(int64_t now);
  // Closes the account's index now if nobody holds it (MailStore contract).
  void release_idle(const std::string& account_id) override;
  static int64_t idle_seconds();  // the clock of close_idle()
  size_t open_users();            // indexes open now

  Result<std::vector<MailboxInfo>> list_mailboxes(const std::string& account_id) override;
  Result<MailboxInfo> mailbox_status(const std::string& account_id,
                                     const std::string& mailbox) override;
  Status create_mailbox(const std::string& account_id, const std::string& mailbox,
                        SpecialUse use) override;
  Status delete_mailbox(const std::string& account_id, const std::string& mailbox,
                        bool delete_children) override;
  Status delete_mailbox_keep_inferiors(const std::string& account_id,
                                       const std::string& mailbox) override;
  Status rename_mailbox(const std::string& account_id, const std::string& from,
                        const std::string& to) override;
  Status set_subscribed(const std::string& account_id, const std::string& mailbox,
                        bool subscribed) override;
  Result<std::vector<std::string>> subscriptions(const std::string& account_id) override;

  Result<AppendResult> append(const std::string& account_id, const AppendRequest& request) override;
  Result<std::vector<AppendResult>> append_batch(const std::string& account_id,
                                                 const AppendBatch& batch) override;
  std::vector<Result<MessageMeta>> message_metas(const std::string& account_id,
                                                 const std::string& mailbox,
                                                 const std::vector<uint32_t>& uids) override;
  Result<Snapshot> snapshot(const std::string& account_id, const std::string& mailbox) override;
  Result<Snapshot> scan(const std::string& account_id, const std::string& mailbox,
                        const std::function<void(const MessageMeta&)>& visit) override;
  Result<Changes> changes_since(const std::string& account_id, const std::string& mailbox,
                                uint64_t modseq) override;
  Result<StoreFlagsResult> store_flags(const std::string& account_id, const std::string& mailbox,
                                       const StoreFlagsRequest& request) override;
  Result<std::vector<uint32_t>> expunge(const std::string& account_id, const std::string& mailbox,
                                        const std::vector<uint32_t>& uids) override;
  Result<CopyResult> copy(const std::string& account_id, const std::string& from,
                          const std::vector<uint32_t>& uids, const std::string& to,
                          const Quota& quota) override;
  Result<CopyResult> move(const std::string& account_id, const std::string& from,
                          const std::vector<uint32_t>& uids, const std::string& to) override;
  Result<std::string> read_message(const std::string& account_id, const std::string& mailbox,
                                   uint32_t uid) override;
  std::vector<Result<std::string>> read_messages(const std::string& account_id,
                                                 const std::string& mailbox,
                                                 const std::vector<uint32_t>& uids) override;
  std::vector<Status> read_messages_into(const std::string& account_id, const std::string& mailbox,
                                         const std::vector<uint32_t>& uids,
                                         const std::vector<std::span<char>>& dest) override;
  std::vector<Result<std::string>> read_message_prefixes(
      const std::string& account_id, const std::string& mailbox, const std::vector<uint32_t>& uids,
      const std::vector<uint64_t>& limits) override;
  Result<std::string> facts(const std::string& account_id, const std::string& mailbox,
                            uint32_t uid) override;
  Result<std::string> refresh_facts(const std::string& account_id, const std::string& mailbox,
                                    uint32_t uid) override;
  std::vector<Result<std::string>> facts_batch(const std::string& account_id,
                                               const std::string& mailbox,
                                               const std::vector<uint32_t>& uids) override;
  // <root>/<account id>/cache (FORMAT.md "Sort key cache").
  Result<std::string> cache_dir(const std::string& account_id) override;
  Status mark_retrieved(const std::string& account_id, const std::string& mailbox, uint32_t uid,
                        int64_t when, const std::string& client_ip) override;
  Status mark_retrieved_batch(const std::string& account_id, const std::string& mailbox,
                              const std::vector<std::pair<uint32_t, int64_t>>& marks,
                              const std::string& client_ip, bool sync) override;
  Result<std::unique_ptr<RetrievalJournal>> open_retrieval_journal(
      const std::string& account_id, const std::string& mailbox,
      const std::string& client_ip) override;
  Result<QuotaUsage> quota_usage(const std::string& account_id) override;
  // Access control lists (store_acl.cpp).
  Result<std::vector<AclEntry>> get_acl(const std::string& account_id,
                                        const std::string& mailbox) override;
  Status set_acl(const std::string& account_id, const std::string& mailbox,
                 const std::string& identifier, const std::string& rights) override;
  Result<std::vector<MailboxAcl>> acls(const std::string& account_id) override;
  Result<std::vector<AclAccount>> acl_accounts() override;
  Status mark_shared_account(const std::string& account_id, bool shared) override;
  // Per-reader \Seen (store_seen.cpp).
  Result<std::vector<ReaderSeen>> reader_seen(const std::string& account_id,
                                              const std::string& mailbox, const std::string& reader,
                                              uint64_t since_modseq,
                                              const std::vector<uint32_t>& uids) override;
  Status forget_reader(const std::string& account_id, const std::string& reader,
                       const std::string& mailbox) override;

 private:
  // `<root>/.acl/<account id>` ("shared" inside for a shared mailbox); see store_acl.cpp.
  Status write_acl_marker(const std::string& account_id, bool shared, bool keep_kind);

 public:
  // Mail recall (recall_area.cpp).
  Result<std::vector<MessageCopy>> find_copies(const std::string& account_id,
                                               const std::string& guid) override;
  Result<std::vector<RecalledCopy>> recall_copies(const std::string& account_id,
                                                  const std::string& guid,
                                                  const std::string& recall_id, int64_t when,
                                                  Commit commit = Commit::durable) override;
  Result<std::vector<RestoredCopy>> restore_recalled(const std::string& account_id,
                                                     const std::string& recall_id) override;
  // syncfs(2) of the store's file system: one flush for every batched commit; then the
  // watchers of the mailboxes they changed are told (IDLE clients hear of a batched recall
  // once it is durable).
  Status sync_batched() override;
  Result<std::vector<RecalledCopy>> recalled(const std::string& account_id,
                                             const std::string& recall_id) override;
  Result<size_t> purge_recalled(const std::string& account_id,
                                const std::string& recall_id) override;
  // Annotations (store_metadata.cpp).
  Result<std::vector<MetadataEntry>> metadata(const std::string& account_id,
                                              const std::string& mailbox) override;
  Status set_metadata(const std::string& account_id, const std::string& mailbox,
                      const std::vector<MetadataChange>& changes,
                      const MetadataLimits& limits) override;
  std::unique_ptr<WatchHandle> watch(const std::string& account_id, const std::string& mailbox,
                                     std::function<void(const ChangeEvent&)> callback) override;
  std::unique_ptr<WatchHandle> watch_mailbox_list(const std::string& account_id,
                                                  std::function<void()> callback) override;
  const StoreOptions& options() const { return options_; }

 private:
  // How an open enters the LRU cache: `hot` as the most recently used; `cold` as the next to
  // go (a sweep over thousands of users, mail recall, must not push out the indexes of the
  // users working now: it evicts its own previous cold entry instead).
  enum class Cache { hot, cold };
  // The open index of a user (from the LRU cache, opened on first use).
  Result<std::shared_ptr<UserIndex>> user(const std::string& account_id, Cache cache = Cache::hot);
  // user() for a user the store already has (an index, or message files to rebuild one from);
  // nullptr for an account never seen here, which is then not created (recall look-ups).
  Result<std::shared_ptr<UserIndex>> existing_user(const std::string& account_id,
                                                   Cache cache = Cache::hot);
  Result<std::string> canonical(const std::string& mailbox) const;
  // canonical(), but "" (the user's server entries, all mailboxes) stays "".
  Result<std::string> canonical_or_empty(const std::string& mailbox) const;
  // The preambles of the operations, written once; the errors are those of canonical(), user()
  // and find_mailbox() (and of BEGIN IMMEDIATE for a write hold).
  // An open index (user(), existing_user()), locked, then the transaction.
  Result<IndexHold> hold(std::shared_ptr<UserIndex> user,
                         IndexHold::Txn txn = IndexHold::Txn::none);
  // The account's open index, locked (then the transaction).
  Result<IndexHold> hold_user(const std::string& account_id,
                              IndexHold::Txn txn = IndexHold::Txn::none);
  // `mailbox` (any spelling: canonical() first) of the account, its index locked.
  Result<IndexHold> hold_mailbox(const std::string& account_id, const std::string& mailbox,
                                 IndexHold::Txn txn = IndexHold::Txn::none);
  // The mailbox `name` (canonical already) of an open index: locked, then the transaction,
  // then the row.
  Result<IndexHold> hold_mailbox(std::shared_ptr<UserIndex> user, const std::string& name,
                                 IndexHold::Txn txn = IndexHold::Txn::none);
  // facts() and refresh_facts(): the cached blob, or (refresh, or none cached) computed now
  // with the extractor and stored.
  Result<std::string> facts_impl(const std::string& account_id, const std::string& mailbox,
                                 uint32_t uid, bool refresh);
  // Applies the retrieval journals of the user's dead sessions to the index and removes them
  // (retrieval_marks.cpp); journals still locked by a live session are left alone.
  void replay_retrieval_journals(UserIndex& u);
  // The marks in every retrieval journal of the user, live sessions' too, read without taking
  // or removing anything: a recall must carry a mark a live session has not applied yet.
  JournalMarks journal_marks(UserIndex& u);
  // After a commit: this process's watchers of each changed mailbox and, with
  // StoreOptions::notices = publish, other processes' (one notice for all the events).
  void notify(const std::string& account_id, const std::string& mailbox, uint64_t modseq);
  void notify_all(const std::vector<ChangeEvent>& events);
  void notify_watchers(const ChangeEvent& event);            // this process's only
  void notify_list_watchers(const std::string& account_id);  // watch_mailbox_list()'s
  Result<CopyResult> copy_or_move(const std::string& account_id, const std::string& from,
                                  const std::vector<uint32_t>& uids, const std::string& to,
                                  const Quota* quota, bool move);
  enum class Inferiors { refuse, remove, keep };
  Status delete_mailbox_impl(const std::string& account_id, const std::string& mailbox,
                             Inferiors inferiors);

  // Takes the open indexes `pick` chooses (by account id) that nobody holds out of the cache,
  // and closes them (without a checkpoint) after the lock is released. Returns how many.
  size_t close_unused(const std::function<bool(const std::string&, const UserIndex&)>& pick);

  StoreOptions options_;
  std::mutex cache_mu_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string,
                     std::pair<std::shared_ptr<UserIndex>, std::list<std::string>::iterator>>
      cache_;
  std::shared_ptr<WatchRegistry> watchers_;
  std::mutex batched_mu_;
  std::vector<ChangeEvent> batched_events_;  // of Commit::batched changes, for sync_batched()
  // With StoreOptions::notices = subscribe: delivers other processes' notices to watchers_.
  // Declared last so it stops before the members its thread uses go away.
  std::unique_ptr<NoticeSubscriber> subscriber_;
};

}  // namespace mailroom::store
