#include "src/imap/recent.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mailroom::imap {
namespace {

// Account ids are UUIDs or directory GUIDs; anything outside [A-Za-z0-9._-] is hex-escaped
// so an id can never name another path.
std::string file_name(const std::string& account_id) {
  std::string out;
  for (unsigned char c : account_id) {
    if (std::isalnum(c) || c == '-' || c == '_' || (c == '.' && !out.empty())) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02x", c);
      out += buf;
    }
  }
  return out.empty() ? "%" : out;
}

}  // namespace

RecentTracker& RecentTracker::instance() {
  static RecentTracker t;
  return t;
}

void RecentTracker::set_directory(const std::string& dir) {
  std::lock_guard lock(mu_);
  dir_ = dir;
  accounts_.clear();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
  }
}

void RecentTracker::reset_memory() {
  std::lock_guard lock(mu_);
  accounts_.clear();
}

RecentTracker::Account& RecentTracker::account(const std::string& account_id) {
  auto [it, inserted] = accounts_.try_emplace(account_id);
  if (!inserted || dir_.empty()) return it->second;
  // Lines "<uidvalidity> <claimed uid> <mailbox>"; a damaged line is skipped.
  std::ifstream in(dir_ + "/" + file_name(account_id));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    Box b;
    std::string name;
    if (!(ls >> b.uid_validity >> b.claimed)) continue;
    ls.get();
    std::getline(ls, name);
    if (!name.empty()) it->second[name] = b;
  }
  return it->second;
}

void RecentTracker::save(const std::string& account_id, const Account& a) {
  if (dir_.empty()) return;
  std::string path = dir_ + "/" + file_name(account_id);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& [name, b] : a)
      out << b.uid_validity << ' ' << b.claimed << ' ' << name << '\n';
    if (!out) return;  // best effort: memory stays right for this process
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
}

uint32_t RecentTracker::claim(const std::string& account_id, const std::string& mailbox,
                              uint32_t uid_validity, uint32_t up_to) {
  std::lock_guard lock(mu_);
  Account& a = account(account_id);
  Box& b = a[mailbox];
  if (b.uid_validity != uid_validity) b = Box{uid_validity, 0};  // a new incarnation
  uint32_t before = b.claimed;
  if (up_to > b.claimed) {
    b.claimed = up_to;
    save(account_id, a);
  }
  return before;
}

std::optional<uint32_t> RecentTracker::claim_in_memory(const std::string& account_id,
                                                       const std::string& mailbox,
                                                       uint32_t uid_validity, uint32_t up_to) {
  // claim() writes its file with mu_ held: an I/O thread does not wait for that, it lets the
  // caller go to the worker pool.
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) return std::nullopt;
  auto a = accounts_.find(account_id);
  if (a == accounts_.end()) return std::nullopt;
  auto b = a->second.find(mailbox);
  if (b == a->second.end() || b->second.uid_validity != uid_validity || up_to > b->second.claimed)
    return std::nullopt;
  return b->second.claimed;
}

uint32_t RecentTracker::peek(const std::string& account_id, const std::string& mailbox,
                             uint32_t uid_validity) {
  std::lock_guard lock(mu_);
  Account& a = account(account_id);
  auto it = a.find(mailbox);
  if (it == a.end() || it->second.uid_validity != uid_validity) return 0;
  return it->second.claimed;
}

}  // namespace mailroom::imap
