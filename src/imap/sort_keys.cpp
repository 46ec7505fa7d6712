// The sort/search key cache: records from facts, per-mailbox tables, the process registry.
#include "src/imap/sort_keys.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "src/core/log.h"
#include "src/imap/message_facts.h"
#include "src/imap/sort_display.h"
#include "src/imap/sort_order.h"
#include "src/imap/thread.h"
#include "src/mime/facts.h"
#include "src/store/mail_store.h"

namespace mailroom::imap {
namespace {

// UIDs per MailStore::facts_batch call: one index query each, and the user's index lock is
// let go between them so deliveries are not held up by a big fill.
constexpr size_t kFillBatch = 256;

void set_text(KeyFields& k, KeyText t, std::string v) {
  k.texts[static_cast<size_t>(t)] = std::move(v);
}

bool same_uid_validity(store::MailStore& store, const std::string& account_id,
                       const std::string& mailbox, uint32_t uid_validity) {
  // The changes after the highest possible MODSEQ: none, only the mailbox's header row (its
  // counts, MailStore::mailbox_status, cost a scan of the mailbox: 25 ms at 100,000).
  auto ch = store.changes_since(account_id, mailbox, uint64_t{INT64_MAX});
  return ch.is_ok() && ch->uid_validity == uid_validity;
}

// CacheSpec::derive of the sort keys.
std::vector<std::optional<std::string>> derive_sort_keys(store::MailStore& store,
                                                         const std::string& account_id,
                                                         const std::string& mailbox,
                                                         const std::vector<uint32_t>& uids) {
  std::vector<std::optional<std::string>> out;
  out.reserve(uids.size());
  // The cached blobs in one store call; older or missing ones recomputed (load_facts_batch).
  for (auto& f : load_facts_batch(store, account_id, mailbox, uids)) {
    if (f)
      out.emplace_back(encode_key_record(key_fields_of(*f)));
    else
      out.emplace_back();
  }
  return out;
}

}  // namespace

const CacheSpec kSortKeyCache{kSortKeyFile, ".keys", derive_sort_keys};

std::string search_subject(std::string_view subject) {
  std::string out;
  for (char c : mime::fold_case(subject)) {
    bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (blank && !out.empty() && out.back() == ' ') continue;
    out.push_back(blank ? ' ' : c);
  }
  return out;
}

KeyFields key_fields_of(const mime::Facts& f) {
  KeyFields k;
  k.sent_date = f.sent_date;
  k.sent_tz = f.sent_tz;
  k.fields = f.fields;
  k.has_sent_date = f.has_sent_date;
  BaseSubject base = base_subject(f.subject);
  k.reply_or_forward = base.reply_or_forward;
  set_text(k, KeyText::base_subject, std::move(base.text));
  set_text(k, KeyText::sort_from, mime::casemap_key(f.sort_from));
  set_text(k, KeyText::sort_to, mime::casemap_key(f.sort_to));
  set_text(k, KeyText::sort_cc, mime::casemap_key(f.sort_cc));
  set_text(k, KeyText::search_subject, search_subject(f.subject));
  set_text(k, KeyText::search_from, mime::fold_case(f.from));
  set_text(k, KeyText::search_to, mime::fold_case(f.to));
  set_text(k, KeyText::search_cc, mime::fold_case(f.cc));
  set_text(k, KeyText::search_bcc, mime::fold_case(f.bcc));
  set_text(k, KeyText::message_id, f.message_id);
  set_text(k, KeyText::in_reply_to, f.in_reply_to);
  set_text(k, KeyText::references, f.references);
  for (auto [list, key] : {std::pair{EnvelopeList::from, KeyText::display_from},
                           std::pair{EnvelopeList::to, KeyText::display_to}}) {
    auto address = first_envelope_address(f.envelope, list);
    std::optional<std::string> name;
    if (address && address->name) name = mime::decode_header_text(*address->name);
    set_text(k, key, mime::casemap_key(display_value(address, name)));
  }
  return k;
}

std::vector<KeyRecord> KeyTable::lookup(const std::vector<uint32_t>& uids) const {
  // Both sides ascend: one merge walk over the file's index and the added records.
  std::vector<KeyRecord> out(uids.size());
  size_t fi = 0, ai = 0, fn = file_count();
  for (size_t i = 0; i < uids.size(); ++i) {
    uint32_t uid = uids[i];
    while (fi < fn && file_->uid_at(fi) < uid) ++fi;
    if (fi < fn && file_->uid_at(fi) == uid) {
      out[i] = file_->record_at(fi);
      continue;
    }
    while (ai < added_.size() && added_[ai].first < uid) ++ai;
    if (ai < added_.size() && added_[ai].first == uid)
      out[i] = KeyRecord(added_[ai].second->data());
  }
  return out;
}

MailboxKeys::MailboxKeys(std::string path, uint32_t uid_validity, const CacheSpec& spec)
    : path_(std::move(path)),
      uid_validity_(uid_validity),
      spec_(spec),
      table_(std::make_shared<KeyTable>()) {
  if (path_.empty()) return;
  auto f = KeyFile::open(path_, uid_validity_, spec_.kind);
  if (f.is_ok()) {
    auto t = std::make_shared<KeyTable>();
    t->file_ = std::move(*f);
    table_ = std::move(t);
  } else if (f.code() == core::Code::invalid_argument) {
    // Torn, corrupt, of another version or incarnation: never trusted, rebuilt from the facts.
    MR_LOG_WARN("event=cache_file_rejected path={} reason={}", core::quote(path_),
                core::quote(f.status().log_detail()));
    ::unlink(path_.c_str());
  } else if (f.code() != core::Code::not_found) {
    MR_LOG_WARN("event=cache_file_unreadable path={} error={}", core::quote(path_),
                core::quote(f.status().to_string()));
  }
}

std::shared_ptr<const KeyTable> MailboxKeys::current() const {
  std::lock_guard<std::mutex> lk(mu_);
  return table_;
}

std::shared_ptr<const KeyTable> MailboxKeys::fill(store::MailStore& store,
                                                  const std::string& account_id,
                                                  const std::string& mailbox,
                                                  const std::vector<uint32_t>& uids) {
  std::lock_guard<std::mutex> fill_lock(fill_mu_);
  std::shared_ptr<const KeyTable> t = current();
  std::vector<KeyRecord> have = t->lookup(uids);
  std::vector<uint32_t> missing;
  for (size_t i = 0; i < uids.size(); ++i)
    if (!have[i].present()) missing.push_back(uids[i]);
  if (missing.empty()) return t;

  // The mailbox is named, the table is of one incarnation: if the name now means another
  // mailbox (renamed, deleted and created again), its facts must not land here.
  if (!same_uid_validity(store, account_id, mailbox, uid_validity_)) return t;
  std::vector<std::pair<uint32_t, std::shared_ptr<const std::string>>> fresh;
  for (size_t i = 0; i < missing.size(); i += kFillBatch) {
    std::vector<uint32_t> batch(
        missing.begin() + static_cast<ptrdiff_t>(i),
        missing.begin() + static_cast<ptrdiff_t>(std::min(missing.size(), i + kFillBatch)));
    auto records = spec_.derive(store, account_id, mailbox, batch);
    for (size_t k = 0; k < batch.size() && k < records.size(); ++k) {
      if (!records[k]) continue;
      fresh.emplace_back(batch[k], std::make_shared<const std::string>(std::move(*records[k])));
    }
  }
  if (!same_uid_validity(store, account_id, mailbox, uid_validity_)) return t;
  return publish(*t, std::move(fresh), &uids);
}

std::shared_ptr<const KeyTable> MailboxKeys::add(
    store::MailStore& store, const std::string& account_id, const std::string& mailbox,
    std::vector<std::pair<uint32_t, std::shared_ptr<const std::string>>> records,
    const std::vector<uint32_t>* uids_now) {
  std::lock_guard<std::mutex> fill_lock(fill_mu_);
  std::shared_ptr<const KeyTable> t = current();
  // The table's lists ascend by UID and hold each UID once, whatever order callers use.
  auto by_uid = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (!std::is_sorted(records.begin(), records.end(), by_uid))
    std::sort(records.begin(), records.end(), by_uid);
  records.erase(std::unique(records.begin(), records.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                records.end());
  std::vector<uint32_t> uids;
  uids.reserve(records.size());
  for (const auto& r : records) uids.push_back(r.first);
  std::vector<KeyRecord> have = t->lookup(uids);
  size_t kept = 0;
  for (size_t i = 0; i < records.size(); ++i)
    if (!have[i].present()) records[kept++] = std::move(records[i]);
  records.resize(kept);
  if (records.empty() && (!uids_now || t->added_count() * 8 <= t->file_count())) return t;
  // As in fill(): records read by name belong here only if the name still means this mailbox.
  if (!records.empty() && !same_uid_validity(store, account_id, mailbox, uid_validity_)) return t;
  return publish(*t, std::move(records), uids_now);
}

std::shared_ptr<const KeyTable> MailboxKeys::publish(
    const KeyTable& t, std::vector<std::pair<uint32_t, std::shared_ptr<const std::string>>> fresh,
    const std::vector<uint32_t>* uids_now) {
  auto next = std::make_shared<KeyTable>();
  next->file_ = t.file_;
  next->added_.reserve(t.added_.size() + fresh.size());
  std::merge(t.added_.begin(), t.added_.end(), fresh.begin(), fresh.end(),
             std::back_inserter(next->added_),
             [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [uid, rec] : next->added_) next->added_bytes_ += rec->size();
  std::shared_ptr<const KeyTable> published = next;
  bool due = next->added_.size() * 8 > next->file_count();
  if (due && uids_now)
    published = rewrite(*next, uids_now);
  else if (due && next->added_bytes_ > kEagerRewriteBytes)
    published = rewrite(*next, nullptr);
  std::lock_guard<std::mutex> lk(mu_);
  table_ = published;
  return published;
}

std::shared_ptr<const KeyTable> MailboxKeys::rewrite(const KeyTable& t,
                                                     const std::vector<uint32_t>* uids) {
  // The records of the UIDs the mailbox still has (all of them without `uids`), in one image.
  std::vector<uint32_t> all;
  if (!uids) {
    all.reserve(t.file_count() + t.added_.size());
    for (size_t i = 0; i < t.file_count(); ++i) all.push_back(t.file_->uid_at(i));
    for (const auto& a : t.added_) all.push_back(a.first);
    std::sort(all.begin(), all.end());
    uids = &all;
  }
  std::vector<KeyRecord> recs = t.lookup(*uids);
  std::vector<std::pair<uint32_t, std::string_view>> entries;
  entries.reserve(uids->size());
  for (size_t i = 0; i < uids->size(); ++i) {
    if (!recs[i].present()) continue;
    entries.emplace_back((*uids)[i], recs[i].bytes());
  }
  auto started = std::chrono::steady_clock::now();
  std::string image = key_file_image(uid_validity_, entries, spec_.kind);
  std::shared_ptr<const KeyFile> file;
  if (!path_.empty()) {
    if (auto st = write_key_file(path_, image); st.is_ok()) {
      auto f = KeyFile::open(path_, uid_validity_, spec_.kind);
      if (f.is_ok()) file = std::move(*f);
      MR_LOG_INFO("event=cache_file_written path={} records={} bytes={} ms={}", core::quote(path_),
                  entries.size(), image.size(),
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count());
    } else {
      MR_LOG_WARN("event=cache_file_write_failed path={} error={}", core::quote(path_),
                  core::quote(st.to_string()));
    }
  }
  if (!file) {
    auto f = KeyFile::from_bytes(std::move(image), uid_validity_, spec_.kind);
    if (!f.is_ok()) return std::make_shared<KeyTable>(t);  // cannot happen: we just built it
    file = std::move(*f);
  }
  auto out = std::make_shared<KeyTable>();
  out->file_ = std::move(file);
  return out;
}

SortKeyRegistry::SortKeyRegistry(size_t max_bytes) : max_bytes_(max_bytes) {}

namespace {
std::string registry_key(const std::string& account_id, uint32_t uid_validity,
                         const CacheSpec& spec) {
  return account_id + '\n' + std::to_string(uid_validity) + std::string(spec.suffix);
}
}  // namespace

std::shared_ptr<MailboxKeys> SortKeyRegistry::open(store::MailStore& store,
                                                   const std::string& account_id,
                                                   uint32_t uid_validity, const CacheSpec& spec) {
  std::string key = registry_key(account_id, uid_validity, spec);
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.keys;
    }
  }
  // Opened outside the registry's lock: mapping and validating a big file takes a while.
  auto dir = store.cache_dir(account_id);
  std::string path =
      dir.is_ok() ? *dir + "/" + std::to_string(uid_validity) + std::string(spec.suffix) : "";
  auto made = std::make_shared<MailboxKeys>(path, uid_validity, spec);
  std::lock_guard<std::mutex> lk(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) return it->second.keys;  // another session opened it meanwhile
  lru_.push_front(key);
  entries_.emplace(key, Entry{made, nullptr, 0, lru_.begin()});
  return made;
}

void SortKeyRegistry::note(const std::string& account_id, uint32_t uid_validity,
                           const CacheSpec& spec, const KeyTable& table) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = entries_.find(registry_key(account_id, uid_validity, spec));
  if (it != entries_.end()) {
    size_t b = table.bytes() + (it->second.orders ? it->second.orders->bytes() : 0);
    bytes_ = bytes_ - it->second.bytes + b;
    it->second.bytes = b;
  }
  // Drop the least recently used tables (commands holding one keep it until they finish).
  while (bytes_ > max_bytes_ && lru_.size() > 1) {
    auto victim = entries_.find(lru_.back());
    bytes_ -= victim->second.bytes;
    entries_.erase(victim);
    lru_.pop_back();
  }
}

