// The Outbound transport: routes, MX resolution, connection limits, DKIM, and the attempt that
// walks the MX hosts (RFC 5321 5.1) until one takes or refuses the message.
#include "src/outbound/outbound.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "src/core/address.h"
#include "src/core/clock.h"
#include "src/core/log.h"
#include "src/dns/await.h"
#include "src/mailauth/dkim.h"
#include "src/mime/header_fields.h"
#include "src/outbound/downgrade.h"
#include "src/outbound/mta_sts_fetch.h"
#include "src/outbound/smtp_client.h"
#include "src/queue/header_facts.h"
#include "src/queue/queue.h"

namespace mailroom::outbound {
namespace asio = boost::asio;
using queue::RemoteReply;

namespace {

constexpr size_t kMaxAddressesPerAttempt = 5;  // like Postfix's smtp_mx_address_limit
constexpr int64_t kSignerCacheSeconds = 60;

std::vector<RemoteReply> all(size_t n, RemoteReply r) { return std::vector<RemoteReply>(n, r); }

RemoteReply reason(RemoteReply::Kind kind, std::string status, std::string text) {
  RemoteReply r;
  r.kind = kind;
  r.status = std::move(status);
  r.text = std::move(text);
  return r;
}

bool ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// How many Received: fields, and the domain of the From: address (DKIM's d= must align with it
// for DMARC), from the header block.
struct HeaderSummary {
  size_t received = 0;
  std::string from_domain;
};

HeaderSummary summarize_header(const std::string& message) {
  HeaderSummary out;
  for (const auto& [name, value] : queue::parse_header_block(message)) {
    if (core::iequals(name, "Received")) {
      ++out.received;
    } else if (core::iequals(name, "From") && out.from_domain.empty()) {
      for (const auto& a : mime::parse_address_list(value)) {
        if (a.kind == mime::EnvelopeAddress::Kind::mailbox && a.host) {
          out.from_domain = core::ascii_lower(*a.host);
          break;
        }
      }
    }
  }
  return out;
}

bool has_8bit(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

class OutboundImpl final : public Outbound {
 public:
  OutboundImpl(Options options, std::string data_dir)
      : options_(std::move(options)),
        dkim_(data_dir + "/dkim"),
        work_(asio::make_work_guard(io_)) {}

  core::Status init() {
    auto may = make_client_context(false, "", options_.tls_min_version);
    if (!may) return may.status();
    tls_may_ = *may;
    auto verify = make_client_context(true, options_.tls_ca_file, options_.tls_min_version);
    if (!verify) return verify.status();
    tls_verify_ = *verify;
    auto dns = dns::Resolver::create(io_, options_.dns);
    if (!dns) return dns.status();
    dns_ = *dns;
    // RFC 8461 3.3: the policy host needs TLS 1.2 or later and a verified certificate.
    const bool old_tls =
        options_.tls_min_version == "TLSv1" || options_.tls_min_version == "TLSv1.1";
    auto sts_context = make_client_context(true, options_.tls_ca_file,
                                           old_tls ? "TLSv1.2" : options_.tls_min_version);
    if (!sts_context) return sts_context.status();
    StsSettings sts;
    sts.port = options_.mta_sts_port;
    sts.tls_context = *sts_context;
    sts.connect_timeout = std::min<int64_t>(options_.connect_timeout, 30);
    sts_ = std::make_unique<StsDiscovery>(io_, *dns_, std::move(sts));
    cache_.set_max_idle(options_.max_idle_connections);
    sweep();
    thread_ = std::thread([this] { io_.run(); });
    return core::Status::ok();
  }

  ~OutboundImpl() override {
    stop();
    // io_ (declared after the state it touches) destroys the frames of abandoned sessions;
    // their guards must not wake other, already destroyed, frames.
    destroying_ = true;
  }

  // Abandons running sessions: their recipients stay "remote" in the stopped queue and are
  // tried again after the restart (a peer that already answered 250 may get a second copy).
  void stop() override {
    if (!thread_.joinable()) return;
    std::promise<void> quiet;
    asio::post(io_, [this, &quiet] {
      stopping_ = true;
      dns_->shutdown();
      sweep_timer_.cancel();
      for (auto& w : waiters_) w.timer->cancel();
      cache_.expire(std::chrono::seconds(0), true);  // closed without QUIT: we are stopping
      quiet.set_value();
    });
    quiet.get_future().wait();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  void deliver(queue::RemoteAttempt attempt, Done done) override {
    size_t n = attempt.recipients.size();
    // Header parsing, DKIM signing (and reading its key) and re-encoding binary mail run here,
    // on the queue's delivery thread: none of it belongs on the I/O thread.
    Prepared prepared = prepare(attempt);
    // Outbound outlives the queue that calls it (stop order in src/server).
    asio::co_spawn(
        io_, run_attempt(std::move(attempt), std::move(prepared)),
        [n, done = std::move(done)](std::exception_ptr e, std::vector<RemoteReply> replies) {
          if (e || replies.size() != n) {
            replies = all(n, reason(RemoteReply::Kind::temporary, "4.3.0",
                                    "internal error in the SMTP client"));
          }
          done(std::move(replies));
        });
  }

 private:
  // Says QUIT to cached connections idle for longer than connection_idle, once a second.
  void sweep() {
    sweep_timer_.expires_after(std::chrono::seconds(1));
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping_) return;
      for (auto& s : cache_.expire(std::chrono::seconds(options_.connection_idle))) {
        asio::co_spawn(io_, close_session(std::move(s)), asio::detached);
      }
      sweep();
    });
  }

