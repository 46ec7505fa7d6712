// The sort key file: header, UID -> offset index, records (FORMAT.md "Sort key cache").
#include "src/imap/sort_key_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace mailroom::imap {
namespace {

// Header: magic[8], u32 version, u32 uid_validity, u32 count, u32 zero, u64 records_bytes,
// u64 checksum of everything after the header, u64 zero. Then count x {u32 uid, u32 offset of
// the record from the start of the records}, then the records.
constexpr size_t kKeyFileHeader = 48;
constexpr size_t kKeyIndexEntry = 8;

template <typename T>
T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
void append_le(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
void store_le_at(std::string& out, size_t off, T v) {
  std::memcpy(out.data() + off, &v, sizeof v);
}

core::Status key_file_errno(const std::string& what, const std::string& path) {
  return core::io_error("cache file " + what + " failed", path + ": " + std::strerror(errno));
}

}  // namespace

std::string encode_key_record(const KeyFields& f) {
  std::string out;
  size_t total = kRecordHead;
  for (const auto& t : f.texts) total += t.size();
  out.reserve(total);
  append_le<int64_t>(out, f.sent_date);
  append_le<int32_t>(out, f.sent_tz);
  out.push_back(static_cast<char>(f.fields));
  out.push_back(static_cast<char>((f.has_sent_date ? 1 : 0) | (f.reply_or_forward ? 2 : 0)));
  append_le<uint16_t>(out, 0);
  for (const auto& t : f.texts) append_le<uint32_t>(out, static_cast<uint32_t>(t.size()));
  for (const auto& t : f.texts) out += t;
  return out;
}

size_t key_record_size(std::string_view bytes) {
  if (bytes.size() < kRecordHead) return 0;
  if ((static_cast<uint8_t>(bytes[13]) & ~3u) != 0 || load_le<uint16_t>(bytes.data() + 14) != 0)
    return 0;
  uint64_t total = kRecordHead;
  for (size_t i = 0; i < kKeyTexts; ++i) total += load_le<uint32_t>(bytes.data() + 16 + 4 * i);
  return total <= bytes.size() ? static_cast<size_t>(total) : 0;
}

uint64_t key_file_checksum(std::string_view bytes) {
  // Four independent lanes of multiply-xor over 8-byte words (fast enough to check a 40 MB
  // file in a few milliseconds), then the tail and the length.
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t lane[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull,
                      0x082EFA98EC4E6C89ull};
  size_t i = 0;
  for (; i + 32 <= bytes.size(); i += 32) {
    for (int k = 0; k < 4; ++k) {
      uint64_t w = load_le<uint64_t>(bytes.data() + i + 8 * k);
      lane[k] = (lane[k] ^ w) * kMul;
      lane[k] ^= lane[k] >> 29;
    }
  }
  uint64_t h = lane[0] ^ (lane[1] * 3) ^ (lane[2] * 5) ^ (lane[3] * 7);
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<uint8_t>(bytes[i])) * kMul;
  h ^= bytes.size();
  h *= kMul;
  return h ^ (h >> 32);
}

std::string key_file_image(uint32_t uid_validity,
                           const std::vector<std::pair<uint32_t, std::string_view>>& entries,
                           const CacheFileKind& kind) {
  size_t records = 0;
  for (const auto& e : entries) records += e.second.size();
  std::string out;
  out.reserve(kKeyFileHeader + kKeyIndexEntry * entries.size() + records);
  out.append(kind.magic);
  append_le<uint32_t>(out, kind.version);
  append_le<uint32_t>(out, uid_validity);
  append_le<uint32_t>(out, static_cast<uint32_t>(entries.size()));
  append_le<uint32_t>(out, 0);
  append_le<uint64_t>(out, records);
  append_le<uint64_t>(out, 0);  // checksum, below
  append_le<uint64_t>(out, 0);
  uint64_t off = 0;
  for (const auto& e : entries) {
    append_le<uint32_t>(out, e.first);
    append_le<uint32_t>(out, static_cast<uint32_t>(off));
    off += e.second.size();
  }
  for (const auto& e : entries) out.append(e.second);
  store_le_at<uint64_t>(out, 32, key_file_checksum(std::string_view(out).substr(kKeyFileHeader)));
  return out;
}

KeyFile::~KeyFile() {
  if (map_) ::munmap(map_, size_);
}

uint32_t KeyFile::uid_at(size_t i) const {
  return load_le<uint32_t>(data_ + kKeyFileHeader + kKeyIndexEntry * i);
}

