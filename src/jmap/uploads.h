// Uploaded blobs (RFC 8620 6.1), internal to src/jmap: files in
// <data_dir>/jmap-uploads/<account id>/<blob id> (directories 0700, files 0600), blob id "U" +
// 32 random hex digits. They live for kUploadLifetimeSeconds (a day: RFC 8620 6 asks for at
// least an hour), at most kMaxUploadsPerAccount at once; expired ones are removed by the
// account's next upload. State of this node only (a single-node shortcut: with several nodes
// sharing the store, uploads belong on the shared mail root).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "src/core/status.h"

namespace mailroom::jmap {

inline constexpr int64_t kUploadLifetimeSeconds = 24 * 3600;
inline constexpr size_t kMaxUploadsPerAccount = 64;

// Saves `data`; returns the blob id. too_large when the account holds kMaxUploadsPerAccount
// unexpired uploads.
core::Result<std::string> save_upload(const std::string& data_dir, const std::string& account_id,
                                      std::string_view data);
// The content of an upload; not_found for a malformed, unknown or expired id.
core::Result<std::string> read_upload(const std::string& data_dir, const std::string& account_id,
                                      std::string_view blob_id);

}  // namespace mailroom::jmap
