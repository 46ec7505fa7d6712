#include "tests/unit/store/fault_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace mailroom::store::testing {

struct FaultVfs::State {
  sqlite3_vfs vfs{};
  sqlite3_vfs* base = nullptr;
  mutable std::mutex mu;
  struct Image {
    bool durable = false;  // the file exists on the "disk", holding `content`
    std::string content;
    bool dirty = false;  // written or truncated since the last sync
  };
  std::map<std::string, Image> files;  // watched: main databases and WAL files
  bool frozen = false;                 // power_cut() happened: nothing changes `files`
  bool ignore_syncs = false;
  size_t syncs = 0;
};

namespace {

using State = FaultVfs::State;

// What SQLite allocates for a file (the VFS's szOsFile): this, then the base VFS's file.
struct File {
  sqlite3_file base;  // pMethods: kMethods, or null when the open failed
  State* state;
  const char* path;  // watched files only (else null); valid until xClose (sqlite3_vfs)
  sqlite3_file* real;
};

constexpr size_t kRealOffset = (sizeof(File) + 15) & ~size_t{15};

File* wrapped(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* real(sqlite3_file* f) { return wrapped(f)->real; }
State* state_of(sqlite3_vfs* v) { return static_cast<State*>(v->pAppData); }
sqlite3_vfs* base(sqlite3_vfs* v) { return state_of(v)->base; }

// The whole current content of an open file, read through the base VFS.
int read_all(sqlite3_file* r, std::string* out) {
  sqlite3_int64 size = 0;
  int rc = r->pMethods->xFileSize(r, &size);
  if (rc != SQLITE_OK) return rc;
  out->assign(static_cast<size_t>(size), '\0');
  if (size == 0) return SQLITE_OK;
  return r->pMethods->xRead(r, out->data(), static_cast<int>(size), 0);
}

// Writing a file back in drop_unsynced() must work, or the simulation would be wrong.
void write_all_or_die(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 && errno == ENOENT) return;  // its directory is gone (FaultInjectingFs): so is it
  size_t done = 0;
  while (fd >= 0 && done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (fd < 0 || done != data.size()) std::abort();
  ::close(fd);
}

void mark_dirty(sqlite3_file* f) {
  File* w = wrapped(f);
  if (w->path == nullptr) return;
  std::lock_guard<std::mutex> lk(w->state->mu);
  if (!w->state->frozen) w->state->files[w->path].dirty = true;
}

// --- sqlite3_io_methods: forwarded to the base VFS's file ---

int x_close(sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); }
int x_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return real(f)->pMethods->xRead(real(f), buf, n, off);
}
int x_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  mark_dirty(f);
  return real(f)->pMethods->xWrite(real(f), buf, n, off);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  mark_dirty(f);
  return real(f)->pMethods->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  File* w = wrapped(f);
  {
    std::lock_guard<std::mutex> lk(w->state->mu);
    if (w->state->ignore_syncs) return SQLITE_OK;  // acknowledged, never done
  }
  int rc = real(f)->pMethods->xSync(real(f), flags);
  if (rc != SQLITE_OK || w->path == nullptr) return rc;
  std::string content;
  rc = read_all(real(f), &content);
  if (rc != SQLITE_OK) return rc;
  std::lock_guard<std::mutex> lk(w->state->mu);
  ++w->state->syncs;
  if (!w->state->frozen) w->state->files[w->path] = State::Image{true, std::move(content), false};
  return SQLITE_OK;
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real(f)->pMethods->xFileSize(real(f), size);
}
int x_lock(sqlite3_file* f, int level) { return real(f)->pMethods->xLock(real(f), level); }
int x_unlock(sqlite3_file* f, int level) { return real(f)->pMethods->xUnlock(real(f), level); }
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int x_sector_size(sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); }
int x_device_characteristics(sqlite3_file* f) {
  return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int x_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); }
