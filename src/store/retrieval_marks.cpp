// POP3 retrieval marks (RFC 1939 RETR/TOP; for mail recall): the per-session journal that a
// download appends to, its replay after a crash, and MailStore::mark_retrieved_batch, which
// applies marks to the index.
//
// Why a journal: a POP3 session records the mark before the message leaves. Committing it to
// the SQLite index per RETR cost a worker-pool round trip and a WAL commit per message, which
// made a download of small messages slower than Dovecot's. The session now appends one line per
// mark to its own journal file, `<user>/retrievals/<random>.journal` (FORMAT.md), with one
// write() on the I/O thread: in the page cache when the call returns, so it survives a crash of
// mailroomd (not a power loss). RetrievalJournal::sync() (every retrieval_sync_messages or
// retrieval_sync_ms, and before +OK to QUIT) fdatasyncs the journal and applies the new marks
// to the index in one transaction; close() makes the index durable and removes the journal.
// A journal whose session died with its process is found by its released flock(2) and
// replayed into the index when the store next opens that user, or by the user's next session.
//
// Index commits of marks run under synchronous=NORMAL: the journal (or a later sync_wal) is
// what makes them durable, and re-committing an unchanged row under FULL would write and sync
// nothing (SQLite does not dirty a page an UPDATE leaves unchanged).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <optional>

#include "src/core/log.h"
#include "src/core/metric_catalog.h"
#include "src/store/file_store.h"

