// MTA-STS policy discovery (RFC 8461 3, 5.1): the TXT record at _mta-sts.<domain>, then the
// policy at https://mta-sts.<domain>/.well-known/mta-sts.txt, cached per domain. Internal to
// src/outbound (includes Asio); Beast stays in the .cpp.
//
// Threading: an StsDiscovery belongs to the outbound I/O thread; policy_for() runs there.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "src/dns/resolver.h"
#include "src/outbound/mta_sts.h"

struct ssl_ctx_st;

namespace mailroom::outbound {

struct StsSettings {
  uint16_t port = 443;  // of the policy host; another only for tests and split-horizon setups
  // A verifying client context (tls_ca_file or the system store), TLS 1.2 or later.
  std::shared_ptr<ssl_ctx_st> tls_context;
  int64_t connect_timeout = 30;  // seconds, per address
  int64_t total_timeout = 30;    // seconds for the whole HTTPS fetch
};

struct StsLookup {
  // The policy that applies, or nullopt: the domain publishes none, or it could not be had
  // (DNS, HTTPS, an invalid policy) and no unexpired one is cached. Never an error: RFC 8461 5
  // says to deliver as without MTA-STS then.
  std::optional<StsPolicy> policy;
  std::string detail;  // "cached id=…", "fetched id=…" or why there is none, for the log
};

class StsDiscovery {
 public:
  // `io` and `dns` must outlive the discovery (it may be destroyed after them: its
  // destructor touches neither).
  StsDiscovery(boost::asio::io_context& io, dns::Resolver& dns, StsSettings settings);

  // RFC 8461 5.1: a fresh TXT id different from the cached one (or nothing cached) fetches
  // the policy; a failed TXT lookup or fetch keeps an unexpired cached policy.
  boost::asio::awaitable<StsLookup> policy_for(std::string domain);

 private:
  struct Fetched {
    std::string body;   // when error is empty
    std::string error;  // why the fetch failed
  };
  boost::asio::awaitable<Fetched> fetch(std::string domain);
  boost::asio::awaitable<Fetched> fetch_from(std::string host, std::string ip,
                                             std::chrono::steady_clock::time_point deadline);

  boost::asio::io_context& io_;
  dns::Resolver& dns_;
  StsSettings settings_;
  StsCache cache_;
};

}  // namespace mailroom::outbound
