// Validation of the names the store receives from clients and admins (FORMAT.md "Names").
// Mailbox names never become file names (they live in the index only), but account ids do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/core/status.h"

namespace mailroom::store {

// An account id becomes one directory name under the root: it must be a single safe path
// component (no '/', not "." or "..", no control characters, at most 255 bytes).
core::Status check_account_id(std::string_view account_id);

// Validates a UTF-8 mailbox name and returns its canonical form: "INBOX" (any case) and its
// children's first component are spelled "INBOX". Refuses empty names and components, "."
// and "..", NUL/control characters, the IMAP wildcards '*' and '%', invalid UTF-8 and names
// longer than `max_bytes`.
core::Result<std::string> canonical_mailbox_name(std::string_view name, size_t max_bytes);

// RFC 3501 section 9 flag-keyword = atom: printable ASCII without specials and not starting
// with '\'.
bool valid_keyword(std::string_view keyword);

// Sorted, de-duplicated (case-insensitively, RFC 3501 2.3.2) keyword set.
std::vector<std::string> normalize_keywords(const std::vector<std::string>& keywords);

bool is_inbox(std::string_view canonical_name);
// True when `name` is `parent` or below it ("a" is the parent of "a/b").
bool is_same_or_child(std::string_view name, std::string_view parent);

}  // namespace mailroom::store