int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real(f)->pMethods->xShmUnmap(real(f), delete_flag);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return real(f)->pMethods->xFetch(real(f), off, n, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return real(f)->pMethods->xUnfetch(real(f), off, p);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

// --- sqlite3_vfs ---

int x_open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  State* st = state_of(v);
  File* w = wrapped(f);
  w->state = st;
  w->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kRealOffset);
  w->real->pMethods = nullptr;
  const bool watch = name != nullptr && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
  w->path = watch ? name : nullptr;
  struct stat sb {};
  const bool existed = watch && ::stat(name, &sb) == 0;
  int rc = st->base->xOpen(st->base, name, w->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite calls xClose after a failed open only when pMethods is set: mirror the base.
    w->base.pMethods = w->real->pMethods ? &kMethods : nullptr;
    return rc;
  }
  w->base.pMethods = &kMethods;
  if (!watch) return SQLITE_OK;
  std::string content;
  if (existed && (rc = read_all(w->real, &content)) != SQLITE_OK) return rc;
  std::lock_guard<std::mutex> lk(st->mu);
  // A file that was there before it was first opened counts as synced as it was.
  if (!st->frozen && st->files.count(name) == 0) {
    st->files[name] = State::Image{existed, std::move(content), false};
  }
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  int rc = base(v)->xDelete(base(v), name, sync_dir);
  State* st = state_of(v);
  std::lock_guard<std::mutex> lk(st->mu);
  if (!st->frozen && (rc == SQLITE_OK || rc == SQLITE_IOERR_DELETE_NOENT)) st->files.erase(name);
  return rc;
}
int x_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return base(v)->xAccess(base(v), name, flags, out);
}
int x_full_pathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return base(v)->xFullPathname(base(v), name, n, out);
}
void* x_dl_open(sqlite3_vfs* v, const char* name) { return base(v)->xDlOpen(base(v), name); }
void x_dl_error(sqlite3_vfs* v, int n, char* out) { base(v)->xDlError(base(v), n, out); }
void (*x_dl_sym(sqlite3_vfs* v, void* h, const char* sym))(void) {
  return base(v)->xDlSym(base(v), h, sym);
}
void x_dl_close(sqlite3_vfs* v, void* h) { base(v)->xDlClose(base(v), h); }
int x_randomness(sqlite3_vfs* v, int n, char* out) { return base(v)->xRandomness(base(v), n, out); }
int x_sleep(sqlite3_vfs* v, int us) { return base(v)->xSleep(base(v), us); }
int x_current_time(sqlite3_vfs* v, double* out) { return base(v)->xCurrentTime(base(v), out); }
int x_get_last_error(sqlite3_vfs* v, int n, char* out) {
  return base(v)->xGetLastError(base(v), n, out);
}
int x_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
  return base(v)->xCurrentTimeInt64(base(v), out);
}
int x_set_system_call(sqlite3_vfs* v, const char* name, sqlite3_syscall_ptr p) {
  return base(v)->xSetSystemCall(base(v), name, p);
}
sqlite3_syscall_ptr x_get_system_call(sqlite3_vfs* v, const char* name) {
  return base(v)->xGetSystemCall(base(v), name);
}
const char* x_next_system_call(sqlite3_vfs* v, const char* name) {
  return base(v)->xNextSystemCall(base(v), name);
}

bool ends_with(const std::string& s, const char* suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

FaultVfs::FaultVfs(std::string name) : name_(std::move(name)), state_(std::make_unique<State>()) {
  State* st = state_.get();
  st->base = sqlite3_vfs_find(nullptr);
  if (st->base == nullptr || st->base->iVersion < 3) std::abort();
  sqlite3_vfs& v = st->vfs;
  v.iVersion = 3;
  v.szOsFile = static_cast<int>(kRealOffset) + st->base->szOsFile;
  v.mxPathname = st->base->mxPathname;
  v.zName = name_.c_str();
  v.pAppData = st;
  v.xOpen = x_open;
  v.xDelete = x_delete;
  v.xAccess = x_access;
  v.xFullPathname = x_full_pathname;
  v.xDlOpen = x_dl_open;
  v.xDlError = x_dl_error;
  v.xDlSym = x_dl_sym;
  v.xDlClose = x_dl_close;
  v.xRandomness = x_randomness;
  v.xSleep = x_sleep;
  v.xCurrentTime = x_current_time;
  v.xGetLastError = x_get_last_error;
  v.xCurrentTimeInt64 = x_current_time_int64;
  v.xSetSystemCall = x_set_system_call;
  v.xGetSystemCall = x_get_system_call;
  v.xNextSystemCall = x_next_system_call;
  if (sqlite3_vfs_register(&v, 0) != SQLITE_OK) std::abort();
}

FaultVfs::~FaultVfs() { sqlite3_vfs_unregister(&state_->vfs); }

void FaultVfs::set_ignore_syncs(bool ignore) {
  std::lock_guard<std::mutex> lk(state_->mu);
  state_->ignore_syncs = ignore;
}

void FaultVfs::power_cut() {
  std::lock_guard<std::mutex> lk(state_->mu);
  state_->frozen = true;
}

void FaultVfs::drop_unsynced() {
  std::lock_guard<std::mutex> lk(state_->mu);
  std::map<std::string, State::Image> kept;
  for (auto& [path, image] : state_->files) {
    if (image.durable) {
      write_all_or_die(path, image.content);
      kept[path] = State::Image{true, std::move(image.content), false};
    } else {
      ::unlink(path.c_str());
    }
    // The shared-memory index of a WAL database: rebuilt from the WAL at the next open.
    if (!ends_with(path, "-wal")) ::unlink((path + "-shm").c_str());
  }
  state_->files = std::move(kept);
  state_->frozen = false;
}

size_t FaultVfs::syncs() const {
  std::lock_guard<std::mutex> lk(state_->mu);
  return state_->syncs;
}

size_t FaultVfs::unsynced_files() const {
  std::lock_guard<std::mutex> lk(state_->mu);
  size_t n = 0;
  for (const auto& [path, image] : state_->files) n += image.dirty ? 1 : 0;
  return n;
}

}  // namespace mailroom::store::testing
