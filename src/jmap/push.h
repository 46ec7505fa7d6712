// JMAP push by EventSource (RFC 8620 7.3), internal to src/jmap: the response to
// GET /jmap/eventsource/?types=&closeafter=&ping= once api.cpp has authenticated the caller.
//
// The response is an http::Stream (src/http/stream.h): no worker is held while it is open.
// The store's account-wide watch (MailStore::watch with mailbox "") and the account's record
// watch (record_watch.h: Identity/set, EmailSubmission/set, VacationResponse/set) notify the
// stream; the server then renders on a worker: the account's current type states (the strings
// Email/get, Mailbox/get, Thread/get, Identity/get, EmailSubmission/get and
// VacationResponse/get answer with, and EmailDelivery's, which changes only when a mailbox
// that mail is delivered to gets a new message) compared with the last ones sent, and a
// "state" event with the StateChange object (RFC 8620 7.1) when any differ. Only the side that
// changed is read again. A burst of changes, or a client that reads slowly, gets one event
// with the latest states.
//
// Last-Event-ID: each state event's id is a hash of the states it reports. A reconnecting
// client's Last-Event-ID is honoured as far as a hash allows: if it differs from the current
// states' hash, a state event with every requested type's state is sent at once (something
// changed while it was away); if it matches, nothing is sent until the next change.
//
// The stream ends: closeafter=state after the first state event; the client's close; the
// web session ended or the account disabled (checked every Options::push_recheck seconds, and
// the account sweep closes the account's connections at once); the expiry of the bearer token
// it was opened with (auth::Principal::expires_at, at that second); server shutdown. Caps: [http]
// max_streams, max_streams_per_user (the HTTP server answers 503 / 429).
#pragma once

#include "src/http/http.h"
#include "src/jmap/jmap.h"

namespace mailroom::auth {
struct Principal;
}

namespace mailroom::jmap {

// Blocks (the store). `by_cookie`: the caller signed in with the web client's cookie, which
// the stream re-checks through options.session_auth; otherwise the directory's account
// status is re-checked.
http::Response event_source(core::Services& services, const Options& options,
                            const auth::Principal& principal, const http::Request& request,
                            bool by_cookie);

}  // namespace mailroom::jmap
