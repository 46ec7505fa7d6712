// The web client's files, served from a directory ([webmail] root; the build writes it, see
// web/build.mjs): `index.html` (no-cache) and `assets/<name>-<HASH>.<ext>` (cached for a
// year, immutable: the name changes with the content). Each file may have a gzip twin
// `<file>.gz` the build pre-compressed; it is sent to clients that accept gzip.
//
// Only plain names are served: segments of [A-Za-z0-9._-] not starting with '.', at most 4
// deep and 200 bytes, with a known extension; anything else (.., %2e%2e, backslashes, NUL,
// empty segments, dot files, symlinks out of the root) answers 404. Files are read on the
// worker that runs the route, each at most 16 MiB.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "src/http/http.h"

namespace mailroom::webmail {

// True when `rel` (decoded, relative to the root, no leading '/') may be served.
bool safe_relative_path(std::string_view rel);
// The Content-Type for the file's extension; nullopt for one we do not serve.
std::optional<std::string> content_type_for(std::string_view rel);
// True for names the build hashed ("assets/app-5KX2F3QZ.js"): cached for a year.
bool is_hashed_asset(std::string_view rel);

// The response for GET/HEAD of `rel` under `root` (404 when it may not be served or does not
// exist). `accept_encoding` is the request's Accept-Encoding ("" when none).
http::Response serve_file(const std::string& root, std::string_view rel,
                          std::string_view accept_encoding);

}  // namespace mailroom::webmail