std::shared_ptr<const KeyTable> SortKeyRegistry::keys(
    store::MailStore& store, const std::string& account_id, const std::string& mailbox,
    uint32_t uid_validity, const std::vector<uint32_t>& uids, const CacheSpec& spec) {
  auto table = open(store, account_id, uid_validity, spec)->fill(store, account_id, mailbox, uids);
  note(account_id, uid_validity, spec, *table);
  return table;
}

std::shared_ptr<SortOrderCache> SortKeyRegistry::orders(const std::string& account_id,
                                                        uint32_t uid_validity) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = entries_.find(registry_key(account_id, uid_validity, kSortKeyCache));
  if (it == entries_.end()) return nullptr;
  if (!it->second.orders) it->second.orders = std::make_shared<SortOrderCache>();
  return it->second.orders;
}

size_t SortKeyRegistry::bytes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return bytes_;
}

size_t SortKeyRegistry::tables() const {
  std::lock_guard<std::mutex> lk(mu_);
  return entries_.size();
}

std::shared_ptr<const KeyTable> transient_keys(store::MailStore& store,
                                               const std::string& account_id,
                                               const std::string& mailbox, uint32_t uid_validity,
                                               const std::vector<uint32_t>& uids,
                                               const CacheSpec& spec) {
  MailboxKeys mk("", uid_validity, spec);
  return mk.fill(store, account_id, mailbox, uids);
}

}  // namespace mailroom::imap
