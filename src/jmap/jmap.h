// JMAP (RFC 8620 core, RFC 8621 mail) on mailroomd's HTTP front end: the session resource,
// the API endpoint and blob download, mounted on the router of the [[listener]] protocol =
// "http" listeners next to the admin API.
//
//   GET  /.well-known/jmap                          the session object (RFC 8620 2)
//   POST /jmap/api                                  method calls (RFC 8620 3)
//   GET  /jmap/download/{accountId}/{blobId}/{name} a message or one of its parts (RFC 8620 6.2)
//   POST /jmap/upload/{accountId}                   a blob for Email/import (RFC 8620 6.1)
//   GET  /jmap/preview/{accountId}/{blobId}/{name}  an Office attachment as PDF (preview.h)
//
// Callers authenticate on every request: HTTP Basic (RFC 7617) with the account's password or
// an app password, or `Authorization: Bearer` with the identity provider's access token, both
// through services.authenticator as IMAP LOGIN and AUTHENTICATE OAUTHBEARER do (login policy,
// failed-login throttling and the auth log apply; protocol "http"). The JMAP accountId is the
// account's immutable id.
//
// Threading: handlers run on the worker pool and block on the store and the authenticator.
// State: ids and state strings are derived from the store (README); uploaded blobs live a day
// in <data_dir>/jmap-uploads (uploads.h).
// The per-account count of requests in progress (maxConcurrentRequests) lives in this process
// only: a single-node shortcut.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/http/http.h"

namespace mailroom::core {
struct Services;
}
namespace mailroom::auth {
struct Principal;
}
namespace mailroom::preview {
class OfficePreview;
}

namespace mailroom::jmap {

// The limits advertised in the session object and enforced (RFC 8620 2, RFC 8621 1.3).
struct Options {
  uint64_t max_size_request = 1 << 20;   // never above the HTTP server's max_body_bytes
  uint64_t max_concurrent_requests = 4;  // per account
  uint64_t max_concurrent_upload = 4;    // per account
  uint64_t max_calls_in_request = 32;
  uint64_t max_objects_in_get = 500;
  uint64_t max_objects_in_set = 500;
  uint64_t max_body_value_bytes = 1 << 20;  // cap of Email/get maxBodyValueBytes
  uint64_t max_mailbox_depth = 10;
  uint64_t max_size_mailbox_name = 200;  // octets of one name
  uint64_t max_query_limit = 1000;       // Email/query and Mailbox/query limit
  uint64_t max_changes = 1000;           // /changes answers at most this many ids
  // The web client's cookie sessions (src/webmail/webmail.h authenticate_cookie), asked about a
  // request without an Authorization header: false when it has no session cookie; true with
  // the principal filled (account_id set) or the refusal to send. A push stream's recheck
  // (push.h) sends a GET with the header `x-mailroom-recheck: 1`: the hook checks the session
  // without counting it as use, so an open stream does not keep an idle session alive.
  std::function<bool(const http::Request&, auth::Principal&, http::Response&)> session_auth;
  // Seconds between the checks an open push stream (push.h) makes that its web session still
  // lives, or its account is still active ([webmail] account_check in mailroomd).
  int64_t push_recheck = 30;
  // Memory for the per-account thread indexes (threads.h ThreadCache), least recently used
  // accounts dropped beyond it.
  uint64_t thread_cache_bytes = uint64_t{64} << 20;
  // SMTP submission's rules, which Identity/set and EmailSubmission apply as well ([smtp]
  // send_as_exempt_domains, max_message_size, max_recipients, submission_add_headers).
  std::vector<std::string> send_as_exempt_domains;
  uint64_t max_message_size = 25u << 20;
  uint64_t max_recipients = 1000;
  bool submission_add_headers = true;
  // The Office preview (src/preview/office.h); null: /jmap/preview answers that it is off.
  std::shared_ptr<preview::OfficePreview> office_preview;
};

// Adds the JMAP routes to `router`. `services` must outlive the router.
void add_routes(http::Router& router, core::Services& services, Options options = {});

}  // namespace mailroom::jmap