  struct Waiter {
    std::string domain;
    asio::steady_timer* timer;
  };

  bool can_open(const std::string& domain) {
    return connections_ < options_.max_connections && per_domain_[domain] < options_.max_per_domain;
  }

  asio::awaitable<void> acquire(const std::string& domain) {
    while (!can_open(domain) && !stopping_) {
      asio::steady_timer timer(io_, std::chrono::hours(1));
      waiters_.push_back(Waiter{domain, &timer});
      auto it = std::prev(waiters_.end());
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      waiters_.erase(it);
    }
    ++connections_;
    ++per_domain_[domain];
  }

  void release(const std::string& domain) {
    if (destroying_) return;
    --connections_;
    if (--per_domain_[domain] == 0) per_domain_.erase(domain);
    for (auto& w : waiters_) {
      if (can_open(w.domain)) {
        w.timer->cancel();
        break;
      }
    }
  }

  // What goes on the wire for an attempt, made before it is handed to the I/O thread.
  struct Prepared {
    std::optional<RemoteReply> refused;       // the message cannot go anywhere (loop, binary)
    std::shared_ptr<const std::string> raw;   // unsigned, 7-bit when it came as BINARYMIME
    std::shared_ptr<const std::string> data;  // signed when the From domain has a key
    std::string from_domain;
    bool eight_bit = false;
  };

  Prepared prepare(const queue::RemoteAttempt& a) {
    Prepared p;
    HeaderSummary header = summarize_header(*a.message);
    // RFC 5321 6.3: a message that went round too often is a loop.
    if (header.received > options_.max_received) {
      p.refused = reason(RemoteReply::Kind::permanent, "5.4.6",
                         "mail loop: more than " + std::to_string(options_.max_received) +
                             " Received: header fields");
      return p;
    }
    p.from_domain = header.from_domain;
    p.raw = a.message;
    p.eight_bit = a.envelope->body != "7BIT" && has_8bit(*a.message);
    if (a.envelope->body == "BINARYMIME") {
      // RFC 3030: binary content would need BDAT; we send it re-encoded (base64 or
      // quoted-printable per part) with DATA instead, to any peer.
      auto seven = downgrade_to_7bit(*a.message, true);
      if (!seven) {
        p.refused = reason(RemoteReply::Kind::permanent, "5.6.3",
                           "the binary message could not be converted for sending");
        return p;
      }
      p.raw = std::make_shared<const std::string>(std::move(*seven));
      p.eight_bit = false;
    }
    p.data = sign(p.raw, p.from_domain);
    return p;
  }

