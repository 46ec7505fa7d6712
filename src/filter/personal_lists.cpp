// Personal block and allow lists (personal_lists.h).
#include "src/filter/personal_lists.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "src/core/address.h"
#include "src/core/log.h"
#include "src/filter/header_block.h"
#include "src/filter/list_file.h"

namespace mailroom::filter {
namespace {

constexpr const char* kFileName = "personal-lists.txt";

bool valid_account_id(const std::string& id) {
  if (id.empty() || id.size() > 255 || id == "." || id == "..") return false;
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

bool domain_matches(const std::string& entry, std::string domain) {
  while (true) {
    if (domain == entry) return true;
    size_t dot = domain.find('.');
    if (dot == std::string::npos) return false;
    domain = domain.substr(dot + 1);
  }
}

bool list_matches(const std::vector<PersonalEntry>& list, const std::string& address) {
  size_t at = address.rfind('@');
  if (at == std::string::npos) return false;
  std::string domain = address.substr(at + 1);
  for (const auto& e : list) {
    if (e.kind == "sender" ? e.value == address : domain_matches(e.value, domain)) return true;
  }
  return false;
}

core::Status open_account_dir(const std::string& root, const std::string& account_id,
                              std::string* dir) {
  if (!valid_account_id(account_id)) return core::invalid_argument("not an account id");
  *dir = root + "/" + account_id;
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    return core::io_error("cannot create the mail directory", root + ": " + std::strerror(errno));
  }
  if (::mkdir(dir->c_str(), 0700) != 0 && errno != EEXIST) {
    return core::io_error("cannot create the mail directory", *dir + ": " + std::strerror(errno));
  }
  return core::Status::ok();
}

}  // namespace

core::Result<PersonalEntry> make_personal_entry(const std::string& text) {
  PersonalEntry e;
  std::string t = core::ascii_lower(text);
  size_t at = t.rfind('@');
  if (at != std::string::npos && at > 0) {
    auto a = core::parse_address(t);
    if (!a) return core::invalid_argument("not an address: " + text);
    e.kind = "sender";
    e.value = a->key();
    return e;
  }
  if (at == 0) t = t.substr(1);
  auto a = core::parse_address("x@" + t);
  if (!a || t.empty() || t.front() == '[' || t.find_first_of(" \t\r\n") != std::string::npos) {
    return core::invalid_argument("not an address or a domain: " + text);
  }
  e.kind = "domain";
  e.value = t;
  return e;
}

std::string personal_lists_path(const std::string& store_root, const std::string& account_id) {
  return store_root + "/" + account_id + "/" + kFileName;
}

core::Result<PersonalLists> read_personal_lists(const std::string& store_root,
                                                const std::string& account_id) {
  if (!valid_account_id(account_id)) return core::invalid_argument("not an account id");
  PersonalLists out;
  std::string path = personal_lists_path(store_root, account_id);
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return out;
    return core::io_error("cannot read the personal lists", path + ": " + std::strerror(errno));
  }
  core::Status damaged;
  read_list_lines(in, [&](int n, const std::vector<std::string>& words) {
    auto bad = [&](const std::string& why) {
      damaged = core::Status::error(core::Code::io_error, "personal lists file is damaged",
                                    path + ":" + std::to_string(n) + ": " + why);
      return false;
    };
    if (words.size() != 3) return bad(words.size() > 3 ? "too many words" : "too few words");
    const std::string& verb = words[0];
    const std::string& kind = words[1];
    const std::string& value = words[2];
    if (verb == "option") {
      if (kind == "ads" && (value == "inbox" || value == "folder")) {
        out.ads_in_inbox = value == "inbox";
      } else if (kind == "blocked" && (value == "discard" || value == "junk")) {
        out.blocked = value == "discard" ? BlockedAction::discard : BlockedAction::junk;
      } else {
        return bad("unknown option");
      }
      return true;
    }
    if (verb != "block" && verb != "allow") return bad("unknown line");
    if (kind != "sender" && kind != "domain") return bad("kind must be sender or domain");
    auto e = make_personal_entry(value);
    if (!e || e->kind != kind) return bad("not a " + kind);
    auto& list = verb == "block" ? out.block : out.allow;
    if (list.size() >= kMaxPersonalEntries) return bad("too many entries");
    list.push_back(std::move(*e));
    return true;
  });
  if (!damaged) return damaged;
  return out;
}

