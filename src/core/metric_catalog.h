// The metrics mailroomd exports (GET /metrics), named once here so every module counts into
// the same families: mailroom_<area>_<what>_<unit>. Each function registers its family on
// first use and returns the child for its labels; callers on hot paths keep the reference
// (src/core/metrics.h). Label values come from the server's own vocabulary (protocol names,
// a fixed list of mechanisms, results), never from a client, so the number of series stays
// bounded.
//
// Threading: every function is thread-safe.
#pragma once

#include <string_view>

#include "src/core/metrics.h"

namespace mailroom::metrics {

// Registers every family below, so /metrics names each one (HELP/TYPE) before its first event.
void register_all();

// ---- connections (src/net/listener.cpp), per listener protocol ----
// mailroom_connections_accepted_total{protocol}
Counter& connections_accepted(std::string_view protocol);
// mailroom_connections_refused_total{protocol,reason}: not_allowed, blocked_ip,
// too_many_connections, too_many_from_ip, shutting_down
Counter& connections_refused(std::string_view protocol, std::string_view reason);
// mailroom_connections_open{protocol}
Gauge& connections_open(std::string_view protocol);

// ---- logins (auth/sasl/authenticator.cpp) ----
enum class LoginResult { ok, fail, tempfail };
// mailroom_logins_total{protocol,mechanism,result}; a mechanism outside the ones Mailroom
// implements (a client may name anything) is counted as "other".
void login(std::string_view protocol, std::string_view mechanism, LoginResult result);

// ---- messages and the queue (src/smtp, src/queue) ----
// mailroom_smtp_messages_accepted_total{protocol}: smtp, submission, lmtp
Counter& messages_accepted(std::string_view protocol);
// mailroom_queue_recipients_delivered_total: stored in a local mailbox
Counter& recipients_delivered_local();
// mailroom_queue_recipients_deferred_total{where}: local, remote (a temporary failure)
Counter& recipients_deferred(std::string_view where);
// mailroom_queue_recipients_bounced_total: failed for good after acceptance (a bounce, RFC
// 3464, is spooled unless the sender is <> or NOTIFY says no)
Counter& recipients_bounced();
// mailroom_queue_recipients_sent_remote_total: a remote server took them
Counter& recipients_sent_remote();
// mailroom_queue_messages: messages in the spool (local or remote work left)
Gauge& queue_messages();
// mailroom_delivery_latency_seconds: accepted (fsync'd in the spool) -> stored locally
Histogram& delivery_latency();
// mailroom_content_scans_total{scanner,action}: verdicts of the content scanners run before
// the 250 (src/filter/content_scan.h); scanner is a configured scanner's name, action accept,
// reject, tempfail, quarantine, junk or ads.
Counter& content_scans(std::string_view scanner, std::string_view action);

// ---- the directory (auth/) ----
// mailroom_directory_lookups_total{backend,operation,result}; result: found, not_found,
// unavailable (check_password: ok, mismatch, unavailable)
Counter& directory_lookups(std::string_view backend, std::string_view operation,
                           std::string_view result);
// mailroom_directory_sync_lag_seconds{source}: seconds since the last successful pass (or,
// before the first, since the sync started); mailroom_directory_sync_failures_total{source}.
void sync_started(std::string_view source);
void sync_succeeded(std::string_view source);
void sync_failed(std::string_view source);

// ---- the mail store (src/store) ----
// mailroom_store_fsync_duration_seconds{kind}: file, directory, journal
Histogram& store_fsync(std::string_view kind);

// ---- the worker pool (src/net/worker_pool.h) ----
Gauge& worker_pool_queued();   // mailroom_worker_pool_queued_tasks: posted, not started
Gauge& worker_pool_busy();     // mailroom_worker_pool_busy_workers
Gauge& worker_pool_threads();  // mailroom_worker_pool_threads

// ---- HTTP (src/http, called by the server once per request) ----
// mailroom_http_requests_total{family,status_class} ("2xx"...) and
// mailroom_http_request_duration_seconds{family}. `family` is the route family the server
// names ("api", "scim", "metrics", "health", "autoconfig", "other"), never the raw path.
void http_request(std::string_view family, int status, double seconds);
// The family of a matched route pattern: "/api/..." api, "/scim/..." scim, "/metrics" metrics,
// "/healthz" and "/readyz" health, autoconfiguration paths autoconfig, "" (no route) none,
// anything else other.
std::string_view http_route_family(std::string_view route_pattern);

}  // namespace mailroom::metrics
