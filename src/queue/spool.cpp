// Spool segments, group commit and the state journal (format in spool.h).
#include "src/queue/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "src/core/log.h"

namespace mailroom::queue {
namespace {

constexpr char kMagic[4] = {'M', 'R', 'Q', '1'};
constexpr size_t kHeaderSize = 4 + 4 + 4 + 8 + 4;

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

void put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t get32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
uint64_t get64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

core::Status errno_status(const std::string& what) {
  return core::io_error("spool write failed", what + ": " + std::strerror(errno));
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool read_file(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return false;
  }
  out->resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out->size()) {
    ssize_t n = ::read(fd, out->data() + got, out->size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out->resize(got);
  ::close(fd);
  return true;
}

core::Status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status("open " + dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return errno_status("fsync " + dir);
  return core::Status::ok();
}

std::string segment_name(uint64_t seq) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "seg-%016llx.log", static_cast<unsigned long long>(seq));
  return buf;
}

// Parses records from the start of a segment; returns the length of the valid prefix.
size_t parse_segment(const std::string& data,
                     const std::function<void(SpoolRecord&&, uint64_t message_offset)>& emit) {
  size_t pos = 0;
  while (pos + kHeaderSize <= data.size()) {
    const char* h = data.data() + pos;
    if (std::memcmp(h, kMagic, 4) != 0) break;
    uint32_t id_len = get32(h + 4), env_len = get32(h + 8);
    uint64_t msg_len = get64(h + 12);
    uint32_t crc = get32(h + 20);
    uint64_t body = uint64_t{id_len} + env_len + msg_len;
    if (body > data.size() - pos - kHeaderSize) break;  // torn record
    const char* b = h + kHeaderSize;
    if (crc32(b, static_cast<size_t>(body)) != crc) break;
    SpoolRecord r;
    r.queue_id.assign(b, id_len);
    r.envelope.assign(b + id_len, env_len);
    r.message.assign(b + id_len + env_len, static_cast<size_t>(msg_len));
    uint64_t message_offset = pos + kHeaderSize + id_len + env_len;
    pos += kHeaderSize + static_cast<size_t>(body);
    emit(std::move(r), message_offset);
  }
  return pos;
}

// Applies complete journal lines; a torn last line is ignored.
void apply_journal(const std::string& journal, const std::map<std::string, size_t>& index,
                   std::vector<SpoolRecord>* recovered) {
  size_t pos = 0;
  while (true) {
    size_t nl = journal.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string line = journal.substr(pos, nl - pos);
    pos = nl + 1;
    char id[128];
    unsigned idx = 0, state = 0;
    if (std::sscanf(line.c_str(), "%127s %u %u", id, &idx, &state) != 3) continue;
    auto it = index.find(id);
    if (it != index.end()) (*recovered)[it->second].states[idx] = static_cast<uint8_t>(state);
  }
}

std::set<uint64_t> list_segments(const std::string& dir) {
  std::set<uint64_t> seqs;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return seqs;
  while (auto* e = ::readdir(d)) {
    unsigned long long seq = 0;
    char tail[8] = {};
    if (std::sscanf(e->d_name, "seg-%16llx.%4s", &seq, tail) == 2 &&
        std::strcmp(tail, "log") == 0) {
      seqs.insert(seq);
    }
  }
  ::closedir(d);
  return seqs;
}

}  // namespace

core::Status read_spool(const std::string& dir, std::vector<SpoolRecord>* out) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return core::Status::ok();  // no spool yet: empty
  std::map<std::string, size_t> index;
  for (uint64_t seq : list_segments(dir)) {
    std::string data;
    if (!read_file(dir + "/" + segment_name(seq), &data)) continue;  // deleted meanwhile
    parse_segment(data, [&](SpoolRecord&& r, uint64_t) {
      if (index.count(r.queue_id)) return;
      index[r.queue_id] = out->size();
      out->push_back(std::move(r));
    });
  }
  std::string journal;
  read_file(dir + "/state.log", &journal);
  apply_journal(journal, index, out);
  return core::Status::ok();
}

