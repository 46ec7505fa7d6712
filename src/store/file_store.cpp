// FileStore plumbing: options, the LRU of open user indexes, change notification.
#include "src/store/file_store.h"

#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iterator>

#include "src/core/config_section.h"
#include "src/core/log.h"
#include "src/db/sqlite_heap.h"
#include "src/store/change_notices.h"
#include "src/store/fs.h"
#include "src/store/maintenance.h"
#include "src/store/names.h"
#include "src/store/store_options.h"

namespace mailroom::store {

const char* special_use_attribute(SpecialUse u) {
  switch (u) {
    case SpecialUse::sent:
      return "\\Sent";
    case SpecialUse::drafts:
      return "\\Drafts";
    case SpecialUse::trash:
      return "\\Trash";
    case SpecialUse::junk:
      return "\\Junk";
    case SpecialUse::archive:
      return "\\Archive";
    // No RFC 6154 attribute exists for an ads folder; IMAP shows it as a plain mailbox.
    case SpecialUse::ads:
    case SpecialUse::none:
    case SpecialUse::inbox:
      return "";
  }
  return "";
}

StoreOptions parse_store_options(core::ConfigSection& section, const std::string& data_dir) {
  StoreOptions o;
  o.root = section.get_string("root", data_dir + "/mail");
  o.fsync = section.get_bool("fsync", true);
  o.max_mailbox_name = static_cast<size_t>(section.get_int("max_mailbox_name", 255, 16, 1024));
  o.open_users_cache = static_cast<size_t>(section.get_int("open_users_cache", 1024, 1, 1000000));
  o.idle_close_seconds = static_cast<int>(section.get_int("idle_close", 60, 0, 86400));
  section.finish();
  return o;
}

// --- change notification ---------------------------------------------------------------

struct WatchEntry {
  std::recursive_mutex mu;  // held while the callback runs; the handle's destructor waits
  bool active = true;
  std::function<void(const ChangeEvent&)> callback;
};

class WatchRegistry {
 public:
  void add(const std::string& key, std::shared_ptr<WatchEntry> e) {
    std::lock_guard<std::mutex> lk(mu_);
    entries_[key].push_back(std::move(e));
  }
  void remove(const std::string& key, const WatchEntry* e) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    auto& v = it->second;
    v.erase(std::remove_if(v.begin(), v.end(), [&](auto& p) { return p.get() == e; }), v.end());
    if (v.empty()) entries_.erase(it);
  }
  std::vector<std::shared_ptr<WatchEntry>> get(const std::string& key) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return {};
    return it->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<std::shared_ptr<WatchEntry>>> entries_;
};

namespace {

std::string watch_key(const std::string& account, const std::string& mailbox) {
  return account + '\0' + mailbox;
}

class FileWatchHandle final : public WatchHandle {
 public:
  FileWatchHandle(std::shared_ptr<WatchRegistry> r, std::string key, std::shared_ptr<WatchEntry> e)
      : registry_(std::move(r)), key_(std::move(key)), entry_(std::move(e)) {}
  ~FileWatchHandle() override {
    registry_->remove(key_, entry_.get());
    std::lock_guard<std::recursive_mutex> lk(entry_->mu);
    entry_->active = false;
  }

 private:
  std::shared_ptr<WatchRegistry> registry_;
  std::string key_;
  std::shared_ptr<WatchEntry> entry_;
};

}  // namespace

std::unique_ptr<WatchHandle> FileStore::watch(const std::string& account_id,
                                              const std::string& mailbox,
                                              std::function<void(const ChangeEvent&)> callback) {
  // An empty `mailbox` watches every mailbox of the account (created, changed, renamed,
  // deleted): JMAP push (src/jmap/push.h). No mailbox has an empty name.
  auto name = mailbox.empty() ? Result<std::string>(std::string()) : canonical(mailbox);
  std::string key = watch_key(account_id, name.is_ok() ? *name : mailbox);
  auto e = std::make_shared<WatchEntry>();
  e->callback = std::move(callback);
  watchers_->add(key, e);
  return std::make_unique<FileWatchHandle>(watchers_, key, e);
}