  // The signed message, or the message as is when `domain` has no active key. Thread-safe.
  std::shared_ptr<const std::string> sign(std::shared_ptr<const std::string> data,
                                          const std::string& domain) {
    if (domain.empty()) return data;
    const int64_t now = core::real_clock().unix_seconds();
    std::lock_guard lock(signers_mu_);
    auto it = signers_.find(domain);
    if (it == signers_.end() || it->second.loaded + kSignerCacheSeconds < now) {
      CachedSigner c;
      c.loaded = now;
      auto key = dkim_.active(domain);
      if (key) {
        auto signer = mailauth::DkimSigner::create(*key);
        if (signer) {
          c.signer = std::move(*signer);
        } else {
          MR_LOG_ERROR("event=dkim_key_unusable domain={} detail={}", domain,
                       core::quote(signer.status().log_detail()));
        }
      }
      it = signers_.insert_or_assign(domain, std::move(c)).first;
    }
    if (!it->second.signer) return data;
    auto header = it->second.signer->sign(*data);
    if (!header) {
      MR_LOG_ERROR("event=dkim_sign_failed domain={} detail={}", domain,
                   core::quote(header.status().log_detail()));
      return data;
    }
    return std::make_shared<const std::string>(*header + *data);
  }

  struct Host {
    std::string name;
  };

