// Blob download (RFC 8620 6.2), internal to src/jmap: a whole message ("B" + guid) or one of
// its parts ("B" + guid + "." + part id, the part's content with its transfer encoding
// removed).
#pragma once

#include <optional>
#include <string>

#include "src/http/http.h"

namespace mailroom::store {
class MailStore;
}

namespace mailroom::jmap {

// The bytes of blob `blob` of the account (a message, one decoded part, an upload), nullopt
// when there is no such blob. `whole_message` (optional) tells whether it is a whole message.
std::optional<std::string> read_blob(store::MailStore& store, const std::string& data_dir,
                                     const std::string& account_id, const std::string& blob,
                                     bool* whole_message = nullptr);

// GET /jmap/download/{accountId}/{blobId}/{name}?type=: params[0..2] are the captures.
// 404 for another account, a malformed or unknown blob id.
// Uploads ("U...") are read from under data_dir (uploads.h).
// Served as a download (Content-Disposition: attachment, RFC 6266, with the name of the URL)
// with nosniff and a CSP sandbox, so that no part is ever rendered as a document of our origin.
// Mailroom's addition for the web client's preview: &disposition=inline answers inline for
// PNG, JPEG, GIF, WebP and PDF, only when the bytes begin as the asked type does (an "image"
// that holds HTML is still a download); everything else stays a download.
// A file of ours with the download headers above: `show` answers inline (the caller checked
// that `type` is allow-listed and the bytes are of it), else attachment; `name` for RFC 6266.
http::Response file_response(std::string body, const std::string& type, bool show,
                             const std::string& name);

http::Response download_blob(store::MailStore& store, const std::string& data_dir,
                             const std::string& account_id, const http::Request& request);

}  // namespace mailroom::jmap