uint32_t crc32(const void* data, size_t size, uint32_t crc) {
  static const auto table = make_crc_table();
  crc = ~crc;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

Spool::Spool(SpoolOptions options) : options_(std::move(options)) {}

Spool::~Spool() { close(); }

core::Status Spool::open(std::vector<SpoolRecord>* recovered) {
  ::mkdir(options_.dir.c_str(), 0700);
  struct stat st {};
  if (::stat(options_.dir.c_str(), &st) != 0) return errno_status("stat " + options_.dir);
  std::set<uint64_t> seqs = list_segments(options_.dir);
  std::map<std::string, size_t> index;  // queue id -> position in *recovered
  for (uint64_t seq : seqs) {
    Segment seg;
    seg.path = options_.dir + "/" + segment_name(seq);
    std::string data;
    if (!read_file(seg.path, &data)) return errno_status("read " + seg.path);
    size_t pos = parse_segment(data, [&](SpoolRecord&& r, uint64_t offset) {
      if (index.count(r.queue_id)) return;  // duplicate id: keep the first
      index[r.queue_id] = recovered->size();
      message_segment_[r.queue_id] = Location{seq, offset, r.message.size()};
      ++seg.live;
      recovered->push_back(std::move(r));
    });
    if (pos != data.size()) {
      MR_LOG_WARN("event=spool_torn_tail segment={} valid_bytes={} file_bytes={}", seg.path, pos,
                  data.size());
    }
    segments_[seq] = std::move(seg);
  }

  // Journal: apply complete lines, then rewrite it with the lines of live messages only.
  std::string journal_path = options_.dir + "/state.log";
  std::string journal;
  read_file(journal_path, &journal);
  apply_journal(journal, index, recovered);
  std::string compact;
  for (const auto& r : *recovered) {
    for (const auto& [idx, state] : r.states) {
      compact += r.queue_id + " " + std::to_string(idx) + " " + std::to_string(state) + "\n";
    }
  }
  std::string tmp = journal_path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno_status("open " + tmp);
  bool ok = write_all(fd, compact.data(), compact.size()) && (!options_.fsync || ::fsync(fd) == 0);
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), journal_path.c_str()) != 0) return errno_status("write " + tmp);
  journal_fd_ = ::open(journal_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (journal_fd_ < 0) return errno_status("open " + journal_path);
  if (options_.fsync) {
    if (auto s = sync_dir(options_.dir); !s) return s;
  }

  // Segments without live messages are garbage.
  for (auto it = segments_.begin(); it != segments_.end();) {
    if (it->second.live == 0) {
      ::unlink(it->second.path.c_str());
      it = segments_.erase(it);
    } else {
      ++it;
    }
  }
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  current_seq_ =
      std::max<uint64_t>(static_cast<uint64_t>(now), seqs.empty() ? 0 : *seqs.rbegin() + 1);
  opened_ = true;
  commit_thread_ = std::thread([this] { commit_loop(); });
  return core::Status::ok();
}