namespace mailroom::store {

namespace {

constexpr std::string_view kJournalMagic = "mailroom-retrievals 1";
constexpr const char* kJournalDir = "/retrievals";
// A `.new` file (a journal being created) older than this belongs to no live session.
constexpr int64_t kStaleNewSeconds = 60;

Status journal_errno_status(const char* what, const std::string& path) {
  return core::io_error("mail store disk error", std::string("retrieval journal: ") + what + " " +
                                                     path + ": " + std::strerror(errno));
}

Status sync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return journal_errno_status("open", path);
  static metrics::Histogram& fsync_time = metrics::store_fsync("directory");
  int rc = metrics::timed(fsync_time, [fd] { return ::fsync(fd); });
  int err = errno;
  ::close(fd);
  errno = err;
  return rc == 0 ? Status::ok() : journal_errno_status("fsync", path);
}

using Marks = std::vector<std::pair<uint32_t, int64_t>>;

// Applies marks to the index; the caller holds the user's lock. A mark never moves a message's
// retrieved_at back in time (a replayed old journal cannot hide a newer retrieval), and
// messages no longer there are skipped. `sync`: the commit and every earlier one are durable.
Status apply_marks(db::Sqlite& db, const std::string& canonical_mailbox, const Marks& marks,
                   const std::string& client_ip, bool sync, bool fsync_enabled) {
  if (!marks.empty()) {
    auto box = find_mailbox(db, canonical_mailbox);
    if (!box.is_ok()) return box.code() == Code::not_found ? Status::ok() : box.status();
    // Without [store] fsync the connection runs synchronous=OFF: leave it alone.
    std::optional<RelaxedSync> relaxed;
    if (fsync_enabled) relaxed.emplace(db);
    db::Transaction t(db);
    Status s = t.begin();
    if (!s.is_ok()) return s;
    for (const auto& [uid, when] : marks) {
      // Not an IMAP-visible change: MODSEQ stays (FORMAT.md).
      s = db.prepare_or_abort(
                "UPDATE messages SET retrieved_at=?, retrieved_by=? "
                "WHERE mailbox_id=? AND uid=? AND retrieved_at<=?")
              .bind(1, when)
              .bind(2, client_ip)
              .bind(3, box->id)
              .bind(4, static_cast<int64_t>(uid))
              .bind(5, when)
              .run();
      if (!s.is_ok()) return s;
    }
    s = t.commit();
    if (!s.is_ok()) return s;
  }
  return sync && fsync_enabled ? db.sync_wal() : Status::ok();
}

// The header line: magic, mailbox (canonical; names never hold control characters) and client.
std::string journal_header(const std::string& mailbox, const std::string& client_ip) {
  std::string h(kJournalMagic);
  h += '\t';
  h += mailbox;
  h += '\t';
  h += client_ip;
  h += '\n';
  return h;
}

struct ParsedJournal {
  std::string mailbox;
  std::string client_ip;
  Marks marks;
  std::size_t bad_lines = 0;
};

// Parses a journal; a torn last line (no newline: the process died inside write()) is ignored.
std::optional<ParsedJournal> parse_journal(std::string_view text) {
  std::size_t eol = text.find('\n');
  if (eol == std::string_view::npos) return std::nullopt;
  std::string_view header = text.substr(0, eol);
  std::size_t t1 = header.find('\t');
  std::size_t t2 = t1 == std::string_view::npos ? t1 : header.find('\t', t1 + 1);
  if (t2 == std::string_view::npos || header.substr(0, t1) != kJournalMagic) return std::nullopt;
  ParsedJournal p;
  p.mailbox = std::string(header.substr(t1 + 1, t2 - t1 - 1));
  p.client_ip = std::string(header.substr(t2 + 1));
  text.remove_prefix(eol + 1);
  while ((eol = text.find('\n')) != std::string_view::npos) {
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol + 1);
    uint32_t uid = 0;
    int64_t when = 0;
    auto [p1, e1] = std::from_chars(line.data(), line.data() + line.size(), uid);
    bool ok = e1 == std::errc() && p1 < line.data() + line.size() && *p1 == ' ';
    if (ok) {
      auto [p2, e2] = std::from_chars(p1 + 1, line.data() + line.size(), when);
      ok = e2 == std::errc() && p2 == line.data() + line.size();
    }
    if (!ok) {
      ++p.bad_lines;
      continue;
    }
    p.marks.emplace_back(uid, when);
  }
  return p;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class FileRetrievalJournal final : public RetrievalJournal {
 public:
  FileRetrievalJournal(FileStore& store, std::string account_id, std::string mailbox,
                       std::string client_ip, int fd, std::string path, std::string dir,
                       bool created_dir)
      : store_(store),
        account_id_(std::move(account_id)),
        mailbox_(std::move(mailbox)),
        client_ip_(std::move(client_ip)),
        fd_(fd),
        path_(std::move(path)),
        dir_(std::move(dir)),
        created_dir_(created_dir) {}
  ~FileRetrievalJournal() override {
    // Without close() the file stays for replay; closing the descriptor releases the flock.
    if (fd_ >= 0) ::close(fd_);
  }

  Status append(uint32_t uid, int64_t when) override {
    if (fd_ < 0) return core::io_error("mail store error", "retrieval journal is closed");
    char line[48];
    auto [end, ec] = std::to_chars(line, line + 20, uid);
    *end++ = ' ';
    end = std::to_chars(end, line + sizeof line - 1, when).ptr;
    *end++ = '\n';
    std::size_t n = static_cast<std::size_t>(end - line);
    ssize_t w = ::write(fd_, line, n);  // O_APPEND: one line per call
    if (w != static_cast<ssize_t>(n)) {
      if (w >= 0) errno = ENOSPC;
      return journal_errno_status("write", path_);
    }
    pending_.emplace_back(uid, when);
    return Status::ok();
  }

  Status sync() override {
    if (fd_ < 0) return Status::ok();
    bool durable = store_.options().fsync;
    if (durable && !pending_.empty()) {
      static metrics::Histogram& fsync_time = metrics::store_fsync("journal");
      if (metrics::timed(fsync_time, [this] { return ::fdatasync(fd_); }) != 0) {
        return journal_errno_status("fdatasync", path_);
      }
    }
    if (durable && !dir_synced_ && !pending_.empty()) {
      // The journal's own name (and the directory's, if this session created it).
      Status s = sync_path(dir_);
      if (s.is_ok() && created_dir_) s = sync_path(dir_.substr(0, dir_.rfind('/')));
      if (!s.is_ok()) return s;
      dir_synced_ = true;
    }
    if (pending_.empty()) return Status::ok();
    Status s = store_.mark_retrieved_batch(account_id_, mailbox_, pending_, client_ip_, false);
    if (!s.is_ok()) return s;
    pending_.clear();
    index_unsynced_ = true;
    return Status::ok();
  }

  Status close() override {
    if (fd_ < 0) return Status::ok();
    if (!pending_.empty() || index_unsynced_) {
      // The index commit is fsync'd before the journal goes: a crash in between replays it.
      Status s = store_.mark_retrieved_batch(account_id_, mailbox_, pending_, client_ip_, true);
      if (!s.is_ok()) {
        ::close(fd_);  // the file stays and is replayed later
        fd_ = -1;
        return s;
      }
      pending_.clear();
      index_unsynced_ = false;
    }
    ::unlink(path_.c_str());
    ::close(fd_);
    fd_ = -1;
    return Status::ok();
  }

 private:
  FileStore& store_;
  std::string account_id_;
  std::string mailbox_;
  std::string client_ip_;
  int fd_;
  std::string path_;
  std::string dir_;
  bool created_dir_;
  bool dir_synced_ = false;
  bool index_unsynced_ = false;  // marks applied to the index without an fsync
  Marks pending_;                // appended, not yet applied to the index
};

}  // namespace