core::Status write_personal_lists(const std::string& store_root, const std::string& account_id,
                                  const PersonalLists& lists) {
  std::string dir;
  if (auto s = open_account_dir(store_root, account_id, &dir); !s) return s;
  std::string text =
      "# Mailroom personal lists (mailroomctl user blocklist|allowlist|lists); see "
      "src/filter/personal_lists.h\n";
  text += std::string("option ads ") + (lists.ads_in_inbox ? "inbox" : "folder") + "\n";
  text += std::string("option blocked ") +
          (lists.blocked == BlockedAction::discard ? "discard" : "junk") + "\n";
  for (const auto& e : lists.block) text += "block " + e.kind + " " + e.value + "\n";
  for (const auto& e : lists.allow) text += "allow " + e.kind + " " + e.value + "\n";
  return write_list_file(dir + "/" + kFileName, text, 0600, "personal lists");
}

core::Result<PersonalLists> update_personal_lists(
    const std::string& store_root, const std::string& account_id,
    const std::function<core::Status(PersonalLists&)>& edit) {
  std::string dir;
  if (auto s = open_account_dir(store_root, account_id, &dir); !s) return s;
  std::string lock_path = dir + "/personal-lists.lock";
  int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) {
    return core::io_error("cannot lock the personal lists",
                          lock_path + ": " + std::strerror(errno));
  }
  ::flock(lock, LOCK_EX);
  auto lists = read_personal_lists(store_root, account_id);
  core::Status s = lists ? edit(*lists) : lists.status();
  if (s) s = write_personal_lists(store_root, account_id, *lists);
  ::close(lock);  // releases the flock
  if (!s) return s;
  return lists;
}

PersonalMatch match_personal_lists(const PersonalLists& lists, const std::string& envelope_sender,
                                   std::string_view message) {
  std::vector<std::string> senders;
  if (!envelope_sender.empty()) senders.push_back(core::ascii_lower(envelope_sender));
  bool dmarc_fail = false;
  bool first_results = true;
  for (const auto& [name, value] : header_fields(message)) {
    if (name == "from") {
      for (auto& a : header_addresses(value)) senders.push_back(std::move(a));
    } else if (name == "authentication-results" && first_results) {
      // Ours is the topmost (src/smtp prepends it and removes forged ones, RFC 8601 5).
      first_results = false;
      dmarc_fail = core::ascii_lower(value).find("dmarc=fail") != std::string::npos;
    }
  }
  if (!dmarc_fail) {
    for (const auto& s : senders) {
      if (list_matches(lists.allow, s)) return PersonalMatch::allowed;
    }
  }
  for (const auto& s : senders) {
    if (list_matches(lists.block, s)) return PersonalMatch::blocked;
  }
  return PersonalMatch::none;
}

PersonalListScanner::PersonalListScanner(std::string store_root) : root_(std::move(store_root)) {}

std::shared_ptr<const PersonalLists> PersonalListScanner::lists_for(const std::string& account_id) {
  std::string stamp = list_file_stamp(personal_lists_path(root_, account_id));
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(account_id);
    if (it != cache_.end() && it->second.stamp == stamp) return it->second.lists;
  }
  auto read = read_personal_lists(root_, account_id);
  if (!read) {
    MR_LOG_WARN("event=personal_lists_unreadable account={} detail={}", account_id,
                core::quote(read.status().log_detail()));
    return nullptr;
  }
  auto lists = std::make_shared<const PersonalLists>(std::move(*read));
  std::lock_guard lock(mu_);
  if (cache_.size() > 10000) cache_.clear();  // bounded; a miss costs one small read
  cache_[account_id] = Cached{stamp, lists};
  return lists;
}

Verdict PersonalListScanner::scan(const ScanInput& in) {
  Verdict v;
  if (in.account_id.empty()) return v;
  auto lists = lists_for(in.account_id);
  if (!lists) return v;
  const bool in_junk = core::iequals(in.folder, "Junk");
  const bool in_ads = core::iequals(in.folder, "Ads");
  switch (match_personal_lists(*lists, in.envelope_sender, in.message)) {
    case PersonalMatch::allowed:
      if (in_junk || in_ads) {
        v.kind = VerdictKind::folder;
        v.folder = "INBOX";
        v.reason = "sender on the recipient's allow list";
      }
      return v;
    case PersonalMatch::blocked:
      if (lists->blocked == BlockedAction::discard) {
        v.kind = VerdictKind::discard;
        v.reason = "discarded: sender on the recipient's block list";
      } else {
        v.kind = VerdictKind::folder;
        v.folder = "Junk";
        v.reason = "sender on the recipient's block list";
      }
      return v;
    case PersonalMatch::none:
      break;
  }
  if (in_ads && lists->ads_in_inbox) {
    v.kind = VerdictKind::folder;
    v.folder = "INBOX";
    v.reason = "the recipient keeps ads in the inbox";
  }
  return v;
}

}  // namespace mailroom::filter
