// Uploaded blobs (RFC 8620 6.1), internal to src/jmap: files in
// <data_dir>/jmap-uploads/<account id>/<blob id> (directories 0700, files 0600), blob id "U" +
// 32 random hex digits. They live for kUploadLifetimeSeconds (a day: RFC 8620 6 asks for at
// least an hour), at most kMaxUploadsPerAccount at once; expired ones are removed by the
// account's next upload.
//
// An upload that Email/import has stored in a mailbox is released (release_upload): its bytes
// now live in the store under the mailbox quota, so it no longer counts against the pending
// uploads (the web client uploads and imports every draft it saves). It stays readable by its
// id for kImportedLifetimeSeconds after the import, at most kMaxImportedPerAccount of them
// (the oldest go first: losing one loses nothing but importing it again), as <blob id>.i.
//
// State of this node only (a single-node shortcut: with several nodes sharing the store,
// uploads belong on the shared mail root).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "src/core/status.h"

namespace mailroom::jmap {

inline constexpr int64_t kUploadLifetimeSeconds = 24 * 3600;
inline constexpr size_t kMaxUploadsPerAccount = 64;
inline constexpr int64_t kImportedLifetimeSeconds = 3600;
inline constexpr size_t kMaxImportedPerAccount = 64;

// Saves `data`; returns the blob id. too_large when the account holds kMaxUploadsPerAccount
// unexpired uploads.
core::Result<std::string> save_upload(const std::string& data_dir, const std::string& account_id,
                                      std::string_view data);
// The content of an upload, pending or released; not_found for a malformed, unknown or
// expired id.
core::Result<std::string> read_upload(const std::string& data_dir, const std::string& account_id,
                                      std::string_view blob_id);
// After Email/import stored the upload: it stops counting against kMaxUploadsPerAccount.
// Nothing happens for an id that is no pending upload (released already, or a store blob).
void release_upload(const std::string& data_dir, const std::string& account_id,
                    std::string_view blob_id);

}  // namespace mailroom::jmap
