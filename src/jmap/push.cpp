#include "src/jmap/push.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>

#include "auth/authenticator.h"
#include "auth/directory.h"
#include "src/core/log.h"
#include "src/core/services.h"
#include "src/http/stream.h"
#include "src/jmap/push_params.h"
#include "src/jmap/record_watch.h"
#include "src/jmap/views.h"
#include "src/store/mail_store.h"

namespace mailroom::jmap {
namespace json = boost::json;

namespace {

constexpr std::chrono::seconds kKeepAlive{120};  // an SSE comment when the client asked no ping

uint64_t fnv64(std::string_view s, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// RFC 8621 1.5 EmailDelivery: changes when a new Email arrives in a mailbox mail is delivered
// to, not on flag changes. Approximated by UIDVALIDITY and UIDNEXT of every mailbox but Sent,
// Drafts and Trash (a move into another folder also counts as an arrival there).
std::string delivery_state(const std::vector<MailboxView>& all) {
  std::vector<std::pair<uint32_t, uint32_t>> v;
  for (const auto& m : all) {
    if (m.role == "sent" || m.role == "drafts" || m.role == "trash") continue;
    v.emplace_back(m.info.uid_validity, m.info.uid_next);
  }
  std::sort(v.begin(), v.end());
  uint64_t h = fnv64("d");
  for (auto [validity, next] : v) {
    h = fnv64(std::to_string(validity) + "." + std::to_string(next) + ",", h);
  }
  return "d" + hex16(h);
}

// Fills `out` (one state per name of `types`, kPushTypes order) with the states now: those
// the mail store backs when `store_side`, those of records.h / the vacation file when
// `record_side`; the others are left as they are. False when the store or a record cannot
// tell (nothing is reported then; the next change tries again).
bool current_states(core::Services& services, const std::string& account,
                    const std::vector<std::string>& types, bool store_side, bool record_side,
                    std::vector<std::string>& out) {
  out.resize(types.size());
  std::optional<std::vector<MailboxView>> all;
  for (std::size_t i = 0; i < types.size(); ++i) {
    const std::string& t = types[i];
    if (is_record_type(t)) {
      if (!record_side) continue;
      auto state = record_type_state(services, account, t);
      if (!state) {
        MR_LOG_WARN("event=jmap.push_state_failed account={} type={}", account, t);
        return false;
      }
      out[i] = std::move(*state);
      continue;
    }
    if (!store_side) continue;
    if (!all) {
      auto loaded = load_mailboxes(*services.store, account);
      if (!loaded) {
        MR_LOG_WARN("event=jmap.push_state_failed account={} error={}", account,
                    core::quote(loaded.status().log_detail()));
        return false;
      }
      all = std::move(*loaded);
    }
    if (t == "Mailbox") {
      out[i] = mailbox_state(*all);
    } else if (t == "EmailDelivery") {
      out[i] = delivery_state(*all);
    } else {
      out[i] = email_state(*all);  // Email, and Thread (one thread per message)
    }
  }
  return true;
}

std::string states_id(const std::vector<std::string>& states) {
  uint64_t h = fnv64("s");
  for (const auto& s : states) h = fnv64(s + "\n", h);
  return hex16(h);
}

// Shared by the stream's callbacks; render() runs on one worker at a time.
struct Push {
  core::Services* services = nullptr;
  std::string account;
  EventSourceParams params;
  std::vector<std::string> sent;  // the states last reported ("" before any: all differ)
  std::vector<std::string> now;   // the states last read
  // Which side changed since the last render (set by the watches before they notify): a
  // store change does not re-read the records, nor a record change the mailboxes.
  std::atomic<bool> store_changed{false};
  std::atomic<bool> records_changed{false};
  std::mutex watch_mu;
  std::unique_ptr<store::WatchHandle> watch;
  std::unique_ptr<RecordWatch> record_watch;
};

http::Stream::Chunk render(Push& p) {
  bool store_side = p.store_changed.exchange(false);
  bool record_side = p.records_changed.exchange(false);
  if (!current_states(*p.services, p.account, p.params.types, store_side, record_side, p.now)) {
    // Read again at the next change.
    if (store_side) p.store_changed.store(true);
    if (record_side) p.records_changed.store(true);
    return {};
  }
  json::object changed;
  for (std::size_t i = 0; i < p.now.size(); ++i) {
    if (p.now[i] != p.sent[i]) changed[p.params.types[i]] = p.now[i];
  }
  if (changed.empty()) return {};
  p.sent = p.now;
  // RFC 8620 7.1 StateChange; 7.3: event "state", the id lets a reconnecting client say where
  // it was (Last-Event-ID).
  json::object event;
  event["@type"] = "StateChange";
  event["changed"] = json::object{{p.account, std::move(changed)}};
  http::Stream::Chunk chunk;
  chunk.bytes =
      "event: state\nid: " + states_id(p.now) + "\ndata: " + json::serialize(event) + "\n\n";
  chunk.last = p.params.close_after_state;
  return chunk;
}

}  // namespace

http::Response event_source(core::Services& services, const Options& options,
                            const auth::Principal& principal, const http::Request& req,
                            bool by_cookie) {
  std::string error;
  auto params = parse_event_source_params(req.query, error);
  if (!params) return http::Response::problem(400, "Bad Request", error);
  auto push = std::make_shared<Push>();
  push->services = &services;
  push->account = principal.account_id;
  push->params = std::move(*params);
  auto stream = std::make_shared<http::Stream>();
  // Watch first, then read the baseline: a change between the two is reported, not lost.
  std::weak_ptr<http::Stream> weak = stream;
  std::weak_ptr<Push> weak_push = push;
  push->watch =
      services.store->watch(push->account, "", [weak, weak_push](const store::ChangeEvent&) {
        if (auto p = weak_push.lock()) p->store_changed.store(true);
        if (auto s = weak.lock()) s->notify();
      });
  bool any_record = std::any_of(push->params.types.begin(), push->params.types.end(),
                                [](const std::string& t) { return is_record_type(t); });
  if (any_record) {
    push->record_watch = watch_records(push->account, [weak, weak_push] {
      if (auto p = weak_push.lock()) p->records_changed.store(true);
      if (auto s = weak.lock()) s->notify();
    });
  }
  if (!current_states(services, push->account, push->params.types, true, true, push->now))
    return http::Response::problem(503, "Service Unavailable", "the mail store cannot answer");
  push->sent = push->now;
  auto last_id = req.header("last-event-id");
  if (last_id && *last_id != states_id(push->now)) {
    // Something changed since the client's last event: report every state now.
    push->sent.assign(push->sent.size(), std::string());
    stream->render_at_start = true;
  }

  stream->render = [push] { return render(*push); };
  if (push->params.ping > 0) {
    // RFC 8620 7.3: a "ping" event whose data holds the interval actually used.
    stream->heartbeat = std::chrono::seconds(push->params.ping);
    stream->heartbeat_text =
        "event: ping\ndata: {\"interval\":" + std::to_string(push->params.ping) + "}\n\n";
  } else {
    stream->heartbeat = kKeepAlive;
    stream->heartbeat_text = ":\n\n";  // an SSE comment: ignored by the client
  }
  stream->recheck = std::chrono::seconds(std::max<int64_t>(1, options.push_recheck));
  if (by_cookie && options.session_auth) {
    // The web session may end (sign-out, idle, lifetime) or its account be disabled.
    http::Request probe;
    probe.method = "GET";
    probe.path = req.path;
    if (auto c = req.header("cookie")) probe.headers.emplace_back("cookie", *c);
    probe.headers.emplace_back("x-mailroom-recheck", "1");  // jmap.h: not the user's use
    auto session_auth = options.session_auth;
    std::string account = push->account;
    stream->still_allowed = [probe, session_auth, account] {
      auth::Principal p;
      http::Response refusal;
      return session_auth(probe, p, refusal) && p.account_id == account;
    };
  } else {
    auto* directory = services.directory.get();
    std::string account = push->account;
    stream->still_allowed = [directory, account] {
      auto a = directory->find_account_by_id(account);
      if (!a) return a.code() != core::Code::not_found;  // a directory down keeps the stream
      return a->status == auth::AccountStatus::active;
    };
  }
  stream->on_close = [push] {
    std::lock_guard<std::mutex> lk(push->watch_mu);
    push->watch.reset();
    push->record_watch.reset();
  };
  if (principal.expires_at > 0) {
    // A bearer token's exp: the stream ends then (its still_allowed checks the account only).
    // Bounded so that a far-off exp cannot overflow the clock.
    constexpr int64_t kFarOff = 10LL * 366 * 24 * 3600;
    int64_t left = std::clamp<int64_t>(principal.expires_at - std::time(nullptr), 0, kFarOff);
    stream->ends_at = std::chrono::system_clock::now() + std::chrono::seconds(left);
  }
  stream->account_id = principal.account_id;
  stream->address = principal.address;
  stream->app_password_id = principal.app_password_id;

  http::Response r;
  r.status = 200;
  r.set_header("Content-Type", "text/event-stream; charset=utf-8");
  r.set_header("Cache-Control", "no-cache, no-store");
  r.set_header("X-Accel-Buffering", "no");  // reverse proxies: do not buffer the stream
  r.stream = std::move(stream);
  MR_LOG_INFO("event=jmap.push_open session={} account={} types={} ping={} closeafter={}",
              req.session_id, principal.account_id, push->params.types.size(), push->params.ping,
              push->params.close_after_state ? "state" : "no");
  return r;
}

}  // namespace mailroom::jmap
