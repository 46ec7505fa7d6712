#include "src/core/metric_catalog.h"

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace mailroom::metrics {

namespace {

Registry& catalog_registry() { return Registry::global(); }

CounterFamily& catalog_connections_accepted() {
  static auto& f =
      catalog_registry().counter("mailroom_connections_accepted_total",
                                 "Connections accepted, per listener protocol.", {"protocol"});
  return f;
}
CounterFamily& catalog_connections_refused() {
  static auto& f = catalog_registry().counter(
      "mailroom_connections_refused_total",
      "Connections refused before the session started, per protocol and reason.",
      {"protocol", "reason"});
  return f;
}
GaugeFamily& catalog_connections_open() {
  static auto& f = catalog_registry().gauge(
      "mailroom_connections_open", "Sessions open now, per listener protocol.", {"protocol"});
  return f;
}
CounterFamily& catalog_logins() {
  static auto& f = catalog_registry().counter(
      "mailroom_logins_total",
      "Login attempts that ended, per protocol, SASL mechanism (LOGIN also for IMAP LOGIN and "
      "POP3 USER/PASS) and result (ok, fail, tempfail).",
      {"protocol", "mechanism", "result"});
  return f;
}
CounterFamily& catalog_messages_accepted() {
  static auto& f = catalog_registry().counter(
      "mailroom_smtp_messages_accepted_total",
      "Messages accepted with a 250: spooled (smtp, submission) or delivered to at least one "
      "recipient (lmtp).",
      {"protocol"});
  return f;
}
CounterFamily& catalog_content_scans() {
  static auto& f = catalog_registry().counter(
      "mailroom_content_scans_total",
      "Content scanner verdicts before the 250 (antivirus, spam), per scanner and action.",
      {"scanner", "action"});
  return f;
}
CounterFamily& catalog_delivered() {
  static auto& f = catalog_registry().counter("mailroom_queue_recipients_delivered_total",
                                              "Recipients stored in a local mailbox.");
  return f;
}
CounterFamily& catalog_deferred() {
  static auto& f = catalog_registry().counter(
      "mailroom_queue_recipients_deferred_total",
      "Delivery attempts of a recipient that failed temporarily and will be retried.", {"where"});
  return f;
}
CounterFamily& catalog_bounced() {
  static auto& f = catalog_registry().counter(
      "mailroom_queue_recipients_bounced_total",
      "Recipients that failed for good after the message was accepted; a bounce was spooled "
      "unless the sender was <> or asked for none (NOTIFY).");
  return f;
}
CounterFamily& catalog_sent_remote() {
  static auto& f = catalog_registry().counter("mailroom_queue_recipients_sent_remote_total",
                                              "Recipients a remote server accepted.");
  return f;
}
GaugeFamily& catalog_queue_messages() {
  static auto& f = catalog_registry().gauge(
      "mailroom_queue_messages", "Messages in the spool with local or remote work left.");
  return f;
}
HistogramFamily& catalog_delivery_latency() {
  static auto& f = catalog_registry().histogram(
      "mailroom_delivery_latency_seconds",
      "Time from accepting a message (durable in the spool) to storing it in a local mailbox.", {},
      {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600});
  return f;
}
CounterFamily& catalog_directory_lookups() {
  static auto& f = catalog_registry().counter(
      "mailroom_directory_lookups_total",
      "Directory calls per backend, operation and result (found, not_found, unavailable; "
      "check_password: ok, mismatch, unavailable).",
      {"backend", "operation", "result"});
  return f;
}
CounterFamily& catalog_sync_failures() {
  static auto& f =
      catalog_registry().counter("mailroom_directory_sync_failures_total",
                                 "Directory sync passes that failed, per source.", {"source"});
  return f;
}
HistogramFamily& catalog_store_fsync() {
  static auto& f = catalog_registry().histogram(
      "mailroom_store_fsync_duration_seconds",
      "fsync/fdatasync calls of the mail store: message files, directories, POP3 journals.",
      {"kind"},
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
       10});
  return f;
}
GaugeFamily& catalog_pool_queued() {
  static auto& f = catalog_registry().gauge(
      "mailroom_worker_pool_queued_tasks",
      "Blocking tasks posted to the worker pool that no worker has started yet.");
  return f;
}
GaugeFamily& catalog_pool_busy() {
  static auto& f = catalog_registry().gauge("mailroom_worker_pool_busy_workers",
                                            "Worker pool threads running a task now.");
  return f;
}
GaugeFamily& catalog_pool_threads() {
  static auto& f =
      catalog_registry().gauge("mailroom_worker_pool_threads", "Threads of the worker pool.");
  return f;
}
CounterFamily& catalog_http_requests() {
  static auto& f = catalog_registry().counter(
      "mailroom_http_requests_total", "HTTP requests answered, per route family and status class.",
      {"family", "status_class"});
  return f;
}
HistogramFamily& catalog_http_duration() {
  static auto& f = catalog_registry().histogram(
      "mailroom_http_request_duration_seconds",
      "Time from a complete HTTP request to its response, per route family.", {"family"},
      latency_buckets());
  return f;
}

// Directory sync: the last success per source, read when /metrics is scraped.
struct CatalogSyncState {
  std::mutex mu;
  std::map<std::string, double, std::less<>> last_success;  // unix seconds
};
CatalogSyncState& catalog_sync_state() {
  static CatalogSyncState* s = new CatalogSyncState();  // never destroyed (sync thread)
  return *s;
}
double catalog_unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
void catalog_register_sync_lag() {
  static const bool once = [] {
    catalog_registry().callback_gauge(
        "mailroom_directory_sync_lag_seconds",
        "Seconds since the last successful directory sync pass (before the first: since the "
        "sync started), per source.",
        {"source"}, [] {
          std::vector<Sample> out;
          double now = catalog_unix_now();
          auto& s = catalog_sync_state();
          std::lock_guard lock(s.mu);
          for (const auto& [source, at] : s.last_success) {
            out.push_back(Sample{{source}, now > at ? now - at : 0.0});
          }
          return out;
        });
    return true;
  }();
  (void)once;
}

void catalog_register_process() {
  static const bool once = [] {
    static const double started = catalog_unix_now();
    catalog_registry().callback_gauge("mailroom_process_start_time_seconds",
                                      "Start time of the process since the Unix epoch.", {}, [] {
                                        return std::vector<Sample>{Sample{{}, started}};
                                      });
    catalog_registry().callback_gauge(
        "mailroom_build_info", "Always 1; the version of the running build.", {"version"}, [] {
#ifdef MAILROOM_VERSION
          return std::vector<Sample>{Sample{{MAILROOM_VERSION}, 1}};
#else
          return std::vector<Sample>{Sample{{"unknown"}, 1}};
#endif
        });
    return true;
  }();
  (void)once;
}

// The mechanisms Mailroom implements; anything else a client names is "other".
std::string_view catalog_mechanism(std::string_view m) {
  static constexpr std::string_view kKnown[] = {"PLAIN",       "LOGIN",   "SCRAM-SHA-256", "GSSAPI",
                                                "OAUTHBEARER", "XOAUTH2", "EXTERNAL"};
  for (auto k : kKnown) {
    if (k.size() != m.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i) {
      char c = m[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      same = c == k[i];
    }
    if (same) return k;
  }
  return "other";
}

}  // namespace

void register_all() {
  catalog_connections_accepted();
  catalog_connections_refused();
  catalog_connections_open();
  catalog_logins();
  catalog_messages_accepted();
  catalog_content_scans();
  catalog_delivered();
  catalog_deferred();
  catalog_bounced();
  catalog_sent_remote();
  catalog_queue_messages();
  catalog_delivery_latency();
  catalog_directory_lookups();
  catalog_sync_failures();
  catalog_register_sync_lag();
  catalog_store_fsync();
  catalog_pool_queued();
  catalog_pool_busy();
  catalog_pool_threads();
  catalog_http_requests();
  catalog_http_duration();
  catalog_register_process();
}

Counter& connections_accepted(std::string_view protocol) {
  return catalog_connections_accepted().with({protocol});
}
Counter& connections_refused(std::string_view protocol, std::string_view reason) {
  return catalog_connections_refused().with({protocol, reason});
}
Gauge& connections_open(std::string_view protocol) {
  return catalog_connections_open().with({protocol});
}

void login(std::string_view protocol, std::string_view mechanism, LoginResult result) {
  std::string_view r = result == LoginResult::ok     ? "ok"
                       : result == LoginResult::fail ? "fail"
                                                     : "tempfail";
  catalog_logins().with({protocol, catalog_mechanism(mechanism), r}).inc();
}

Counter& messages_accepted(std::string_view protocol) {
  return catalog_messages_accepted().with({protocol});
}
Counter& content_scans(std::string_view scanner, std::string_view action) {
  return catalog_content_scans().with({scanner, action});
}
Counter& recipients_delivered_local() { return catalog_delivered().get(); }
Counter& recipients_deferred(std::string_view where) { return catalog_deferred().with({where}); }
Counter& recipients_bounced() { return catalog_bounced().get(); }
Counter& recipients_sent_remote() { return catalog_sent_remote().get(); }
Gauge& queue_messages() { return catalog_queue_messages().get(); }
Histogram& delivery_latency() { return catalog_delivery_latency().get(); }

Counter& directory_lookups(std::string_view backend, std::string_view operation,
                           std::string_view result) {
  return catalog_directory_lookups().with({backend, operation, result});
}

void sync_started(std::string_view source) {
  catalog_register_sync_lag();
  catalog_sync_failures().with({source});  // a zero series from the start
  auto& s = catalog_sync_state();
  std::lock_guard lock(s.mu);
  if (s.last_success.find(source) == s.last_success.end()) {
    s.last_success.emplace(std::string(source), catalog_unix_now());
  }
}
void sync_succeeded(std::string_view source) {
  catalog_register_sync_lag();
  auto& s = catalog_sync_state();
  std::lock_guard lock(s.mu);
  auto it = s.last_success.find(source);
  if (it == s.last_success.end()) {
    s.last_success.emplace(std::string(source), catalog_unix_now());
  } else {
    it->second = catalog_unix_now();
  }
}
void sync_failed(std::string_view source) { catalog_sync_failures().with({source}).inc(); }

Histogram& store_fsync(std::string_view kind) { return catalog_store_fsync().with({kind}); }

Gauge& worker_pool_queued() { return catalog_pool_queued().get(); }
Gauge& worker_pool_busy() { return catalog_pool_busy().get(); }
Gauge& worker_pool_threads() { return catalog_pool_threads().get(); }

void http_request(std::string_view family, int status, double seconds) {
  static constexpr std::string_view kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
  int c = status / 100;
  std::string_view cls = c >= 1 && c <= 5 ? kClasses[c - 1] : std::string_view("other");
  catalog_http_requests().with({family, cls}).inc();
  catalog_http_duration().with({family}).observe(seconds);
}

std::string_view http_route_family(std::string_view route) {
  auto starts = [route](std::string_view prefix) {
    return route.substr(0, prefix.size()) == prefix &&
           (route.size() == prefix.size() || route[prefix.size()] == '/');
  };
  if (route.empty()) return "none";
  if (starts("/api")) return "api";
  if (starts("/scim")) return "scim";
  if (route == "/metrics") return "metrics";
  if (route == "/healthz" || route == "/readyz") return "health";
  if (starts("/.well-known") || starts("/mail") || starts("/autodiscover") ||
      starts("/Autodiscover")) {
    return "autoconfig";
  }
  return "other";
}

}  // namespace mailroom::metrics
