// Private files: the data directory holds password hashes and SCRAM secrets (directory.db),
// the credential cache, keys and everyone's mail, so it and every file directly in it are
// readable by the server's user only (issue 13, item 5).
//
// mailroomd and mailroomctl set umask 077 at start, so what they create is private; for what
// already exists, make_private_directory() repairs the modes and reports each repair (the
// caller logs them: "fixed, and said so").
#pragma once

#include <string>
#include <vector>

#include "src/core/status.h"

namespace mailroom::core {

// Creates `dir` (and parents) if missing; makes it 0700 and every regular file directly in it
// 0600 when they allow group or other access. `repairs` gets one "path: mode 0644 -> 0600"
// line per change. Fails only when the directory cannot be created or changed.
Status make_private_directory(const std::string& dir, std::vector<std::string>* repairs);

// The secret in `path` (hex of `bytes` random bytes), created with mode 0600 on first use.
// Returns the raw bytes. A file that exists but is malformed is an error, not replaced.
Result<std::string> load_or_create_secret(const std::string& path, std::size_t bytes);

}  // namespace mailroom::core
