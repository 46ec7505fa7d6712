#include "tests/unit/dns/dns_rig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

extern char** environ;

namespace mailroom::dns::rig {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int bound_socket(int type, uint16_t port) {
  int fd = ::socket(AF_INET, type, 0);
  if (fd < 0) return -1;
  sockaddr_in a = loopback(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// A port free for both UDP and TCP on 127.0.0.1 (dnsmasq binds both).
uint16_t free_dns_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int udp = bound_socket(SOCK_DGRAM, 0);
    if (udp < 0) continue;
    uint16_t port = local_port(udp);
    int tcp = bound_socket(SOCK_STREAM, port);
    ::close(udp);
    if (tcp >= 0) {
      ::close(tcp);
      return port;
    }
  }
  return 0;
}

// True when something answers a query on 127.0.0.1:port within 200 ms.
bool answers(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  std::string q = be16(0x4242) + be16(0x0100) + be16(1) + be16(0) + be16(0) + be16(0) +
                  wire_name("ready.test") + be16(1) + be16(1);
  sockaddr_in a = loopback(port);
  ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  bool ok = ::poll(&p, 1, 200) > 0 && (p.revents & POLLIN) != 0;
  if (ok) {
    char buf[512];
    ok = ::recv(fd, buf, sizeof buf, 0) > 0;
  }
  ::close(fd);
  return ok;
}

}  // namespace

std::string be16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

std::string be32(uint32_t v) { return be16(static_cast<uint16_t>(v >> 16)) + be16(v & 0xffff); }

std::string wire_name(const std::string& dotted) {
  std::string out;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    out += static_cast<char>(dot - start);
    out += dotted.substr(start, dot - start);
    start = dot + 1;
  }
  out += '\0';
  return out;
}

std::string mx_rdata(uint16_t preference, const std::string& host) {
  return be16(preference) + wire_name(host);
}

std::string soa_rdata(uint32_t minimum) {
  return wire_name("ns.test") + wire_name("hostmaster.test") + be32(1) + be32(3600) + be32(600) +
         be32(86400) + be32(minimum);
}

std::string wire_reply(uint16_t id, const std::string& qname, uint16_t qtype, int rcode,
                       const std::vector<WireRecord>& answers,
                       const std::vector<WireRecord>& authority) {
  std::string out = be16(id) + be16(static_cast<uint16_t>(0x8180 | rcode)) + be16(1) +
                    be16(static_cast<uint16_t>(answers.size())) +
                    be16(static_cast<uint16_t>(authority.size())) + be16(0);
  out += wire_name(qname) + be16(qtype) + be16(1);
  for (const auto* section : {&answers, &authority}) {
    for (const WireRecord& r : *section) {
      out += wire_name(r.name) + be16(r.type) + be16(1) + be32(r.ttl) +
             be16(static_cast<uint16_t>(r.rdata.size())) + r.rdata;
    }
  }
  return out;
}

ScriptedDnsServer::ScriptedDnsServer(Reply reply) : reply_(std::move(reply)) {
  fd_ = bound_socket(SOCK_DGRAM, 0);
  port_ = fd_ >= 0 ? local_port(fd_) : 0;
  thread_ = std::thread([this] { serve(); });
}

ScriptedDnsServer::~ScriptedDnsServer() {
  stop_ = true;
  thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void ScriptedDnsServer::serve() {
  while (!stop_ && fd_ >= 0) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    unsigned char buf[1500];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 12) continue;
    ++queries_;
    // The question: labels (no compression in a query), then type and class.
    std::string qname;
    size_t at = 12;
    while (at < static_cast<size_t>(n) && buf[at] != 0) {
      size_t l = buf[at];
      if (at + 1 + l > static_cast<size_t>(n)) break;
      if (!qname.empty()) qname += '.';
      qname.append(reinterpret_cast<const char*>(buf + at + 1), l);
      at += 1 + l;
    }
    if (at + 5 > static_cast<size_t>(n)) continue;
    uint16_t qtype = static_cast<uint16_t>((buf[at + 1] << 8) | buf[at + 2]);
    uint16_t id = static_cast<uint16_t>((buf[0] << 8) | buf[1]);
    std::string out = reply_(id, qname, qtype);
    if (!out.empty()) {
      ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
}

Dnsmasq::Dnsmasq(const std::vector<std::string>& lines) {
  char tmpl[] = "/tmp/mailroom-dns-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    why_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  port_ = free_dns_port();
  std::string conf = dir_ + "/dnsmasq.conf";
  {
    std::ofstream f(conf);
    f << "port=" << port_ << "\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n"
      << "pid-file=\nlog-facility=" << dir_
      << "/log\n"
      // Names under .test that have no records are NXDOMAIN (else dnsmasq says REFUSED).
      << "local=/test/\n"
      // dnsmasq gives its own records a TTL of 0 unless told: the cache needs a real one.
      << "local-ttl=300\n";
    if (::geteuid() == 0) f << "user=root\n";  // no need to drop to nobody in a test
    for (const std::string& l : lines) f << l << "\n";
  }
  const char* binary = "/usr/sbin/dnsmasq";
  if (::access(binary, X_OK) != 0) {
    why_ = std::string(binary) + " not found (scripts/setup installs dnsmasq-base)";
    return;
  }
  std::string conf_arg = "--conf-file=" + conf;
  char* argv[] = {const_cast<char*>("dnsmasq"), const_cast<char*>("--keep-in-foreground"),
                  conf_arg.data(), nullptr};
  pid_t pid = -1;
  if (::posix_spawn(&pid, binary, nullptr, nullptr, argv, environ) != 0) {
    why_ = "posix_spawn dnsmasq failed";
    return;
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      why_ = "dnsmasq exited at start (see " + dir_ + "/log)";
      return;
    }
    if (answers(port_)) return;
  }
  stop();
  why_ = "dnsmasq did not answer within 10 s";
}

Dnsmasq::~Dnsmasq() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void Dnsmasq::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

}  // namespace mailroom::dns::rig
