#include "src/imap/mailbox_view.h"

#include <algorithm>

namespace mailroom::imap {
namespace {

const MessageRow* find_row(const MessageRows& rows, uint32_t uid) {
  auto it = std::lower_bound(rows.begin(), rows.end(), uid,
                             [](const MessageRow& r, uint32_t u) { return r.uid < u; });
  return it != rows.end() && it->uid == uid ? &*it : nullptr;
}

bool sorted_contains(const std::vector<uint32_t>& v, uint32_t uid) {
  return std::binary_search(v.begin(), v.end(), uid);
}

uint32_t uid_of(const MessageRow& r) { return r.uid; }
uint32_t uid_of(uint32_t uid) { return uid; }

}  // namespace

void MailboxView::load(std::shared_ptr<const Version> version, uint32_t recent_after) {
  base_ = std::move(version);
  highest_modseq_ = base_->highest_modseq;
  ghosts_.clear();
  removed_.clear();
  recent_.clear();
  keywords.clear();
  rebuild();
  // Every keyword of the mailbox's keyword sets (a few, not one per message; a set no message
  // has any more still names keywords that are valid here).
  const KeywordSets& sets = *base_->keyword_sets;
  for (uint32_t id = 1; id < sets.size(); ++id)
    keywords.insert(sets.at(id).begin(), sets.at(id).end());
  // RFC 3501 6.3.2: EXAMINE shows \Recent like SELECT; only the caller's claim differs (it
  // peeks, so a read-only view takes nothing from other sessions).
  if (max_uid() > recent_after) add_recent(recent_after + 1, max_uid());
}

void MailboxView::rebuild() {
  private_ = !ghosts_.empty() || !removed_.empty();
  own_.clear();
  if (!private_) {
    own_.shrink_to_fit();
    return;
  }
  own_.reserve(base_->rows.size() + ghosts_.size());
  size_t g = 0;
  for (const MessageRow& r : base_->rows) {
    while (g < ghosts_.size() && ghosts_[g].uid < r.uid) own_.push_back(ghosts_[g++]);
    if (!sorted_contains(removed_, r.uid)) own_.push_back(r);
  }
  while (g < ghosts_.size()) own_.push_back(ghosts_[g++]);
}

uint32_t MailboxView::seq_of(uint32_t uid) const {
  const auto& rs = rows();
  const MessageRow* r = find_row(rs, uid);
  return r ? static_cast<uint32_t>(r - rs.data()) + 1 : 0;
}

const MessageRow* MailboxView::by_uid(uint32_t uid) const { return find_row(rows(), uid); }

void MailboxView::add_recent(uint32_t first, uint32_t last) {
  if (first > last) return;
  recent_.emplace_back(first, last);
  std::sort(recent_.begin(), recent_.end());
  // Merge overlapping or adjacent ranges: a long session keeps a handful.
  std::vector<std::pair<uint32_t, uint32_t>> merged;
  for (const auto& r : recent_) {
    if (!merged.empty() && r.first <= merged.back().second + 1)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  // Ranges wholly below the lowest message present mean nothing any more.
  uint32_t lowest = rows().empty() ? UINT32_MAX : rows().front().uid;
  std::erase_if(merged, [&](const auto& r) { return r.second < lowest; });
  recent_ = std::move(merged);
}

bool MailboxView::is_recent(uint32_t uid) const {
  // The ranges are sorted and disjoint: the one that could hold `uid` starts at or below it.
  auto it = std::upper_bound(recent_.begin(), recent_.end(), uid,
                             [](uint32_t u, const auto& r) { return u < r.first; });
  return it != recent_.begin() && uid <= std::prev(it)->second;
}

uint32_t MailboxView::recent_count() const {
  const auto& rs = rows();
  auto uid_less = [](const MessageRow& r, uint32_t u) { return r.uid < u; };
  uint32_t n = 0;
  for (const auto& [first, last] : recent_) {
    auto lo = std::lower_bound(rs.begin(), rs.end(), first, uid_less);
    auto hi = last == UINT32_MAX ? rs.end() : std::lower_bound(lo, rs.end(), last + 1, uid_less);
    n += static_cast<uint32_t>(hi - lo);
  }
  return n;
}

std::string MailboxView::flags_of(const MessageRow& m) const {
  std::string s = "(";
  auto add = [&](std::string_view f) {
    if (s.size() > 1) s += ' ';
    s += f;
  };
  if (m.flags & store::kSeen) add("\\Seen");
  if (m.flags & store::kAnswered) add("\\Answered");
  if (m.flags & store::kFlagged) add("\\Flagged");
  if (m.flags & store::kDeleted) add("\\Deleted");
  if (m.flags & store::kDraft) add("\\Draft");
  for (const auto& k : keywords_of(m)) add(k);
  if (is_recent(m.uid)) add("\\Recent");
  s += ')';
  return s;
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

bool MailboxView::announce_keywords(const Version& v, const std::vector<const MessageRow*>& changed,
                                    std::vector<std::string>& out) {
  bool grew = false;
  for (const MessageRow* r : changed) {
    if (r->keywords == 0) continue;
    for (const auto& k : v.keywords_of(*r)) grew = keywords.insert(k).second || grew;
  }
  if (!grew) return false;
  out.push_back("FLAGS " + mailbox_flags());
  out.push_back(permanent_flags_line());
  return true;
}

std::string MailboxView::fetch_flags_line(const MessageRow& m, const SyncOptions& opts) const {
  std::string s = std::to_string(seq_of(m.uid)) + " FETCH (";
  if (opts.with_uid) s += "UID " + std::to_string(m.uid) + " ";
  s += "FLAGS " + flags_of(m);
  if (opts.with_modseq) s += " MODSEQ (" + std::to_string(m.modseq) + ")";
  return s + ")";
}

std::string MailboxView::fetch_modseq_line(const MessageRow& m) const {
  return std::to_string(seq_of(m.uid)) + " FETCH (UID " + std::to_string(m.uid) + " MODSEQ (" +
         std::to_string(m.modseq) + "))";
}

uint32_t MailboxView::adopt(std::shared_ptr<const Version> next, const SyncOptions& opts,
                            std::vector<std::string>& out, const std::vector<uint32_t>& announced) {
  if (next == base_ && ghosts_.empty()) return 0;
  const MessageRows& cur = rows();
  uint32_t cur_max = max_uid();
  std::vector<const MessageRow*> updates;  // rows of `next` whose flags this session must be told
  std::vector<const MessageRow*> added;    // rows of `next` above cur_max
  std::vector<MessageRow> gone;            // rows of `cur` that `next` no longer has
  auto classify_present = [&](const MessageRow& was, const MessageRow& now) {
    bool differs = was.flags != now.flags || was.keywords != now.keywords;
    bool modseq_moved = was.modseq != now.modseq;
    if (differs || (opts.with_modseq && modseq_moved)) updates.push_back(&now);
  };
  if (next->lineage == base_->lineage && next->from_modseq == base_->highest_modseq &&
      next != base_) {
    // `next` was built from our base: its own list of what changed is enough.
    for (uint32_t uid : next->changed) {
      const MessageRow* now = find_row(next->rows, uid);
      if (!now) continue;
      if (const MessageRow* was = find_row(cur, uid))
        classify_present(*was, *now);
      else if (uid > cur_max && !sorted_contains(removed_, uid))
        added.push_back(now);
    }
    for (uint32_t uid : next->expunged) {
      if (const MessageRow* was = find_row(cur, uid)) gone.push_back(*was);
    }
    for (const MessageRow& g : ghosts_) gone.push_back(g);
    std::sort(gone.begin(), gone.end(),
              [](const MessageRow& a, const MessageRow& b) { return a.uid < b.uid; });
  } else {
    // Any other version (the session missed some, or a refresh raced): compare every row.
    size_t i = 0, j = 0;
    const auto& nr = next->rows;
    while (i < cur.size() || j < nr.size()) {
      if (j == nr.size() || (i < cur.size() && cur[i].uid < nr[j].uid)) {
        gone.push_back(cur[i++]);
      } else if (i == cur.size() || nr[j].uid < cur[i].uid) {
        // Not in our list: new, or one this session expunged before `next` was built.
        if (nr[j].uid > cur_max && !sorted_contains(removed_, nr[j].uid)) added.push_back(&nr[j]);
        ++j;
      } else {
        classify_present(cur[i], nr[j]);
        ++i, ++j;
      }
    }
  }
  // Keywords first (RFC 3501 7.2.6), then the flag changes, the expunges, the new messages.
  std::vector<const MessageRow*> shown = updates;
  shown.insert(shown.end(), added.begin(), added.end());
  announce_keywords(*next, shown, out);
  std::erase_if(updates, [&](const MessageRow* r) { return sorted_contains(announced, r->uid); });
  // The new state: `next`'s rows, less what we already removed, plus the ghosts. The rows of
  // `updates` keep the sequence numbers the client knows (new messages come after them, the
  // expunged ones stay in place until announced).
  std::vector<uint32_t> removed;
  for (uint32_t uid : removed_) {
    if (next->index_of(uid) >= 0) removed.push_back(uid);
  }
  return move_to(std::move(next), std::move(removed), std::move(gone), updates, added.size(), opts,
                 out);
}

uint32_t MailboxView::move_to(std::shared_ptr<const Version> next, std::vector<uint32_t> removed,
                              std::vector<MessageRow> gone,
                              const std::vector<const MessageRow*>& updates, size_t added,
                              const SyncOptions& opts, std::vector<std::string>& out) {
  base_ = std::move(next);
  highest_modseq_ = std::max(highest_modseq_, base_->highest_modseq);
  removed_ = std::move(removed);
  ghosts_ = std::move(gone);
  rebuild();
  for (const MessageRow* r : updates) out.push_back(fetch_flags_line(*r, opts));
  flush_expunges(opts, out);
  if (added) out.push_back(std::to_string(exists()) + " EXISTS");
  return static_cast<uint32_t>(added);
}

void MailboxView::hibernate() {
  if (!can_hibernate()) return;
  asleep_.uid_validity = base_->uid_validity;
  asleep_.uid_next = base_->uid_next;
  asleep_.lineage = base_->lineage;
  asleep_.uids.clear();
  for (const MessageRow& r : base_->rows) {
    if (!asleep_.uids.empty() && asleep_.uids.back().second + 1 == r.uid)
      asleep_.uids.back().second = r.uid;
    else
      asleep_.uids.emplace_back(r.uid, r.uid);
  }
  asleep_.uids.shrink_to_fit();
  base_.reset();
  own_ = {};
  ghosts_ = {};
  removed_ = {};
}

uint32_t MailboxView::wake(std::shared_ptr<const Version> next, const SyncOptions& opts,
                           std::vector<std::string>& out) {
  if (!hibernated()) return adopt(std::move(next), opts, out);
  const auto& nr = next->rows;
  uint32_t old_max = asleep_.uids.empty() ? 0 : asleep_.uids.back().second;
  std::vector<const MessageRow*> updates;  // rows of `next` with a MODSEQ above ours
  std::vector<const MessageRow*> added;    // rows of `next` above old_max
  std::vector<MessageRow> gone;            // UIDs the view had that `next` no longer has
  size_t j = 0;
  for (const auto& [first, last] : asleep_.uids) {
    for (uint64_t uid = first; uid <= last; ++uid) {
      // Rows below `uid` that the view never had are not new messages (UIDs only grow).
      while (j < nr.size() && nr[j].uid < uid) ++j;
      if (j < nr.size() && nr[j].uid == uid) {
        if (nr[j].modseq > highest_modseq_) updates.push_back(&nr[j]);
        ++j;
      } else {
        MessageRow g;  // flags unknown: only its UID and sequence number matter now
        g.uid = static_cast<uint32_t>(uid);
        gone.push_back(g);
      }
    }
  }
  for (; j < nr.size(); ++j) {
    if (nr[j].uid > old_max) added.push_back(&nr[j]);
  }
  // As adopt(): keywords first (RFC 3501 7.2.6), then flags, expunges, new messages; the
  // gone rows stay in place (as ghosts) until they are announced.
  std::vector<const MessageRow*> shown = updates;
  shown.insert(shown.end(), added.begin(), added.end());
  announce_keywords(*next, shown, out);
  asleep_ = {};
  return move_to(std::move(next), {}, std::move(gone), updates, added.size(), opts, out);
}

void MailboxView::flush_expunges(const SyncOptions& opts, std::vector<std::string>& out) {
  if (!opts.allow_expunge || ghosts_.empty()) return;
  std::vector<uint32_t> uids;
  for (const MessageRow& g : ghosts_) uids.push_back(g.uid);
  expunge_now(uids, opts, out);
}

void MailboxView::expunge_now(const std::vector<uint32_t>& uids, const SyncOptions& opts,
                              std::vector<std::string>& out) {
  std::vector<uint32_t> sorted(uids);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<uint32_t> gone;
  std::vector<uint32_t> seqs;
  for (uint32_t uid : sorted) {
    if (uint32_t seq = seq_of(uid)) {
      gone.push_back(uid);
      seqs.push_back(seq);
    }
  }
  if (gone.empty()) return;
  if (!opts.qresync) {
    // Descending sequence numbers keep each announced number valid as messages disappear.
    for (auto it = seqs.rbegin(); it != seqs.rend(); ++it)
      out.push_back(std::to_string(*it) + " EXPUNGE");
  }
  // One pass over each list (an EXPUNGE of 100,000 messages must not erase them one by one).
  std::vector<uint32_t> now_removed;
  for (uint32_t uid : gone) {
    bool ghost =
        std::binary_search(ghosts_.begin(), ghosts_.end(), uid,
                           [](const auto& a, const auto& b) { return uid_of(a) < uid_of(b); });
    if (!ghost && base_->index_of(uid) >= 0) now_removed.push_back(uid);
  }
  std::erase_if(ghosts_, [&](const MessageRow& g) { return sorted_contains(gone, g.uid); });
  std::vector<uint32_t> merged;
  merged.reserve(removed_.size() + now_removed.size());
  std::merge(removed_.begin(), removed_.end(), now_removed.begin(), now_removed.end(),
             std::back_inserter(merged));
  merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
  removed_ = std::move(merged);
  rebuild();
  if (opts.qresync) out.push_back("VANISHED " + compact_set(gone));
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
