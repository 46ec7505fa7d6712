#include "src/imap/shared_mailbox.h"

#include <algorithm>
#include <atomic>
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

uint32_t KeywordSets::add(const std::vector<std::string>& keywords) {
  auto id = static_cast<uint32_t>(sets_.size());
  ids_.emplace(keywords, id);
  sets_.push_back(std::make_shared<const std::vector<std::string>>(keywords));
  return id;
}

namespace {

std::atomic<uint64_t> g_lineage{0};

// Keyword ids for the rows of one version build: the base's table, copied once when the build
// meets a keyword set it lacks (one copy per build, not one per new set).
class KeywordBuilder {
 public:
  explicit KeywordBuilder(std::shared_ptr<const KeywordSets> base) : base_(std::move(base)) {}
  uint32_t id_of(const std::vector<std::string>& keywords) {
    if (keywords.empty()) return 0;
    const KeywordSets& table = copy_ ? *copy_ : *base_;
    if (auto id = table.find(keywords)) return *id;
    if (!copy_) copy_ = std::make_shared<KeywordSets>(*base_);
    return copy_->add(keywords);
  }
  std::shared_ptr<const KeywordSets> result() const {
    return copy_ ? std::shared_ptr<const KeywordSets>(copy_) : base_;
  }

 private:
  std::shared_ptr<const KeywordSets> base_;
  std::shared_ptr<KeywordSets> copy_;
};

MessageRow row_of(const store::MessageMeta& m, KeywordBuilder& keywords) {
  MessageRow r;
  r.uid = m.uid;
  r.size = static_cast<uint32_t>(std::min<uint64_t>(m.size, std::numeric_limits<uint32_t>::max()));
  r.modseq = m.modseq;
  r.internal_date = m.internal_date;
  r.internal_tz = static_cast<int16_t>(m.internal_tz);
  r.flags = static_cast<uint8_t>(m.flags);
  r.keywords = keywords.id_of(m.keywords);
  return r;
}

// The STATUS counts of a version.
void count(Version& v) {
  for (size_t i = 0; i < v.rows.size(); ++i) {
    const MessageRow& r = v.rows[i];
    bool unseen = !(r.flags & store::kSeen);
    if (unseen && v.unseen == 0) v.first_unseen = static_cast<uint32_t>(i) + 1;
    v.unseen += unseen ? 1 : 0;
    v.total_size += r.size;
  }
}

}  // namespace

namespace {
int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

bool SharedMailbox::refreshed_within(std::chrono::milliseconds age) const {
  return now_ms() - refreshed_ms_.load() <= age.count();
}

ptrdiff_t Version::index_of(uint32_t uid) const {
  auto it = std::lower_bound(rows.begin(), rows.end(), uid,
                             [](const MessageRow& r, uint32_t u) { return r.uid < u; });
  if (it == rows.end() || it->uid != uid) return -1;
  return it - rows.begin();
}

namespace {

// A first version: the header of `snap`, then the rows one record at a time.
class VersionBuilder {
 public:
  VersionBuilder()
      : v_(std::make_shared<Version>()), keywords_(std::make_shared<const KeywordSets>()) {}
  // A load that continues `lineage` when the mailbox is the same incarnation: the keyword ids
  // of `keyword_sets` are reused, so the rows compare with those of the lineage's versions.
  VersionBuilder(uint64_t lineage, uint32_t uid_validity, uint64_t highest_modseq,
                 std::shared_ptr<const KeywordSets> keyword_sets)
      : v_(std::make_shared<Version>()),
        keywords_(std::move(keyword_sets)),
        continue_lineage_(lineage),
        continue_validity_(uid_validity),
        continue_modseq_(highest_modseq) {}
  void add(const store::MessageMeta& m) { v_->rows.push_back(row_of(m, keywords_)); }
  std::shared_ptr<const Version> finish(const store::Snapshot& head) {
    v_->uid_validity = head.uid_validity;
    v_->uid_next = head.uid_next;
    v_->highest_modseq = head.highest_modseq;
    v_->object_id = head.object_id;
    v_->from_modseq = head.highest_modseq;
    v_->lineage = ++g_lineage;
    if (continue_lineage_ != 0 && head.uid_validity == continue_validity_ &&
        head.highest_modseq >= continue_modseq_) {
      v_->lineage = continue_lineage_;
      // No list of what changed: sessions on an older version compare every row.
      v_->from_modseq = std::numeric_limits<uint64_t>::max();
    }
    // Grown by doubling while scanning: give back what a long life should not hold.
    if (v_->rows.capacity() > v_->rows.size() + v_->rows.size() / 8) v_->rows.shrink_to_fit();
    v_->keyword_sets = keywords_.result();
    count(*v_);
    return std::move(v_);
  }