KeyRecord KeyFile::record_at(size_t i) const {
  size_t records = kKeyFileHeader + kKeyIndexEntry * count_;
  return KeyRecord(data_ + records +
                   load_le<uint32_t>(data_ + kKeyFileHeader + kKeyIndexEntry * i + 4));
}

core::Status KeyFile::validate(uint32_t uid_validity, const CacheFileKind& kind) {
  auto bad = [](const char* why) { return core::invalid_argument("bad cache file", why); };
  if (kind.magic.size() != 8 || size_ < kKeyFileHeader ||
      std::string_view(data_, kind.magic.size()) != kind.magic)
    return bad("magic");
  if (load_le<uint32_t>(data_ + 8) != kind.version) return bad("version");
  if (load_le<uint32_t>(data_ + 12) != uid_validity) return bad("uidvalidity");
  uint64_t count = load_le<uint32_t>(data_ + 16);
  uint64_t records = load_le<uint64_t>(data_ + 24);
  if (load_le<uint32_t>(data_ + 20) != 0 || load_le<uint64_t>(data_ + 40) != 0)
    return bad("reserved");
  if (records > size_ || count > (size_ - kKeyFileHeader) / kKeyIndexEntry ||
      kKeyFileHeader + kKeyIndexEntry * count + records != size_ || records > UINT32_MAX)
    return bad("length");
  if (load_le<uint64_t>(data_ + 32) !=
      key_file_checksum(std::string_view(data_ + kKeyFileHeader, size_ - kKeyFileHeader)))
    return bad("checksum");
  count_ = static_cast<uint32_t>(count);
  // Records lie back to back in UID order: each one ends where the next begins.
  std::string_view recs(data_ + kKeyFileHeader + kKeyIndexEntry * count, records);
  uint64_t expect = 0;
  for (size_t i = 0; i < count_; ++i) {
    if (i > 0 && uid_at(i) <= uid_at(i - 1)) return bad("uid order");
    uint64_t off = load_le<uint32_t>(data_ + kKeyFileHeader + kKeyIndexEntry * i + 4);
    if (off != expect) return bad("record offset");
    size_t n = key_record_size(recs.substr(off));
    if (n == 0) return bad("record");
    expect = off + n;
  }
  if (expect != records) return bad("record length");
  return core::Status::ok();
}

core::Result<std::shared_ptr<const KeyFile>> KeyFile::from_bytes(std::string image,
                                                                 uint32_t uid_validity,
                                                                 const CacheFileKind& kind) {
  std::shared_ptr<KeyFile> f(new KeyFile());
  f->owned_ = std::move(image);
  f->data_ = f->owned_.data();
  f->size_ = f->owned_.size();
  if (auto st = f->validate(uid_validity, kind); !st.is_ok()) return st;
  return std::shared_ptr<const KeyFile>(std::move(f));
}

core::Result<std::shared_ptr<const KeyFile>> KeyFile::open(const std::string& path,
                                                           uint32_t uid_validity,
                                                           const CacheFileKind& kind) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return core::not_found("no cache file", path);
    return key_file_errno("open", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    auto s = key_file_errno("stat", path);
    ::close(fd);
    return s;
  }
  std::shared_ptr<KeyFile> f(new KeyFile());
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ < kKeyFileHeader) {
    ::close(fd);
    return core::invalid_argument("bad cache file", "short");
  }
  void* m = ::mmap(nullptr, f->size_, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return key_file_errno("mmap", path);
  f->map_ = m;
  f->data_ = static_cast<const char*>(m);
  if (auto s = f->validate(uid_validity, kind); !s.is_ok()) return s;
  return std::shared_ptr<const KeyFile>(std::move(f));
}

core::Status write_key_file(const std::string& path, std::string_view image) {
  // A name of its own: two writers of the same file (a fill racing one from an evicted table)
  // must not interleave in one temporary file. fsck removes old "*.tmp" leftovers.
  static std::atomic<uint64_t> counter{0};
  std::string tmp =
      path + "." + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return key_file_errno("create", tmp);
  size_t done = 0;
  while (done < image.size()) {
    ssize_t n = ::write(fd, image.data() + done, image.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto s = key_file_errno("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  // No fsync: a file is checked whole when it is opened (checksum), so what a crash can leave
  // - a torn or empty new file, or the old one - is rebuilt or still correct. Syncing 100 MB
  // per rewrite would only make the caches cost disk bandwidth the mail path needs.
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto s = key_file_errno("rename", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  return core::Status::ok();
}

}  // namespace mailroom::imap
