#include "src/jmap/views.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "src/core/base64.h"
#include "src/core/split.h"

namespace mailroom::jmap {
namespace {

uint32_t fnv1a(uint32_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

const char* role_of(store::SpecialUse u) {
  // RFC 8621 2: roles are the IMAP special-use attributes (RFC 6154) in lower case; "Ads"
  // has no registered attribute, so no role.
  switch (u) {
    case store::SpecialUse::inbox:
      return "inbox";
    case store::SpecialUse::sent:
      return "sent";
    case store::SpecialUse::drafts:
      return "drafts";
    case store::SpecialUse::trash:
      return "trash";
    case store::SpecialUse::junk:
      return "junk";
    case store::SpecialUse::archive:
      return "archive";
    case store::SpecialUse::ads:
    case store::SpecialUse::none:
      break;
  }
  return "";
}

std::string hex(uint64_t v) {
  char buf[17];
  auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
  return std::string(buf, r.ptr);
}

bool parse_hex(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 16) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

using core::split;

}  // namespace

core::Result<std::vector<MailboxView>> load_mailboxes(store::MailStore& store,
                                                      const std::string& account_id) {
  auto list = store.list_mailboxes(account_id);
  if (!list) return list.status();
  auto subs = store.subscriptions(account_id);
  std::vector<MailboxView> out;
  out.reserve(list->size());
  for (auto& info : *list) {
    MailboxView v;
    v.info = std::move(info);
    if (subs) {
      v.info.subscribed = std::find(subs->begin(), subs->end(), v.info.name) != subs->end();
    }
    v.id = "F" + (v.info.object_id.empty() ? core::hex_encode(v.info.name) : v.info.object_id);
    auto slash = v.info.name.rfind('/');
    v.name = slash == std::string::npos ? v.info.name : v.info.name.substr(slash + 1);
    store::SpecialUse use = v.info.special_use;
    if (v.info.name == "INBOX") use = store::SpecialUse::inbox;
    v.role = role_of(use);
    out.push_back(std::move(v));
  }
  for (auto& v : out) {
    auto slash = v.info.name.rfind('/');
    if (slash == std::string::npos) continue;
    const MailboxView* parent = find_mailbox_by_name(out, v.info.name.substr(0, slash));
    if (parent) {
      v.parent_id = parent->id;
    } else {
      v.name = v.info.name;  // an orphan shows its whole path at the top
    }
  }
  return out;
}

const MailboxView* find_mailbox_by_id(const std::vector<MailboxView>& all, std::string_view id) {
  for (const auto& m : all)
    if (m.id == id) return &m;
  return nullptr;
}

const MailboxView* find_mailbox_by_name(const std::vector<MailboxView>& all,
                                        std::string_view name) {
  for (const auto& m : all)
    if (m.info.name == name) return &m;
  return nullptr;
}

uint32_t mailbox_props_hash(const MailboxView& m) {
  uint32_t h = 2166136261u;
  h = fnv1a(h, m.info.name);
  h = fnv1a(h, std::string_view("\0", 1));
  h = fnv1a(h, m.parent_id);
  h = fnv1a(h, m.role);
  h = fnv1a(h, m.info.subscribed ? "s" : "u");
  return h;
}

uint32_t mailbox_counts_hash(const MailboxView& m) {
  uint32_t h = 2166136261u;
  h = fnv1a(h, std::to_string(m.info.messages));
  h = fnv1a(h, ":");
  h = fnv1a(h, std::to_string(m.info.unseen));
  return h;
}

std::string mailbox_state(const std::vector<MailboxView>& all) {
  std::vector<const MailboxView*> sorted;
  for (const auto& m : all) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::string s = "m";
  for (const auto* m : sorted) {
    s += ',';
    s += m->id;
    s += '.';
    s += hex(mailbox_props_hash(*m));
    s += '.';
    s += hex(mailbox_counts_hash(*m));
  }
  return s;
}

std::optional<std::vector<MailboxStateEntry>> decode_mailbox_state(std::string_view state) {
  if (state.empty() || state[0] != 'm' || state.size() > (1u << 20)) return std::nullopt;
  std::vector<MailboxStateEntry> out;
  if (state.size() == 1) return out;
  if (state[1] != ',') return std::nullopt;
  for (auto item : split(state.substr(2), ',')) {
    auto parts = split(item, '.');
    uint64_t p = 0, c = 0;
    if (parts.size() != 3 || parts[0].empty() || !parse_hex(parts[1], p) ||
        !parse_hex(parts[2], c) || p > UINT32_MAX || c > UINT32_MAX)
      return std::nullopt;
    out.push_back({std::string(parts[0]), static_cast<uint32_t>(p), static_cast<uint32_t>(c)});
  }
  return out;
}

std::string email_state(const std::vector<MailboxView>& all) {
  std::vector<const store::MailboxInfo*> sorted;
  for (const auto& m : all)
    if (m.info.messages > 0) sorted.push_back(&m.info);
  std::sort(sorted.begin(), sorted.end(),
            [](auto* a, auto* b) { return a->uid_validity < b->uid_validity; });
  std::string s = "e";
  for (const auto* i : sorted) {
    s += ',' + hex(i->uid_validity) + '.' + hex(i->uid_next) + '.' + hex(i->highest_modseq);
  }
  return s;
}

std::optional<std::vector<EmailStateEntry>> decode_email_state(std::string_view state) {
  if (state.empty() || state[0] != 'e' || state.size() > (1u << 20)) return std::nullopt;
  std::vector<EmailStateEntry> out;
  if (state.size() == 1) return out;
  if (state[1] != ',') return std::nullopt;
  for (auto item : split(state.substr(2), ',')) {
    auto parts = split(item, '.');
    uint64_t v = 0, n = 0, m = 0;
    if (parts.size() != 3 || !parse_hex(parts[0], v) || !parse_hex(parts[1], n) ||
        !parse_hex(parts[2], m) || v > UINT32_MAX || n > UINT32_MAX)
      return std::nullopt;
    out.push_back({static_cast<uint32_t>(v), static_cast<uint32_t>(n), m});
  }
  return out;
}

std::optional<std::string> guid_of(std::string_view id, char prefix) {
  if (id.size() != 33 || id[0] != prefix) return std::nullopt;
  for (char c : id.substr(1)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return std::string(id.substr(1));
}

core::Result<std::vector<store::MessageCopy>> copies_of(store::MailStore& store,
                                                        const std::string& account_id,
                                                        std::string_view id, char prefix) {
  auto guid = guid_of(id, prefix);
  if (!guid) return std::vector<store::MessageCopy>{};
  return store.find_copies(account_id, *guid);
}

std::vector<std::string> keywords_of(const store::MessageMeta& meta) {
  std::vector<std::string> out;
  if (meta.flags & store::kSeen) out.emplace_back("$seen");
  if (meta.flags & store::kFlagged) out.emplace_back("$flagged");
  if (meta.flags & store::kAnswered) out.emplace_back("$answered");
  if (meta.flags & store::kDraft) out.emplace_back("$draft");
  for (const auto& k : meta.keywords) {
    std::string lower = k;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (valid_keyword(lower) && std::find(out.begin(), out.end(), lower) == out.end())
      out.push_back(std::move(lower));
  }
  return out;
}

bool valid_keyword(std::string_view k) {
  if (k.empty() || k.size() > 255) return false;
  for (char c : k) {
    if (c < 0x21 || c > 0x7e) return false;
    if (std::string_view("(){]%*\"\\").find(c) != std::string_view::npos) return false;
  }
  return true;
}

void flags_of(const std::vector<std::string>& keywords, uint32_t& flags,
              std::vector<std::string>& imap_keywords) {
  flags = 0;
  imap_keywords.clear();
  for (const auto& k : keywords) {
    if (k == "$seen")
      flags |= store::kSeen;
    else if (k == "$flagged")
      flags |= store::kFlagged;
    else if (k == "$answered")
      flags |= store::kAnswered;
    else if (k == "$draft")
      flags |= store::kDraft;
    else
      imap_keywords.push_back(k);
  }
}

}  // namespace mailroom::jmap