// The list watch's key: a name no mailbox can have (canonical() refuses control characters),
// and not the account-wide key "" of watch(), which every message change reaches: NOTIFY's
// list watchers hear of creations, deletions, renames and subscriptions only.
const char* const kListWatchName = "\x01list";

std::unique_ptr<WatchHandle> FileStore::watch_mailbox_list(const std::string& account_id,
                                                           std::function<void()> callback) {
  std::string key = watch_key(account_id, kListWatchName);
  auto e = std::make_shared<WatchEntry>();
  e->callback = [cb = std::move(callback)](const ChangeEvent&) { cb(); };
  watchers_->add(key, e);
  return std::make_unique<FileWatchHandle>(watchers_, key, e);
}

void FileStore::notify_list_watchers(const std::string& account_id) {
  // The list watchers, and the account-wide ones (JMAP push: a subscription changes Mailbox
  // state; for the other list changes they may hear twice, which push coalesces).
  auto list = watchers_->get(watch_key(account_id, kListWatchName));
  auto account_wide = watchers_->get(watch_key(account_id, ""));
  list.insert(list.end(), account_wide.begin(), account_wide.end());
  for (auto& e : list) {
    std::lock_guard<std::recursive_mutex> lk(e->mu);
    if (e->active && e->callback) e->callback(ChangeEvent{account_id, "", 0});
  }
}

void FileStore::notify(const std::string& account_id, const std::string& mailbox, uint64_t modseq) {
  notify_all({ChangeEvent{account_id, mailbox, modseq}});
}

void FileStore::notify_all(const std::vector<ChangeEvent>& events) {
  for (const auto& ev : events) notify_watchers(ev);
  if (options_.notices != StoreOptions::Notices::publish || options_.notices_dir.empty()) return;
  // The change is committed: a lost notice only leaves the server's sessions unaware of it
  // until their client does something that reads the mailbox again.
  if (auto s = publish_notices(options_.notices_dir, events); !s.is_ok())
    MR_LOG_WARN("event=store_notice_failed error={}", core::quote(s.to_string()));
}

void FileStore::notify_watchers(const ChangeEvent& ev) {
  if (options_.on_change) options_.on_change(ev);
  auto list = watchers_->get(watch_key(ev.account_id, ev.mailbox));
  auto account_wide = watchers_->get(watch_key(ev.account_id, ""));
  list.insert(list.end(), account_wide.begin(), account_wide.end());
  for (auto& e : list) {
    std::lock_guard<std::recursive_mutex> lk(e->mu);
    if (e->active && e->callback) e->callback(ev);
  }
}

// --- users ------------------------------------------------------------------------------

FileStore::FileStore(const StoreOptions& options)
    : options_(options), watchers_(std::make_shared<WatchRegistry>()) {
  if (options_.open_users_cache == 0) options_.open_users_cache = 1;
  if (options_.notices == StoreOptions::Notices::subscribe && !options_.notices_dir.empty())
    subscriber_ = std::make_unique<NoticeSubscriber>(
        options_.notices_dir, [this](const ChangeEvent& ev) { notify_watchers(ev); },
        std::chrono::milliseconds(250),
        [this, next = int64_t{0}]() mutable {
          // Idle indexes are looked for every few seconds, not on every pass.
          int64_t now = idle_seconds();
          if (options_.idle_close_seconds <= 0 || now < next) return;
          next = now + std::min(5, options_.idle_close_seconds);
          close_idle(now);
        });
}

int64_t FileStore::idle_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