  asio::awaitable<std::vector<RemoteReply>> run_attempt(queue::RemoteAttempt a, Prepared p) {
    const size_t n = a.recipients.size();
    const auto temp = RemoteReply::Kind::temporary;
    const auto perm = RemoteReply::Kind::permanent;
    if (stopping_) co_return all(n, reason(temp, "4.3.2", "mail system shutting down"));
    if (p.refused) co_return all(n, *p.refused);

    // The route: a transport for the domain, the relay, or the domain's MX.
    Route route{a.domain, options_.port, true};
    TlsLevel tls = options_.tls;
    ClientSettings settings;
    settings.helo = options_.helo_name;
    settings.connect_timeout = options_.connect_timeout;
    settings.command_timeout = options_.command_timeout;
    settings.data_timeout = options_.data_timeout;
    auto transport = options_.transports.find(a.domain);
    std::string route_text =
        transport != options_.transports.end() ? transport->second : options_.relay;
    if (!route_text.empty()) {
      auto r = parse_route(route_text, 25);
      if (!r) co_return all(n, reason(temp, "4.3.5", "bad route: " + r.status().client_message()));
      route = *r;
      if (transport == options_.transports.end()) {
        tls = options_.relay_tls;
        settings.user = options_.relay_user;
        settings.password = options_.relay_password;
      }
    }
    // An explicit TLS policy for the domain wins over MTA-STS; the relay and transports
    // are our own choice of peer, MTA-STS is about the domain's MX (RFC 8461 4).
    bool sts_applies =
        options_.mta_sts && route_text.empty() && route.mx_lookup && !ip_literal(route.host);
    if (auto p = options_.tls_policy.find(a.domain); p != options_.tls_policy.end()) {
      tls = p->second;
      sts_applies = false;
    }
    settings.tls = tls;
    settings.tls_context = tls == TlsLevel::verify ? tls_verify_ : tls_may_;

    std::vector<std::string> hosts;
    if (route.mx_lookup && !ip_literal(route.host)) {
      auto mx = co_await dns::await_mx(*dns_, route.host);
      switch (mx.outcome) {
        case dns::Outcome::ok: {
          // RFC 7505 3: a null MX ("." at preference 0) means the domain takes no mail.
          if (mx.records.size() == 1 && mx.records[0].host.empty()) {
            co_return all(n, reason(perm, "5.1.10",
                                    "the domain " + route.host + " accepts no mail (null MX)"));
          }
          // RFC 5321 5.1: if we are one of the MX hosts, only those preferred to us count.
          int self_pref = -1;
          for (auto& m : mx.records) {
            if (core::iequals(m.host, options_.helo_name)) {
              self_pref = m.preference;
              break;
            }
          }
          for (auto& m : mx.records) {
            if (m.host.empty()) continue;
            if (self_pref >= 0 && m.preference >= self_pref) continue;
            hosts.push_back(m.host);
          }
          if (hosts.empty()) {
            co_return all(
                n, reason(perm, "5.4.6", "mail for " + route.host + " loops back to myself (MX)"));
          }
          break;
        }
        case dns::Outcome::nodata:
          hosts.push_back(route.host);  // RFC 5321 5.1: the implicit MX
          break;
        case dns::Outcome::nxdomain:
          co_return all(n, reason(perm, "5.1.2", "domain " + route.host + " not found in DNS"));
        case dns::Outcome::temporary:
          co_return all(n, reason(temp, "4.4.3",
                                  "DNS lookup of MX for " + route.host + " failed: " + mx.detail));
      }
    } else {
      hosts.push_back(route.host);
    }

    // RFC 8461 4, 5: MTA-STS, once the MX hosts are known.
    std::optional<StsPolicy> sts;
    std::string policy_note;
    if (sts_applies) {
      StsLookup lookup = co_await sts_->policy_for(a.domain);
      MR_LOG_DEBUG("event=mta_sts_lookup queue_id={} domain={} detail={}", a.queue_id, a.domain,
                   core::quote(lookup.detail));
      if (lookup.policy && lookup.policy->mode != StsMode::none) sts = std::move(lookup.policy);
    }
    const bool enforce = sts && sts->mode == StsMode::enforce;
    if (sts) {
      policy_note = std::string("sts=") + sts_mode_name(sts->mode);
      std::vector<std::string> matching;
      for (const auto& host : hosts) {
        if (sts->matches(host)) {
          matching.push_back(host);
        } else if (enforce) {
          MR_LOG_INFO("event=mta_sts_mx_skipped queue_id={} domain={} mx={}", a.queue_id, a.domain,
                      host);
        } else {
          MR_LOG_WARN(
              "event=mta_sts_testing_failure queue_id={} domain={} mx={} reason=mx_mismatch",
              a.queue_id, a.domain, host);
        }
      }
      if (enforce) {
        if (matching.empty()) {
          auto r = reason(temp, "4.7.5", "MTA-STS: no MX matches the policy");
          r.policy = policy_note;
          co_return all(n, r);
        }
        hosts = std::move(matching);
        settings.tls = TlsLevel::verify;  // the MX host name is the name checked
        settings.tls_context = tls_verify_;
      } else if (settings.tls != TlsLevel::none) {
        settings.tls_context = tls_verify_;  // verify against the trust anchors, do not enforce
        settings.audit_certificate = true;
      }
    }

    ClientMessage message;
    message.sender = a.envelope->sender;
    for (auto& r : a.recipients) message.recipients.push_back({r.address, r.notify, r.orcpt});
    message.smtputf8 = a.envelope->smtputf8;
    message.ret = a.envelope->ret;
    message.envid = a.envelope->envid;
    message.eight_bit = p.eight_bit;
    message.data = p.data;
    // Only for the rare peer without 8BITMIME: a GMime pass over the message, on this thread.
    message.downgrade = [this, raw = p.raw,
                         domain = p.from_domain]() -> std::shared_ptr<const std::string> {
      auto seven = downgrade_to_7bit(*raw);
      if (!seven) return nullptr;
      return sign(std::make_shared<const std::string>(std::move(*seven)), domain);
    };

    RemoteReply last = reason(temp, "4.4.1", "no MX host of " + a.domain + " could be reached");
    size_t tried = 0;
    co_await acquire(a.domain);
    struct Release {
      OutboundImpl* self;
      std::string domain;
      ~Release() { self->release(domain); }
    } release_guard{this, a.domain};
    for (const auto& host : hosts) {
      std::vector<std::string> addresses;
      if (ip_literal(host)) {
        addresses.push_back(host);
      } else {
        auto ans = co_await dns::await_addresses(*dns_, host);
        if (ans.outcome != dns::Outcome::ok) {
          last = reason(temp, "4.4.3",
                        "no address for " + host + ": " +
                            std::string(dns::outcome_name(ans.outcome)) + " " + ans.detail);
          continue;
        }
        addresses = ans.addresses;
      }
      for (const auto& ip : addresses) {
        if (tried++ >= kMaxAddressesPerAttempt || stopping_) break;
        Peer peer{host, ip, route.port};
        SessionResult r = co_await run_smtp_session(
            io_, peer, settings, message, options_.connection_idle > 0 ? &cache_ : nullptr);
        if (sts && !enforce) log_sts_testing(a, peer, r);
        if (enforce && r.session_failed && r.failure.status == "4.7.5") {
          r.failure.text = "MTA-STS: " + r.failure.text;
        }
        r.failure.policy = policy_note;
        for (auto& reply : r.replies) reply.policy = policy_note;
        if (!r.session_failed) co_return std::move(r.replies);
        MR_LOG_INFO("event=remote_session_failed queue_id={} peer={} status={} detail={}",
                    a.queue_id, peer.label(), r.failure.status, core::quote(r.failure.text));
        if (r.failure.kind == perm) co_return all(n, r.failure);
        last = r.failure;
      }
    }
    last.policy = policy_note;
    co_return all(n, last);
  }

