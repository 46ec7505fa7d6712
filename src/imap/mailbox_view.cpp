#include "src/imap/mailbox_view.h"

#include <algorithm>
#include <map>
#include <mutex>

namespace mailroom::imap {
namespace {

// A session keeps one MessageMeta per message of its selected mailbox, also while it IDLEs
// for hours: drop what IMAP never reads (the POP3 retrieval mark, the file id).
void slim(store::MessageMeta& m) {
  std::string().swap(m.guid);
  std::string().swap(m.retrieved_by);
}

}  // namespace

void MailboxView::load(const store::Snapshot& snap, uint32_t recent_after) {
  uid_validity = snap.uid_validity;
  uid_next = snap.uid_next;
  highest_modseq = snap.highest_modseq;
  messages = snap.messages;
  for (auto& m : messages) slim(m);
  recent.clear();
  pending_expunge.clear();
  keywords.clear();
  for (const auto& m : messages) keywords.insert(m.keywords.begin(), m.keywords.end());
  // RFC 3501 6.3.2: EXAMINE shows \Recent like SELECT; only the caller's claim differs (it
  // peeks, so a read-only view takes nothing from other sessions).
  for (const auto& m : messages) {
    if (m.uid > recent_after) recent.insert(m.uid);
  }
}

uint32_t MailboxView::seq_of(uint32_t uid) const {
  auto it = std::lower_bound(messages.begin(), messages.end(), uid,
                             [](const store::MessageMeta& m, uint32_t u) { return m.uid < u; });
  if (it == messages.end() || it->uid != uid) return 0;
  return static_cast<uint32_t>(it - messages.begin()) + 1;
}

const store::MessageMeta* MailboxView::by_uid(uint32_t uid) const {
  uint32_t s = seq_of(uid);
  return s ? &messages[s - 1] : nullptr;
}

store::MessageMeta* MailboxView::by_uid(uint32_t uid) {
  uint32_t s = seq_of(uid);
  return s ? &messages[s - 1] : nullptr;
}

std::string MailboxView::flags_of(const store::MessageMeta& m) const {
  std::string s = "(";
  auto add = [&](const std::string& f) {
    if (s.size() > 1) s += " ";
    s += f;
  };
  if (m.flags & store::kSeen) add("\\Seen");
  if (m.flags & store::kAnswered) add("\\Answered");
  if (m.flags & store::kFlagged) add("\\Flagged");
  if (m.flags & store::kDeleted) add("\\Deleted");
  if (m.flags & store::kDraft) add("\\Draft");
  for (const auto& k : m.keywords) add(k);
  if (recent.count(m.uid)) add("\\Recent");
  return s + ")";
}

std::string MailboxView::mailbox_flags() const {
  std::string s = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft";
  for (const auto& k : keywords) s += " " + k;
  return s + ")";
}

std::string MailboxView::permanent_flags_line() const {
  if (read_only) return "OK [PERMANENTFLAGS ()] Read-only mailbox";
  std::string flags = mailbox_flags();
  flags.pop_back();
  return "OK [PERMANENTFLAGS " + flags + " \\*)] Flags permitted";
}

bool MailboxView::announce_keywords(const std::vector<store::MessageMeta>& changed,
                                    std::vector<std::string>& out) {
  bool grew = false;
  for (const auto& m : changed) {
    for (const auto& k : m.keywords) grew = keywords.insert(k).second || grew;
  }
  if (!grew) return false;
  out.push_back("FLAGS " + mailbox_flags());
  out.push_back(permanent_flags_line());
  return true;
}

std::string MailboxView::fetch_flags_line(const store::MessageMeta& m,
                                          const SyncOptions& opts) const {
  std::string s = std::to_string(seq_of(m.uid)) + " FETCH (";
  if (opts.with_uid) s += "UID " + std::to_string(m.uid) + " ";
  s += "FLAGS " + flags_of(m);
  if (opts.with_modseq) s += " MODSEQ (" + std::to_string(m.modseq) + ")";
  return s + ")";
}

std::string MailboxView::fetch_modseq_line(const store::MessageMeta& m) const {
  return std::to_string(seq_of(m.uid)) + " FETCH (UID " + std::to_string(m.uid) + " MODSEQ (" +
         std::to_string(m.modseq) + "))";
}

uint32_t MailboxView::apply(const store::Changes& changes, const SyncOptions& opts,
                            std::vector<std::string>& out) {
  uint32_t added = 0;
  announce_keywords(changes.changed, out);  // before the FETCH and EXISTS lines
  for (const auto& c : changes.changed) {
    if (store::MessageMeta* m = by_uid(c.uid)) {
      bool differs = m->flags != c.flags || m->keywords != c.keywords;
      bool modseq_moved = m->modseq != c.modseq;
      *m = c;
      slim(*m);
      if (differs || (opts.with_modseq && modseq_moved)) out.push_back(fetch_flags_line(*m, opts));
    } else if (c.uid > max_uid() && !pending_expunge.count(c.uid)) {
      messages.push_back(c);
      slim(messages.back());
      ++added;
    }
  }
  for (uint32_t uid : changes.expunged) {
    if (seq_of(uid)) pending_expunge.insert(uid);
  }
  flush_expunges(opts, out);
  if (added) out.push_back(std::to_string(exists()) + " EXISTS");
  if (changes.highest_modseq > highest_modseq) highest_modseq = changes.highest_modseq;
  for (const auto& m : messages) uid_next = std::max(uid_next, m.uid + 1);
  return added;
}

void MailboxView::flush_expunges(const SyncOptions& opts, std::vector<std::string>& out) {
  if (!opts.allow_expunge || pending_expunge.empty()) return;
  std::vector<uint32_t> uids(pending_expunge.begin(), pending_expunge.end());
  pending_expunge.clear();
  expunge_now(uids, opts, out);
}

void MailboxView::expunge_now(const std::vector<uint32_t>& uids, const SyncOptions& opts,
                              std::vector<std::string>& out) {
  std::vector<uint32_t> gone;
  // Descending sequence numbers keep each announced number valid as messages disappear.
  std::vector<uint32_t> sorted(uids);
  std::sort(sorted.rbegin(), sorted.rend());
  for (uint32_t uid : sorted) {
    uint32_t seq = seq_of(uid);
    if (!seq) continue;
    if (!opts.qresync) out.push_back(std::to_string(seq) + " EXPUNGE");
    messages.erase(messages.begin() + (seq - 1));
    recent.erase(uid);
    pending_expunge.erase(uid);
    gone.push_back(uid);
  }
  if (opts.qresync && !gone.empty()) {
    std::sort(gone.begin(), gone.end());
    out.push_back("VANISHED " + compact_set(gone));
  }
}

std::string compact_set(const std::vector<uint32_t>& sorted) {
  std::string s;
  size_t i = 0;
  while (i < sorted.size()) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!s.empty()) s += ",";
    s += std::to_string(sorted[i]);
    if (j > i) s += ":" + std::to_string(sorted[j]);
    i = j + 1;
  }
  return s;
}

}  // namespace mailroom::imap
