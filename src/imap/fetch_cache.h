// The FETCH cache (src/store/FORMAT.md "Fetch cache"): per mailbox, per message, what clients
// fetch for every message when they open a folder - ENVELOPE, BODYSTRUCTURE, BODY (RFC 3501
// 7.4.2) and the common header fields - so `FETCH 1:* (ENVELOPE BODYSTRUCTURE
// BODY.PEEK[HEADER.FIELDS (...)])` reads one memory-mapped file instead of a facts row and a
// message file per message (what Dovecot's dovecot.index.cache does).
//
// Contract:
// - Records use the sort key file's layout and machinery (sort_key_file.h, sort_keys.h
//   MailboxKeys) under their own magic: one file "<uidvalidity>.fetch" per mailbox
//   incarnation; a record derives from the immutable message only, so it is never stale;
//   files that fail validation are rebuilt, never trusted.
// - The header text of a record is mime::filter_header() of the message's top-level header
//   with the fields of fetch_cached_fields(). Filtering it again by any subset of those names
//   gives exactly what filtering the whole header gives (same lines, same order, same
//   folding), so HEADER.FIELDS (names all in that list) is answered from it; HEADER.FIELDS.NOT,
//   HEADER, TEXT and parts still read the message.
// - FETCH fills the cache as it goes (the records of messages it had to read are added batch
//   by batch, MailboxKeys::add), so the first open of a folder streams as before.
//
// Threading: as sort_keys.h: blocking calls run on the worker pool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/imap/sort_keys.h"

namespace mailroom::mime {
struct Facts;
}

namespace mailroom::imap {

// The texts of a FETCH cache record (KeyRecord::text_at).
enum class FetchText : uint8_t { envelope, bodystructure, body, header_fields };

// Bumped whenever what a record holds changes (the field list included).
inline constexpr CacheFileKind kFetchCacheFile{{"MRFETCH\n", 8}, cache_file_version(1)};
extern const CacheSpec kFetchCache;

// The header fields a record keeps, lower case (what Thunderbird, Apple Mail, Outlook and K-9
// ask for when they list a folder).
const std::vector<std::string_view>& fetch_cached_fields();
// True when every name (compared without case) is one of fetch_cached_fields().
bool fetch_cached_fields_cover(const std::vector<std::string>& names);

// The record of a message: its facts and its octets from the start to at least the end of
// its top-level header (f.root.header); nullopt when `message` is shorter than that (a file
// that does not match its facts gets no record: FETCH then answers as it always did).
std::optional<std::string> fetch_record(const mime::Facts& f, std::string_view message);

inline std::string_view fetch_text(const KeyRecord& r, FetchText t) {
  return r.text_at(static_cast<size_t>(t));
}

}  // namespace mailroom::imap