size_t FileStore::close_unused(
    const std::function<bool(const std::string&, const UserIndex&)>& pick) {
  // Closed after the lock is released (a close checkpoints the WAL), as evictions are.
  std::vector<std::shared_ptr<UserIndex>> closing;
  {
    std::lock_guard<std::mutex> lk(cache_mu_);
    for (auto it = cache_.begin(); it != cache_.end();) {
      const auto& u = it->second.first;
      // use_count 1: only the cache holds it (copies are made under cache_mu_).
      if (u.use_count() == 1 && pick(it->first, *u)) {
        // Without a checkpoint (as a sweep's cold indexes): the WAL's frames wait for the
        // next open and this thread, which also delivers change notices, pays no fsyncs.
        u->cold = true;
        lru_.erase(it->second.second);
        closing.push_back(std::move(it->second.first));
        it = cache_.erase(it);
      } else {
        ++it;
      }
    }
  }
  size_t n = closing.size();
  closing.clear();
  // The closed indexes' SQLite chunks went to its heap's cache: their pages go back now
  // (db/sqlite_heap.h; a busy server reuses them instead).
  if (n) db::ChunkHeap::instance().trim();
  return n;
}

size_t FileStore::close_idle(int64_t now) {
  if (options_.idle_close_seconds <= 0) return 0;
  size_t n = close_unused([&](const std::string&, const UserIndex& u) {
    return now - u.last_used.load() > options_.idle_close_seconds;
  });
  if (n == 0) return 0;
  // What the connections held lies between live blocks of the heap: without a trim glibc
  // keeps those pages, and the memory an idle session costs would not go down.
  ::malloc_trim(0);
  MR_LOG_DEBUG("event=store_idle_indexes_closed count={}", n);
  return n;
}

void FileStore::release_idle(const std::string& account_id) {
  // The caller trims the heap (it batches the trims of many releases).
  size_t n =
      close_unused([&](const std::string& id, const UserIndex&) { return id == account_id; });
  if (n) MR_LOG_DEBUG("event=store_index_released account={}", account_id);
}

size_t FileStore::open_users() {
  std::lock_guard<std::mutex> lk(cache_mu_);
  return cache_.size();
}

// The subscriber's thread calls notify_watchers(): stopped before anything else goes.
FileStore::~FileStore() { subscriber_.reset(); }

Result<std::string> FileStore::canonical(const std::string& mailbox) const {
  return canonical_mailbox_name(mailbox, options_.max_mailbox_name);
}

Result<std::string> FileStore::canonical_or_empty(const std::string& mailbox) const {
  if (mailbox.empty()) return std::string();
  return canonical(mailbox);
}

Status IndexHold::begin(Txn txn, bool fsync_enabled) {
  if (txn == Txn::none) return Status::ok();
  if (txn == Txn::read) {
    auto s = db().exec("BEGIN");
    if (s.is_ok()) read_.reset(&db());
    return s;
  }
  // PRAGMA synchronous cannot change inside a transaction: relaxed first.
  if (txn == Txn::write_relaxed && fsync_enabled) relaxed_ = std::make_unique<RelaxedSync>(db());
  tx_ = std::make_unique<db::Transaction>(db());
  return tx_->begin();
}

Result<IndexHold> FileStore::hold(std::shared_ptr<UserIndex> user, IndexHold::Txn txn) {
  IndexHold h(std::move(user));
  auto s = h.begin(txn, options_.fsync);
  if (!s.is_ok()) return s;
  return h;
}

Result<IndexHold> FileStore::hold_user(const std::string& account_id, IndexHold::Txn txn) {
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  return hold(std::move(*u), txn);
}

Result<IndexHold> FileStore::hold_mailbox(const std::string& account_id, const std::string& mailbox,
                                          IndexHold::Txn txn) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  return hold_mailbox(std::move(*u), *name, txn);
}

Result<IndexHold> FileStore::hold_mailbox(std::shared_ptr<UserIndex> user, const std::string& name,
                                          IndexHold::Txn txn) {
  auto h = hold(std::move(user), txn);
  if (!h.is_ok()) return h;
  auto row = find_mailbox(h->db(), name);
  if (!row.is_ok()) return row.status();
  h->row = std::move(*row);
  return h;
}

