// libFuzzer target: IMAP sort key files (src/imap/sort_key_file.h) and FETCH cache files (the
// same layout under another magic, src/imap/fetch_cache.h) on arbitrary bytes: a torn or
// corrupt file on disk must be refused, never read out of bounds.
// Each input is tried as is and with its checksum fixed up, so the fuzzer gets past the
// checksum to the index and record checks. Invariants: no crash, leak or UB; an accepted image
// has strictly ascending UIDs, every text lies inside it, and writing its records again
// yields the same bytes. The input is also read as an ENVELOPE (SORT=DISPLAY, RFC 5957).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/imap/fetch_cache.h"
#include "src/imap/sort_display.h"
#include "src/imap/sort_key_file.h"

using namespace mailroom::imap;

namespace {

void check(std::string image) {
  uint32_t uid_validity = 0;
  if (image.size() >= 16) std::memcpy(&uid_validity, image.data() + 12, 4);
  // The kind the input claims to be (its magic), so both kinds' paths get exercised.
  const CacheFileKind& kind =
      image.compare(0, 8, kFetchCacheFile.magic) == 0 ? kFetchCacheFile : kSortKeyFile;
  auto f = KeyFile::from_bytes(image, uid_validity, kind);
  if (!f) return;
  const KeyFile& k = **f;
  std::vector<std::pair<uint32_t, std::string_view>> entries;
  const char* lo = image.data();
  for (size_t i = 0; i < k.count(); ++i) {
    if (i > 0 && k.uid_at(i) <= k.uid_at(i - 1)) __builtin_trap();
    KeyRecord r = k.record_at(i);
    std::string_view all = r.bytes();
    (void)r.sent_date(), (void)r.sent_tz(), (void)r.fields(), (void)r.has_sent_date();
    for (size_t t = 0; t < kKeyTexts; ++t) {
      std::string_view v = r.text(static_cast<KeyText>(t));
      if (v.data() < all.data() || v.data() + v.size() > all.data() + all.size()) __builtin_trap();
    }
    entries.emplace_back(k.uid_at(i), all);
  }
  (void)lo;
  std::string again = key_file_image(uid_validity, entries, kind);
  // The image's own bytes (from_bytes kept a copy): the same records write the same file.
  if (again.size() != k.bytes()) __builtin_trap();
  auto back = KeyFile::from_bytes(again, uid_validity, kind);
  if (!back || (*back)->count() != k.count()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  check(in);
  // The same bytes as an ENVELOPE for SORT=DISPLAY (sort_display.h): never out of bounds, and
  // an address read back lies inside the input.
  for (auto list : {EnvelopeList::from, EnvelopeList::to}) {
    auto a = first_envelope_address(in, list);
    std::string v = display_value(a, a ? a->name : std::nullopt);
    if (v.size() > in.size()) __builtin_trap();
  }
  if (in.size() >= 48) {
    uint64_t sum = key_file_checksum(std::string_view(in).substr(48));
    std::memcpy(in.data() + 32, &sum, 8);
    check(in);
  }
  return 0;
}
