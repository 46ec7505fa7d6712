// Asynchronous DNS for outbound mail and mail authentication: c-ares driven by an Asio
// io_context, so no lookup ever blocks a thread. Answers are cached for their TTL (negative
// answers for the SOA minimum, capped); callbacks run on the io_context's thread.
//
// Servers come from [dns] servers (e.g. ["127.0.0.1:5353"], for tests and split-horizon
// companies) or, when empty, from /etc/resolv.conf.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/core/status.h"

namespace boost::asio {
class io_context;
}
namespace mailroom::core {
class ConfigSection;
}

namespace mailroom::dns {

// What a lookup found. `temporary` covers SERVFAIL, REFUSED, timeouts and unreachable
// servers: the caller retries later, it never bounces on it.
enum class Outcome : uint8_t { ok, nxdomain, nodata, temporary };
const char* outcome_name(Outcome o);

struct Mx {
  uint16_t preference = 0;
  std::string host;  // lower case, no trailing dot; "" for a null MX (RFC 7505: ". 0")
};
struct MxAnswer {
  Outcome outcome = Outcome::temporary;
  // Sorted by preference; hosts of equal preference in random order (RFC 5321 5.1).
  std::vector<Mx> records;
  std::string detail;  // why, for logs and bounces, when outcome != ok
};
struct AddressAnswer {
  Outcome outcome = Outcome::temporary;
  std::vector<std::string> addresses;  // textual IPv4 and (when enabled) IPv6, A first
  std::string detail;
};
struct TxtAnswer {
  Outcome outcome = Outcome::temporary;
  std::vector<std::string> records;  // each record's character-strings concatenated
  std::string detail;
};

struct ResolverOptions {
  std::vector<std::string> servers;  // "ip", "ip:port" or "[ipv6]:port"; empty = resolv.conf
  int64_t timeout_ms = 5000;         // per try (c-ares doubles it on each round of retries)
  int tries = 2;
  size_t cache_entries = 10000;  // 0 disables the cache
  int64_t negative_ttl_max = 300;
  bool ipv6 = true;  // also ask AAAA in addresses()
};

// [dns]: servers, timeout, tries, cache_entries, ipv6.
ResolverOptions parse_options(core::ConfigSection& section);

class Resolver {
 public:
  virtual ~Resolver() = default;
  // `io` must outlive the resolver; call shutdown() from the io thread before destroying.
  static core::Result<std::shared_ptr<Resolver>> create(boost::asio::io_context& io,
                                                        ResolverOptions options);

  virtual void mx(const std::string& domain, std::function<void(MxAnswer)> done) = 0;
  virtual void addresses(const std::string& host, std::function<void(AddressAnswer)> done) = 0;
  virtual void txt(const std::string& name, std::function<void(TxtAnswer)> done) = 0;
  // Cancels pending lookups (their callbacks run with Outcome::temporary) and closes sockets.
  virtual void shutdown() = 0;
};

}  // namespace mailroom::dns