void Spool::close() {
  {
    std::lock_guard lock(mu_);
    if (!opened_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (commit_thread_.joinable()) commit_thread_.join();
  std::vector<Pending> left;
  {
    std::lock_guard lock(mu_);
    left.swap(pending_);
    opened_ = false;
  }
  for (auto& p : left) p.done(core::unavailable("server shutting down"));
  if (current_fd_ >= 0) ::close(current_fd_);
  current_fd_ = -1;
  if (journal_fd_ >= 0) ::close(journal_fd_);
  journal_fd_ = -1;
}

void Spool::append(std::string queue_id, std::string envelope, std::string message, Done done) {
  {
    std::lock_guard lock(mu_);
    if (opened_ && !stopping_) {
      pending_.push_back(
          {std::move(queue_id), std::move(envelope), std::move(message), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(core::unavailable("spool is not open"));
}

void Spool::commit_loop() {
  while (true) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping with nothing to do
      batch.swap(pending_);
    }
    core::Status s = write_batch(batch);
    if (!s)
      MR_LOG_ERROR("event=spool_commit_failed records={} detail={}", batch.size(),
                   core::quote(s.log_detail()));
    for (auto& p : batch) p.done(s);
  }
}

core::Status Spool::open_new_segment() {
  if (current_fd_ >= 0) {
    ::close(current_fd_);
    current_fd_ = -1;
    std::lock_guard lock(mu_);
    auto it = segments_.find(current_seq_);
    if (it != segments_.end()) it->second.current = false;
    maybe_delete_segment(current_seq_);
    ++current_seq_;
  }
  std::string path = options_.dir + "/" + segment_name(current_seq_);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return errno_status("create " + path);
  // The new name must be durable before any record in it is acknowledged.
  if (options_.fsync) {
    if (auto s = sync_dir(options_.dir); !s) {
      ::close(fd);
      ::unlink(path.c_str());
      return s;
    }
  }
  current_fd_ = fd;
  current_size_ = 0;
  std::lock_guard lock(mu_);
  segments_[current_seq_] = Segment{path, 0, true};
  return core::Status::ok();
}

core::Status Spool::write_batch(std::vector<Pending>& batch) {
  bool rotate = current_fd_ < 0 || current_size_ >= options_.segment_bytes;
  if (!rotate && current_size_ >= (4u << 20)) {
    // Everything in the current segment is delivered: start afresh so its space is freed.
    std::lock_guard lock(mu_);
    rotate = segments_[current_seq_].live == 0;
  }
  if (rotate) {
    if (auto s = open_new_segment(); !s) return s;
  }
  uint64_t start_size = current_size_;
  std::string header;
  std::vector<uint64_t> offsets;
  for (const auto& p : batch) {
    header.assign(kHeaderSize, '\0');
    std::memcpy(header.data(), kMagic, 4);
    put32(header.data() + 4, static_cast<uint32_t>(p.queue_id.size()));
    put32(header.data() + 8, static_cast<uint32_t>(p.envelope.size()));
    put64(header.data() + 12, p.message.size());
    uint32_t crc = crc32(p.queue_id.data(), p.queue_id.size());
    crc = crc32(p.envelope.data(), p.envelope.size(), crc);
    crc = crc32(p.message.data(), p.message.size(), crc);
    put32(header.data() + 20, crc);
    header += p.queue_id;
    header += p.envelope;
    if (!write_all(current_fd_, header.data(), header.size()) ||
        !write_all(current_fd_, p.message.data(), p.message.size())) {
      auto s = errno_status("write segment");
      // Never leave a torn record in front of later ones: cut back and start a new segment.
      if (::ftruncate(current_fd_, static_cast<off_t>(start_size)) != 0) {
        MR_LOG_ERROR("event=spool_truncate_failed");
      }
      current_size_ = options_.segment_bytes;  // forces a new segment next time
      return s;
    }
    offsets.push_back(current_size_ + header.size());
    current_size_ += header.size() + p.message.size();
  }
  if (options_.fsync && ::fdatasync(current_fd_) != 0) {
    auto s = errno_status("fdatasync segment");
    if (::ftruncate(current_fd_, static_cast<off_t>(start_size)) != 0) {
      MR_LOG_ERROR("event=spool_truncate_failed");
    }
    current_size_ = options_.segment_bytes;
    return s;
  }
  std::string path;
  {
    std::lock_guard lock(mu_);
    ++syncs_;
    records_ += batch.size();
    auto& seg = segments_[current_seq_];
    seg.live += batch.size();
    path = seg.path;
    for (size_t i = 0; i < batch.size(); ++i) {
      message_segment_[batch[i].queue_id] =
          Location{current_seq_, offsets[i], batch[i].message.size()};
    }
  }
  if (options_.on_synced) options_.on_synced(path, current_size_);
  return core::Status::ok();
}

core::Status Spool::set_state(const std::string& queue_id, uint32_t index, uint8_t state) {
  std::string line = queue_id + " " + std::to_string(index) + " " + std::to_string(state) + "\n";
  std::lock_guard lock(journal_mu_);
  if (journal_fd_ < 0) return core::unavailable("spool is not open");
  if (!write_all(journal_fd_, line.data(), line.size())) return errno_status("write journal");
  return core::Status::ok();
}

void Spool::retire(const std::string& queue_id) {
  std::lock_guard lock(mu_);
  auto it = message_segment_.find(queue_id);
  if (it == message_segment_.end()) return;
  uint64_t seq = it->second.seq;
  message_segment_.erase(it);
  auto seg = segments_.find(seq);
  if (seg == segments_.end()) return;
  if (seg->second.live > 0) --seg->second.live;
  maybe_delete_segment(seq);
}

core::Result<std::string> Spool::read_message(const std::string& queue_id) const {
  std::string path;
  Location loc;
  {
    std::lock_guard lock(mu_);
    auto it = message_segment_.find(queue_id);
    if (it == message_segment_.end()) return core::not_found("not in the spool: " + queue_id);
    loc = it->second;
    auto seg = segments_.find(loc.seq);
    if (seg == segments_.end()) return core::not_found("segment gone: " + queue_id);
    path = seg->second.path;  // a segment with a live message is never deleted
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status("open " + path);
  std::string out(static_cast<size_t>(loc.size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(loc.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto s = n < 0 ? errno_status("read " + path) : core::io_error("short read of " + path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return out;
}

// Caller holds mu_.
void Spool::maybe_delete_segment(uint64_t seq) {
  auto seg = segments_.find(seq);
  if (seg == segments_.end() || seg->second.live > 0 || seg->second.current) return;
  ::unlink(seg->second.path.c_str());
  segments_.erase(seg);
}

uint64_t Spool::syncs() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

uint64_t Spool::records_written() const {
  std::lock_guard lock(mu_);
  return records_;
}

}  // namespace mailroom::queue
