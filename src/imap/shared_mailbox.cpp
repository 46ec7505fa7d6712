#include "src/imap/shared_mailbox.h"

#include <algorithm>
#include <limits>

namespace mailroom::imap {

KeywordSets::KeywordSets() {
  sets_.push_back(std::make_shared<const std::vector<std::string>>());
  ids_.emplace(std::vector<std::string>{}, 0);
}

std::optional<uint32_t> KeywordSets::find(const std::vector<std::string>& keywords) const {
  auto it = ids_.find(keywords);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<const KeywordSets> KeywordSets::with(
    const std::vector<std::string>& keywords) const {
  // The sets themselves are shared between copies: a new combination costs one pointer per
  // existing set, not a copy of their strings.
  auto next = std::make_shared<KeywordSets>(*this);
  next->ids_.emplace(keywords, static_cast<uint32_t>(next->sets_.size()));
  next->sets_.push_back(std::make_shared<const std::vector<std::string>>(keywords));
  return next;
}

ptrdiff_t Version::index_of(uint32_t uid) const {
  auto it = std::lower_bound(rows.begin(), rows.end(), uid,
                             [](const MessageRow& r, uint32_t u) { return r.uid < u; });
  if (it == rows.end() || it->uid != uid) return -1;
  return it - rows.begin();
}

MessageRow row_of(const store::MessageMeta& m, std::shared_ptr<const KeywordSets>& sets) {
  MessageRow r;
  r.uid = m.uid;
  r.size = static_cast<uint32_t>(std::min<uint64_t>(m.size, std::numeric_limits<uint32_t>::max()));
  r.modseq = m.modseq;
  r.internal_date = m.internal_date;
  r.internal_tz = static_cast<int16_t>(m.internal_tz);
  r.flags = static_cast<uint8_t>(m.flags);
  if (!m.keywords.empty()) {
    auto id = sets->find(m.keywords);
    if (!id) {
      id = static_cast<uint32_t>(sets->size());
      sets = sets->with(m.keywords);
    }
    r.keywords = *id;
  }
  return r;
}

std::shared_ptr<const Version> version_from_snapshot(const store::Snapshot& snap) {
  auto v = std::make_shared<Version>();
  v->uid_validity = snap.uid_validity;
  v->uid_next = snap.uid_next;
  v->highest_modseq = snap.highest_modseq;
  v->from_modseq = snap.highest_modseq;
  std::shared_ptr<const KeywordSets> sets = std::make_shared<const KeywordSets>();
  v->rows.reserve(snap.messages.size());
  for (const auto& m : snap.messages) v->rows.push_back(row_of(m, sets));
  v->keyword_sets = std::move(sets);
  return v;
}

std::shared_ptr<const Version> apply_changes(const Version& base, const store::Changes& changes) {
  bool moved = changes.highest_modseq > base.highest_modseq ||
               (changes.uid_next != 0 && changes.uid_next != base.uid_next);
  if (changes.changed.empty() && changes.expunged.empty() && !moved) return nullptr;
  auto v = std::make_shared<Version>();
  v->uid_validity = base.uid_validity;
  v->uid_next = std::max(base.uid_next, changes.uid_next);
  v->highest_modseq = std::max(base.highest_modseq, changes.highest_modseq);
  v->from_modseq = base.highest_modseq;
  std::shared_ptr<const KeywordSets> sets = base.keyword_sets;
  // One merge of three UID-ordered sequences: the old rows, the changed records (new or
  // updated) and the expunged UIDs.
  v->rows.reserve(base.rows.size() + changes.changed.size());
  size_t i = 0, c = 0, e = 0;
  const auto& old = base.rows;
  const auto& ch = changes.changed;
  const auto& ex = changes.expunged;
  while (i < old.size() || c < ch.size()) {
    uint32_t next =
        std::min(i < old.size() ? old[i].uid : UINT32_MAX, c < ch.size() ? ch[c].uid : UINT32_MAX);
    while (e < ex.size() && ex[e] < next) ++e;
    bool gone = e < ex.size() && ex[e] == next;
    bool in_old = i < old.size() && old[i].uid == next;
    bool in_changes = c < ch.size() && ch[c].uid == next;
    if (gone) {
      if (in_old) v->expunged.push_back(next);
    } else if (in_changes) {
      MessageRow r = row_of(ch[c], sets);
      bool differs = !in_old || old[i].modseq != r.modseq || old[i].flags != r.flags ||
                     old[i].keywords != r.keywords;
      if (differs) v->changed.push_back(next);
      v->rows.push_back(r);
    } else {
      v->rows.push_back(old[i]);
    }
    if (in_old) ++i;
    if (in_changes) ++c;
  }
  for (const MessageRow& r : v->rows) v->uid_next = std::max(v->uid_next, r.uid + 1);
  v->keyword_sets = std::move(sets);
  return v;
}

std::shared_ptr<const Version> SharedMailbox::current() const {
  std::lock_guard<std::mutex> lk(mu_);
  return current_;
}

core::Result<std::shared_ptr<const Version>> SharedMailbox::refresh(store::MailStore& store) {
  std::lock_guard<std::mutex> one(refresh_mu_);
  std::shared_ptr<const Version> base = current();
  if (base) {
    auto changes = store.changes_since(account_id_, name_, base->highest_modseq);
    if (!changes) return changes.status();
    // A mailbox deleted and created again (new UIDVALIDITY) or an index rebuilt by fsck (MODSEQ
    // lower than ours) is loaded afresh: the old rows mean nothing there.
    bool same = (changes->uid_validity == 0 || changes->uid_validity == base->uid_validity) &&
                changes->highest_modseq >= base->highest_modseq;
    if (same) {
      auto next = apply_changes(*base, *changes);
      if (!next) return base;
      std::lock_guard<std::mutex> lk(mu_);
      current_ = next;
      return next;
    }
  }
  auto snap = store.snapshot(account_id_, name_);
  if (!snap) return snap.status();
  auto next = version_from_snapshot(*snap);
  std::lock_guard<std::mutex> lk(mu_);
  current_ = next;
  return next;
}

std::shared_ptr<SharedMailbox> SharedMailboxes::acquire(const std::string& account_id,
                                                        const std::string& name) {
  std::lock_guard<std::mutex> lk(mu_);
  Key key{account_id, name};
  auto& slot = live_[key];
  if (auto box = slot.lock()) return box;
  for (auto it = warm_.begin(); it != warm_.end(); ++it) {
    if (it->first == key) {
      auto box = std::move(it->second);
      warm_.erase(it);
      slot = box;
      return box;
    }
  }
  auto box = std::make_shared<SharedMailbox>(account_id, name);
  slot = box;
  return box;
}

void SharedMailboxes::release(std::shared_ptr<SharedMailbox> box) {
  if (!box) return;
  std::shared_ptr<SharedMailbox> dropped;  // destroyed outside the lock
  std::vector<std::shared_ptr<SharedMailbox>> evicted;
  std::lock_guard<std::mutex> lk(mu_);
  Key key{box->account_id(), box->name()};
  for (auto it = warm_.begin(); it != warm_.end(); ++it) {
    if (it->first == key) {
      evicted.push_back(std::move(it->second));
      warm_.erase(it);
      break;
    }
  }
  auto v = box->current();
  if (keep_rows_ == 0 || (v && v->rows.size() > keep_rows_)) {
    dropped = std::move(box);
  } else {
    warm_.emplace_front(key, std::move(box));
  }
  size_t rows = 0;
  for (auto it = warm_.begin(); it != warm_.end();) {
    auto cur = it->second->current();
    rows += cur ? cur->rows.size() : 0;
    if (rows > keep_rows_) {
      evicted.push_back(std::move(it->second));
      it = warm_.erase(it);
    } else {
      ++it;
    }
  }
  // Forget names nobody holds any more (the map would otherwise grow with every mailbox ever
  // selected); amortized: a sweep whenever the map has doubled since the last one.
  if (live_.size() > 2 * swept_size_ + 64) {
    for (auto it = live_.begin(); it != live_.end();) {
      it = it->second.expired() ? live_.erase(it) : std::next(it);
    }
    swept_size_ = live_.size();
  }
}

}  // namespace mailroom::imap
