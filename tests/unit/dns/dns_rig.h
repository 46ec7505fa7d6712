// Test servers for tests/unit/dns: a real dnsmasq (/usr/sbin/dnsmasq, Debian's dnsmasq-base)
// on a loopback port, and a scripted UDP server for what dnsmasq cannot be made to do
// (stay silent, send an SOA with a negative answer). Both listen on 127.0.0.1 only.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "src/dns/resolver.h"

namespace mailroom::dns {
// For EXPECT_EQ on records (ADL finds them here, beside Mx).
inline bool operator==(const Mx& a, const Mx& b) {
  return a.preference == b.preference && a.host == b.host;
}
inline void PrintTo(const Mx& m, std::ostream* os) { *os << m.preference << " " << m.host; }
}  // namespace mailroom::dns

namespace mailroom::dns::rig {

// DNS wire format, for the scripted server and for feeding interpret_reply.
std::string wire_name(const std::string& dotted);  // "a.test" -> "\1a\4test\0"; "" -> root
std::string be16(uint16_t v);
std::string be32(uint32_t v);
struct WireRecord {
  std::string name;  // dotted
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string rdata;
};
std::string mx_rdata(uint16_t preference, const std::string& host);
std::string soa_rdata(uint32_t minimum);
// A reply to (qname, qtype) with `rcode` and the given answer and authority records.
std::string wire_reply(uint16_t id, const std::string& qname, uint16_t qtype, int rcode,
                       const std::vector<WireRecord>& answers,
                       const std::vector<WireRecord>& authority = {});

// A UDP "server" on 127.0.0.1:<port>: `reply` gets (id, qname, qtype) of each query and
// returns the datagram to send back, or "" to stay silent.
class ScriptedDnsServer {
 public:
  using Reply = std::function<std::string(uint16_t id, const std::string& qname, uint16_t qtype)>;
  explicit ScriptedDnsServer(Reply reply);
  ~ScriptedDnsServer();
  uint16_t port() const { return port_; }
  int queries() const { return queries_.load(); }

 private:
  void serve();
  Reply reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> queries_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// dnsmasq with the given configuration lines added to a loopback-only base; waits until it
// answers. ok() is false (with why()) when it could not be started.
class Dnsmasq {
 public:
  explicit Dnsmasq(const std::vector<std::string>& lines);
  ~Dnsmasq();
  bool ok() const { return pid_ > 0; }
  const std::string& why() const { return why_; }
  uint16_t port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  void stop();  // SIGTERM and wait

 private:
  int pid_ = -1;
  uint16_t port_ = 0;
  std::string dir_;
  std::string why_;
};

}  // namespace mailroom::dns::rig
