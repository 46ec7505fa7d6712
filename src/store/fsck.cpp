// fsck: verify a user's index against the message files, and repair (FORMAT.md "fsck").
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>

#include "src/store/file_store.h"
#include "src/store/maintenance.h"
#include "src/store/names.h"
#include "src/store/store_options.h"

namespace mailroom::store {
namespace {

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

int64_t mtime_of(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}

struct FileRow {
  uint64_t size = 0;
};

// The files of a user's cache directory (FORMAT.md "Sort key cache", "Fetch cache") that
// belong to no live mailbox: "<uidvalidity>.keys" and "<uidvalidity>.fetch" of a UIDVALIDITY
// not in `live` (every file when `live` is null), anything else there, and "*.tmp" left by an
// interrupted write once older than `min_age` seconds.
std::vector<std::string> stale_cache_files(const std::string& cache_dir,
                                           const std::set<uint32_t>* live, int64_t min_age) {
  std::vector<std::string> out;
  DIR* d = ::opendir(cache_dir.c_str());
  if (!d) return out;
  int64_t now = ::time(nullptr);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = cache_dir + "/" + name;
    bool stale = live == nullptr;
    if (!stale && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) {
      stale = now - mtime_of(path) >= min_age;
    } else if (!stale) {
      char* end = nullptr;
      unsigned long uv = std::strtoul(name.c_str(), &end, 10);
      std::string_view suffix(end);
      stale = end == name.c_str() || (suffix != ".keys" && suffix != ".fetch") ||
              !live->count(static_cast<uint32_t>(uv));
    }
    if (stale) out.push_back(path);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

core::Status rebuild_index(const StoreOptions& options, MessageFiles& files,
                           const std::string& db_path, FsckReport& report) {
  // The new index hands out new UIDVALIDITY values that might meet an old key file's: the
  // caches go first (they are rebuilt on use).
  std::string cache_dir = db_path.substr(0, db_path.rfind('/')) + "/cache";
  for (const auto& f : stale_cache_files(cache_dir, nullptr, 0)) ::unlink(f.c_str());
  auto db = open_index(db_path, options);
  if (!db.is_ok()) return db.status();
  db::Sqlite& d = **db;
  auto s = create_schema(d);
  if (s.is_ok()) s = init_special_folders(d);
  if (!s.is_ok()) return s;
  std::vector<std::pair<int64_t, std::string>> by_time;
  for (auto& g : files.list()) by_time.emplace_back(mtime_of(files.path_for(g)), g);
  std::sort(by_time.begin(), by_time.end());
  db::Transaction tx(d);
  s = tx.begin();
  if (!s.is_ok()) return s;
  auto inbox = find_mailbox(d, "INBOX");
  if (!inbox.is_ok()) return inbox.status();
  MailboxRow row = *inbox;
  int64_t bytes = 0;
  for (auto& [when, guid] : by_time) {
    auto size = files.size_of(guid);
    if (!size.is_ok()) continue;
    uint32_t uid = row.uid_next++;
    uint64_t modseq = ++row.highest_modseq;
    s = d.prepare_or_abort("INSERT OR IGNORE INTO files(guid, size) VALUES (?, ?)")
            .bind(1, guid)
            .bind(2, static_cast<int64_t>(*size))
            .run();
    if (s.is_ok())
      s = d.prepare_or_abort(
               "INSERT INTO messages(mailbox_id, uid, modseq, guid, size, internal_date) "
               "VALUES (?, ?, ?, ?, ?, ?)")
              .bind(1, row.id)
              .bind(2, static_cast<int64_t>(uid))
              .bind(3, static_cast<int64_t>(modseq))
              .bind(4, guid)
              .bind(5, static_cast<int64_t>(*size))
              .bind(6, when)
              .run();
    if (!s.is_ok()) return s;
    bytes += static_cast<int64_t>(*size);
  }
  s = set_mailbox_counters(d, row);
  if (s.is_ok()) s = add_usage(d, bytes, static_cast<int64_t>(by_time.size()));
  if (s.is_ok()) s = tx.commit();
  if (!s.is_ok()) return s;
  report.index_rebuilt = true;
  report.repaired.push_back("index rebuilt from " + std::to_string(by_time.size()) +
                            " message files into INBOX");
  return core::Status::ok();
}

std::vector<std::string> list_store_accounts(const StoreOptions& options) {
  std::vector<std::string> out;
  DIR* d = ::opendir(options.root.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || !check_account_id(name).is_ok()) continue;
    if (file_exists(options.root + "/" + name + "/index.db") ||
        file_exists(options.root + "/" + name + "/msg"))
      out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// One fsck of one user, step by step (FORMAT.md "fsck"). Steps 2 to 4 run in one index
// transaction, committed only with repair and only when every repair statement succeeded.
struct FsckRun {
  const StoreOptions& options;
  const FsckOptions& opt;
  std::string dir;
  MessageFiles files;
  FsckReport report;
  db::Sqlite* db_ = nullptr;
  std::map<std::string, FileRow> rows;  // the index's files table
  std::vector<std::string> on_disk;     // message files in the directory
  core::Status failed;                  // the first failed repair statement
  core::Status refused;                 // an index this build must not touch (newer schema)

  FsckRun(const StoreOptions& o, const FsckOptions& f, const std::string& account_id)
      : options(o), opt(f), dir(o.root + "/" + account_id), files(dir, o.fsync) {
    report.account_id = account_id;
  }
  std::string db_path() const { return dir + "/index.db"; }
  void check(core::Status st) {
    if (!st.is_ok() && failed.is_ok()) failed = std::move(st);
  }

  // 1. The index itself: present, readable, intact, with its tables.
  bool index_needs_rebuild() {
    std::string db_path = this->db_path();
    bool need_rebuild = false;
    if (!file_exists(db_path)) {
      report.errors.push_back("index missing");
      need_rebuild = true;
    } else {
      auto db = open_index(db_path, options);
      if (!db.is_ok()) {
        report.errors.push_back("index cannot be opened: " + db.status().log_detail());
        need_rebuild = true;
      } else {
        auto q = (*db)->prepare_or_abort("PRAGMA integrity_check");
        core::Status err;
        std::string verdict = q.step(&err) ? q.text(0) : err.log_detail();
        q.reset();  // no statement in progress while create_schema() may migrate
        auto version = verdict == "ok" ? schema_version(**db) : core::Result<int64_t>(int64_t{0});
        if (verdict != "ok") {
          report.errors.push_back("index corrupt: " + verdict);
          need_rebuild = true;
        } else if (version.is_ok() && *version > kSchemaVersion) {
          // Written by a newer Mailroom: neither "repair" nor rebuild what this build cannot read.
          refused = newer_schema_error(*version);
        } else if (auto st = create_schema(**db); !st.is_ok()) {
          // Tables missing (a crash while the index was first created): recreated above when
          // possible; otherwise the index is unusable.
          report.errors.push_back("index schema unusable: " + st.log_detail());
          need_rebuild = true;
        }
      }
    }
    return need_rebuild;
  }

  // 1b. With repair: the broken index is set aside and rebuilt from the message files.
  core::Result<FsckReport> rebuild() {
    report.files = files.list().size();
    if (!opt.repair) return report;
    std::string db_path = this->db_path();
    std::string aside = db_path + ".broken-" + std::to_string(::time(nullptr));
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::string p = db_path + suffix;
      if (file_exists(p)) ::rename(p.c_str(), (aside + suffix).c_str());
    }
    auto s = rebuild_index(options, files, db_path, report);
    if (!s.is_ok()) return s;
    report.messages = report.files;
    return report;
  }

  // 2. Files the index names exist with the recorded size; rows of missing files are
  // expunged (clients see VANISHED, not a broken FETCH).
  void check_message_files() {
    db::Sqlite& db = *db_;
    {
      auto q = db.prepare_or_abort("SELECT guid, size FROM files");
      while (q.step()) rows[q.text(0)] = FileRow{static_cast<uint64_t>(q.i64(1))};
    }
    on_disk = files.list();
    report.files = on_disk.size();
    std::set<std::string> disk_set(on_disk.begin(), on_disk.end());
    std::vector<std::string> missing;
    for (auto& [guid, row] : rows) {
      auto size = files.size_of(guid);
      if (!size.is_ok()) {
        report.errors.push_back("message file missing: " + guid);
        missing.push_back(guid);
      } else if (*size != row.size) {
        report.errors.push_back("message file " + guid + " has " + std::to_string(*size) +
                                " octets, index says " + std::to_string(row.size));
        if (opt.repair) {
          check(db.prepare_or_abort("UPDATE files SET size=? WHERE guid=?")
                    .bind(1, static_cast<int64_t>(*size))
                    .bind(2, guid)
                    .run());
          check(db.prepare_or_abort("UPDATE messages SET size=? WHERE guid=?")
                    .bind(1, static_cast<int64_t>(*size))
                    .bind(2, guid)
                    .run());
          check(db.prepare_or_abort("UPDATE recalled SET size=? WHERE guid=?")
                    .bind(1, static_cast<int64_t>(*size))
                    .bind(2, guid)
                    .run());
          report.repaired.push_back("size of " + guid + " corrected");
        }
      }
    }
    // Message rows and recalled copies (which reference files the same way) whose guid has no
    // files row.
    {
      auto q = db.prepare_or_abort(
          "SELECT DISTINCT r.guid FROM (SELECT guid FROM messages UNION SELECT guid FROM recalled) "
          "r LEFT JOIN files f ON f.guid=r.guid WHERE f.guid IS NULL");
      std::vector<std::string> dangling;
      while (q.step()) dangling.push_back(q.text(0));
      q.reset();
      for (auto& g : dangling) {
        report.errors.push_back("message or recalled row without file row: " + g);
        auto size = files.size_of(g);
        if (size.is_ok() && opt.repair) {
          check(db.prepare_or_abort("INSERT INTO files(guid, size) VALUES (?, ?)")
                    .bind(1, g)
                    .bind(2, static_cast<int64_t>(*size))
                    .run());
          check(db.prepare_or_abort("UPDATE messages SET size=? WHERE guid=?")
                    .bind(1, static_cast<int64_t>(*size))
                    .bind(2, g)
                    .run());
          check(db.prepare_or_abort("UPDATE recalled SET size=? WHERE guid=?")
                    .bind(1, static_cast<int64_t>(*size))
                    .bind(2, g)
                    .run());
          report.repaired.push_back("file row of " + g + " restored");
        } else if (!size.is_ok()) {
          missing.push_back(g);
        }
      }
    }
    if (opt.repair) {
      for (auto& g : missing) {
        // The message is gone: expunge its rows so clients see VANISHED, not a broken FETCH.
        std::vector<std::pair<int64_t, int64_t>> victims;
        {
          auto q = db.prepare_or_abort("SELECT mailbox_id, uid FROM messages WHERE guid=?");
          q.bind(1, g);
          while (q.step()) victims.emplace_back(q.i64(0), q.i64(1));
        }
        for (auto& [box, uid] : victims) {
          check(
              db.prepare_or_abort("UPDATE mailboxes SET highest_modseq=highest_modseq+1 WHERE id=?")
                  .bind(1, box)
                  .run());
          check(db.prepare_or_abort("INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq) "
                                    "SELECT ?, ?, highest_modseq FROM mailboxes WHERE id=?")
                    .bind(1, box)
                    .bind(2, uid)
                    .bind(3, box)
                    .run());
          check(db.prepare_or_abort("DELETE FROM messages WHERE mailbox_id=? AND uid=?")
                    .bind(1, box)
                    .bind(2, uid)
                    .run());
        }
        // Recalled copies of it can never be restored: gone too.
        check(db.prepare_or_abort("DELETE FROM recalled WHERE guid=?").bind(1, g).run());
        check(db.prepare_or_abort("DELETE FROM files WHERE guid=?").bind(1, g).run());
        report.repaired.push_back("rows of missing file " + g + " expunged");
      }
    }
  }

  // 3. Per-mailbox counters: UIDs never reused, MODSEQ never behind a row.
  void check_mailbox_counters() {
    db::Sqlite& db = *db_;
    {
      auto q = db.prepare_or_abort(
          "SELECT b.id, b.name, b.uid_next, b.highest_modseq, "
          "max(coalesce((SELECT max(uid) FROM messages m WHERE m.mailbox_id=b.id),0), "
          "    coalesce((SELECT max(uid) FROM expunged e WHERE e.mailbox_id=b.id),0)), "
          "max(coalesce((SELECT max(modseq) FROM messages m WHERE m.mailbox_id=b.id),0), "
          "    coalesce((SELECT max(modseq) FROM expunged e WHERE e.mailbox_id=b.id),0)) "
          "FROM mailboxes b");
      std::vector<MailboxRow> fixes;
      while (q.step()) {
        MailboxRow r;
        r.id = q.i64(0);
        r.name = q.text(1);
        r.uid_next = static_cast<uint32_t>(q.i64(2));
        r.highest_modseq = static_cast<uint64_t>(q.i64(3));
        auto max_uid = static_cast<uint32_t>(q.i64(4));
        auto max_modseq = static_cast<uint64_t>(q.i64(5));
        bool bad = false;
        if (r.uid_next <= max_uid) {
          report.errors.push_back("mailbox " + r.name + ": UIDNEXT " + std::to_string(r.uid_next) +
                                  " not above UID " + std::to_string(max_uid));
          r.uid_next = max_uid + 1;
          bad = true;
        }
        if (r.highest_modseq < max_modseq) {
          report.errors.push_back("mailbox " + r.name + ": HIGHESTMODSEQ behind a message");
          r.highest_modseq = max_modseq;
          bad = true;
        }
        if (bad) fixes.push_back(r);
      }
      q.reset();
      if (opt.repair)
        for (auto& r : fixes) {
          check(set_mailbox_counters(db, r));
          report.repaired.push_back("counters of mailbox " + r.name + " corrected");
        }
    }
  }

  // 3b. Messages whose mailbox is gone: re-homed in INBOX with fresh UIDs.
  void rehome_lost_messages() {
    db::Sqlite& db = *db_;
    {
      auto q = db.prepare_or_abort(
          "SELECT count(*) FROM messages m LEFT JOIN mailboxes b ON b.id=m.mailbox_id WHERE b.id "
          "IS "
          "NULL");
      if (q.step() && q.i64(0) > 0) {
        report.errors.push_back(std::to_string(q.i64(0)) + " messages in no mailbox");
        q.reset();
        if (opt.repair) {
          auto inbox = find_mailbox(db, "INBOX");
          if (inbox.is_ok()) {
            // Re-home them in INBOX with fresh UIDs.
            std::vector<std::pair<int64_t, int64_t>> lost;
            auto l = db.prepare_or_abort(
                "SELECT m.mailbox_id, m.uid FROM messages m LEFT JOIN mailboxes b ON "
                "b.id=m.mailbox_id WHERE b.id IS NULL");
            while (l.step()) lost.emplace_back(l.i64(0), l.i64(1));
            l.reset();
            MailboxRow row = *inbox;
            for (auto& [box, uid] : lost) {
              check(db.prepare_or_abort(
                          "UPDATE messages SET mailbox_id=?, uid=?, modseq=? WHERE mailbox_id=? "
                          "AND uid=?")
                        .bind(1, row.id)
                        .bind(2, static_cast<int64_t>(row.uid_next++))
                        .bind(3, static_cast<int64_t>(++row.highest_modseq))
                        .bind(4, box)
                        .bind(5, uid)
                        .run());
            }
            check(set_mailbox_counters(db, row));
            report.repaired.push_back("messages without mailbox moved to INBOX");
          }
        }
      }
    }
  }

  // 4. Quota usage is exact. Copies in the recall area do not count (FORMAT.md "Quota").
  void check_usage() {
    db::Sqlite& db = *db_;
    {
      auto q = db.prepare_or_abort("SELECT coalesce(sum(size),0), count(*) FROM messages");
      q.step();
      auto bytes = static_cast<uint64_t>(q.i64(0));
      auto count = static_cast<uint64_t>(q.i64(1));
      q.reset();
      report.messages = count;
      auto usage = read_usage(db);
      if (usage.is_ok() && (usage->bytes != bytes || usage->messages != count)) {
        report.errors.push_back("quota usage " + std::to_string(usage->bytes) + "/" +
                                std::to_string(usage->messages) + " but messages hold " +
                                std::to_string(bytes) + "/" + std::to_string(count));
        if (opt.repair) {
          check(db.prepare_or_abort("UPDATE meta SET value=? WHERE key='usage_bytes'")
                    .bind(1, static_cast<int64_t>(bytes))
                    .run());
          check(db.prepare_or_abort("UPDATE meta SET value=? WHERE key='usage_messages'")
                    .bind(1, static_cast<int64_t>(count))
                    .run());
          report.repaired.push_back("quota usage recomputed");
        }
      }
    }
  }

  // 5. Garbage: files nobody references (an append that was never acknowledged, or an
  // expunge interrupted after its commit) and tmp/ leftovers. Runs after the transaction.
  void collect_garbage() {
    db::Sqlite& db = *db_;
    int64_t now = ::time(nullptr);
    for (auto& g : on_disk) {
      if (rows.count(g)) continue;
      if (now - mtime_of(files.path_for(g)) < opt.min_orphan_age_seconds) continue;
      // Re-check under the current index: a concurrent append may have committed it.
      auto q = db.prepare_or_abort("SELECT 1 FROM files WHERE guid=?");
      q.bind(1, g);
      if (q.step()) continue;
      q.reset();
      ++report.orphan_files;
      if (opt.repair) files.remove(g);
    }
    for (auto& t : files.list_tmp(opt.min_orphan_age_seconds)) {
      ++report.tmp_files;
      if (opt.repair) ::unlink((dir + "/tmp/" + t).c_str());
    }
    // Sort key files of mailboxes that are gone (deleted; a rename keeps the UIDVALIDITY and
    // so its file).
    std::set<uint32_t> live;
    {
      auto q = db.prepare_or_abort("SELECT uid_validity FROM mailboxes");
      while (q.step()) live.insert(static_cast<uint32_t>(q.i64(0)));
    }
    for (const auto& f : stale_cache_files(dir + "/cache", &live, opt.min_orphan_age_seconds)) {
      ++report.stale_cache_files;
      if (opt.repair) ::unlink(f.c_str());
    }
    if (opt.repair && report.stale_cache_files)
      report.repaired.push_back("removed " + std::to_string(report.stale_cache_files) +
                                " stale sort key files");
    if (opt.repair && (report.orphan_files || report.tmp_files))
      report.repaired.push_back("removed " + std::to_string(report.orphan_files) +
                                " unreferenced message files and " +
                                std::to_string(report.tmp_files) + " temporary files");
  }
};

}  // namespace

core::Result<FsckReport> fsck_user(const StoreOptions& options, const std::string& account_id,
                                   const FsckOptions& opt) {
  auto ok = check_account_id(account_id);
  if (!ok.is_ok()) return ok;
  FsckRun run(options, opt, account_id);
  if (!file_exists(run.dir)) return core::not_found("no mail store for this account", run.dir);
  if (run.index_needs_rebuild()) return run.rebuild();
  if (!run.refused.is_ok()) return run.refused;

  auto dbr = open_index(run.db_path(), options);
  if (!dbr.is_ok()) return dbr.status();
  db::Sqlite& db = **dbr;
  run.db_ = &db;
  db::Transaction tx(db);
  auto s = tx.begin();
  if (!s.is_ok()) return s;
  run.check_message_files();
  run.check_mailbox_counters();
  run.rehome_lost_messages();
  run.check_usage();
  if (!run.failed.is_ok()) return run.failed;
  if (opt.repair) {
    s = tx.commit();
    if (!s.is_ok()) return s;
  } else {
    db.rollback();
  }
  run.collect_garbage();
  return run.report;
}

}  // namespace mailroom::store
