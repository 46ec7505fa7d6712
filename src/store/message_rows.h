// Row helpers the message operations share (store_append.cpp, store_messages.cpp,
// store_reads.cpp); private to src/store. Every function runs under the user's lock, inside
// the caller's transaction when it has one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/store/file_store.h"

namespace mailroom::store {

// The system flags a message row stores (MessageMeta::flags).
inline constexpr uint32_t kAllFlags = kSeen | kAnswered | kFlagged | kDeleted | kDraft;

// The keywords column: space-separated.
std::string join_keywords(const std::vector<std::string>& k);
// invalid_argument for a keyword IMAP could not carry (names.h valid_keyword).
core::Status check_keywords(const std::vector<std::string>& k);
// over_quota when adding `add_bytes` / `add_messages` to the user's usage passes a limit
// (0: none).
core::Status check_quota(db::Sqlite& db, uint64_t add_bytes, uint64_t add_messages,
                         uint64_t max_bytes, uint64_t max_messages);
// The row of `uid` in the mailbox, or not_found.
core::Result<MessageMeta> find_message(db::Sqlite& db, int64_t mailbox_id, uint32_t uid);

}  // namespace mailroom::store