  // MTA-STS testing mode (RFC 8461 5): what enforce would have refused, logged only.
  static void log_sts_testing(const queue::RemoteAttempt& a, const Peer& peer,
                              const SessionResult& r) {
    std::string why;
    if (r.session_failed && r.failure.status == "4.7.5") {
      why = "tls_failed detail=" + core::quote(r.failure.text);
    } else if (!r.certificate_problem.empty()) {
      why = "certificate detail=" + core::quote(r.certificate_problem);
    } else if (!r.session_failed && !r.replies.empty() && r.replies[0].tls.empty()) {
      why = "no_tls";
    }
    if (why.empty()) return;
    MR_LOG_WARN("event=mta_sts_testing_failure queue_id={} domain={} peer={} reason={}", a.queue_id,
                a.domain, peer.label(), why);
  }

  struct CachedSigner {
    int64_t loaded = 0;
    std::unique_ptr<mailauth::DkimSigner> signer;
  };

  Options options_;
  mailauth::DkimKeyStore dkim_;
  std::shared_ptr<ssl_ctx_st> tls_may_;
  std::shared_ptr<ssl_ctx_st> tls_verify_;
  // Touched on the I/O thread only (and by the destructor once it is joined).
  bool stopping_ = false;
  bool destroying_ = false;
  size_t connections_ = 0;
  std::map<std::string, size_t> per_domain_;
  std::list<Waiter> waiters_;
  std::mutex signers_mu_;  // sign() runs on the queue's delivery threads
  std::map<std::string, CachedSigner> signers_;
  // Before io_: abandoned discovery frames, destroyed with io_, may still point at it.
  std::unique_ptr<StsDiscovery> sts_;
  // Declared last: destroyed first, while the state above is still there.
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer sweep_timer_{io_};
  SessionCache cache_;  // destroyed before io_: its sockets belong to it
  std::shared_ptr<dns::Resolver> dns_;
  std::thread thread_;
};

}  // namespace

core::Result<std::shared_ptr<Outbound>> Outbound::start(Options options, std::string data_dir) {
  auto impl = std::make_shared<OutboundImpl>(std::move(options), std::move(data_dir));
  if (auto s = impl->init(); !s) return s;
  return std::shared_ptr<Outbound>(impl);
}

}  // namespace mailroom::outbound