 private:
  std::shared_ptr<Version> v_;
  KeywordBuilder keywords_;
  uint64_t continue_lineage_ = 0;
  uint32_t continue_validity_ = 0;
  uint64_t continue_modseq_ = 0;
};

// The builder of a full scan: after SharedMailbox::release_rows() it continues the dropped
// rows' lineage, so hibernated and awake sessions compare rows (`dropped`: a
// std::optional<SharedMailbox::Dropped>).
VersionBuilder rescan_builder(const auto& dropped) {
  return dropped ? VersionBuilder(dropped->lineage, dropped->uid_validity, dropped->highest_modseq,
                                  dropped->keyword_sets)
                 : VersionBuilder();
}

}  // namespace

std::shared_ptr<const Version> version_from_snapshot(const store::Snapshot& snap) {
  VersionBuilder b;
  for (const auto& m : snap.messages) b.add(m);
  return b.finish(snap);
}

std::shared_ptr<const Version> apply_changes(const Version& base, const store::Changes& changes) {
  bool moved = changes.highest_modseq > base.highest_modseq ||
               (changes.uid_next != 0 && changes.uid_next != base.uid_next);
  if (changes.changed.empty() && changes.expunged.empty() && !moved) return nullptr;
  auto v = std::make_shared<Version>();
  v->uid_validity = base.uid_validity;
  v->object_id = base.object_id;
  v->uid_next = std::max(base.uid_next, changes.uid_next);
  v->highest_modseq = std::max(base.highest_modseq, changes.highest_modseq);
  v->from_modseq = base.highest_modseq;
  v->lineage = base.lineage;
  KeywordBuilder keywords(base.keyword_sets);
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
      MessageRow r = row_of(ch[c], keywords);
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
  if (!v->rows.empty()) v->uid_next = std::max(v->uid_next, v->rows.back().uid + 1);
  v->keyword_sets = keywords.result();
  count(*v);
  return v;
}

std::shared_ptr<const Version> SharedMailbox::current() const {
  std::lock_guard<std::mutex> lk(mu_);
  return current_;
}

namespace {

// A mailbox deleted and created again (new UIDVALIDITY) or an index rebuilt by fsck (MODSEQ
// lower than ours) is loaded afresh: the old rows mean nothing there.
bool same_incarnation(const Version& base, const store::Changes& changes) {
  return (changes.uid_validity == 0 || changes.uid_validity == base.uid_validity) &&
         changes.highest_modseq >= base.highest_modseq;
}

// `m` as `reader` sees it: its \Seen from the reader's mark (unseen without one), its MODSEQ
// the later of the message's and the mark's.
void overlay(store::MessageMeta& m, const store::MailStore::ReaderSeen* mark) {
  m.flags = (m.flags & ~store::kSeen) | (mark && mark->seen ? store::kSeen : 0);
  if (mark) m.modseq = std::max(m.modseq, mark->modseq);
}

const store::MailStore::ReaderSeen* mark_of(const std::vector<store::MailStore::ReaderSeen>& marks,
                                            uint32_t uid) {
  auto it = std::lower_bound(marks.begin(), marks.end(), uid,
                             [](const auto& r, uint32_t u) { return r.uid < u; });
  return it != marks.end() && it->uid == uid ? &*it : nullptr;
}

}  // namespace

core::Result<std::shared_ptr<const Version>> SharedMailbox::refresh_as_reader(
    store::MailStore& store, const std::shared_ptr<const Version>& base) {
  if (base) {
    auto changes = store.changes_since(account_id_, name_, base->highest_modseq);
    if (!changes) return changes.status();
    if (same_incarnation(*base, *changes)) {
      // The reader's marks changed since, and those of the messages that changed (the store's
      // record carries the owner's \Seen).
      std::vector<uint32_t> uids;
      uids.reserve(changes->changed.size());
      for (const auto& m : changes->changed) uids.push_back(m.uid);
      auto marks = store.reader_seen(account_id_, name_, reader_, base->highest_modseq, uids);
      if (!marks) return marks.status();
      for (auto& m : changes->changed) overlay(m, mark_of(*marks, m.uid));
      // Marks of messages that did not change themselves: their record from the base view.
      bool added = false;
      for (const auto& mark : *marks) {
        if (std::binary_search(uids.begin(), uids.end(), mark.uid)) continue;
        ptrdiff_t i = base->index_of(mark.uid);
        if (i < 0 ||
            std::binary_search(changes->expunged.begin(), changes->expunged.end(), mark.uid))
          continue;
        const MessageRow& r = base->rows[static_cast<size_t>(i)];
        store::MessageMeta m;
        m.uid = r.uid;
        m.modseq = r.modseq;
        m.size = r.size;
        m.internal_date = r.internal_date;
        m.internal_tz = r.internal_tz;
        m.flags = r.flags;
        m.keywords = base->keywords_of(r);
        overlay(m, &mark);
        changes->changed.push_back(std::move(m));
        added = true;
      }
      if (added)
        std::sort(changes->changed.begin(), changes->changed.end(),
                  [](const auto& a, const auto& b) { return a.uid < b.uid; });
      auto next = apply_changes(*base, *changes);
      if (!next) return base;
      return next;
    }
  }
  // Scanned first, then the marks: a mark changed in between is newer than the scan's
  // HIGHESTMODSEQ and is read again by the next refresh.
  std::vector<store::MessageMeta> metas;
  auto head = store.scan(account_id_, name_, [&](const store::MessageMeta& m) {
    store::MessageMeta copy;
    copy.uid = m.uid;
    copy.modseq = m.modseq;
    copy.size = m.size;
    copy.internal_date = m.internal_date;
    copy.internal_tz = m.internal_tz;
    copy.flags = m.flags;
    copy.keywords = m.keywords;
    metas.push_back(std::move(copy));
  });
  if (!head) return head.status();
  auto marks = store.reader_seen(account_id_, name_, reader_, 0, {});
  if (!marks) return marks.status();
  VersionBuilder builder = rescan_builder(dropped_rows());
  for (auto& m : metas) {
    overlay(m, mark_of(*marks, m.uid));
    builder.add(m);
  }
  return builder.finish(*head);
}

core::Result<std::shared_ptr<const Version>> SharedMailbox::refresh(store::MailStore& store) {
  std::lock_guard<std::mutex> one(refresh_mu_);
  // Taken before the store is asked: what the store held at that moment is in the result.
  int64_t asked = now_ms();
  std::shared_ptr<const Version> base = current();
  if (!reader_.empty()) {
    auto next = refresh_as_reader(store, base);
    if (!next) return next;
    refreshed_ms_ = asked;
    if (*next == base) return base;
    std::lock_guard<std::mutex> lk(mu_);
    current_ = *next;
    dropped_.reset();
    return next;
  }
  if (base) {
    auto changes = store.changes_since(account_id_, name_, base->highest_modseq);
    if (!changes) return changes.status();
    if (same_incarnation(*base, *changes)) {
      auto next = apply_changes(*base, *changes);
      refreshed_ms_ = asked;
      if (!next) return base;
      std::lock_guard<std::mutex> lk(mu_);
      current_ = next;
      return next;
    }
  }
  // Row by row (MailStore::scan): no transient list of full records, which at 200 bytes a
  // message left a big mailbox's worth of freed heap behind every first SELECT.
  VersionBuilder builder = rescan_builder(dropped_rows());
  auto head = store.scan(account_id_, name_, [&](const store::MessageMeta& m) { builder.add(m); });
  if (!head) return head.status();
  auto next = builder.finish(*head);
  refreshed_ms_ = asked;
  std::lock_guard<std::mutex> lk(mu_);
  current_ = next;
  dropped_.reset();
  return next;
}

std::optional<SharedMailbox::Dropped> SharedMailbox::dropped_rows() const {
  std::lock_guard<std::mutex> lk(mu_);
  return dropped_;
}

bool SharedMailbox::release_rows() {
  // Not while a refresh builds on current_; called on an I/O thread, so it does not wait for
  // one (a refresh asks the store): the rows stay until the next session hibernates.
  std::unique_lock<std::mutex> one(refresh_mu_, std::try_to_lock);
  if (!one.owns_lock()) return false;
  std::shared_ptr<const Version> dropped;  // freed after the lock
  std::lock_guard<std::mutex> lk(mu_);
  // Only this box holds the current version: every session moved past it or hibernated.
  if (!current_ || current_.use_count() != 1) return false;
  dropped_ = Dropped{current_->uid_validity, current_->highest_modseq, current_->lineage,
                     current_->keyword_sets};
  dropped = std::move(current_);
  refreshed_ms_ = INT64_MIN / 2;  // selected_is_current() must ask the store again
  return true;
}

void SharedMailbox::invalidate() {
  std::lock_guard<std::mutex> one(refresh_mu_);  // not under a refresh that would put it back
  std::lock_guard<std::mutex> lk(mu_);
  current_.reset();
  // Not the dropped rows' lineage either: the marks changed without a MODSEQ, so a hibernated
  // session comparing by MODSEQ would miss them; a new lineage makes it start over.
  dropped_.reset();
}

void SharedMailboxes::invalidate(const std::string& account_id, const std::string& name,
                                 const std::string& reader) {
  std::shared_ptr<SharedMailbox> box;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Key key{account_id, name, reader};
    if (auto it = live_.find(key); it != live_.end()) box = it->second.lock();
    if (!box) {
      if (auto w = warm_index_.find(key); w != warm_index_.end()) box = w->second->box;
    }
  }
  if (box) box->invalidate();  // blocks while a refresh runs: outside the table's lock
}

