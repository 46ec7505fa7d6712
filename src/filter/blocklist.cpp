#include "src/filter/blocklist.h"

#include <array>
#include <fstream>
#include <set>

#include "src/core/address.h"
#include "src/core/cidr.h"
#include "src/core/log.h"
#include "src/filter/list_file.h"

namespace mailroom::filter {

struct Blocklist::Compiled {
  std::vector<core::Cidr> nets;
  std::set<std::string> senders;
  std::set<std::string> domains;
};

core::Result<BlockEntry> make_block_entry(const std::string& kind, const std::string& value) {
  BlockEntry e;
  e.kind = core::ascii_lower(kind);
  if (e.kind == "ip") {
    if (!core::Cidr::parse(value)) {
      return core::invalid_argument("not an IP address or CIDR block: " + value);
    }
    e.value = core::ascii_lower(value);
  } else if (e.kind == "sender") {
    auto a = core::parse_address(value);
    if (!a) return core::invalid_argument("not an address: " + value);
    e.value = a->key();
  } else if (e.kind == "domain") {
    auto a = core::parse_address("x@" + value);
    if (!a || value.empty() || value.front() == '[') {
      return core::invalid_argument("not a domain: " + value);
    }
    e.value = core::ascii_lower(value);
  } else {
    return core::invalid_argument("block list kind must be ip, sender or domain: " + kind);
  }
  return e;
}

std::string blocklist_path(const std::string& data_dir) { return data_dir + "/blocklist.txt"; }

core::Result<std::vector<BlockEntry>> read_blocklist(const std::string& path) {
  std::vector<BlockEntry> out;
  std::ifstream in(path);
  if (!in) return out;
  read_list_lines(in, [&](int n, const std::vector<std::string>& words) {
    auto e = make_block_entry(words[0], words.size() > 1 ? words[1] : "");
    if (!e) {
      MR_LOG_WARN("event=blocklist_bad_line file={} line={} detail={}", path, n,
                  core::quote(e.status().client_message()));
      return true;
    }
    out.push_back(std::move(*e));
    return true;
  });
  return out;
}

core::Status write_blocklist(const std::string& path, const std::vector<BlockEntry>& entries) {
  std::string text = "# Mailroom block list: ip <addr|cidr> | sender <address> | domain <domain>\n";
  for (const auto& e : entries) text += e.kind + " " + e.value + "\n";
  return write_list_file(path, text, 0644, "block list");
}

Blocklist::Blocklist(std::string path, Clock clock)
    : path_(std::move(path)), clock_(std::move(clock)) {}
Blocklist::~Blocklist() = default;

std::shared_ptr<const Blocklist::Compiled> Blocklist::current() {
  std::lock_guard lock(mu_);
  auto now = clock_ ? clock_() : std::chrono::steady_clock::now();
  if (compiled_ && now - checked_ < kRecheck) return compiled_;
  checked_ = now;
  std::string stamp = list_file_stamp(path_);
  if (compiled_ && stamp == stamp_) return compiled_;
  auto c = std::make_shared<Compiled>();
  auto entries = read_blocklist(path_);
  if (entries) {
    for (const auto& e : *entries) {
      if (e.kind == "ip") {
        if (auto n = core::Cidr::parse(e.value)) c->nets.push_back(*n);
      } else if (e.kind == "sender") {
        c->senders.insert(e.value);
      } else {
        c->domains.insert(e.value);
      }
    }
  }
  if (compiled_) {
    MR_LOG_INFO("event=blocklist_reloaded file={} ips={} senders={} domains={}", path_,
                c->nets.size(), c->senders.size(), c->domains.size());
  }
  compiled_ = c;
  stamp_ = stamp;
  return compiled_;
}

bool Blocklist::blocks_ip(const std::string& ip) {
  auto c = current();
  std::array<unsigned char, 16> a{};
  bool v4 = false;
  if (!core::parse_ip(ip, &a, &v4)) return false;
  for (const auto& n : c->nets) {
    if (n.contains(a, v4)) return true;
  }
  return false;
}

bool Blocklist::blocks_sender(const std::string& address) {
  if (address.empty()) return false;
  auto c = current();
  std::string key = core::ascii_lower(address);
  if (c->senders.count(key)) return true;
  size_t at = key.rfind('@');
  if (at == std::string::npos) return false;
  std::string domain = key.substr(at + 1);
  while (true) {
    if (c->domains.count(domain)) return true;
    size_t dot = domain.find('.');
    if (dot == std::string::npos) return false;
    domain = domain.substr(dot + 1);
  }
}

}  // namespace mailroom::filter