Result<std::shared_ptr<UserIndex>> FileStore::user(const std::string& account_id, Cache cache) {
  auto ok = check_account_id(account_id);
  if (!ok.is_ok()) return ok;
  {
    std::lock_guard<std::mutex> lk(cache_mu_);
    auto it = cache_.find(account_id);
    if (it != cache_.end()) {
      if (cache == Cache::hot) {
        lru_.splice(lru_.begin(), lru_, it->second.second);
        it->second.first->cold = false;
      }
      it->second.first->last_used = idle_seconds();
      return it->second.first;
    }
  }
  // Open outside the cache lock: opening creates directories and may wait on SQLite.
  auto u = std::make_shared<UserIndex>(account_id, options_.root + "/" + account_id, options_.fsync,
                                       options_.fs);
  auto s = u->files.prepare();
  if (!s.is_ok()) return s;
  std::string index_path = u->files.dir() + "/index.db";
  struct stat st;
  if (::stat(index_path.c_str(), &st) != 0 && errno == ENOENT && !u->files.list().empty()) {
    // The index is gone but the mail is not: rebuild it before anything creates an empty one.
    // (A -wal kept from the lost index, frames and all, is not replayed: SQLite deletes a WAL
    // it finds beside an empty database file. RecallCacheTest checks it.)
    FsckReport report;
    s = rebuild_index(options_, u->files, index_path, report);
    if (!s.is_ok()) return s;
    MR_LOG_WARN("event=store_index_rebuilt account={} reason=missing detail={}", account_id,
                core::quote(report.repaired.empty() ? "" : report.repaired.back()));
  }
  auto db = open_index(index_path, options_);
  if (!db.is_ok()) return db.status();
  u->db = std::move(db).value();
  s = create_schema(*u->db);
  if (s.is_ok()) s = init_special_folders(*u->db);
  if (!s.is_ok()) return s;
  replay_retrieval_journals(*u);

  // Evicted handles close when their last user drops the shared_ptr: after the cache lock is
  // released (closing checkpoints the WAL, two fsyncs; under the lock it stalled every
  // thread that wanted any user's index).
  std::vector<std::shared_ptr<UserIndex>> evicted;
  std::lock_guard<std::mutex> lk(cache_mu_);
  auto it = cache_.find(account_id);
  u->last_used = idle_seconds();
  if (it != cache_.end()) {  // another thread opened it meanwhile: use theirs
    if (cache == Cache::hot) {
      lru_.splice(lru_.begin(), lru_, it->second.second);
      it->second.first->cold = false;
    }
    it->second.first->last_used = idle_seconds();
    return it->second.first;
  }
  auto evict = [&] {
    auto victim = cache_.find(lru_.back());
    evicted.push_back(std::move(victim->second.first));
    cache_.erase(victim);
    lru_.pop_back();
  };
  if (cache == Cache::hot) {
    lru_.push_front(account_id);
    cache_[account_id] = {u, lru_.begin()};
    while (cache_.size() > options_.open_users_cache) evict();
  } else {
    u->cold = true;
    while (!cache_.empty() && cache_.size() >= options_.open_users_cache) evict();
    lru_.push_back(account_id);
    cache_[account_id] = {u, std::prev(lru_.end())};
  }
  return u;
}

Result<std::shared_ptr<UserIndex>> FileStore::existing_user(const std::string& account_id,
                                                            Cache cache) {
  auto ok = check_account_id(account_id);
  if (!ok.is_ok()) return ok;
  bool open = false;
  {
    std::lock_guard<std::mutex> lk(cache_mu_);
    open = cache_.count(account_id) != 0;
  }
  if (open) return user(account_id, cache);
  // Opening a user creates its directories, index and special-use folders: a look-up for an
  // account that never had mail here must not. (An index lost with mail left is rebuilt.)
  std::string dir = options_.root + "/" + account_id;
  struct stat st;
  if (::stat((dir + "/index.db").c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_status("stat", dir + "/index.db");
    if (MessageFiles(dir, false, options_.fs).list().empty()) return std::shared_ptr<UserIndex>();
  }
  return user(account_id, cache);
}

const StoreOptions* file_store_options(const MailStore& store) {
  auto* fs = dynamic_cast<const FileStore*>(&store);
  return fs ? &fs->options() : nullptr;
}

std::unique_ptr<MailStore> open_file_store(const StoreOptions& options) {
  return std::make_unique<FileStore>(options);
}

}  // namespace mailroom::store
