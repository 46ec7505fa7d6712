// The sort/search key file of one mailbox (src/store/FORMAT.md "Sort key cache"): per message
// (UID) the keys IMAP SORT, THREAD and header SEARCH compare, precomputed from the message's
// facts. The FETCH cache (fetch_cache.h, FORMAT.md "Fetch cache") stores its records in files
// of the same layout under another magic. Pure format code (no GMime, no store): the fuzz
// target links it alone.
//
// Contract:
// - A record is derived from the immutable message content only, so the record of (UIDVALIDITY,
//   UID) never becomes wrong; kKeyFileVersion changes whenever the derivation changes (facts
//   format, casemap or base-subject rules), and files of another version are discarded.
// - KeyFile::from_bytes()/open() accept only an image that validates completely (magic,
//   version, UIDVALIDITY, length, checksum, strictly ascending UIDs, every record inside its
//   bounds); anything else is invalid_argument and the caller rebuilds. After that, reading
//   a record never leaves the image.
// - Images are little-endian, as written by the host (a file from another byte order fails
//   the magic/version check and is rebuilt).
//
// Threading: a KeyFile is immutable after construction; share it freely.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/core/status.h"
#include "src/mime/facts.h"

namespace mailroom::imap {

// The texts of a record, in their order in the record.
enum class KeyText : uint8_t {
  base_subject,  // RFC 5256 2.1 base subject, i;unicode-casemap form (SORT SUBJECT, THREAD)
  sort_from,     // RFC 5256 3: casemap key of the first From/To/Cc addr-mailbox
  sort_to,
  sort_cc,
  search_subject,  // RFC 3501 6.4.4 SUBJECT: folded, blank runs as one space
  search_from,     // RFC 3501 6.4.4 FROM/TO/CC/BCC: the folded address lists
  search_to,
  search_cc,
  search_bcc,
  message_id,  // raw header values, for RFC 5256 REFERENCES threading
  in_reply_to,
  references,
  display_from,  // RFC 5957 3: casemap key of the first From/To address's display value
  display_to,
};
inline constexpr size_t kKeyTexts = 14;

// Bumped whenever a record's layout or how its keys are derived changes.
inline constexpr uint32_t kKeyFileVersion = 2;  // 2: display_from/display_to

// Which cache a file holds: files of one layout, told apart by magic and version (each kind
// bumps its own version when what its records hold changes).
struct CacheFileKind {
  std::string_view magic;  // 8 octets
  uint32_t version = 0;
};
// A file's version also carries the facts format its records were made from (they are
// derived from mime::Facts): a new facts format makes every cache file be rebuilt.
inline constexpr uint32_t cache_file_version(uint32_t own) {
  return (own << 16) | mime::kFactsVersion;
}
inline constexpr CacheFileKind kSortKeyFile{{"MRSKEYS\n", 8}, cache_file_version(kKeyFileVersion)};

// What a record holds, before encoding.
struct KeyFields {
  int64_t sent_date = 0;  // Date: header (UTC seconds) when has_sent_date
  int32_t sent_tz = 0;    // minutes east of UTC of the Date: header
  uint8_t fields = 0;     // mime::FieldBit presence bits
  bool has_sent_date = false;
  bool reply_or_forward = false;  // RFC 5256 2.1: the base subject lost a "re:"/"fwd:" etc.
  std::array<std::string, kKeyTexts> texts;
};

// Record layout: i64 sent_date, i32 sent_tz, u8 fields, u8 bits (1 has_sent_date,
// 2 reply_or_forward), u16 zero, u32 length of each text, then the texts back to back.
inline constexpr size_t kRecordHead = 16 + 4 * kKeyTexts;
std::string encode_key_record(const KeyFields& f);
// The size of the record at the start of `bytes` when it is well formed and fits, else 0.
size_t key_record_size(std::string_view bytes);

// A view of one encoded record (in a KeyFile or an owned string that outlives the view). A
// default-constructed view is "no record": every text empty, no fields, no sent date — what
// the commands used for a message whose facts could not be read (mime::Facts{}).
class KeyRecord {
 public:
  KeyRecord() = default;
  explicit KeyRecord(const char* p) : p_(p) {}
  bool present() const { return p_ != nullptr; }
  int64_t sent_date() const { return p_ ? get<int64_t>(0) : 0; }
  int32_t sent_tz() const { return p_ ? get<int32_t>(8) : 0; }
  uint8_t fields() const { return p_ ? static_cast<uint8_t>(p_[12]) : 0; }
  bool has_sent_date() const { return p_ && (p_[13] & 1); }
  bool reply_or_forward() const { return p_ && (p_[13] & 2); }
  std::string_view text(KeyText t) const { return text_at(static_cast<size_t>(t)); }
  // Text k (< kKeyTexts) of the record: for files of other kinds, whose texts mean other things.
  std::string_view text_at(size_t k) const {
    if (!p_) return {};
    size_t off = kRecordHead;
    for (size_t i = 0; i < k; ++i) off += get<uint32_t>(16 + 4 * i);
    return {p_ + off, get<uint32_t>(16 + 4 * k)};
  }
  // The encoded record (empty for "no record").
  std::string_view bytes() const {
    if (!p_) return {};
    size_t n = kRecordHead;
    for (size_t i = 0; i < kKeyTexts; ++i) n += get<uint32_t>(16 + 4 * i);
    return {p_, n};
  }

 private:
  template <typename T>
  T get(size_t off) const {
    T v;
    std::memcpy(&v, p_ + off, sizeof v);
    return v;
  }
  const char* p_ = nullptr;
};

// One validated key file image, memory-mapped (open) or owned (from_bytes).
class KeyFile {
 public:
  ~KeyFile();
  KeyFile(const KeyFile&) = delete;
  KeyFile& operator=(const KeyFile&) = delete;

  // Validates `image` for `uid_validity`; invalid_argument (with the reason) when it fails.
  static core::Result<std::shared_ptr<const KeyFile>> from_bytes(
      std::string image, uint32_t uid_validity, const CacheFileKind& kind = kSortKeyFile);
  // Maps and validates the file at `path`: not_found when there is none, invalid_argument
  // when it fails validation (the caller removes it), io_error otherwise.
  static core::Result<std::shared_ptr<const KeyFile>> open(
      const std::string& path, uint32_t uid_validity, const CacheFileKind& kind = kSortKeyFile);

  uint32_t count() const { return count_; }
  uint32_t uid_at(size_t i) const;
  KeyRecord record_at(size_t i) const;
  size_t bytes() const { return size_; }

 private:
  KeyFile() = default;
  core::Status validate(uint32_t uid_validity, const CacheFileKind& kind);
  const char* data_ = nullptr;
  size_t size_ = 0;
  uint32_t count_ = 0;
  std::string owned_;
  void* map_ = nullptr;
};

// The image of `entries` (strictly ascending UIDs, each an encode_key_record() result).
std::string key_file_image(uint32_t uid_validity,
                           const std::vector<std::pair<uint32_t, std::string_view>>& entries,
                           const CacheFileKind& kind = kSortKeyFile);
// Replaces `path`: writes a temporary file beside it and renames it over `path`. A process
// crash leaves the old file or the new one, complete; a power loss may leave a torn one,
// which fails validation when opened (checksum) and is rebuilt: no fsync (the files are
// caches).
core::Status write_key_file(const std::string& path, std::string_view image);

// The checksum of images (a 64-bit multiply-xor hash over 8-byte words; catches torn and
// corrupted files, not an adversary: the files are private to the server).
uint64_t key_file_checksum(std::string_view bytes);

}  // namespace mailroom::imap