std::shared_ptr<SharedMailbox> SharedMailboxes::acquire(const std::string& account_id,
                                                        const std::string& name,
                                                        const std::string& reader) {
  std::lock_guard<std::mutex> lk(mu_);
  Key key{account_id, name, reader};
  auto& slot = live_[key];
  if (auto box = slot.lock()) return box;
  if (auto w = warm_index_.find(key); w != warm_index_.end()) {
    std::shared_ptr<SharedMailbox> box = std::move(w->second->box);
    warm_cost_ -= w->second->cost;
    warm_.erase(w->second);
    warm_index_.erase(w);
    slot = box;
    return box;
  }
  auto box = std::make_shared<SharedMailbox>(account_id, name, reader);
  slot = box;
  return box;
}

void SharedMailboxes::release(std::shared_ptr<SharedMailbox> box) {
  if (!box) return;
  std::vector<std::shared_ptr<SharedMailbox>> dropped;  // destroyed after the lock
  std::lock_guard<std::mutex> lk(mu_);
  Key key{box->account_id(), box->name(), box->reader()};
  if (auto w = warm_index_.find(key); w != warm_index_.end()) {
    // Released before by another session (the view was live for both): one entry.
    warm_cost_ -= w->second->cost;
    dropped.push_back(std::move(w->second->box));
    warm_.erase(w->second);
    warm_index_.erase(w);
  }
  // A view never loaded (no such mailbox, a store error) is not worth keeping.
  auto v = box->current();
  size_t cost = (v ? v->rows.size() : 0) + kEntryCost;
  if (!v || cost > keep_rows_) {
    dropped.push_back(std::move(box));
  } else {
    warm_.push_front(WarmEntry{key, std::move(box), cost});
    warm_index_[key] = warm_.begin();
    warm_cost_ += cost;
  }
  while (warm_cost_ > keep_rows_ && !warm_.empty()) {
    WarmEntry& last = warm_.back();
    warm_cost_ -= last.cost;
    warm_index_.erase(last.key);
    dropped.push_back(std::move(last.box));
    warm_.pop_back();
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