Status FileStore::mark_retrieved_batch(const std::string& account_id, const std::string& mailbox,
                                       const std::vector<std::pair<uint32_t, int64_t>>& marks,
                                       const std::string& client_ip, bool sync) {
  if (marks.empty() && !sync) return Status::ok();
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto h = hold_user(account_id);
  if (!h.is_ok()) return h.status();
  return apply_marks(h->db(), *name, marks, client_ip, sync, options_.fsync);
}

void FileStore::replay_retrieval_journals(UserIndex& u) {
  std::string dir = u.files.dir() + kJournalDir;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;  // no POP3 session ever: nothing to replay
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (ends_with(n, ".journal") || ends_with(n, ".new")) names.emplace_back(n);
  }
  ::closedir(d);
  for (const std::string& n : names) {
    std::string path = dir + "/" + n;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {  // a live session owns it
      ::close(fd);
      continue;
    }
    if (ends_with(n, ".new")) {  // creation interrupted before any mark was written
      struct stat st {};
      if (::fstat(fd, &st) == 0 && st.st_mtime + kStaleNewSeconds < std::time(nullptr)) {
        ::unlink(path.c_str());
      }
      ::close(fd);
      continue;
    }
    std::string text;
    char buf[65536];
    ssize_t r;
    while ((r = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(r));
    std::optional<ParsedJournal> p = parse_journal(text);
    Status s;
    if (p) {
      std::lock_guard<std::mutex> lk(u.mu);
      s = apply_marks(*u.db, p->mailbox, p->marks, p->client_ip, true, options_.fsync);
    }
    if (!p || p->bad_lines > 0) {
      MR_LOG_WARN("event=store_retrieval_journal_damaged account={} file={} bad_lines={}", u.id, n,
                  p ? p->bad_lines : 0);
    }
    if (s.is_ok()) {
      MR_LOG_INFO("event=store_retrieval_journal_replayed account={} file={} marks={}", u.id, n,
                  p ? p->marks.size() : 0);
      ::unlink(path.c_str());
    } else {
      MR_LOG_WARN("event=store_retrieval_journal_replay_failed account={} file={} status={}", u.id,
                  n, core::quote(s.to_string()));
    }
    ::close(fd);
  }
}

JournalMarks FileStore::journal_marks(UserIndex& u) {
  JournalMarks out;
  std::string dir = u.files.dir() + kJournalDir;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (ends_with(n, ".journal")) names.emplace_back(n);
  }
  ::closedir(d);
  for (const std::string& n : names) {
    int fd = ::open((dir + "/" + n).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // closed (and applied) meanwhile
    std::string text;
    char buf[65536];
    ssize_t r;
    while ((r = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(r));
    ::close(fd);
    std::optional<ParsedJournal> p = parse_journal(text);
    if (!p) continue;
    for (const auto& [uid, when] : p->marks) {
      auto& slot = out[{p->mailbox, uid}];
      if (when >= slot.first) slot = {when, p->client_ip};
    }
  }
  return out;
}

Result<std::unique_ptr<RetrievalJournal>> FileStore::open_retrieval_journal(
    const std::string& account_id, const std::string& mailbox, const std::string& client_ip) {
  auto name = canonical(mailbox);
  if (!name.is_ok()) return name.status();
  auto u = user(account_id);
  if (!u.is_ok()) return u.status();
  // Marks of an earlier session that died with its process go to the index first.
  replay_retrieval_journals(**u);
  std::string dir = (*u)->files.dir() + kJournalDir;
  bool created_dir = ::mkdir(dir.c_str(), 0700) == 0;
  if (!created_dir && errno != EEXIST) return journal_errno_status("mkdir", dir);
  // Created under a `.new` name and renamed once locked and headed, so a replay never sees
  // a journal without its header or its lock.
  std::string base = dir + "/" + new_guid();
  std::string fresh = base + ".new";
  int fd = ::open(fresh.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return journal_errno_status("create", fresh);
  std::string header = journal_header(*name, client_ip);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 ||
      ::write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size()) ||
      ::rename(fresh.c_str(), (base + ".journal").c_str()) != 0) {
    Status s = journal_errno_status("create", fresh);
    ::unlink(fresh.c_str());
    ::close(fd);
    return s;
  }
  return std::unique_ptr<RetrievalJournal>(std::make_unique<FileRetrievalJournal>(
      *this, account_id, *name, client_ip, fd, base + ".journal", dir, created_dir));
}

}  // namespace mailroom::store
